"""The output folder of a run: refusing to clobber, row checkpoints, and the final files.

While a sweep runs, every finished fit is checkpointed as ``.partial/<job>-<row>.npz`` and each
finished row of the main fit is appended to ``results.csv``. An interrupted run therefore keeps
every finished row, and ``--resume`` reads the checkpoints back. When the sweep completes,
``results.csv`` is rewritten in grid order and ``path.npz`` is written; the checkpoints go once the
whole run (refit and report included) is complete.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import save_npz, write_text
from .engines.base import FitResult
from .errors import UsageError

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
    def _checkpoint(self, job: str, position: int) -> Path:
        return self.partial / f"{job}-{position:05d}.npz"

    def save_fit(self, job: str, position: int, fit: FitResult) -> None:
        """Checkpoint one finished fit (atomically, uncompressed for speed)."""
        save_npz(self._checkpoint(job, position), compressed=False, coef=fit.coef, intercept=fit.intercept,
                 n_iter=fit.n_iter, converged=fit.converged, fit_seconds=fit.fit_seconds)

    def load_fits(self, job: str) -> dict[int, FitResult]:
        """Every checkpointed fit of ``job``; unreadable checkpoints are skipped (they are refitted)."""
        fits: dict[int, FitResult] = {}
        if not self.partial.is_dir():
            return fits
        for file in sorted(self.partial.glob(f"{job}-*.npz")):
            try:
                position = int(file.stem.rsplit("-", 1)[1])
                with np.load(file, allow_pickle=False) as data:
                    fits[position] = FitResult(coef=data["coef"], intercept=data["intercept"],
                                               n_iter=int(data["n_iter"]), converged=bool(data["converged"]),
                                               fit_seconds=float(data["fit_seconds"]))
            except (OSError, ValueError, KeyError, IndexError):
                continue
        return fits

    # -- results ---------------------------------------------------------------------------------
    @property
    def results_path(self) -> Path:
        return self.path / "results.csv"

    def start_results(self, columns: list[str], records: list[dict]) -> None:
        """(Re)write results.csv with the rows finished so far, in the order they finished."""
        write_text(self.results_path, pd.DataFrame(records, columns=columns).to_csv(index=False))

    def append_result(self, columns: list[str], record: dict) -> None:
        """Append one finished row to results.csv and flush it to disk."""
        with open(self.results_path, "a", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerow([_csv_value(record[c]) for c in columns])
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
