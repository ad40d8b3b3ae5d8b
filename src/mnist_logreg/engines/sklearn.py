"""The reference engine: scikit-learn's ``LogisticRegression`` with the saga solver.

Its defaults are the seed notebook's configuration exactly (``solver="saga", tol=5e-3,
max_iter=10_000``), with the penalty given through ``l1_ratio`` and ``C`` as scikit-learn >= 1.8
wants it. Rows are independent fits, so each is its own task of the sweep (``task_unit = "row"``)
and the sweep's executor runs them in parallel.
"""

from __future__ import annotations

import time
import warnings
from typing import Iterator, Sequence

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from ..plan.grid import GridPoint
from .base import Engine, FitResult

__all__ = ["SklearnEngine", "sklearn_estimator", "timed_fit", "binary_to_multinomial", "multinomial_to_binary"]


def sklearn_estimator(row: GridPoint, *, tol=5e-3, max_iter=10_000, random_state=0,
                      solver="saga") -> LogisticRegression:
    """The ``LogisticRegression`` that fits one grid row (no deprecated ``penalty`` argument)."""
    return LogisticRegression(C=row.C, l1_ratio=row.l1_ratio, solver=solver, tol=tol,
                              max_iter=max_iter, random_state=random_state)


def binary_to_multinomial(coef: np.ndarray, intercept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's binary model (one weight vector w, shape (1, d)) as the two-class multinomial
    model with the same probabilities: ``W = [-w/2, w/2]``, ``b = [-b/2, b/2]``."""
    return np.vstack([-coef[0] / 2, coef[0] / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])


def multinomial_to_binary(coef: np.ndarray, intercept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The inverse map up to the softmax's shift: ``w = W_1 - W_0``, ``b = b_1 - b_0``."""
    return (coef[1] - coef[0])[None, :], np.array([intercept[1] - intercept[0]])


def timed_fit(model, X, y) -> tuple[float, bool]:
    """Fit a scikit-learn estimator in place; ``(wall seconds, converged)``, converged meaning no ConvergenceWarning."""
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(X, y)
    seconds = time.perf_counter() - start
    return seconds, not any(issubclass(w.category, ConvergenceWarning) for w in caught)


def _fit_one(X, y, n_classes, row, tol, max_iter, random_state) -> FitResult:
    """Fit one row and convert it to a :class:`FitResult` of shape (n_classes, n_features)."""
    model = sklearn_estimator(row, tol=tol, max_iter=max_iter, random_state=random_state)
    seconds, converged = timed_fit(model, X, y)
    coef = np.asarray(model.coef_, dtype=np.float64)
    intercept = np.asarray(model.intercept_, dtype=np.float64)
    if coef.shape[0] == 1 and n_classes == 2:
        coef, intercept = binary_to_multinomial(coef, intercept)
    return FitResult(coef=coef, intercept=intercept, n_iter=int(np.max(model.n_iter_)),
                     converged=converged, fit_seconds=seconds)


class SklearnEngine(Engine):
    """scikit-learn's saga, one independent fit per row.

    Parameters
    ----------
    tol : float, default=5e-3
        saga's stopping tolerance (change of the weights between epochs).
    max_iter : int, default=10_000
        Maximum number of epochs per fit.
    random_state : int, default=0
        Seed for saga's sample order; the same seed gives the same row wherever it is fitted.
    """

    name = "sklearn"
    task_unit = "row"

    def __init__(self, tol: float = 5e-3, max_iter: int = 10_000, random_state: int = 0):
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state

    def options(self) -> dict:
        return {"tol": self.tol, "max_iter": self.max_iter, "random_state": self.random_state}

    def estimator(self, row: GridPoint) -> LogisticRegression:
        return sklearn_estimator(row, tol=self.tol, max_iter=self.max_iter, random_state=self.random_state)

    def fit_path(self, X, y, n_classes, rows: Sequence[GridPoint],
                 warm_start=None) -> Iterator[tuple[int, FitResult]]:
        # saga starts every fit from zero with a fixed seed, so warm_start is not needed for
        # resumed runs to equal fresh ones.
        for i, row in enumerate(rows):
            yield i, _fit_one(X, y, n_classes, row, self.tol, self.max_iter, self.random_state)
