"""The sweep as data: grid rows x repeats x folds -> a list of tasks, and the pure function that runs one.

A task is the unit of work an executor schedules: one regularisation path — the rows of one
``(penalty, l1_ratio)`` over its C values, so the engine keeps its warm starts — of one split
(``repeat``) on one part of it (the main fit, or one cross-validation fold). An engine that fits
rows independently (saga) asks for one task per row; one that fits many rows in one call (a GPU
engine) asks for one task per split and fold (:attr:`~mnist_logreg.engines.base.Engine.task_unit`).

A long path of a sparse penalty (L1, elastic net, group) is two tasks (:func:`~.grid.path_segments`): its
weakest C values cost the most (the support grows as C grows: on the notebook grid the weakest
third of the l1 path's rows take two thirds of its time), and as one task they would be the
sweep's long pole while other cores wait. The second task starts its first C from zero weights,
like the path's first. The split depends on the grid alone, never on where the tasks run, so the
table does not depend on ``--jobs`` or ``--scheduler``; and the longest tasks come first in the
plan, so that the executor's workers start them before the short ones.

:func:`run_task` is pure: the split's arrays and an engine object in, the rows out (weights,
scores, certificate). It reads no file, writes no file and mutates nothing it is given, so a
task may run in this process, a local worker process or on a Dask worker, any number of times
(a lost worker's task runs again elsewhere), and give the same rows.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from ..engines.base import Engine, FitResult
from ..errors import DataError
from .grid import GridPoint, path_tasks
from ..metrics import predict_proba, roc_auc_ovr, score_fit

__all__ = ["SplitData", "Task", "TaskResult", "TASK_UNITS", "make_split_data", "plan_tasks", "run_task"]

#: How an engine wants its rows grouped into tasks (see :attr:`Engine.task_unit`).
TASK_UNITS = ("row", "path", "grid")


@dataclass
class SplitData:
    """The arrays every task of one split needs; sent to each worker once per split.

    Attributes
    ----------
    repeat : int
        The split's seed (the value of the ``repeat`` column).
    X_train : ndarray of shape (n_train, n_features)
    y_train : ndarray of shape (n_train,)
        Class codes ``0..n_classes-1``.
    X_test : ndarray of shape (n_test, n_features)
    y_test : ndarray of shape (n_test,)
    n_classes : int
    folds : list of (ndarray, ndarray)
        ``(fit, validation)`` positions in the training set of each cross-validation fold; empty
        without CV. Indices, not copies: a fold's arrays are cut in the worker.
    standardize : bool
        Fit a StandardScaler on the rows a task fits on (the training set, or the fold's part).
    """

    repeat: int
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    folds: list = field(default_factory=list)
    standardize: bool = False

    @property
    def nbytes(self) -> int:
        return int(self.X_train.nbytes + self.X_test.nbytes + self.y_train.nbytes + self.y_test.nbytes
                   + sum(f.nbytes + v.nbytes for f, v in self.folds))


def make_split_data(split, *, repeat: int, cv: int | None, standardize: bool) -> SplitData:
    """The :class:`SplitData` of a :class:`~mnist_logreg.data.split.Split`; folds are stratified and
    shuffled with ``random_state=repeat`` (the split's seed)."""
    y = split.y_train_codes
    folds = []
    if cv:
        counts = np.bincount(y, minlength=split.n_classes)
        if counts.min() < cv:
            raise DataError(f"--cv: the training set has {counts.min()} sample(s) of class "
                            f"{split.classes[counts.argmin()].item()!r}; {cv}-fold cross-validation needs at least "
                            f"{cv} per class (use a larger --train-size or a smaller --cv)")
        from sklearn.model_selection import StratifiedKFold  # the driver's: workers never import scikit-learn

        folds = list(StratifiedKFold(n_splits=cv, shuffle=True, random_state=repeat).split(split.X_train, y))
    return SplitData(repeat=repeat, X_train=split.X_train, y_train=y, X_test=split.X_test, y_test=split.y_test_codes,
                     n_classes=split.n_classes, folds=folds, standardize=standardize)


@dataclass(frozen=True)
class Task:
    """One unit of work: some grid rows of one split, fitted on its training set or on one fold.

    Attributes
    ----------
    repeat : int
        The split's seed.
    fold : int or None
        Cross-validation fold, or ``None`` for the main fit (scored on the test set).
    positions : tuple of int
        Grid positions of the rows (one path, in grid order).
    rows : tuple of GridPoint
    blas_threads : int
        BLAS threads the task computes with, wherever it runs. Fixed by the plan, not by the
        executor: OpenBLAS splits its products differently over 2 threads than over 1, and the
        different rounding changes the iterates (BENCHMARKS.md, issue 8's section), so a thread count
        chosen by where a task runs would make the table depend on ``--jobs`` / ``--scheduler``.
    """

    repeat: int
    fold: int | None
    positions: tuple[int, ...]
    rows: tuple[GridPoint, ...]
    blas_threads: int = 1

    @property
    def key(self) -> str:
        """A name unique in the plan, usable as a file name and a Dask key."""
        part = "main" if self.fold is None else f"cv{self.fold}"
        return f"r{self.repeat}-{part}-{self.positions[0]:05d}-{len(self.positions)}"

    @property
    def group(self) -> tuple[int, tuple[int, ...]]:
        """Rows whose table records need this task: the same rows of the same split, every fold."""
        return self.repeat, self.positions


@dataclass
class TaskResult:
    """What a task returns.

    Attributes
    ----------
    task : Task
    fits : list of FitResult
        One per row for the main fit (weights and certificate); empty for a fold, whose weights
        are not kept.
    records : list of dict
        The main fit's results.csv record of each row (:func:`~mnist_logreg.metrics.score_fit`),
        or ``{"roc_auc": value}`` on the fold's validation part.
    worker : str
        ``host:pid`` of the process that ran it.
    """

    task: Task
    fits: list[FitResult]
    records: list[dict]
    worker: str = ""


def plan_tasks(rows: Sequence[GridPoint], repeats: Sequence[int], cv: int | None, unit: str = "path",
               blas_threads: int | None = None) -> list[Task]:
    """Every task of a sweep: for each repeat, each fold (then the main fit), each group of rows.

    ``blas_threads`` (default 1; an engine's own ``blas_threads`` option) is every task's BLAS
    thread count: one number for the whole plan, so a row's arithmetic is the same in this
    process, a local worker or a Dask worker. Parallelism comes from running tasks at once.

    Folds come first so that a row's table record, which needs every fold's score, is complete
    as early as possible, and within each part the weak segments of split paths (:func:`~.grid.path_tasks`)
    come first, being the longest; the order changes when results arrive, never what they are.
    """
    if unit not in TASK_UNITS:
        raise ValueError(f"task unit: received {unit!r}; allowed {', '.join(TASK_UNITS)}")
    if unit == "row":
        groups = [[i] for i in range(len(rows))]
    elif unit == "grid":
        groups = [list(range(len(rows)))]
    else:
        groups = path_tasks(rows)
    parts = [*range(cv or 0), None]
    threads = int(blas_threads or 1)
    return [Task(repeat=int(r), fold=f, positions=tuple(g), rows=tuple(rows[i] for i in g), blas_threads=threads)
            for r in repeats for f in parts for g in groups]


def _standardized(X_fit: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    from sklearn.preprocessing import StandardScaler  # only tasks that standardise import scikit-learn

    scaler = StandardScaler().fit(X_fit)
    return [scaler.transform(X).astype(X_fit.dtype, copy=False) for X in (X_fit, *others)]


def ignore_interrupts() -> None:
    """In a worker process: leave Ctrl-C to the driver.

    A terminal's Ctrl-C reaches every process of its group, workers included. The driver turns it
    into one line and stops its workers; a worker that took it too would print its own traceback
    beside that line (and at worst leave loky's shared-memory bookkeeping half done). Only the main
    thread may set a handler: a task running in a thread (a Dask worker's) keeps its process's.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def worker_task(task: Task, data: SplitData, engine: Engine) -> TaskResult:
    """:func:`run_task` in a worker process (:func:`ignore_interrupts` first)."""
    ignore_interrupts()
    return run_task(task, data, engine)


def run_task(task: Task, data: SplitData, engine: Engine) -> TaskResult:
    """Fit and score one task. Pure: nothing given is changed, nothing is written.

    Parameters
    ----------
    task : Task
    data : SplitData
        The task's split.
    engine : Engine
        The engine object with all its options.

    The task's BLAS threads (:attr:`Task.blas_threads`) hold for everything it computes,
    whatever the process's default (2 here, 1 in a worker whose nanny or loky set
    ``OMP_NUM_THREADS``), so the rows do not depend on where the task runs.
    """
    with threadpool_limits(limits=task.blas_threads, user_api="blas"):
        if task.fold is None:
            X_fit, y_fit, X_eval, y_eval = data.X_train, data.y_train, data.X_test, data.y_test
        else:
            fit_idx, val_idx = data.folds[task.fold]
            X_fit, y_fit = data.X_train[fit_idx], data.y_train[fit_idx]
            X_eval, y_eval = data.X_train[val_idx], data.y_train[val_idx]
        if data.standardize:
            X_fit, X_eval = _standardized(X_fit, X_eval)
        if task.fold is None:
            def score(j: int, fit: FitResult) -> dict:
                return score_fit(task.rows[j], fit, X_fit, y_fit, X_eval, y_eval)
        else:
            def score(j: int, fit: FitResult) -> dict:
                return {"roc_auc": roc_auc_ovr(y_eval, predict_proba(X_eval, fit.coef, fit.intercept))}
        fits: list[FitResult | None] = [None] * len(task.rows)
        # Each row is scored in a second thread as soon as it is fitted, while the path goes on (its
        # products release the GIL): on a core left idle by a shorter task the scoring costs the
        # path nothing. The records do not depend on the thread (the same products, the same order).
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mnist-logreg-score") as scorer:
            scoring = {}
            for j, fit in engine.fit_path(X_fit, y_fit, data.n_classes, list(task.rows)):
                fits[j] = fit
                scoring[j] = scorer.submit(score, j, fit)
            records = [scoring[j].result() for j in range(len(task.rows))]
        kept = fits if task.fold is None else []
    return TaskResult(task=task, fits=kept, records=records, worker=f"{socket.gethostname()}:{os.getpid()}")
