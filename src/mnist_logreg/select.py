"""Choosing the best row of the results table, and refitting it as a saved pipeline."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from .data.dataset import Dataset
from .engines.base import Engine
from .engines.sklearn import binary_to_multinomial, multinomial_to_binary
from .choices import REFIT_ON, SELECT_BY, check_refit, check_select_by
from .errors import UsageError
from .plan.grid import GridPoint
from .predict.framing import ImageFraming
from .preprocessing import PixelScaler
from .data.split import Split

__all__ = ["SELECT_BY", "REFIT_ON", "check_select_by", "check_refit", "select_best", "selection_spread",
           "build_pipeline", "refit_best", "pixel_space_weights"]

def _score_by_grid_row(table: pd.DataFrame, select_by: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Scores of each grid row over the repeats: a frame indexed by grid row with ``mean, std,
    count``, and the table position of each grid row's first repeat."""
    check_select_by(select_by)
    if select_by not in table.columns:
        raise UsageError(f"--select-by {select_by}: the results have no such column (pass --cv K to compute it)")
    keys = [c for c in ("penalty", "l1_ratio", "C") if c in table.columns]
    # One grid row = one (penalty, l1_ratio, C); its repeats are the table rows sharing the key.
    grid_row = (table.groupby(keys, sort=False, dropna=False).ngroup().to_numpy() if keys
                else np.arange(len(table)))
    scores = pd.Series(table[select_by].to_numpy(dtype=float))
    stats = scores.groupby(grid_row).agg(["mean", "count"])
    # Population std (ddof=0), as roc_auc_cv_std is over folds; 0 for a single repeat.
    stats["std"] = scores.groupby(grid_row).std(ddof=0)
    first = pd.Series(np.arange(len(table))).groupby(grid_row).min()
    return stats, first.to_numpy()


def select_best(table: pd.DataFrame, select_by: str = "roc_auc_test") -> int:
    """Table position of the best row: the grid row with the highest mean of ``select_by`` over
    the repeats (one repeat: its own score), given as the position of its first repeat. Ties go
    to the earliest grid row.

    Rows that did not converge are still eligible (they are marked in the table and warned about);
    rows with an undefined score are not.
    """
    stats, first = _score_by_grid_row(table, select_by)
    means = stats["mean"].to_numpy()
    if np.all(np.isnan(means)):
        raise UsageError(f"--select-by {select_by}: no row has a defined score")
    return int(first[int(np.nanargmax(means))])


def selection_spread(table: pd.DataFrame, select_by: str, position: int) -> dict:
    """Mean, standard deviation (ddof=0) and number of repeats of ``select_by`` for the grid row
    at table ``position``: best.json's ``select_mean``, ``select_std`` and ``repeats``."""
    stats, first = _score_by_grid_row(table, select_by)
    row = stats.iloc[int(np.flatnonzero(first == position)[0])]
    return {"select_mean": float(row["mean"]), "select_std": float(row["std"]),
            "repeats": int(row["count"])}


def build_pipeline(classifier: BaseEstimator, split: Split, *, standardize: bool, pixel_max: float) -> Pipeline:
    """Framing -> pixels -> (standardise) -> classifier, so the saved model takes raw image rows.

    The framing step passes rows through; fitted, it holds how the training images are framed, so
    ``predict`` can frame a picture the same way."""
    steps = [("framing", ImageFraming(image_shape=tuple(split.image_shape))),
             ("pixels", PixelScaler(factor=split.factor, image_shape=tuple(split.image_shape),
                                    dtype=split.X_train.dtype.name, pixel_max=pixel_max))]
    if standardize:
        steps.append(("standardize", StandardScaler()))
    steps.append(("logreg", classifier))
    return Pipeline(steps)


