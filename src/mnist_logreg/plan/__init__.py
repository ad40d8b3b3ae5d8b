"""The sweep as a plan: grid rows x repeats x folds -> tasks (:mod:`.tasks`), run by an executor
(:mod:`.executors`: this process, local worker processes, or a Dask cluster in :mod:`.dask`)."""

from .executors import DASK_HINT, LocalExecutor, check_scheduler, make_executor, resolve_jobs
from .tasks import SplitData, Task, TaskResult, make_split_data, plan_tasks, run_task

__all__ = ["SplitData", "Task", "TaskResult", "make_split_data", "plan_tasks", "run_task", "LocalExecutor",
           "make_executor", "resolve_jobs", "check_scheduler", "DASK_HINT"]
