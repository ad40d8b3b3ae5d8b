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
from .engines import get_engine
from .engines.sklearn import binary_to_multinomial, multinomial_to_binary
from .errors import UsageError
from .grid import GridPoint
from .predict.framing import ImageFraming
from .preprocessing import PixelScaler
from .split import Split

__all__ = ["SELECT_BY", "REFIT_ON", "check_select_by", "check_refit", "select_best", "make_classifier", "build_pipeline", "refit_best",
           "pixel_space_weights"]

SELECT_BY = ("roc_auc_test", "roc_auc_cv")
REFIT_ON = ("all", "train", "none")


def check_select_by(select_by: str) -> None:
    """UsageError unless ``select_by`` is one of ``SELECT_BY``."""
    if select_by not in SELECT_BY:
        raise UsageError(f"--select-by: received {select_by!r}; allowed {', '.join(SELECT_BY)}")


def check_refit(on: str) -> None:
    """UsageError unless ``on`` is one of ``REFIT_ON``."""
    if on not in REFIT_ON:
        raise UsageError(f"--refit: received {on!r}; allowed {', '.join(REFIT_ON)}")


def select_best(table: pd.DataFrame, select_by: str = "roc_auc_test") -> int:
    """Position of the row with the highest ``select_by``; ties go to the earliest row in grid order.

    Rows that did not converge are still eligible (they are marked in the table and warned about);
    rows with an undefined score are not.
    """
    check_select_by(select_by)
    if select_by not in table.columns:
        raise UsageError(f"--select-by {select_by}: the results have no such column (pass --cv K to compute it)")
    scores = table[select_by].to_numpy(dtype=float)
    if np.all(np.isnan(scores)):
        raise UsageError(f"--select-by {select_by}: no row has a defined score")
    return int(np.nanargmax(scores))


def make_classifier(row: GridPoint, engine: str, engine_options: dict | None = None) -> BaseEstimator:
    """The unfitted final estimator for ``row``: the engine's own solver, as a scikit-learn estimator."""
    return get_engine(engine, **(engine_options or {})).estimator(row)


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


def _set_fitted(classifier, coef, intercept, classes, n_iter) -> None:
    """Give an estimator the sweep's solution without refitting (``--refit none``)."""
    if len(classes) == 2 and isinstance(classifier, LogisticRegression):
        coef, intercept = multinomial_to_binary(coef, intercept)
    classifier.coef_ = np.array(coef)
    classifier.intercept_ = np.array(intercept)
    classifier.classes_ = np.asarray(classes)
    classifier.n_features_in_ = coef.shape[1]
    classifier.n_iter_ = np.array([n_iter])


def refit_best(row: GridPoint, dataset: Dataset, split: Split, *, engine: str, engine_options: dict | None,
               on: str = "all", standardize: bool = False, sweep_fit: tuple | None = None):
    """Refit the chosen row and measure it.

    Parameters
    ----------
    row : GridPoint
    dataset : Dataset
        The whole loaded data (``on="all"`` fits on every image of it).
    split : Split
    engine : str
    engine_options : dict or None
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
    pipeline = build_pipeline(make_classifier(row, engine, engine_options), split,
                              standardize=standardize, pixel_max=pixel_max)
    start = time.perf_counter()
    if on == "none":
        if sweep_fit is None:
            raise UsageError("--refit none needs the sweep's fit of the chosen row")
        coef, intercept, n_iter = sweep_fit
        pipeline[:-1].fit(X_raw_train)
        _set_fitted(pipeline[-1], coef, intercept, split.classes, n_iter)
        n_samples = len(split.y_train)
    else:
        if on == "all":
            X_fit, y_fit = dataset.all_arrays()
        else:
            X_fit, y_fit = X_raw_train, split.y_train
        pipeline.fit(X_fit, y_fit)
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
