"""The whole job of ``mnist-logreg run``: load, split, sweep, select, refit, figures, report.

:func:`run_experiment` is the Python API behind the command; each step it calls is public too.
"""

from __future__ import annotations

import json
import signal
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Callable

import pandas as pd

from .io.atomic import write_json
from .config import RunConfig
from .data import load_dataset
from .engines import get_engine
from .errors import ResumeError
from .plan.grid import make_grid
from .io.modelfile import save_model
from .plan.executors import make_executor
from .plan.tasks import plan_tasks
from .io.record import Choice, DatasetFacts, RefitFacts, RunRecord, SplitFacts, Timings
from .select import refit_best, select_best, selection_spread
from .data.split import split_dataset
from .io.store import RunFolder
from .validation import check_folds
from .plan.sweep import check_memory, estimate_driver_bytes, estimate_task_bytes, run_sweep

__all__ = ["RunConfig", "RunOutcome", "Interrupted", "run_experiment", "default_out_dir", "package_versions"]

class Interrupted(Exception):
    """The sweep was stopped by SIGINT or SIGTERM; finished rows are kept in the run folder."""

    exit_code = 130


@dataclass
class RunOutcome:
    """What a finished run produced (the files are in ``folder``).

    ``record`` is the typed run record; ``best``, ``refit``, ``timings`` and ``run`` are its
    best.json, refit, timings and run.json views as plain dicts.
    """

    folder: Path
    table: pd.DataFrame
    record: RunRecord | None
    #: ``--resume`` found the run complete: nothing was fitted, the files are as they were
    #: (``record`` is then ``None``: run.json in ``folder`` is the record).
    already_complete: bool = False

    @property
    def best(self) -> dict:
        if self.record is None:
            return json.loads((self.folder / "best.json").read_text(encoding="utf-8"))
        return self.record.best.to_json()

    @property
    def refit(self) -> dict | None:
        return self.record.refit.to_json() if self.record.refit else None

    @property
    def timings(self) -> dict:
        return self.record.timings.to_json()

    @property
    def run(self) -> dict:
        if self.record is None:
            return json.loads((self.folder / "run.json").read_text(encoding="utf-8"))
        return self.record.to_json()

    def _repr_html_(self) -> str:
        """A compact HTML summary for notebooks."""
        from .display import outcome_html

        return outcome_html(self)


def default_out_dir() -> Path:
    return Path("runs") / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def package_versions() -> dict:
    names = ["mnist-logreg", "numpy", "scipy", "scikit-learn", "pandas", "matplotlib", "seaborn", "joblib",
             "skops", "jinja2", "rich"]
    versions = {"python": sys.version.split()[0]}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


