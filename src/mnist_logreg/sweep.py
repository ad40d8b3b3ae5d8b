"""Grid rows -> engine -> one tidy table (results.csv) plus the coefficient path (path.npz).

The sweep is the one place that fits: the main fit of every row on the training set and, when
model selection uses cross-validation, the same rows on each fold. Every finished fit is
checkpointed in the run folder, so an interrupted sweep keeps its work and a resumed one fits only
what is missing, continuing each regularisation path from its last finished solution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from .engines.base import Engine, FitResult
from .errors import DataError
from .grid import GridPoint, group_rows
from .limits import check_memory  # noqa: F401  (part of this module's API: sweeps are checked with it)
from .metrics import RESULT_COLUMNS, predict_proba, roc_auc_ovr, score_fit
from .split import Split
from .store import RunFolder

__all__ = ["SweepResult", "path_predecessors", "fit_rows", "run_sweep", "estimate_sweep_bytes",
           "check_memory"]

Progress = Callable[[int], None]


@dataclass
class SweepResult:
    """The sweep's outcome.

    Attributes
    ----------
    table : DataFrame
        One row per grid point in grid order; columns :data:`~mnist_logreg.metrics.RESULT_COLUMNS`
        plus ``roc_auc_cv, roc_auc_cv_std`` when cross-validated.
    coef : ndarray of shape (n_rows, n_classes, n_features)
    intercept : ndarray of shape (n_rows, n_classes)
    rows : list of GridPoint
    scaler : StandardScaler or None
        Fitted on the training set when the sweep standardised the features.
    """

    table: pd.DataFrame
    coef: np.ndarray
    intercept: np.ndarray
    rows: list[GridPoint]
    scaler: StandardScaler | None = None


def path_predecessors(rows: Sequence[GridPoint]) -> list[int | None]:
    """For each row, the row a path solver warm-starts it from: same penalty and l1_ratio, next
    smaller C. ``None`` for the first (most regularised) row of each path."""
    predecessors: list[int | None] = [None] * len(rows)
    for members in group_rows(rows).values():
        ordered = sorted(members, key=lambda i: rows[i].C)
        for before, after in zip(ordered, ordered[1:]):
            predecessors[after] = before
    return predecessors


def fit_rows(engine: Engine, X, y, n_classes: int, rows: Sequence[GridPoint], *,
             folder: RunFolder | None = None, job: str = "main",
             on_fit: Callable[[int, FitResult], None] | None = None,
             done: dict[int, FitResult] | None = None) -> dict[int, FitResult]:
    """Fit every row not already finished; return all fits.

    Finished rows are ``done`` when given, else those checkpointed in ``folder`` under ``job``.
    Rows whose path predecessor is already finished are warm-started from its saved solution,
    which is exactly what the engine would have used in an uninterrupted run.
    """
    if done is None:
        done = folder.load_fits(job) if folder is not None else {}
    done = {i: f for i, f in done.items() if i < len(rows)}
    missing = [i for i in range(len(rows)) if i not in done]
    if not missing:
        return done
    predecessors = path_predecessors(rows)
    warm = {}
    for j, i in enumerate(missing):
        before = predecessors[i]
        if before is not None and before in done:
            warm[j] = (done[before].coef, done[before].intercept)
    for j, fit in engine.fit_path(X, y, n_classes, [rows[i] for i in missing], warm_start=warm or None):
        i = missing[j]
        if folder is not None:
            folder.save_fit(job, i, fit)
        done[i] = fit
        if on_fit is not None:
            on_fit(i, fit)
    return done


def _standardize(X_fit, *others):
    scaler = StandardScaler().fit(X_fit)
    return scaler, [scaler.transform(X_fit).astype(X_fit.dtype, copy=False)] + [
        scaler.transform(X).astype(X_fit.dtype, copy=False) for X in others]


def cross_validate(engine: Engine, split: Split, rows, *, cv: int, seed: int, standardize: bool,
                   folder: RunFolder | None = None, progress: Progress | None = None) -> np.ndarray:
    """ROC AUC of every row on each of ``cv`` stratified folds of the training set.

    Returns
    -------
    scores : ndarray of shape (cv, n_rows)
    """
    y = split.y_train_codes
    counts = np.bincount(y, minlength=split.n_classes)
    if counts.min() < cv:
        raise DataError(f"--cv: the training set has {counts.min()} sample(s) of class "
                        f"{split.classes[counts.argmin()].item()!r}; {cv}-fold cross-validation needs at least {cv} "
                        "per class (use a larger --train-size or a smaller --cv)")
    scores = np.full((cv, len(rows)), np.nan)
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed).split(split.X_train, y)
    for f, (fit_idx, val_idx) in enumerate(folds):
        X_fit, X_val = split.X_train[fit_idx], split.X_train[val_idx]
        if standardize:
            _, (X_fit, X_val) = _standardize(X_fit, X_val)

        fits = fit_rows(engine, X_fit, y[fit_idx], split.n_classes, rows, folder=folder, job=f"cv{f}",
                        on_fit=(lambda i, fit: progress(1)) if progress else None)
        for i, fit in fits.items():
            scores[f, i] = roc_auc_ovr(y[val_idx], predict_proba(X_val, fit.coef, fit.intercept))
    return scores


def run_sweep(split: Split, rows: Sequence[GridPoint], engine: Engine, *, standardize: bool = False,
              cv: int | None = None, seed: int = 42, folder: RunFolder | None = None,
              progress: Progress | None = None) -> SweepResult:
    """Fit and score every grid row.

    Parameters
    ----------
    split : Split
    rows : sequence of GridPoint
    engine : Engine
    standardize : bool
        Fit a StandardScaler on the training set (on each fold's training part for CV) first.
    cv : int or None
        Folds for ``roc_auc_cv``; ``None`` skips cross-validation.
    seed : int
        ``random_state`` of the folds.
    folder : RunFolder or None
        Where to checkpoint and append results; ``None`` keeps everything in memory.
    progress : callable or None
        Called with 1 after each finished fit (``len(rows) * (1 + cv)`` calls in all, fewer on resume).
    """
    rows = list(rows)
    engine.check(rows, split.X_train.dtype)
    columns = list(RESULT_COLUMNS)
    cv_scores = None
    if cv:
        cv_scores = cross_validate(engine, split, rows, cv=cv, seed=seed, standardize=standardize,
                                   folder=folder, progress=progress)
        columns += ["roc_auc_cv", "roc_auc_cv_std"]

    scaler = None
    X_train, X_test = split.X_train, split.X_test
    if standardize:
        scaler, (X_train, X_test) = _standardize(X_train, X_test)
    y_train, y_test = split.y_train_codes, split.y_test_codes

    def record_of(i: int, fit: FitResult) -> dict:
        record = score_fit(rows[i], fit, X_train, y_train, X_test, y_test)
        if cv_scores is not None:
            record["roc_auc_cv"] = float(np.mean(cv_scores[:, i]))
            record["roc_auc_cv_std"] = float(np.std(cv_scores[:, i]))
        return record

    finished = {i: f for i, f in folder.load_fits("main").items() if i < len(rows)} if folder is not None else {}
    records = {i: record_of(i, fit) for i, fit in sorted(finished.items())}
    if folder is not None:
        folder.start_results(columns, list(records.values()))

    def on_fit(i: int, fit: FitResult) -> None:
        records[i] = record_of(i, fit)
        if folder is not None:
            folder.append_result(columns, records[i])
        if progress:
            progress(1)

    fits = fit_rows(engine, X_train, y_train, split.n_classes, rows, folder=folder, on_fit=on_fit, done=finished)
    table = pd.DataFrame([records[i] for i in range(len(rows))], columns=columns)
    coef = np.stack([fits[i].coef for i in range(len(rows))])
    intercept = np.stack([fits[i].intercept for i in range(len(rows))])
    if folder is not None:
        folder.finish(table, coef, intercept, np.asarray(split.classes.tolist()))
    return SweepResult(table=table, coef=coef, intercept=intercept, rows=rows, scaler=scaler)


def estimate_sweep_bytes(n_train: int, n_features: int, n_classes: int, n_rows: int, itemsize: int,
                         cv: int | None = None) -> int:
    """A generous estimate of the sweep's peak memory, in bytes.

    The training matrix plus a standardised or fold copy of it, an engine's working set of about
    two more copies, the n_train x n_classes score matrices, and the whole coefficient path.
    """
    X = n_train * n_features * itemsize
    folds = 1 if cv else 0
    scores = 6 * n_train * n_classes * 8
    path = n_rows * (1 + (cv or 0)) * n_classes * (n_features + 1) * 8
    return int(X * (3 + folds) + scores + path)
