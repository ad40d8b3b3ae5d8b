"""Where tasks run: this process, local worker processes (joblib), or a Dask cluster.

Every executor has the same small face, so the sweep's driver does not know where a task runs:

* ``share(data)`` — hand one split's arrays to the workers, once; returns what tasks receive;
* ``run(tasks, shared, engine)`` — yield each :class:`~mnist_logreg.plan.tasks.TaskResult` as
  soon as its task finishes, in any order; stopping the iteration (Ctrl-C, SIGTERM) cancels what
  is pending;
* ``check_memory(task_bytes, split_bytes)`` — refuse a plan whose concurrent tasks do not fit;
* ``describe()``, ``info()`` — a line for the log, and what ran where for run.json;
* ``start()`` — optional, early: begin starting workers while the driver still loads data;
* used as a context manager, it connects on entry and releases its processes and files on exit.

Local processes are joblib's loky workers, which outlive one sweep and are reused by the next
one in the same Python process. BLAS threads are not the executor's to choose: every task
carries the plan's count (:attr:`~mnist_logreg.plan.tasks.Task.blas_threads`, default 1), so a
row is computed alike everywhere, and ``--jobs`` processes of one thread never exceed the cores.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter
from dataclasses import replace
from typing import Iterator

import joblib

from ..choices import DASK_HINT, check_scheduler
from ..engines.base import Engine
from .tasks import SplitData, Task, TaskResult, run_task, worker_task
from .warmup import WarmUp, local_jobs, resolve_jobs, take_warm_up

__all__ = ["LocalExecutor", "make_executor", "resolve_jobs", "check_scheduler", "DASK_HINT"]

#: Arrays at least this large go to local workers as a memory-mapped file, written once per split.
MEMMAP_BYTES = 1 << 20


class LocalExecutor:
    """Tasks in joblib worker processes (``jobs > 1``) or in this process (``jobs == 1``).

    Parameters
    ----------
    jobs : int or None
        Worker processes; ``None`` or ``-1`` for every core, and never more than the cores
        (:func:`.warmup.resolve_jobs`).
    """

    def __init__(self, jobs: int | None = None):
        self.asked = jobs
        self.jobs = resolve_jobs(jobs)
        self._folder: str | None = None
        self._workers: Counter = Counter()
        self._warming: WarmUp | None = None

    def start(self) -> None:
        """Start the worker processes in the background; they import the task code meanwhile.

        A fresh process pays about a second (more on a busy machine) to import NumPy, SciPy's
        linear algebra and Numba before its first task; started here, that overlaps with what the
        driver still does. The command starts the same warm-up earlier still, before its own
        imports (:mod:`.warmup`); this joins it. The same pool then runs the tasks (loky reuses an
        executor asked for with the same number of workers).
        """
        if self.jobs > 1 and self._warming is None:
            self._warming = take_warm_up(self.jobs)

    @property
    def started_pids(self) -> set[int]:
        """Process ids of the workers start() warmed up (for checking that the tasks ran on them)."""
        return self._warming.join() if self._warming is not None else set()

    def __enter__(self) -> "LocalExecutor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._warming is not None:
            self._warming.join()  # its workers stay with loky's pool; the warm-up thread ends here
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def share(self, data: SplitData) -> SplitData:
        """In-process: the arrays themselves. For workers, large arrays are dumped once to a
        memory-mapped file that every worker maps, so no task pickles or hashes them again."""
        if self.jobs == 1 or data.nbytes < MEMMAP_BYTES:
            return data
        if self._folder is None:
            base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
            self._folder = tempfile.mkdtemp(prefix="mnist-logreg-", dir=base)
        path = os.path.join(self._folder, f"split-{data.repeat}.joblib")
        joblib.dump(replace(data, folds=[]), path)
        mapped = joblib.load(path, mmap_mode="r")
        return replace(mapped, folds=data.folds)

    def run(self, tasks: list[Task], shared: dict[int, SplitData], engine: Engine) -> Iterator[TaskResult]:
        if self.jobs == 1 or len(tasks) <= 1:
            for task in tasks:
                result = run_task(task, shared[task.repeat], engine)
                self._workers[result.worker] += 1
                yield result
            return
        if self._warming is not None:
            self._warming.join()
        # Always ``self.jobs`` workers and joblib's default memmapping options, as in start(): any other
        # argument would make loky start a new pool. Those defaults also pass share()'s memory-mapped
        # arrays by reference (file name and offset), never by value.
        parallel = joblib.Parallel(n_jobs=self.jobs, backend="loky", return_as="generator_unordered")
        calls = (joblib.delayed(worker_task)(t, shared[t.repeat], engine) for t in tasks)
        # Closing this generator (an exception in the caller, Ctrl-C) makes joblib cancel what is pending.
        for result in parallel(calls):
            self._workers[result.worker] += 1
            yield result

    def describe(self) -> str:
        capped = (f" (--jobs {self.asked}: at most one per core)"
                  if self.asked not in (None, -1) and self.asked > self.jobs else "")
        if self.jobs == 1:
            return "tasks in this process" + capped
        return f"tasks in {self.jobs} worker processes" + capped

    def check_memory(self, task_bytes: int, split_bytes: int) -> None:
        """Refuse when the tasks running at once do not fit: ``jobs`` tasks, plus one shared
        (memory-mapped) copy of a split for the workers."""
        from .sweep import check_memory

        shared = split_bytes if self.jobs > 1 else 0
        check_memory(self.jobs * task_bytes + shared, where=f"--jobs {self.jobs} (tasks running at once)")

    def info(self) -> dict:
        return {"executor": "local", "jobs": self.jobs, "jobs_asked": self.asked,
                "tasks_by_worker": dict(self._workers)}


def make_executor(jobs: int | None = None, scheduler: str | None = None, work: float | None = None):
    """The executor for ``--jobs`` / ``--scheduler`` (a Dask scheduler wins over local jobs).

    ``work`` (fits x samples x features x classes), when given, lets the default ``jobs=None``
    keep a small plan in this process (:func:`.warmup.local_jobs`, the rule the command's early
    start of workers follows too).
    """
    if scheduler:
        check_scheduler(scheduler)
        from .dask import DaskExecutor  # optional dependency, imported only when asked for

        return DaskExecutor(scheduler)
    return LocalExecutor(jobs if local_jobs(jobs, work) > 1 else 1)
