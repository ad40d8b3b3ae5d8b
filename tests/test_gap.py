"""The ``gap`` certificate of results.csv: a provable bound of the distance to the optimum.

Every expected value comes from an independent, tight scikit-learn solve scored in float64 by
:func:`mnist_logreg.objective.objective`; the gap under test must never be smaller than the
distance measured against it, and must close at the optimum (so it can be stopped on).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from mnist_logreg.engines.base import FitResult
from mnist_logreg.plan.grid import GridPoint
from mnist_logreg.metrics import score_fit
from mnist_logreg.objective import objective

ROWS = [GridPoint("l1", 1.0, 0.5), GridPoint("l2", 0.0, 2.0), GridPoint("elasticnet", 0.5, 1.0)]


@pytest.fixture(scope="module")
def digits():
    """300 real 8x8 digits scaled to [0, 1] (some pixels are zero in every image)."""
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


def sklearn_fit(X, y, row, tol, solver=None):
    solver = solver or ("lbfgs" if row.l1_ratio == 0 else "saga")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(C=row.C, l1_ratio=row.l1_ratio, solver=solver, tol=tol, max_iter=200_000,
                                   random_state=0).fit(X, y)
    return model.coef_, model.intercept_


@pytest.fixture(scope="module")
def references(digits):
    """The tight reference objective of each row (scikit-learn, tolerance 1e-10)."""
    X, y = digits
    out = {}
    for row in ROWS:
        coef, intercept = sklearn_fit(X, y, row, tol=1e-10)
        out[row] = objective(X, y, coef, intercept, l1_ratio=row.l1_ratio, C=row.C)
    return out


def record_of(X, y, row, coef, intercept):
    fit = FitResult(coef=np.asarray(coef, float), intercept=np.asarray(intercept, float), n_iter=1,
                    converged=True, fit_seconds=0.0)
    return score_fit(row, fit, X, y, X[:50], y[:50])


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.penalty)
@pytest.mark.parametrize("tol", [1e-1, 1e-2, 1e-4])
def test_gap_bounds_the_distance_to_a_tight_reference(digits, references, row, tol):
    """Rough and accurate points alike: ``gap >= (objective - reference) / objective``."""
    X, y = digits
    coef, intercept = sklearn_fit(X, y, row, tol=tol, solver="saga")
    record = record_of(X, y, row, coef, intercept)
    distance = (record["objective"] - references[row]) / record["objective"]
    assert record["objective"] == pytest.approx(objective(X, y, coef, intercept, l1_ratio=row.l1_ratio, C=row.C),
                                                rel=1e-12)
    assert record["gap"] >= distance - 1e-13
    assert record["gap"] < 1.0


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.penalty)
def test_gap_closes_at_the_optimum(digits, row):
    X, y = digits
    coef, intercept = sklearn_fit(X, y, row, tol=1e-10)
    assert record_of(X, y, row, coef, intercept)["gap"] < 1e-7


def test_gap_of_a_far_point_is_large(digits, references):
    """Zero weights at C = 2 are far from the optimum: the bound says so."""
    X, y = digits
    row = ROWS[1]
    record = record_of(X, y, row, np.zeros((10, X.shape[1])), np.zeros(10))
    distance = (record["objective"] - references[row]) / record["objective"]
    assert distance > 0.5 and record["gap"] >= distance


def test_no_penalty_has_no_certificate(digits):
    X, y = digits
    coef, intercept = sklearn_fit(X, y, ROWS[1], tol=1e-4)
    assert math.isnan(record_of(X, y, GridPoint("none", 0.0, math.inf), coef, intercept)["gap"])


@pytest.mark.parametrize("C", [0.01, 1.0, 100.0])
def test_ridge_gap_predicts_the_duality_gap_of_a_ridge_row_exactly(digits, C):
    """What lets a ridge row's iterations skip most gap checks: with the intercepts optimal, its
    duality gap is |grad_W F|^2 / (2 alpha), from the gradient the iterations already have."""
    from mnist_logreg.solvers.datafit import SoftmaxDatafit
    from mnist_logreg.solvers.gap import duality_gap
    from mnist_logreg.solvers.owlqn import ridge_gap
    from mnist_logreg.solvers.penalties import PenaltySpec
    from mnist_logreg.solvers.problem import Problem

    X, y = digits
    datafit = SoftmaxDatafit(np.asarray(X, dtype=np.float64), y, 10)
    problem = Problem(datafit, PenaltySpec("l2", 0.0).at(C, len(y)))
    rng = np.random.default_rng(0)
    for scale in (1e-3, 1e-1, 1.0):  # far from and near the optimum alike
        x = np.concatenate([rng.normal(scale=scale, size=datafit.n_coef), rng.normal(size=10)])
        gap = duality_gap(problem, x, problem.scores(x))  # re-optimises the intercepts
        assert ridge_gap(problem, gap.grad[:datafit.n_coef], gap.primal) == pytest.approx(gap.relative, rel=1e-8)


def test_intercepts_are_refitted_from_far_off_without_raising_the_loss(digits):
    """The gap re-optimises the intercepts and the solvers adopt them: from any start the shift must
    lower the loss and end at the intercepts' optimum (mean probabilities = class frequencies)."""
    from mnist_logreg.solvers.datafit import SoftmaxDatafit, softmax
    from mnist_logreg.solvers.gap import fit_intercept

    X, y = digits
    datafit = SoftmaxDatafit(np.asarray(X, dtype=np.float64), y, 10)
    rng = np.random.default_rng(0)
    for scale in (0.1, 1.0, 5.0):
        x = np.concatenate([rng.normal(scale=0.01, size=datafit.n_coef), rng.normal(scale=scale, size=10)])
        Z = datafit.scores(x)
        delta = fit_intercept(datafit, Z)
        assert datafit.value(Z + delta) <= datafit.value(Z)
        frequencies = np.bincount(y, minlength=10) / len(y)
        assert np.abs(softmax(Z + delta).mean(axis=0) - frequencies).max() < 1e-9
