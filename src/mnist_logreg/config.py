"""The options of ``mnist-logreg run`` as one dataclass.

Kept apart from :mod:`.workflow` and light to import: the command line reads its defaults to
build ``--help`` before anything heavy (pandas, scikit-learn, skops) is loaded; ``validate``
imports the parsers it needs when it runs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .engines import DEFAULT_ENGINE
from .errors import UsageError

__all__ = ["RunConfig", "TABLE_OPTIONS"]

TABLE_OPTIONS = ("dataset", "train_size", "test_size", "seed", "repeats", "scale", "dtype", "standardize",
                 "penalties", "l1_ratios", "C", "engine", "tol", "max_iter", "select_by", "cv")


@dataclass
class RunConfig:
    """Every option of ``mnist-logreg run`` (see ``mnist-logreg run --help`` for each)."""

    dataset: str = "mnist"
    train_size: int | float | str = 1500
    test_size: int | float | str = 1000
    seed: int = 42
    repeats: int = 1
    scale: str = "auto"
    dtype: str = "float64"
    penalties: str = "l1,l2"
    l1_ratios: str = "0.5"
    C: str = "1e-3:1e1:25"
    engine: str = DEFAULT_ENGINE
    tol: float | None = None
    max_iter: int | None = None
    jobs: int | None = None
    scheduler: str | None = None
    select_by: str = "roc_auc_test"
    cv: int = 5
    refit: str = "all"
    standardize: bool = False
    out: str | None = None
    force: bool = False
    resume: bool = False
    report: bool = True

    def validate(self) -> None:
        """Check every option before any data is loaded (raises UsageError)."""
        from .data import parse_dataset_spec
        from .grid import parse_C, parse_l1_ratios, parse_penalties
        from .preprocessing import check_dtype, check_scale
        from .select import check_refit, check_select_by
        from .split import parse_size

        parse_dataset_spec(self.dataset)
        parse_penalties(self.penalties)
        parse_l1_ratios(self.l1_ratios)
        parse_C(self.C)
        parse_size(self.train_size, "--train-size")
        parse_size(self.test_size, "--test-size")
        check_dtype(self.dtype)
        check_scale(self.scale)
        check_select_by(self.select_by)
        check_refit(self.refit)
        if not isinstance(self.cv, int) or self.cv < 2:
            raise UsageError(f"--cv: received {self.cv!r}; allowed a whole number >= 2")
        if self.jobs is not None and (not isinstance(self.jobs, int) or self.jobs == 0 or self.jobs < -1):
            raise UsageError(f"--jobs: received {self.jobs!r}; allowed a whole number >= 1, or -1 for all cores")
        if not isinstance(self.repeats, int) or self.repeats < 1:
            raise UsageError(f"--repeats: received {self.repeats!r}; allowed a whole number >= 1")
        from .plan.executors import check_scheduler

        check_scheduler(self.scheduler)
        if self.tol is not None and not (self.tol > 0 and math.isfinite(self.tol)):
            raise UsageError(f"--tol: received {self.tol!r}; allowed a number > 0")
        if self.max_iter is not None and self.max_iter < 1:
            raise UsageError(f"--max-iter: received {self.max_iter!r}; allowed a whole number >= 1")
        if self.force and self.resume:
            raise UsageError("--force and --resume: received both; allowed one of them")

    def engine_options(self) -> dict:
        # Parallelism is the executor's (--jobs, --scheduler), not an engine option; saga's sample
        # order keeps its fixed seed so a repeat's rows equal those of a run with that --seed.
        return {"tol": self.tol, "max_iter": self.max_iter}

    def table_options(self) -> dict:
        values = asdict(self)
        return {k: (str(values[k]) if k in ("train_size", "test_size") else values[k]) for k in TABLE_OPTIONS}
