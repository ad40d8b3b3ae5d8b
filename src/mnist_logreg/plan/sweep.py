"""The sweep's driver: plan the tasks, hand them to an executor, assemble one tidy table.

The grid is turned into tasks (:mod:`mnist_logreg.plan.tasks`: one path, or part of a long one, of one split, on its
training set or one cross-validation fold), which an executor runs wherever it runs them
(:mod:`mnist_logreg.plan.executors`). Only this driver writes files: each finished task is
checkpointed in the run folder, each row whose fits are all finished is appended to results.csv,
and at the end results.csv (table order) and path.npz are written. An interrupted sweep keeps
every finished task; a resumed one runs only the missing ones, which give the rows an
uninterrupted run gives because a task is pure.

The table has one row per (repeat, grid row): repeats in the order given, then grid order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..engines.base import Engine
from .grid import GridPoint
from ..metrics import RESULT_COLUMNS
from ..limits import available_bytes, check_memory  # noqa: F401  (sweeps are checked with these)
from .executors import LocalExecutor
from .tasks import TaskResult, make_split_data, plan_tasks
from ..data.split import Split
from ..solvers.freeset import max_factor_bytes
from ..io.store import RunFolder

__all__ = ["SweepResult", "run_sweep", "table_columns", "estimate_task_bytes", "estimate_driver_bytes",
           "check_memory", "available_bytes"]

Progress = Callable[[int], None]
CV_COLUMNS = ["roc_auc_cv", "roc_auc_cv_std"]


def table_columns(cv: int | None) -> list[str]:
    """Columns of results.csv: ``repeat``, then :data:`~mnist_logreg.metrics.RESULT_COLUMNS`, then the CV scores."""
    return ["repeat", *RESULT_COLUMNS, *(CV_COLUMNS if cv else [])]


@dataclass
class SweepResult:
    """The sweep's outcome.

    Attributes
    ----------
    table : DataFrame
        One row per (repeat, grid row): repeats in order, grid order within each; columns
        :func:`table_columns`.
    coef : ndarray of shape (n_table_rows, n_classes, n_features)
    intercept : ndarray of shape (n_table_rows, n_classes)
    rows : list of GridPoint
        The grid (``table`` row ``r * len(rows) + i`` is grid row ``i`` of the ``r``-th repeat).
    repeats : list of int
        The split seeds, in table order.
    executor : dict
        What ran where (the executor's ``info()``).
    """

    table: pd.DataFrame
    coef: np.ndarray
    intercept: np.ndarray
    rows: list[GridPoint]
    repeats: list[int] = field(default_factory=list)
    executor: dict = field(default_factory=dict)

    def _repr_html_(self) -> str:
        """A compact HTML summary for notebooks."""
        from ..display import sweep_html

        return sweep_html(self)


class _Assembly:
    """Collects task results into table records; a row's record is complete once its main fit and
    every fold of its split have finished."""

    def __init__(self, tasks, cv: int | None):
        self.cv = cv
        self.needed: dict = {}
        for task in tasks:
            self.needed.setdefault(task.group, set()).add(task.key)
        self.finished: dict = {group: {} for group in self.needed}
        self.records: dict[tuple[int, int], dict] = {}
        self.fits: dict[tuple[int, int], object] = {}

    def add(self, result: TaskResult) -> list[dict]:
        """Take one result; return the records it completed (in grid order)."""
        task = result.task
        parts = self.finished[task.group]
        parts[task.key] = result
        if set(parts) != self.needed[task.group]:
            return []
        main = next(r for r in parts.values() if r.task.fold is None)
        folds = sorted((r for r in parts.values() if r.task.fold is not None), key=lambda r: r.task.fold)
        completed = []
        for j, position in enumerate(task.positions):
            record = {"repeat": task.repeat, **main.records[j]}
            if self.cv:
                scores = np.array([f.records[j]["roc_auc"] for f in folds])
                record["roc_auc_cv"] = float(np.mean(scores))
                record["roc_auc_cv_std"] = float(np.std(scores))
            self.records[task.repeat, position] = record
            self.fits[task.repeat, position] = main.fits[j]
            completed.append(record)
        return completed


def run_sweep(splits: Split | Mapping[int, Split], rows: Sequence[GridPoint], engine: Engine, *,
              standardize: bool = False, cv: int | None = None, seed: int = 42, folder: RunFolder | None = None,
              progress: Progress | None = None, executor=None) -> SweepResult:
    """Fit and score every grid row on every split.

    Parameters
    ----------
    splits : Split or mapping of int to Split
        One split (its ``repeat`` is ``seed``), or the splits of ``--repeats`` keyed by their seed.
    rows : sequence of GridPoint
    engine : Engine
        Handed to every task as it is, with all its options.
    standardize : bool
        Fit a StandardScaler on the rows each task fits on (the training set, or a fold's part).
    cv : int or None
        Folds for ``roc_auc_cv``; ``None`` skips cross-validation.
    seed : int
        The repeat of a single ``splits``.
    folder : RunFolder or None
        Where to checkpoint and write results; ``None`` keeps everything in memory.
    progress : callable or None
        Called with the number of rows of each task as it finishes (``len(rows) * (1 + cv)`` per
        repeat in all, fewer on resume).
    executor : executor or None
        Where tasks run (:func:`~mnist_logreg.plan.make_executor`); the caller opens and closes
        it. ``None`` runs them one after another in this process.
    """
    rows = list(rows)
    splits = {seed: splits} if isinstance(splits, Split) else dict(splits)
    repeats = list(splits)
    first = splits[repeats[0]]
    engine.check(rows, first.X_train.dtype)
    tasks = plan_tasks(rows, repeats, cv, getattr(engine, "task_unit", "path"), getattr(engine, "blas_threads", None))
    columns = table_columns(cv)
    assembly = _Assembly(tasks, cv)

    done = folder.load_tasks(tasks) if folder is not None else {}
    for result in done.values():
        assembly.add(result)
    if folder is not None:
        folder.start_results(columns, [assembly.records[k] for k in sorted(assembly.records)])

    pending = [t for t in tasks if t.key not in done]
    executor = executor if executor is not None else LocalExecutor(jobs=1)
    info: dict = {}
    if pending:
        needed = sorted({t.repeat for t in pending}, key=repeats.index)
        shared = {r: executor.share(make_split_data(splits[r], repeat=r, cv=cv, standardize=standardize))
                  for r in needed}
        for result in executor.run(pending, shared, engine):
            if folder is not None:
                folder.save_task(result)
            completed = assembly.add(result)
            if folder is not None and completed:
                folder.append_results(columns, completed)
            if progress:
                progress(len(result.task.positions))
    info = executor.info()

    keys = [(r, i) for r in repeats for i in range(len(rows))]
    table = pd.DataFrame([assembly.records[k] for k in keys], columns=columns)
    coef = np.stack([assembly.fits[k].coef for k in keys])
    intercept = np.stack([assembly.fits[k].intercept for k in keys])
    if folder is not None:
        folder.finish(table, coef, intercept, np.asarray(first.classes.tolist()))
    return SweepResult(table=table, coef=coef, intercept=intercept, rows=rows, repeats=repeats, executor=info)


# -- memory planning ---------------------------------------------------------------------------
def estimate_task_bytes(n_train: int, n_features: int, n_classes: int, n_task_rows: int, itemsize: int,
                        fold: bool = False) -> int:
    """A generous estimate of one task's peak memory in its worker, in bytes (the split's shared
    arrays not included).

    A fold's copy of the training rows, a standardised copy, an engine's working set of about two
    more copies, the n_train x n_classes score matrices, the task's own coefficient path, and the
    Newton tail's free-set factor (:func:`~mnist_logreg.solvers.freeset.max_factor_bytes`).
    """
    X = n_train * n_features * itemsize
    scores = 6 * n_train * n_classes * 8
    path = n_task_rows * n_classes * (n_features + 1) * 8
    return int(X * (3 + int(fold)) + scores + path + max_factor_bytes(n_features, n_classes))


def estimate_driver_bytes(n_train: int, n_test: int, n_features: int, n_classes: int, n_rows: int, itemsize: int,
                          repeats: int = 1) -> int:
    """The driver's memory: each split's arrays (loaded and scaled) and the main fits' coefficient
    path held for path.npz (twice while it is stacked)."""
    splits = repeats * (n_train + n_test) * n_features * (itemsize + 8)
    path = 2 * repeats * n_rows * n_classes * (n_features + 1) * 8
    return int(splits + path)