@contextmanager
def _sigterm_as_interrupt():
    """Treat SIGTERM like Ctrl-C for the duration of a run (main thread only)."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _check_resume(folder: RunFolder, config: RunConfig) -> dict:
    recorded = folder.recorded()
    before = recorded.get("options", {})
    for key, value in config.table_options().items():
        if before.get(key) != value:
            raise ResumeError(f"--resume: option {key} is {value!r} but the interrupted run used {before.get(key)!r}; "
                              "allowed only the same options (or start a new --out)")
    return recorded


def _complete_outcome(folder: RunFolder) -> RunOutcome:
    """``--resume`` on a run that already finished: nothing is refitted; its files are the outcome."""
    folder.commit()  # a --force run stopped while moving its files into place finishes that move
    where = folder.destination
    try:
        table = pd.read_csv(where / "results.csv")
        json.loads((where / "best.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ResumeError(f"--resume: {where} is complete according to run.json but its results cannot be read "
                          f"({type(error).__name__}: {' '.join(str(error).split())}); allowed a complete run's folder "
                          "as written (start again with --force)") from None
    return RunOutcome(folder=where, table=table, record=None, already_complete=True)


def _record_end(folder: RunFolder, record: RunRecord, status: str, error: BaseException | None = None, **facts) -> None:
    """Say in run.json how the run ended, even on a full disk.

    The atomic write needs room for a second copy; when that fails, the record is written over
    the old file in place (compact JSON is shorter than the indented one, so no new blocks are
    needed on a full disk). A run never leaves run.json saying "running".
    """
    record.mark(status, error=error, **facts)
    try:
        record.write()
        return
    except OSError:
        pass
    document = record.to_json()
    try:
        text = json.dumps({k: document[k] for k in ("status", "error", "command", "started", "options") if k in document},
                          default=str, separators=(",", ":")).encode()
        with open(folder.path / "run.json", "r+b") as handle:
            handle.write(text)
            handle.truncate()
    except OSError:
        pass


def run_experiment(config: RunConfig, *, command: str = "", progress: Callable | None = None,
                   log: Callable[[str], None] | None = None) -> RunOutcome:
    """Run the whole workflow and write every output into the run folder.

    Parameters
    ----------
    config : RunConfig
    command : str
        The command line, recorded in run.json and the report.
    progress : callable or None
        ``progress(total)`` is called once with the number of fits and must return a function
        ``advance(n)``; ``None`` shows nothing.
    log : callable or None
        Receives one-line status messages.

    Raises
    ------
    Interrupted
        After SIGINT/SIGTERM, once run.json says ``"status": "interrupted"``.
    """
    say = log or (lambda message: None)
    config.validate()
    rows = make_grid(config.penalties, config.C, config.l1_ratios)
    engine = get_engine(config.engine, **config.engine_options())
    engine.check(rows, config.dtype)
    folder = RunFolder.prepare(config.out, force=config.force, resume=config.resume)
    recorded = _check_resume(folder, config) if config.resume else None

    timings = Timings()
    with timings.measure("load_s"):
        dataset = load_dataset(config.dataset)
        # --repeats R: R stratified splits with seeds seed, seed+1, ...; the first is the refit's.
        splits = {config.seed + r: split_dataset(dataset, config.train_size, config.test_size, seed=config.seed + r,
                                                 scale=config.scale, dtype=config.dtype)
                  for r in range(config.repeats)}
    split = splits[config.seed]
    facts = DatasetFacts.of(dataset)
    if recorded is not None and recorded.get("dataset", {}).get("sha256") != facts.sha256:
        raise ResumeError(f"--resume: the data of {config.dataset} (sha256 {facts.sha256[:12]}…) differs from "
                          f"the interrupted run's ({recorded.get('dataset', {}).get('sha256', '?')[:12]}…); "
                          "allowed only the same data")
    # A finished run is only "complete" for the same options and the same data (both checked above).
    if recorded is not None and recorded.get("status") == "complete":
        say(f"{folder.destination} holds a complete run: nothing to resume, nothing refitted")
        return _complete_outcome(folder)
    cv = config.cv if config.select_by == "roc_auc_cv" else None
    if cv:
        for one in splits.values():
            check_folds(one, cv)  # still before any folder is made
    n_train, n_features = split.X_train.shape
    itemsize = split.X_train.dtype.itemsize
    check_memory(estimate_driver_bytes(n_train, len(split.y_test), n_features, split.n_classes, len(rows), itemsize,
                                       config.repeats), where="this sweep's driver")
    # Memory is planned per task and worker: the tasks running at once, not the whole plan.
    task_rows = max(len(t.positions) for t in plan_tasks(rows, [config.seed], None, engine.task_unit))
    task_bytes = estimate_task_bytes(n_train, n_features, split.n_classes, task_rows, itemsize, fold=bool(cv))
    # Fits x samples x features x classes: the size of one pass over every fit's data, which decides
    # whether the default --jobs is worth starting worker processes for.
    work = len(rows) * (1 + (cv or 0)) * config.repeats * n_train * n_features * split.n_classes
    executor = make_executor(config.jobs, config.scheduler, work=work)
    executor.start()  # local workers import the task code while run.json is written and the splits shared

    record = RunRecord(command=command, config=config, engine=engine.name, engine_options=engine.options(),
                       dataset=facts, split=SplitFacts.of(split), n_rows=len(rows), versions=package_versions(),
                       timings=timings, folder=folder.path)
    try:
        folder.start()
    except BaseException:
        executor.__exit__(*sys.exc_info())  # started above: its workers must not outlive the refusal
        raise
    record.folder = folder.path  # the default runs/<time> is only named once claimed
    try:
        # SIGTERM stops every stage like Ctrl-C, the refit and the report as well as the sweep: run.json
        # then says "interrupted" and the workers are shut down (the default action killed the driver
        # alone, leaving run.json "running" and the workers orphaned).
        with _sigterm_as_interrupt():
            record.write()
            sweep = _sweep(config, folder, splits, split, rows, engine, cv, task_bytes, progress, say, timings,
                           executor)
            record.executor = sweep.executor
            _select_refit_report(config, folder, dataset, split, rows, engine, sweep, record)
            folder.commit()
    except KeyboardInterrupt:
        finished = _finished_rows(folder)
        _record_end(folder, record, "interrupted", finished_rows=finished)
        raise Interrupted(f"interrupted: {_kept_words(folder, len(rows) * config.repeats, cv, finished)} in "
                          f"{folder.path}; finish with: mnist-logreg run --resume --out {folder.destination} "
                          "(and the same options)") from None
    except BaseException as error:
        _record_end(folder, record, "failed", error)
        raise
    record.folder = folder.destination
    return RunOutcome(folder=folder.destination, table=sweep.table, record=record)


def _sweep(config, folder, splits, split, rows, engine, cv, task_bytes, progress, say, timings, executor):
    """Fit every row (and fold, and repeat) not already checkpointed."""
    total = len(rows) * (1 + (cv or 0)) * config.repeats
    advance = progress(total) if progress else None
    with timings.measure("sweep_s"), executor:
        executor.check_memory(task_bytes, split.X_train.nbytes + split.X_test.nbytes)
        say(f"sweeping {len(rows)} grid rows" + (f" x {config.repeats} splits" if config.repeats > 1 else "")
            + f" with engine {engine.name}" + (f" and {cv}-fold cross-validation" if cv else "")
            + f" on {len(split.y_train)} training images; {executor.describe()}")
        return run_sweep(splits, rows, engine, standardize=config.standardize, cv=cv, folder=folder,
                         progress=advance, executor=executor)


def _kept_words(folder: RunFolder, n_rows: int, cv: int | None, finished: int) -> str:
    """What an interrupted run keeps for ``--resume``, in the progress bar's unit.

    A row is complete (in results.csv) once its main fit and every fold's fit are; with ``--cv``
    many fits can be checkpointed while no row is complete yet, and ``--resume`` reuses them all.
    """
    if not cv:  # without folds a finished fit is a finished row
        return f"{finished} of {n_rows} rows finished and kept"
    return (f"{finished} of {n_rows} rows complete; {folder.kept_fits()} of {n_rows * (1 + cv)} fits "
            "(cross-validation folds included) finished and kept for --resume")


def _finished_rows(folder: RunFolder) -> int:
    """Rows in results.csv (every row whose fits all finished)."""
    try:
        return len(pd.read_csv(folder.results_path))
    except (OSError, ValueError):
        return 0


def _select_refit_report(config, folder, dataset, split, rows, engine, sweep, record: RunRecord) -> None:
    """Choose the best row, refit and save it, draw the report, and mark the record complete."""
    table = sweep.table

    best_pos = select_best(table, config.select_by)
    record.best = Choice.of(table, best_pos, config.select_by,
                            spread=selection_spread(table, config.select_by, best_pos))
    write_json(folder.path / "best.json", record.best.to_json())

    # Always save a model: with --refit none it is the sweep's own fit of the chosen row.
    with record.timings.measure("refit_s"):
        pipeline, refit_info = refit_best(rows[best_pos % len(rows)], dataset, split, engine=engine,
                                          on=config.refit, standardize=config.standardize,
                                          sweep_fit=(sweep.coef[best_pos], sweep.intercept[best_pos],
                                                     int(table.n_iter.iloc[best_pos])))
        save_model(pipeline, folder.path / "model.skops")
    record.refit = RefitFacts.of(refit_info)

    if config.report:
        with record.timings.measure("report_s"):
            from .report.build import build_report

            build_report(folder, record=record, split=split, sweep=sweep, pipeline=pipeline)

    record.mark("complete", unconverged_rows=int((~table.converged.astype(bool)).sum()))
    record.write()
    folder.drop_checkpoints()
