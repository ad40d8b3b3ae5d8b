"""One typed record of a run: it writes run.json, prints the command's summary and feeds the report.

A run's facts used to live in three dict shapes (run.json, the report's context, and the report
writer's view of it, which had to assume any key could be absent). :class:`RunRecord` holds them
once, with types: what was asked (the :class:`~mnist_logreg.config.RunConfig`), what was loaded
(:class:`DatasetFacts`, :class:`SplitFacts`), what was chosen (:class:`Choice`), how the refit went
(:class:`RefitFacts`) and how long each step took (:class:`Timings`). run.json is
:meth:`RunRecord.to_json` (its keys are those of earlier versions, which users and tests read), the
``mnist-logreg run`` summary is :meth:`RunRecord.print_summary` and the report reads the record's
attributes directly.

The ranking shared by the summary and the report, :func:`top_rows`, follows ``--select-by``: under
``roc_auc_cv`` the best rows are those with the highest cross-validated ROC AUC.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pandas as pd

from .atomic import plain, write_json

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from ..config import RunConfig

__all__ = ["DatasetFacts", "SplitFacts", "Timings", "Choice", "RefitFacts", "RunRecord", "grid_means", "has_repeats",
           "top_rows", "now_iso"]


def now_iso() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class DatasetFacts:
    """What was loaded: name, where from, how many images of which shape, and its fingerprint."""

    name: str
    source: str
    n_samples: int
    n_features: int
    image_shape: tuple[int, int]
    sha256: str
    presplit: bool = False
    dtype: str = ""
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, dataset) -> "DatasetFacts":
        """The facts of a loaded :class:`~mnist_logreg.data.Dataset`."""
        s = dataset.summary()
        return cls(name=s["name"], source=s["source"], n_samples=int(s["n_samples"]),
                   n_features=int(s["n_features"]), image_shape=tuple(int(v) for v in s["image_shape"]),
                   sha256=s["sha256"], presplit=bool(s.get("presplit", False)), dtype=str(s.get("dtype", "")),
                   notes=[str(n) for n in dataset.notes])

    def to_json(self) -> dict:
        return {"name": self.name, "source": self.source, "n_samples": self.n_samples,
                "n_features": self.n_features, "image_shape": list(self.image_shape), "presplit": self.presplit,
                "dtype": self.dtype, "sha256": self.sha256, "notes": list(self.notes)}


@dataclass
class SplitFacts:
    """The train/test split: sizes, the classes in code order and the pixel scale factor applied."""

    n_train: int
    n_test: int
    classes: list
    scale_factor: float

    @classmethod
    def of(cls, split) -> "SplitFacts":
        return cls(n_train=int(len(split.y_train)), n_test=int(len(split.y_test)),
                   classes=[plain(c) for c in split.classes], scale_factor=float(split.factor))

    def to_json(self) -> dict:
        return {"n_train": self.n_train, "n_test": self.n_test, "classes": list(self.classes),
                "scale_factor": self.scale_factor}


@dataclass
class Timings:
    """Seconds per step; ``None`` for a step not (yet) run."""

    load_s: float | None = None
    sweep_s: float | None = None
    refit_s: float | None = None
    report_s: float | None = None

    @contextmanager
    def measure(self, step: str) -> Iterator[None]:
        """Time the block into ``step`` (e.g. ``"sweep_s"``), also when it raises."""
        if step not in {f.name for f in fields(self)}:
            raise ValueError(f"timings: unknown step {step!r}; allowed {', '.join(f.name for f in fields(self))}")
        start = time.perf_counter()
        try:
            yield
        finally:
            setattr(self, step, time.perf_counter() - start)

    def to_json(self) -> dict:
        """The measured steps only, in pipeline order."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


