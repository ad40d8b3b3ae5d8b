"""The output folder of a run: refusing to clobber, row checkpoints, and the final files.

While a sweep runs, every finished task (one path of one split, on its training set or one
fold) is checkpointed as ``.partial/<task>.npz`` and each row whose fits are all finished is
appended to ``results.csv``. An interrupted run therefore keeps
every finished row, and ``--resume`` reads the checkpoints back. When the sweep completes,
``results.csv`` is rewritten in grid order and ``path.npz`` is written; the checkpoints go once the
whole run (refit and report included) is complete.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import save_npz, write_text
from .engines.base import FitResult
from .errors import UsageError
from .plan.tasks import Task, TaskResult

__all__ = ["RunFolder", "OUTPUT_NAMES"]

#: What a run writes; ``--force`` removes these (and only these) before starting again.
OUTPUT_NAMES = ("results.csv", "path.npz", "best.json", "model.skops", "run.json", "report.html",
                "figures", ".partial")


class RunFolder:
    """An output folder. Use :meth:`prepare` to create one the way ``--force``/``--resume`` ask."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.partial = self.path / ".partial"
        self.force = False

    @classmethod
    def prepare(cls, path, *, force: bool = False, resume: bool = False) -> "RunFolder":
        """Check that the folder may be used; nothing is created or removed yet.

        A folder that exists and is not empty is refused unless ``force`` (our previous outputs are
        removed by :meth:`start`, anything else is left alone) or ``resume`` (everything is kept).
        The folder itself is created by the first file written into it, so a run that fails while
        loading its data leaves nothing behind.
        """
        folder = cls(path)
        folder.force = force
        if folder.path.exists() and not folder.path.is_dir():
            raise UsageError(f"--out: {folder.path} exists and is a file; allowed a new or empty folder")
        occupied = folder.path.exists() and any(folder.path.iterdir())
        if resume:
            if not (folder.path / "run.json").exists():
                raise UsageError(f"--resume: {folder.path} holds no run.json; allowed only a folder written by "
                                 "an earlier `mnist-logreg run`")
            folder.force = False
            return folder
        if occupied and not force:
            raise UsageError(f"--out: {folder.path} is not empty; choose a new folder, or pass --force to "
                             "replace its results or --resume to finish an interrupted run")
        return folder

    def start(self) -> None:
        """With ``--force``, remove the previous run's outputs (only ours), just before writing anew."""
        if not self.force:
            return
        for name in OUTPUT_NAMES:
            target = self.path / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()

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
            except (OSError, ValueError, KeyError):
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
        with open(self.results_path, "a", newline="", encoding="utf-8") as handle:
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
        save_npz(self.path / "path.npz", coef=coef, intercept=intercept, classes=classes)

    def drop_checkpoints(self) -> None:
        """Remove ``.partial`` once the whole run is complete."""
        shutil.rmtree(self.partial, ignore_errors=True)


def _csv_value(value):
    # Match DataFrame.to_csv so appended rows and the final table read back identically.
    if isinstance(value, float):
        return repr(value)
    return value
