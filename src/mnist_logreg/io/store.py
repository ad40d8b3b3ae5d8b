"""The output folder of a run: refusing to clobber, row checkpoints, and the final files.

While a sweep runs, every finished task (one path, or part of a long one, of one split, on its training set or one
fold) is checkpointed as ``.partial/<task>.npz`` and each row whose fits are all finished is
appended to ``results.csv``. An interrupted run therefore keeps
every finished row, and ``--resume`` reads the checkpoints back. When the sweep completes,
``results.csv`` is rewritten in grid order and ``path.npz`` is written; the checkpoints go once the
whole run (refit and report included) is complete.

``--force`` on a folder that holds earlier results never removes anything first: the new run is
written into ``OUT/.incoming`` and, once it is complete, each file it wrote replaces its namesake in
``OUT`` (run.json last). A run that fails or is interrupted leaves the previous results whole; a
later ``--resume`` finishes the forced run inside ``.incoming``. Our report.html and figure files
that the new run did not write are removed (they describe the old results). Files we did not write
(in ``OUT`` or in ``figures/``) are never touched, and nothing is written through a symbolic link
out of ``OUT``.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import naming, save_npz, write_text
from ..engines.base import FitResult
from ..plan.tasks import Task, TaskResult
from ..errors import ResumeError, UsageError
from ..validation import DEFAULT_RUNS

__all__ = ["RunFolder", "OUTPUT_NAMES", "STAGING", "FIGURE_FILES"]

#: What a run writes in its folder.
OUTPUT_NAMES = ("results.csv", "path.npz", "best.json", "model.skops", "run.json", "report.html",
                "figures", ".partial")
#: Where a ``--force`` run writes until it is complete.
STAGING = ".incoming"
#: The figure files a run writes in ``figures/`` (the report's figures; tests keep the two lists equal).
#: A ``--force`` run removes those of them it did not write itself; other files there are the user's.
FIGURE_FILES = tuple(f"{name}.png" for name in ("samples", "labels", "auc_heatmaps", "auc_vs_C", "fit_time",
                                                "nonzero", "weights", "confusion"))


class RunFolder:
    """An output folder. Use :meth:`prepare` to check one the way ``--force``/``--resume`` ask.

    Attributes
    ----------
    destination : Path
        The ``--out`` folder (for the default, the claimed ``runs/<UTC time>`` once :meth:`start` ran).
    path : Path
        Where this run writes: ``destination``, or ``destination/.incoming`` for a ``--force`` run
        over earlier results, until :meth:`commit` moves the files into place.
    """

    def __init__(self, path: str | Path):
        self.destination = Path(path)
        self.path = self.destination
        self.default = False

    @property
    def partial(self) -> Path:
        return self.path / ".partial"

    @property
    def staged(self) -> bool:
        return self.path != self.destination

    @classmethod
    def prepare(cls, path, *, force: bool = False, resume: bool = False) -> "RunFolder":
        """Check that the folder may be used; nothing is created or removed yet.

        ``path=None`` is the default ``runs/<UTC time>``, claimed by :meth:`start`. A folder that
        exists and is not empty is refused unless ``force`` (the new run is staged, see the module
        docstring) or ``resume`` (finish the interrupted run found there).
        """
        if path is None:
            folder = cls(DEFAULT_RUNS / _timestamp())
            folder.default = True
            return folder
        folder = cls(Path(path).expanduser())
        where = folder.destination
        if where.exists() and not where.is_dir():
            raise UsageError(f"--out: {where} exists and is a file; allowed a new or empty folder")
        if resume:
            staged = where / STAGING
            if (staged / "run.json").is_file() and not staged.is_symlink():
                folder.path = staged  # a --force run that did not finish
            elif not (where / "run.json").is_file():
                raise UsageError(f"--resume: {where} holds no run.json; allowed only a folder written by "
                                 "an earlier `mnist-logreg run`")
            return folder
        occupied = where.is_dir() and any(name != STAGING for name in os.listdir(where))
        if occupied and not force:
            raise UsageError(f"--out: {where} is not empty; choose a new folder, or pass --force to "
                             "replace its results or --resume to finish an interrupted run")
        if occupied:
            for name in OUTPUT_NAMES:
                target = where / name
                if name not in ("figures", ".partial") and target.is_dir() and not target.is_symlink():
                    raise UsageError(f"--out: {target} is a folder where the run writes a file; allowed "
                                     "--force only when our file names are files: move that folder away")
            folder.path = where / STAGING
        return folder

    def recorded(self) -> dict:
        """The run.json of the run being resumed (a ResumeError when it cannot be read)."""
        file = self.path / "run.json"
        try:
            recorded = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            raise ResumeError(f"--resume: {file} cannot be read as a run record ({' '.join(reason.split())}); "
                              "allowed a run.json written by `mnist-logreg run` (start again with --force)") from None
        if not isinstance(recorded, dict) or not isinstance(recorded.get("options", {}), dict):
            raise ResumeError(f"--resume: {file} is not a run record (JSON of another shape); allowed a run.json "
                              "written by `mnist-logreg run` (start again with --force)")
        return recorded

    def start(self) -> None:
        """Make the folder the run writes into, just before the first file is written.

        The default ``runs/<UTC time>`` is claimed with an exclusive ``mkdir``: a second run started
        in the same second gets ``runs/<UTC time>-2`` (and so on), never the same folder.
        """
        if self.default:
            try:
                DEFAULT_RUNS.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise _cannot_create(DEFAULT_RUNS, error) from None
            stem = self.destination.name
            for n in range(1, 10_000):
                candidate = DEFAULT_RUNS / (stem if n == 1 else f"{stem}-{n}")
                try:
                    candidate.mkdir()
                except FileExistsError:
                    continue
                except OSError as error:
                    raise _cannot_create(candidate, error) from None
                self.destination = self.path = candidate
                return
            raise UsageError(f"--out: every name {DEFAULT_RUNS}/{stem}-N is taken; allowed --out DIR")
        if self.staged:
            if self.path.is_dir() and not self.path.is_symlink():
                shutil.rmtree(self.path)  # an earlier forced run that never completed: ours
            elif self.path.is_symlink() or self.path.exists():
                self.path.unlink()
        elif not self.path.exists():
            try:
                self.path.mkdir(parents=True)
            except FileExistsError:
                raise UsageError(f"--out: {self.path} was created by someone else while this run was loading "
                                 "its data; allowed a folder of its own: rerun") from None
            except OSError as error:
                raise _cannot_create(self.path, error) from None
            return
        try:
            self.path.mkdir(exist_ok=True)
        except OSError as error:
            raise _cannot_create(self.path, error) from None

    def commit(self) -> None:
        """Move a staged (``--force``) run's files over the previous results; run.json last.

        Only the files the new run wrote replace their namesakes; a report.html or one of our
        :data:`FIGURE_FILES` that the new run did not write is removed (it would describe other
        results); everything else stays, the user's own files in ``figures/`` included.
        """
        if not self.staged:
            return
        staged, where = self.path, self.destination
        wrote_report = (staged / "report.html").exists()  # asked before the moves below empty staged
        figures = staged / "figures"
        wrote_figures = {item.name for item in figures.iterdir()} if figures.is_dir() else set()
        if figures.is_dir():
            into = where / "figures"
            if into.is_symlink():
                raise UsageError(f"--out: {into} is a symbolic link; allowed a real folder (nothing is written "
                                 f"through a link out of the run folder); the new results stay in {staged}")
            into.mkdir(exist_ok=True)
            for item in sorted(figures.iterdir()):
                os.replace(item, into / item.name)
        for item in sorted(staged.iterdir()):
            if item.name not in ("figures", ".partial", "run.json"):
                os.replace(item, where / item.name)
        if not wrote_report and (where / "report.html").is_file():
            (where / "report.html").unlink()
        _drop_old_figures(where / "figures", keep=wrote_figures)
        old_checkpoints = where / ".partial"
        if old_checkpoints.is_dir() and not old_checkpoints.is_symlink():
            shutil.rmtree(old_checkpoints)
        os.replace(staged / "run.json", where / "run.json")
        self.path = where
        shutil.rmtree(staged, ignore_errors=True)

    # -- checkpoints -----------------------------------------------------------------------------
    # One file per finished task, written once: checkpointing costs the task's own rows, however
    # many rows the plan holds.
    def save_task(self, result: TaskResult) -> None:
        """Checkpoint one finished task (atomically, uncompressed for speed)."""
        fits = result.fits
        arrays = {}
        if fits:
            arrays = dict(coef=np.stack([f.coef for f in fits]), intercept=np.stack([f.intercept for f in fits]),
                          n_iter=np.array([f.n_iter for f in fits]), converged=np.array([f.converged for f in fits]),
                          fit_seconds=np.array([f.fit_seconds for f in fits]))
        save_npz(self.partial / f"{result.task.key}.npz", compressed=False,
                 records=np.array(json.dumps(result.records)), **arrays)

    def kept_fits(self) -> int:
        """Fits checkpointed in ``.partial`` (what ``--resume`` will not run again): one record each.

        Checkpoints are written atomically, so a file there is a finished task; one that cannot be
        read back is not counted (it runs again on resume, as :meth:`load_tasks` says).
        """
        kept = 0
        for file in sorted(self.partial.glob("*.npz")) if self.partial.is_dir() else []:
            try:
                with np.load(file, allow_pickle=False) as data:
                    kept += len(json.loads(str(data["records"])))
            except Exception:  # noqa: BLE001 - as in load_tasks: an unreadable checkpoint is not kept
                continue
        return kept

    def load_tasks(self, tasks: list[TaskResult | Task]) -> dict[str, TaskResult]:
        """The checkpointed results of those ``tasks`` that finished; unreadable ones are skipped
        (their tasks run again)."""
        done: dict[str, TaskResult] = {}
        if not self.partial.is_dir():
            return done
        for task in tasks:
            file = self.partial / f"{task.key}.npz"
            if not file.exists():
                continue
            try:
                with np.load(file, allow_pickle=False) as data:
                    records = json.loads(str(data["records"]))
                    fits = []
                    if "coef" in data:
                        fits = [FitResult(coef=c, intercept=b, n_iter=int(n), converged=bool(ok), fit_seconds=float(s))
                                for c, b, n, ok, s in zip(data["coef"], data["intercept"], data["n_iter"],
                                                          data["converged"], data["fit_seconds"])]
            except Exception:  # noqa: BLE001 - truncated zip, bad header, missing array: the task runs again
                continue
            if len(records) == len(task.positions):
                done[task.key] = TaskResult(task=task, fits=fits, records=records, worker="checkpoint")
        return done

    # -- results ---------------------------------------------------------------------------------
    @property
    def results_path(self) -> Path:
        return self.path / "results.csv"

    def start_results(self, columns: list[str], records: list[dict]) -> None:
        """(Re)write results.csv with the rows finished so far, in the order they finished."""
        write_text(self.results_path, pd.DataFrame(records, columns=columns).to_csv(index=False))

    def append_results(self, columns: list[str], records: list[dict]) -> None:
        """Append finished rows to results.csv and flush them to disk."""
        with naming(self.results_path), open(self.results_path, "a", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            for record in records:
                writer.writerow([_csv_value(record[c]) for c in columns])
            handle.flush()

    def finish(self, table: pd.DataFrame, coef: np.ndarray, intercept: np.ndarray, classes: np.ndarray) -> None:
        """Write the final results.csv (grid order) and path.npz.

        The checkpoints stay until :meth:`drop_checkpoints`, so a run stopped during the refit or
        the report still resumes without refitting any row.
        """
        write_text(self.results_path, table.to_csv(index=False))
        # Uncompressed: DEFLATE on float64 weights halves the file but costs ~8x the write (50 rows of
        # 10 x 784: 1.3 MB in 42 ms against 3.1 MB in 5 ms), and the sweep's time ends with this write.
        save_npz(self.path / "path.npz", compressed=False, coef=coef, intercept=intercept, classes=classes)

    def drop_checkpoints(self) -> None:
        """Remove ``.partial`` once the whole run is complete."""
        shutil.rmtree(self.partial, ignore_errors=True)


def _drop_old_figures(folder: Path, keep: set[str]) -> None:
    """Remove our figure files in ``folder`` that are not in ``keep``, then the folder if that
    left it empty; never through a symbolic link, never a file of another name."""
    if folder.is_symlink() or not folder.is_dir():
        return
    for name in FIGURE_FILES:
        old = folder / name
        if name not in keep and old.is_file() and not old.is_symlink():  # we never write links
            old.unlink()
    try:
        folder.rmdir()  # only when empty: a user's file keeps it
    except OSError:
        pass


def _cannot_create(path: Path, error: OSError) -> UsageError:
    """``--out`` names a folder the system will not make (a file system such as /proc, a full or
    read-only disk), though the checks before loading found nothing wrong with its path."""
    reason = error.strerror or type(error).__name__
    return UsageError(f"--out: {path} cannot be created ({reason}); allowed a folder that can be created and "
                      "written: choose another --out")


def _csv_value(value):
    # Match DataFrame.to_csv so appended rows and the final table read back identically.
    if isinstance(value, float):
        return repr(value)
    return value


def _timestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