def _set_fitted(classifier, coef, intercept, classes, n_iter, converged=True) -> None:
    """Give an estimator a solution an engine found, as its own ``fit`` would have set it."""
    if isinstance(classifier, LogisticRegression):
        if len(classes) == 2:
            coef, intercept = multinomial_to_binary(coef, intercept)
        classifier.n_iter_ = np.array([n_iter])
    else:
        classifier.n_iter_ = int(n_iter)
        classifier.converged_ = bool(converged)
    classifier.coef_ = np.array(coef)
    classifier.intercept_ = np.array(intercept)
    classifier.classes_ = np.asarray(classes)
    classifier.n_features_in_ = coef.shape[1]


def refit_best(row: GridPoint, dataset: Dataset, split: Split, *, engine: Engine, on: str = "all",
               standardize: bool = False, sweep_fit: tuple | None = None):
    """Refit the chosen row with the sweep's engine object and measure it.

    The row is fitted by ``engine`` itself, with every option it was given (tolerance, solver,
    memory, precision, threads), and the solution is set on ``engine.estimator(row)``, the
    pipeline's last step; nothing is rebuilt from the engine's name.

    Parameters
    ----------
    row : GridPoint
    dataset : Dataset
        The whole loaded data (``on="all"`` fits on every image of it).
    split : Split
        The sweep's first split (``on="train"`` fits on its training set).
    engine : Engine
    on : {"all", "train", "none"}
        ``none`` keeps the sweep's own fit (``sweep_fit=(coef, intercept, n_iter)``).
    standardize : bool

    Returns
    -------
    pipeline : Pipeline
    info : dict
        ``on, n_samples, accuracy, accuracy_train, accuracy_test, seconds`` and ``accuracy_on``, the words
        saying what the accuracy was measured on.
    """
    check_refit(on)
    X_raw_train, X_raw_test = split.X_train_raw, split.X_test_raw
    pixel_max = 255.0 if dataset.X.dtype.kind in "iub" else float(max(1.0, np.nanmax(dataset.X)))
    pipeline = build_pipeline(engine.estimator(row), split, standardize=standardize, pixel_max=pixel_max)
    start = time.perf_counter()
    if on == "none":
        if sweep_fit is None:
            raise UsageError("--refit none needs the sweep's fit of the chosen row")
        coef, intercept, n_iter = sweep_fit
        pipeline[:-1].fit(X_raw_train)
        _set_fitted(pipeline[-1], coef, intercept, split.classes, n_iter)
        n_samples = len(split.y_train)
    else:
        X_fit, y_fit = dataset.all_arrays() if on == "all" else (X_raw_train, split.y_train)
        X = pipeline[:-1].fit_transform(X_fit)
        classes, codes = np.unique(y_fit, return_inverse=True)
        ((_, fit),) = list(engine.fit_path(X, codes, len(classes), [row]))
        _set_fitted(pipeline[-1], fit.coef, fit.intercept, classes, fit.n_iter, fit.converged)
        n_samples = len(y_fit)
    seconds = time.perf_counter() - start
    accuracy_train = float(np.mean(pipeline.predict(X_raw_train) == split.y_train))
    accuracy_test = float(np.mean(pipeline.predict(X_raw_test) == split.y_test))
    note = ("the test set, which was part of the refit data, so it is an in-sample figure" if on == "all"
            else "the held-out test set")
    return pipeline, {"on": on, "n_samples": int(n_samples), "accuracy_train": accuracy_train,
                      "accuracy_test": accuracy_test, "accuracy": accuracy_test, "accuracy_on": note,
                      "seconds": seconds}


def pixel_space_weights(pipeline: Pipeline) -> np.ndarray:
    """The classifier's weights per input pixel, shape (n_classes, n_features).

    With a StandardScaler in the pipeline the model sees ``(x - mean) / scale``, so the weight of
    pixel ``j`` is ``W[:, j] / scale[j]``.
    """
    classifier = pipeline[-1]
    coef = np.asarray(classifier.coef_, dtype=np.float64)
    if coef.shape[0] == 1:
        coef = binary_to_multinomial(coef, np.zeros(1))[0]
    if "standardize" in pipeline.named_steps:
        coef = coef / pipeline.named_steps["standardize"].scale_
    return coef