@dataclass
class Choice:
    """The chosen row of the results table.

    Attributes
    ----------
    row : int
        Its position in results.csv (and in path.npz).
    select_by : str
        The column that chose it (``roc_auc_test`` or ``roc_auc_cv``).
    values : dict
        The whole results row, column -> plain value (``penalty, l1_ratio, C``, the scores, ...).
    spread : dict
        Over ``--repeats``: ``select_mean, select_std, repeats`` of the selection score
        (:func:`~mnist_logreg.select.selection_spread`); empty when not given.
    """

    row: int
    select_by: str
    values: dict
    spread: dict = field(default_factory=dict)

    @classmethod
    def of(cls, table: pd.DataFrame, row: int, select_by: str, spread: dict | None = None) -> "Choice":
        return cls(row=int(row), select_by=select_by, values={k: plain(v) for k, v in table.iloc[row].items()},
                   spread=dict(spread or {}))

    @property
    def penalty(self) -> str:
        return str(self.values["penalty"])

    @property
    def l1_ratio(self) -> float:
        return float(self.values["l1_ratio"])

    @property
    def C(self) -> float:
        return float(self.values["C"])

    def score(self, column: str) -> float | None:
        """A score of the chosen row, ``None`` when the table has no such column or it is empty."""
        value = self.values.get(column)
        try:
            value = float(value)
        except (TypeError, ValueError):
            return None
        return None if math.isnan(value) else value

    def to_json(self) -> dict:
        """best.json and run.json's ``best``: the row's position, its columns and the rule."""
        return {"row": self.row, **self.values, "select_by": self.select_by, **self.spread}

    @property
    def repeats(self) -> int:
        return int(self.spread.get("repeats", 1))


@dataclass
class RefitFacts:
    """How the chosen row was refitted and how the refit model scores."""

    on: str
    n_samples: int
    accuracy_train: float
    accuracy_test: float
    accuracy_on: str
    seconds: float

    @classmethod
    def of(cls, info: dict) -> "RefitFacts":
        """From the ``info`` dict of :func:`~mnist_logreg.select.refit_best`."""
        return cls(on=info["on"], n_samples=int(info["n_samples"]), accuracy_train=float(info["accuracy_train"]),
                   accuracy_test=float(info["accuracy_test"]), accuracy_on=str(info["accuracy_on"]),
                   seconds=float(info["seconds"]))

    @property
    def accuracy(self) -> float:
        """The accuracy the summary and report show: on the test set."""
        return self.accuracy_test

    @property
    def words(self) -> str:
        """What the saved model was fitted on, for the summary: ``refit on all (70000 images)``, or
        for ``--refit none`` the sweep's own fit, which is no refit."""
        if self.on == "none":
            return f"no refit: the sweep's fit of the chosen row, trained on {self.n_samples} images"
        return f"refit on {self.on} ({self.n_samples} images)"

    def to_json(self) -> dict:
        return {"on": self.on, "n_samples": self.n_samples, "accuracy_train": self.accuracy_train,
                "accuracy_test": self.accuracy_test, "accuracy": self.accuracy, "accuracy_on": self.accuracy_on,
                "seconds": self.seconds}


_GRID_KEYS = ["penalty", "l1_ratio", "C"]


def has_repeats(table: pd.DataFrame) -> bool:
    """Whether a results table holds the rows of more than one split (``--repeats``): its views then
    show each grid point's mean over them."""
    return "repeat" in table.columns and table["repeat"].nunique() > 1


def grid_means(table: pd.DataFrame) -> pd.DataFrame:
    """One row per grid point: under ``--repeats`` (several values in ``repeat``) the numbers are
    means over the repeats and ``converged`` says whether every repeat converged; the index is the
    position of the grid point's first repeat (the row best.json names). Without repeats, ``table``."""
    if not has_repeats(table):
        return table
    groups = table.groupby(_GRID_KEYS, sort=False, dropna=False)
    numbers = [c for c in table.select_dtypes("number").columns if c not in _GRID_KEYS + ["repeat"]]
    out = table.copy()
    out[numbers] = groups[numbers].transform("mean")
    if "converged" in out.columns:
        out["converged"] = groups["converged"].transform("all")
    return out.loc[groups.head(1).index]


