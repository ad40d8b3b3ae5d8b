"""The ``mnist-logreg`` command: ``run``, ``predict`` and ``datasets``, thin over the Python API.

Exit codes: 0 success, 1 runtime or data error, 2 usage error, 130 interrupted. Every error is
one line on stderr; ``--debug`` shows the traceback as well.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import warnings
from typing import Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from .errors import MnistLogregError, UsageError, one_line_os_error
from .options import parse_whole

PROG = "mnist-logreg"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2."""

    #: Subcommand name -> its parser (set on the top-level parser by :func:`build_parser`).
    commands: dict = {}

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def parse_args(self, args=None, namespace=None):
        # argparse reports a subcommand's unknown arguments from the top-level parser, which would
        # point to `mnist-logreg --help`; name the subcommand whose options they were meant for.
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            target = self.commands.get(getattr(parsed, "command", None), self)
            target.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed


#: What every subcommand's --help ends with: the environment it reads and what its exit code means.
ENVIRONMENT = ("environment: MNIST_LOGREG_HOME is the data cache (default ~/.cache/mnist-logreg); "
               "MNIST_LOGREG_MAX_MEMORY caps, in bytes (e.g. 4e9), the memory a sweep may plan and a data "
               "file's header may declare. Exit codes: 0 done, 1 a data or runtime error (predict: an input "
               "that could not be labelled), 2 a bad option, 130 interrupted.")


def build_parser() -> argparse.ArgumentParser:
    # --debug is read from argv by main() before parsing; declared here for --help and so it parses.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser = _Parser(prog=PROG, parents=[common], description="Multinomial logistic regression over a grid of "
                     "penalties x C on MNIST-like images: sweep, select, refit, report, predict.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser("run", parents=[common], epilog=ENVIRONMENT,
                         help="sweep the grid, select, refit and write the report",
                         description="Load, split, fit every penalty x C, score by one-vs-rest ROC AUC, pick the "
                         "best, refit it and write results.csv, path.npz, model.skops, figures and report.html.")
    add_run_options(run)
    run.add_argument("--quiet", "-q", action="store_true", help="no progress bar or table")

    predict = sub.add_parser("predict", parents=[common], epilog=ENVIRONMENT, help="label pictures with a saved model",
                             description="Apply model.skops to PNG, JPEG or NPY pictures of any size (the format "
                             "is read from the content): each picture's ink is found, cropped and framed the way "
                             "the model's training images were, then labelled. Exit 1 if any input failed; the "
                             "others are still labelled.")
    predict.add_argument("model", help="model.skops written by `mnist-logreg run`")
    predict.add_argument("images", nargs="+", help="picture files, folders (their .png/.jpg/.jpeg/.npy files) or "
                         "quoted glob patterns")
    output = predict.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print a JSON list of {file, label, probabilities, error}")
    output.add_argument("--csv", action="store_true", help="print CSV: file, label, probability, label_2, "
                        "probability_2, ..., error")
    predict.add_argument("--top", type=parse_whole, default=3, metavar="K", help="classes reported per picture "
                         "(default %(default)s; at most the number of classes)")
    predict.add_argument("--show", metavar="PATH", help="write a PNG sheet of the pictures as the model saw them "
                         "(after framing) with their predicted labels (the first 200: a sheet holds at most 200)")
    predict.add_argument("--no-frame", action="store_true", help="take pictures of exactly the training images' "
                         "shape as they are, without finding and re-framing their ink (for training images framed "
                         "in no consistent way, e.g. crops)")
    predict.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    datasets = sub.add_parser("datasets", parents=[common], epilog=ENVIRONMENT,
                              help="list data sources and what is cached",
                              description="List the --dataset sources and the local cache.")
    datasets.add_argument("--fetch", metavar="NAME", help="download (or repair) the cache of a source, e.g. mnist")
    parser.commands = dict(sub.choices)
    return parser


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """One option per :class:`~mnist_logreg.config.RunConfig` field, as the field's metadata says.

    Defaults are left out of the namespace (``SUPPRESS``) so :func:`config_from_args` knows which
    options were given; ``--help`` shows each field's default.
    """
    from .config import run_options  # light: the fields, without loading the workflow
    from .options import field_default

    groups: dict[str, argparse._ArgumentGroup] = {}
    for f, spec in run_options():
        if spec.group not in groups:
            groups[spec.group] = parser.add_argument_group(spec.group)
        default = field_default(f)
        shown = "" if spec.action or default is None else f" (default {default})"
        kwargs = {"dest": f.name, "default": argparse.SUPPRESS, "help": (spec.help + shown).replace("%", "%%")}
        if spec.action:
            kwargs["action"] = spec.action
        else:
            kwargs.update(type=spec.parse or str, metavar=spec.metavar or f.name.upper())
        groups[spec.group].add_argument(*spec.flags, **kwargs)


def config_from_args(args: argparse.Namespace):
    """The :class:`RunConfig` of parsed ``run`` arguments, and the names of the fields given."""
    from .config import RunConfig, run_options

    given = {f.name for f, _ in run_options() if hasattr(args, f.name)}
    return RunConfig(**{name: getattr(args, name) for name in given}), given


def _version() -> str:
    from . import __version__

    return __version__


def _one_line_warnings(console: Console):
    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        console.print(f"[yellow]warning:[/] {text}", highlight=False, soft_wrap=True)

    warnings.showwarning = show


