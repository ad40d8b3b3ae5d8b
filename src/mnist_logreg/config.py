"""The options of ``mnist-logreg run`` as one dataclass; each field is also its command-line option.

Every field declared with :func:`~mnist_logreg.options.option` carries its flag, help, ``--help``
group, text parser and check; the command line builds ``run``'s options from these fields and
:meth:`RunConfig.validate` runs their checks. Adding an option is adding a field here.

Kept apart from :mod:`.workflow` and light to import: the command line reads the fields to build
``--help`` before anything heavy (pandas, scikit-learn, skops) is loaded; the checks import the
parsers they need when they run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from importlib import import_module
from typing import Collection, Iterator

from .engines import DEFAULT_ENGINE, ENGINES
from .errors import UsageError
from .options import (Option, check_flag, one_of, option, option_of, parse_number, parse_whole, positive_number,
                      whole_number, SEED_MAX)
from .solvers.penalties import KINDS, PENALTIES

#: The penalties that take every value of ``--l1-ratios`` (the others fix their own).
_MIXING = ", ".join(kind.name for kind in KINDS.values() if kind.l1_ratios is None)

__all__ = ["RunConfig", "TABLE_OPTIONS", "run_options"]

TABLE_OPTIONS = ("dataset", "train_size", "test_size", "seed", "repeats", "scale", "dtype", "standardize",
                 "penalties", "l1_ratios", "C", "engine", "tol", "max_iter", "select_by", "cv")


def _calls(module: str, name: str, *args):
    """A check that calls ``module.name(value, *args)`` lazily (keeps this module light)."""
    def check(value, flag):
        getattr(import_module(f"mnist_logreg.{module}"), name)(value, *args)
    return check


def _size_check(value, flag):
    from .choices import parse_size

    parse_size(value, flag)


def _check_jobs(value, flag):
    if value is None:
        return
    whole_number(-1, allowed="a whole number >= 1, or -1 for all cores")(value, flag)
    if value == 0:
        raise UsageError(f"{flag}: received 0; allowed a whole number >= 1, or -1 for all cores")


DATA, GRID, FIT, SELECT, OUTPUT = "data", "grid", "fitting", "selection and refit", "output"


@dataclass
class RunConfig:
    """Every option of ``mnist-logreg run`` (see ``mnist-logreg run --help`` for each)."""

    dataset: str = option(
        "mnist", "--dataset", group=DATA, check=_calls("data", "parse_dataset_spec"),
        help="mnist (OpenML, cached), mnist-5k, digits, fashion-mnist, idx:DIR, npz:FILE, openml:NAME_OR_ID")
    train_size: int | float | str = option(1500, "--train-size", group=DATA, check=_size_check,
                                           help="count or fraction")
    test_size: int | float | str = option(1000, "--test-size", group=DATA, check=_size_check,
                                          help="count or fraction")
    seed: int = option(42, "--seed", group=DATA, parse=parse_whole,
                       check=whole_number(0, SEED_MAX, f"a whole number from 0 to {SEED_MAX} (2**32 - 1)"),
                       help="random seed of the split and folds")
    repeats: int = option(1, "--repeats", group=DATA, parse=parse_whole, check=whole_number(1),
                          help="stratified splits with seeds seed, seed+1, ...; selection uses the mean score over them")
    scale: str = option("auto", "--scale", group=DATA, check=_calls("choices", "check_scale"),
                        help="auto (integer pixels / 255), 255 or none")
    dtype: str = option("float64", "--dtype", group=DATA, check=_calls("choices", "check_dtype"),
                        help="float64 or float32")
    standardize: bool = option(False, "--standardize", group=DATA, action="store_true", check=check_flag,
                               help="put a StandardScaler before the classifier")
    penalties: str = option("l1,l2", "--penalties", group=GRID, check=_calls("plan.grid", "parse_penalties"),
                            help=f"comma list of {', '.join(PENALTIES)}")
    l1_ratios: str = option("0.5", "--l1-ratios", group=GRID, check=_calls("plan.grid", "parse_l1_ratios"),
                            help=f"mixing values in [0, 1] of the penalties that mix a sparse part and L2 ({_MIXING}); "
                            "refused when no chosen penalty uses them")
    C: str = option("1e-3:1e1:25", "--C", group=GRID, check=_calls("plan.grid", "parse_C"),
                    help="START:STOP:NUM log-spaced, or a comma list")
    engine: str = option(DEFAULT_ENGINE, "--engine", group=FIT, check=one_of(tuple(ENGINES)),
                         help="numpy or sklearn (saga, the notebook's configuration)")
    tol: float | None = option(None, "--tol", group=FIT, parse=parse_number, check=positive_number(optional=True),
                               help="stopping tolerance (engine default if omitted)")
    max_iter: int | None = option(None, "--max-iter", group=FIT, parse=parse_whole,
                                  check=whole_number(1, optional=True),
                                  help="iteration limit per fit (engine default if omitted)")
    jobs: int | None = option(None, "--jobs", group=FIT, parse=parse_whole, check=_check_jobs,
                              help="worker processes running the sweep's tasks (a path, or part of a long one, of one split or fold each; "
                              "default: every core, or this process alone for a plan too small to gain from workers; -1 = every core)")
    scheduler: str | None = option(None, "--scheduler", group=FIT, check=_calls("choices", "check_scheduler"),
                                   help="run the tasks on a Dask cluster: its address (e.g. tcp://host:8786), or local:N "
                                   "for N worker processes on this machine (needs mnist-logreg[dask])")
    select_by: str = option("roc_auc_test", "--select-by", group=SELECT, check=_calls("choices", "check_select_by"),
                            help="roc_auc_test (as the notebook) or roc_auc_cv (k-fold CV on the training set; "
                            "the honest protocol)")
    cv: int = option(5, "--cv", group=SELECT, parse=parse_whole, check=whole_number(2),
                     help="folds for roc_auc_cv (refused with roc_auc_test, which runs no folds)")
    refit: str = option("all", "--refit", group=SELECT, check=_calls("choices", "check_refit"),
                        help="all (whole data set), train, or none")
    out: str | None = option(None, "--out", group=OUTPUT, help="output folder (default runs/<UTC timestamp>)")
    force: bool = option(False, "--force", group=OUTPUT, action="store_true", check=check_flag,
                         help="replace our results in a non-empty --out once the new ones are written")
    resume: bool = option(False, "--resume", group=OUTPUT, action="store_true", check=check_flag,
                          help="finish the interrupted run in --out DIR (needs --out)")
    report: bool = option(True, "--no-report", group=OUTPUT, action="store_false", check=check_flag,
                          help="skip figures and report.html")

    def validate(self, given: Collection[str] | None = None) -> None:
        """Check every option, the environment and the output path before any data is loaded.

        Parameters
        ----------
        given : collection of str, optional
            The fields set explicitly (the command line knows); ``None`` counts a field as given
            when it differs from its default.

        Raises
        ------
        UsageError
            Naming the option (or environment variable), what was received and what is allowed.
        """
        for f, spec in run_options():
            if spec.check is not None:
                spec.check(getattr(self, f.name), spec.flag)
        from .validation import check_run_config

        check_run_config(self, self.given_fields() if given is None else set(given))

    def given_fields(self) -> set[str]:
        """The fields whose value differs from the default."""
        return {f.name for f in fields(self) if getattr(self, f.name) != f.default}

    def engine_options(self) -> dict:
        # Parallelism is the executor's (--jobs, --scheduler), not an engine option; saga's sample
        # order keeps its fixed seed so a repeat's rows equal those of a run with that --seed.
        return {"tol": self.tol, "max_iter": self.max_iter}

    def table_options(self) -> dict:
        values = asdict(self)
        return {k: (str(values[k]) if k in ("train_size", "test_size") else values[k]) for k in TABLE_OPTIONS}


def run_options() -> Iterator[tuple]:
    """``(field, Option)`` for every field of :class:`RunConfig` that is a command-line option."""
    for f in fields(RunConfig):
        spec: Option | None = option_of(f)
        if spec is not None:
            yield f, spec
