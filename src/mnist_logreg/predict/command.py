"""``mnist-logreg predict``: label pictures, print them as text, JSON or CSV, optionally draw a sheet."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..display import progress_renders
from ..errors import MnistLogregError, UsageError
from .labelling import expand_inputs, label_images

__all__ = ["PROGRESS_FROM", "check_predict_options", "predict_command"]

#: A progress bar is shown (on a terminal) from this many files on.
PROGRESS_FROM = 10


def check_predict_options(top: int, show) -> None:
    """UsageError for ``--top`` below 1 or a ``--show`` path that cannot take a PNG.

    The sheet is written last, as a temporary file renamed over ``--show`` (see
    :mod:`~mnist_logreg.io.atomic`): creating and removing one such file in its folder now is the
    only check that holds where the permission bits say yes but the file system says no (``/proc``,
    a read-only mount), so a bad ``--show`` is refused before any picture is labelled.
    """
    if top < 1:
        raise UsageError(f"--top: received {top}; allowed a whole number >= 1")
    if show is not None:
        path = Path(show)
        if path.suffix.lower() != ".png":
            raise UsageError(f"--show: received {show!r}; allowed a path ending in .png")
        if path.is_dir() or not path.parent.is_dir():
            raise UsageError(f"--show: received {show!r}; allowed a file in an existing folder")
        try:
            fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=path.parent)
            os.close(fd)
            os.unlink(probe)
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise UsageError(f"--show: received {show!r}, whose folder cannot take a new file ({reason}); "
                             "allowed a file in a folder you can write") from None


def _csv(results, top: int) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = ["file", "label", "probability"]
    for k in range(2, top + 1):
        header += [f"label_{k}", f"probability_{k}"]
    writer.writerow(header + ["error"])
    for r in results:
        cells = [r.file]
        pairs = list(r.probabilities.items())
        for k in range(top):
            cells += [pairs[k][0], f"{pairs[k][1]:.6f}"] if k < len(pairs) else ["", ""]
        writer.writerow(cells + [r.error or ""])
    return buffer.getvalue()


def predict_command(args, out: Console, err: Console, prog: str) -> int:
    """Run ``predict`` for parsed ``args``; returns the exit code (1 if any file failed)."""
    from ..io.modelfile import load_model

    check_predict_options(args.top, args.show)
    model = load_model(args.model)
    top = min(args.top, len(model.classes_))
    n = len(expand_inputs(args.images))
    keep = 0
    if args.show is not None:
        from .sheet import MAX_SHEET_IMAGES  # matplotlib, imported only for a sheet

        keep = MAX_SHEET_IMAGES  # only the pictures the sheet draws are kept: it, unlike the labels, is bounded
    progress = None
    if n >= PROGRESS_FROM and progress_renders(err) and not args.quiet:
        progress = Progress(TextColumn("labelling"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            console=err, transient=True)
    if progress is not None:
        with progress:
            task = progress.add_task("images", total=n)
            results = label_images(model, args.images, top, progress=lambda k: progress.advance(task, k),
                                   keep_framed=keep, frame=not args.no_frame)
    else:
        results = label_images(model, args.images, top, keep_framed=keep, frame=not args.no_frame)
    failed = [r for r in results if r.error]
    for r in failed:
        err.print(f"{prog}: error: {r.error}", highlight=False, markup=False, soft_wrap=True)
    if args.json:
        out.file.write(json.dumps([r.as_dict() for r in results], indent=2) + "\n")
    elif args.csv:
        out.file.write(_csv(results, top))
    else:
        for r in results:
            if not r.error:
                best = ", ".join(f"{label}: {p:.3f}" for label, p in r.probabilities.items())
                out.print(f"{r.file}: {r.label}  ({best})", highlight=False, markup=False, soft_wrap=True)
    if args.show is not None:
        from .sheet import write_sheet

        framing = model.named_steps["framing"]
        try:
            write_sheet(results, args.show, background=framing.background_, ink=framing.ink_)
        except OSError as error:  # checked writable up front; a disk that fills up since still names --show
            reason = error.strerror or type(error).__name__
            raise MnistLogregError(f"--show: received {args.show!r}, not written ({reason}); "
                                   "allowed a file in a folder you can write, with room for the sheet") from None
        labelled = len(results) - len(failed)
        note = f" (the first {keep} of {labelled} labelled pictures; a sheet holds at most {keep})" \
            if labelled > keep else ""
        err.print(f"sheet: {args.show}{note}", highlight=False, markup=False, soft_wrap=True)
    return 1 if failed else 0