def top_rows(table: pd.DataFrame, select_by: str = "roc_auc_test", n: int = 10) -> pd.DataFrame:
    """The ``n`` best grid points of ``table`` by ``select_by``, best first (ties keep table order).

    Under ``--repeats`` they are ranked by their means over the repeats (:func:`grid_means`), as
    :func:`~mnist_logreg.select.select_best` chooses. Rows without a score (NaN) come last. The index
    is kept, so a row can be matched to results.csv and path.npz.
    """
    if select_by not in table.columns:
        raise ValueError(f"select_by: the results have no column {select_by!r}; got {list(table.columns)}")
    return grid_means(table).sort_values(select_by, ascending=False, kind="stable", na_position="last").head(n)


@dataclass
class RunRecord:
    """Everything a run states about itself. run.json is :meth:`to_json`; the report reads the fields.

    Attributes
    ----------
    command : str
        The command line (empty when run from Python without one).
    config : RunConfig
        The options as given.
    engine, engine_options : str, dict
        The engine's name and the options it ran with (its own defaults filled in).
    dataset : DatasetFacts
    split : SplitFacts
    n_rows : int
        Grid rows fitted (one per penalty x l1_ratio x C).
    versions : dict
        Package name -> version.
    started : str
        ISO 8601 UTC.
    status : {"running", "interrupted", "failed", "complete"}
    timings : Timings
    best, refit : Choice, RefitFacts or None
        Set once chosen and refitted.
    finished : str or None
    unconverged_rows, finished_rows : int or None
        Rows with ``converged=False`` (complete runs); rows finished (interrupted runs).
    error : str or None
        What stopped a failed or interrupted run, on one line.
    executor : dict or None
        What ran the sweep's tasks where (the executor's ``info()``).
    folder : Path or None
        Where the run's files are (not written to run.json).
    """

    command: str
    config: "RunConfig"
    engine: str
    engine_options: dict
    dataset: DatasetFacts
    split: SplitFacts
    n_rows: int
    versions: dict
    started: str = field(default_factory=now_iso)
    status: str = "running"
    timings: Timings = field(default_factory=Timings)
    best: Choice | None = None
    refit: RefitFacts | None = None
    finished: str | None = None
    unconverged_rows: int | None = None
    finished_rows: int | None = None
    error: str | None = None
    executor: dict | None = None
    folder: Path | None = None

    # -- run.json ----------------------------------------------------------------------------------
    def options(self) -> dict:
        """run.json's ``options``: those that shape the results table, plus how it ran (jobs,
        scheduler), refit and report."""
        c = self.config
        return c.table_options() | {"jobs": c.jobs, "scheduler": c.scheduler, "refit": c.refit, "report": c.report}

    @property
    def cv(self) -> int | None:
        """The folds of cross-validated selection, or ``None`` when the test set chooses."""
        return self.config.cv if self.config.select_by == "roc_auc_cv" else None

    def to_json(self) -> dict:
        """The run.json document (keys as in earlier versions; optional ones only once known)."""
        document: dict[str, Any] = {
            "status": self.status,
            "command": self.command,
            "started": self.started,
            "options": self.options(),
            "engine": {"name": self.engine, "options": dict(self.engine_options)},
            "seed": self.config.seed,
            "dataset": self.dataset.to_json(),
            "split": self.split.to_json(),
            "grid": {"n_rows": self.n_rows},
            "versions": dict(self.versions),
            "timings": self.timings.to_json(),
        }
        optional = {"executor": self.executor, "finished": self.finished, "finished_rows": self.finished_rows,
                    "error": self.error,
                    "best": self.best.to_json() if self.best else None,
                    "refit": self.refit.to_json() if self.refit else None,
                    "unconverged_rows": self.unconverged_rows}
        document.update({k: v for k, v in optional.items() if v is not None})
        return document

    def write(self, folder: Path | str | None = None) -> Path:
        """Write run.json (atomically) into ``folder`` (default: :attr:`folder`)."""
        folder = Path(folder if folder is not None else self.folder)
        return write_json(folder / "run.json", self.to_json())

    def mark(self, status: str, *, error: BaseException | str | None = None, **facts) -> None:
        """Set the status (and an error line or other facts) and finish the record when complete."""
        self.status = status
        if error is not None:
            self.error = " ".join(str(error).split()) or type(error).__name__
        for name, value in facts.items():
            setattr(self, name, value)
        if status == "complete":
            self.finished = now_iso()

    # -- the command's summary ----------------------------------------------------------------------
    def print_summary(self, table: pd.DataFrame, out: "Console", err: "Console", *, quiet: bool = False) -> None:
        """What ``mnist-logreg run`` prints once done: the top rows (unless ``quiet``), a warning for
        unconverged rows, the chosen row, the refit and where the files are."""
        if not quiet:
            out.print(self.top_table(table))
        if self.unconverged_rows:
            err.print(f"[yellow]warning:[/] {self.unconverged_rows} of {len(table)} rows did not converge "
                      "(converged=False in results.csv)", highlight=False)
        if self.best is not None:
            b = self.best
            by = "" if b.select_by == "roc_auc_test" else f" {b.select_by}={b.score(b.select_by):.4f}"
            if b.repeats > 1:
                by += f" (mean {b.spread['select_mean']:.4f} ± {b.spread['select_std']:.4f} over {b.repeats} splits)"
            out.print(f"best: penalty={b.penalty} l1_ratio={b.l1_ratio:g} C={b.C:.4g}{by} "
                      f"roc_auc_test={b.score('roc_auc_test'):.4f} (chosen by {b.select_by})", highlight=False)
        if self.refit is not None:
            r = self.refit
            out.print(f"{r.words}: accuracy {r.accuracy:.4f} on {r.accuracy_on}", highlight=False)
        if self.folder is not None:
            report = self.folder / "report.html"
            out.print(f"results: {self.folder}" + (f"\nreport: {report}" if report.exists() else ""),
                      highlight=False)

    def top_table(self, table: pd.DataFrame, n: int = 10):
        """A rich table of the best ``n`` rows by the selection score (see :func:`top_rows`)."""
        from rich import box
        from rich.table import Table

        columns = [c for c in _TOP_COLUMNS if c in table.columns]
        if "roc_auc_cv" in columns:  # room for the CV AUC: test accuracy is in results.csv
            columns.remove("accuracy_test")
        select_by = self.config.select_by
        which = "CV" if select_by == "roc_auc_cv" else "test"
        grid = grid_means(table)
        over = f" (means over {table['repeat'].nunique()} splits)" if len(grid) < len(table) else ""
        view = Table(title=f"top {min(n, len(grid))} of {len(grid)} rows by {which} ROC AUC{over}",
                     box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
        for c in columns:
            view.add_column(_TOP_COLUMNS[c][0], justify="left" if c == "penalty" else "right", no_wrap=True)
        for _, r in top_rows(table, select_by, n).iterrows():
            view.add_row(*[_cell(c, r[c]) for c in columns])
        return view


#: results.csv column -> (short header, format) for the terminal table.
_TOP_COLUMNS = {
    "penalty": ("penalty", "{}"), "l1_ratio": ("l1_ratio", "{:g}"), "C": ("C", "{:.3g}"),
    "roc_auc_train": ("AUC train", "{:.2%}"), "roc_auc_cv": ("AUC cv", "{:.2%}"),
    "roc_auc_test": ("AUC test", "{:.2%}"), "accuracy_test": ("acc test", "{:.2%}"),
    "nonzero_fraction": ("nonzero", "{:.0%}"), "converged": ("conv", "{}"),
}


def _cell(column: str, value) -> str:
    if column == "converged":
        return "yes" if bool(value) else "no"
    if isinstance(value, float) and math.isnan(value):
        return "–"
    return _TOP_COLUMNS[column][1].format(value)