def _progress_factory(console: Console, quiet: bool):
    from .display import progress_renders

    if quiet or (console.is_jupyter and not progress_renders(console)):
        return None  # in Jupyter without ipywidgets rich would print every frame as text

    def start(total: int):
        progress = Progress(TextColumn("fitting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            TimeRemainingColumn(), console=console, transient=False)
        progress.start()
        task = progress.add_task("fits", total=total)

        def advance(n: int = 1):
            progress.advance(task, n)
            if progress.finished:
                progress.stop()

        return advance

    return start


def cmd_run(args, out: Console, err: Console) -> int:
    config, given = config_from_args(args)
    config.validate(given)
    _start_workers_early(config)
    from .workflow import run_experiment  # SciPy, scikit-learn, pandas: imported while the workers import theirs

    command = shlex.join([PROG] + args.argv)
    log = None if args.quiet else (lambda m: err.print(m, highlight=False))
    outcome = run_experiment(config, command=command, progress=_progress_factory(err, args.quiet), log=log)
    if outcome.already_complete:
        out.print(f"{outcome.folder}: already complete (--resume); nothing was refitted", highlight=False)
        out.print(f"results: {outcome.folder}", highlight=False)
        return 0
    outcome.record.print_summary(outcome.table, out, err, quiet=args.quiet)
    return 0


def _start_workers_early(config) -> None:
    """Start the local workers the options certainly need before this process imports the workflow
    (:mod:`.plan.warmup`): both imports then share the cores instead of following each other."""
    from .plan.warmup import early_jobs, warm_up

    jobs = early_jobs(config)
    if jobs is not None:
        warm_up(jobs)


def cmd_predict(args, out: Console, err: Console) -> int:
    from .predict.command import predict_command

    return predict_command(args, out, err, PROG)


def cmd_datasets(args, out: Console, err: Console) -> int:
    from .data import list_sources, load_dataset

    if args.fetch is not None:
        from .data import check_dataset_spec
        from .data.cache import data_home, home_problem

        kind, _ = check_dataset_spec(args.fetch, "--fetch")
        problem = home_problem(data_home()) if kind in ("mnist", "fashion-mnist", "openml") else None
        if problem:
            raise UsageError(f"MNIST_LOGREG_HOME: {data_home()} {problem}; allowed a writable folder for the "
                             "data cache that --fetch fills")
        ds = load_dataset(args.fetch, allow_fallback=False, option="--fetch")
        out.print(f"{args.fetch}: {ds.n_samples} images {ds.image_shape[0]}x{ds.image_shape[1]} from {ds.source}",
                  highlight=False)
        return 0
    sources = list_sources()
    if not out.is_terminal:
        # Piped or redirected: plain lines, each location whole on its own line (a table would cut
        # the paths to the console's width, and the path is what the user came for).
        for s in sources:
            cached = {True: "yes", False: "no", None: "-"}[s.get("cached")]
            out.print(f"{s['name']} (cached: {cached}): {s['description']}", highlight=False, markup=False,
                      soft_wrap=True)
            out.print(f"    {s.get('location') or ''}", highlight=False, markup=False, soft_wrap=True)
        return 0
    view = Table(title="data sources (--dataset)")
    for c in ("name", "description", "cached"):
        view.add_column(c)
    view.add_column("location", overflow="fold")  # a path is folded onto more lines, never cut
    for s in sources:
        cached = {True: "yes", False: "no", None: "-"}[s.get("cached")]
        view.add_row(s["name"], s["description"], cached, str(s.get("location") or ""))
    out.print(view)
    return 0


COMMANDS = {"run": cmd_run, "predict": cmd_predict, "datasets": cmd_datasets}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (also usable in-process: ``main(["run", ...])``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    err = Console(stderr=True)
    out = Console()
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        args.argv = argv  # what run.json records as the command
        if args.command is None:
            parser.print_help()
            return 2
        from .limits import memory_cap

        # Every command reads it (a sweep's plan, a data file's header, the pictures predict loads):
        # a malformed value is refused up front by each, not only when a check happens to need it.
        memory_cap()
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            _one_line_warnings(err)
            return COMMANDS[args.command](args, out, err)
    except SystemExit as exit_:
        return int(exit_.code or 0) if not isinstance(exit_.code, str) else 2
    except KeyboardInterrupt:
        err.print("interrupted", highlight=False)
        return 130
    except Exception as error:  # noqa: BLE001 - the one place that turns errors into a line and a code
        if debug:
            err.print_exception()
        code = getattr(error, "exit_code", 1)
        if isinstance(error, MnistLogregError) or code == 130:
            message = " ".join(str(error).split())
        elif isinstance(error, OSError):
            message = one_line_os_error(error)
        elif isinstance(error, MemoryError):
            message = ("out of memory: the data or the sweep do not fit; allowed work that fits in memory — try "
                       "--dtype float32, a smaller --train-size or fewer --C values (MNIST_LOGREG_MAX_MEMORY "
                       "makes the estimate refuse such runs up front)")
        else:
            message = (f"internal error: {type(error).__name__}: {' '.join(str(error).split())} "
                       "(rerun with --debug for the traceback)")
        print(f"{PROG}: error: {message}" if code != 130 else f"{PROG}: {message}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
