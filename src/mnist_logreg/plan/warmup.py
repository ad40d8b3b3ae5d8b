"""Local worker processes started early, so that their imports overlap with the driver's.

A fresh worker pays about a second of CPU (more on a busy machine) to import NumPy, SciPy's linear
algebra and Numba before its first task, and the driver more than two before it knows the data's
shape. (A task of the numpy engine imports scikit-learn only to standardise or to warn of a row that
did not converge: with SciPy's stats and pandas it would triple a worker's start, and the scoring of
:mod:`..metrics` needs NumPy alone.) Started one after the other that is the driver's import time plus the workers';
started together, the processes share the cores. The command starts the pool as soon as its
options say local workers will run (:func:`early_jobs`), before it imports the workflow;
:class:`~mnist_logreg.plan.executors.LocalExecutor` then joins the same warm-up (loky reuses a pool
asked for with the same number of workers) instead of starting its own.

This module imports only joblib, so the command can use it before anything heavy.
"""

from __future__ import annotations

import os
import threading

__all__ = ["SMALL_PLAN", "WarmUp", "early_jobs", "local_jobs", "resolve_jobs", "take_warm_up", "warm_up"]

#: With the default ``--jobs``, a plan below this much work (fits x samples x features x classes)
#: runs in this process: starting a worker and importing the task code takes about a second, more
#: than the whole of such a plan (e.g. 300 of the 8x8 digits, 12 fits: 2.3e6; 1500 digits, 5-fold
#: CV over 26 C values: 1.5e8).
SMALL_PLAN = 1e7
#: Before the data is loaded its pixels x classes are unknown; :func:`early_jobs` counts at least this
#: many (8 x 8 pixels, 10 classes), so that a plan it starts workers for is not one that
#: ``SMALL_PLAN`` then keeps in this process, unless the images are smaller than that.
EARLY_FEATURES_CLASSES = 64 * 10

_warm_ups: dict[int, "WarmUp"] = {}
_lock = threading.Lock()


class WarmUp:
    """One background start of ``jobs`` loky workers that import the task code.

    Attributes
    ----------
    jobs : int
    pids : set of int
        Process ids of the workers that answered (empty until :meth:`join`, or if the start failed).
    """

    def __init__(self, jobs: int):
        self.jobs = jobs
        self.pids: set[int] = set()
        self._thread = threading.Thread(target=self._run, name="mnist-logreg-warm-up", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import joblib

        try:
            self.pids = set(joblib.Parallel(n_jobs=self.jobs, backend="loky")(
                joblib.delayed(import_task_code)() for _ in range(self.jobs)))
        except BaseException:  # noqa: BLE001 - only a head start; the executor starts the pool itself if this
            pass  # failed, and a worker's own KeyboardInterrupt (the command's Ctrl-C) is the driver's to report

    def join(self) -> set[int]:
        """Wait until the workers have imported the task code; their process ids."""
        self._thread.join()
        return self.pids


def warm_up(jobs: int) -> WarmUp:
    """Start a warm-up of ``jobs`` workers for the next executor of this process to take, unless
    one is already waiting; returns the waiting one."""
    with _lock:
        started = _warm_ups.get(jobs)
        if started is None:
            started = _warm_ups[jobs] = WarmUp(jobs)
        return started


def take_warm_up(jobs: int) -> WarmUp:
    """The waiting warm-up of ``jobs`` workers, taken (the next executor starts its own), or a new one.

    A warm-up is taken once: its process ids describe the pool of that moment, which a later
    sweep with other joblib arguments may have replaced.
    """
    with _lock:
        waiting = _warm_ups.pop(jobs, None)
    return waiting if waiting is not None else WarmUp(jobs)


def resolve_jobs(jobs: int | None) -> int:
    """``--jobs`` as worker processes: ``None`` or ``-1`` -> the cores this process may use; else the
    number given, but never more than those cores.

    Every task computes with one BLAS thread, so a worker beyond the cores only adds a process
    (tens of MB, a second to start) that shares a core with another: ``--jobs 1000`` on 2 cores
    started 1,000 processes and exhausted 24 GB before the first task ran.
    """
    import joblib

    cores = max(1, joblib.cpu_count())
    if jobs is None or jobs == -1:
        return cores
    return min(int(jobs), cores)


def local_jobs(jobs: int | None, work: float | None = None) -> int:
    """The processes a local executor runs tasks in for ``--jobs`` (1: this process).

    ``work`` (fits x samples x features x classes), when given, keeps a plan smaller than
    ``SMALL_PLAN`` in this process under the default ``jobs=None``; a number of jobs asked for is
    always used.
    """
    if jobs is None and work is not None and work < SMALL_PLAN:
        return 1
    return resolve_jobs(jobs)


def import_task_code() -> int:
    """Run in a worker: import what every task needs; the worker's process id. From here on the
    worker leaves Ctrl-C to the driver (:func:`.tasks.ignore_interrupts`)."""
    from . import tasks  # the import is the point: the task code, metrics, the engines' base
    from ..engines import numpy  # noqa: F401 - and the default engine with its solvers and Numba kernel

    tasks.ignore_interrupts()

    return os.getpid()


def early_jobs(config) -> int | None:
    """Local workers a run's options will certainly use, judged before its data is loaded; else None.

    ``--scheduler`` runs nothing locally, ``--jobs 1`` nothing in workers, and a plan of one task
    (one regularisation path short enough to be one task, no repeats or folds) runs in the driver. Under the default ``--jobs``
    the executor also keeps plans below ``SMALL_PLAN`` in the driver; here the pixels x classes
    are not known yet, so the plan counts ``EARLY_FEATURES_CLASSES`` of them, and a train size
    given as a fraction is not judged at all.
    """
    from .grid import make_grid, path_tasks

    if config.scheduler:
        return None
    rows = make_grid(config.penalties, config.C, config.l1_ratios)
    parts = config.repeats * (1 + config.cv if config.select_by == "roc_auc_cv" else 1)
    if len(path_tasks(rows)) * parts <= 1:  # one task (an engine of one task per row has more)
        return None
    work = None  # a number of jobs asked for is used whatever the plan's size
    if config.jobs is None:
        from ..choices import parse_size  # light: the standard library and the package's errors

        train_size = parse_size(config.train_size, "--train-size")  # the command line hands it over as text
        if not isinstance(train_size, int):  # a fraction: its count depends on the data
            return None
        work = len(rows) * parts * train_size * EARLY_FEATURES_CLASSES
    jobs = local_jobs(config.jobs, work)
    return jobs if jobs > 1 else None

