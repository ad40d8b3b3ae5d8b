"""The free-set factor of the Newton tail: the matrix it factors is the Hessian, and steps with it reach the same minimum.

The reference Hessian is assembled column by column from :meth:`_Hessian.product` (a different
computation: two matrix products per column, no rank-n update), and the reference minimum comes
from OWL-QN run to a tight KKT violation.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from mnist_logreg.objective import objective
from mnist_logreg.solvers import Problem, SoftmaxDatafit, minimize_owlqn
from mnist_logreg.solvers.datafit import log_normaliser
from mnist_logreg.solvers.freeset import FactorCache, FreeSetFactor
from mnist_logreg.solvers.newton import _conjugate_gradients, _Hessian, minimize_newton
from mnist_logreg.solvers.penalties import PenaltySpec


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = X[:200] / 16.0
    return X[:, X.any(axis=0)], y[:200]


def _step(digits, l1_ratio, C):
    """The Hessian and free set of a Newton step at a rough solution of the row."""
    X, y = digits
    problem = Problem(SoftmaxDatafit(X, y, 10), PenaltySpec("elasticnet", l1_ratio).at(C, len(y)))
    x = minimize_owlqn(problem, np.zeros(problem.size), tol=0.0, kkt_tol=1e-3, max_iter=5000, report_gap=False).x
    P = log_normaliser(problem.scores(x))[1]
    free = np.ones(x.size, dtype=bool)
    free[:problem.n_coef] = x[:problem.n_coef] != 0
    return problem, _Hessian(problem, P, free), free


def _consistent_rhs(hessian, free):
    """``H_FF v`` for a random ``v`` on ``free``."""
    v = np.where(free, np.random.default_rng(0).standard_normal(free.size), 0.0)
    return np.where(free, hessian.product(v), 0.0)


@pytest.mark.parametrize("l1_ratio, C", [(1.0, 0.5), (0.5, 2.0)])
def test_factor_is_of_the_free_set_hessian(digits, l1_ratio, C):
    problem, hessian, free = _step(digits, l1_ratio, C)
    index = np.flatnonzero(free)
    assert 0 < len(index) < free.size  # a strict subset: the test reaches the gather of columns
    dense = np.empty((len(index), len(index)))
    for m, i in enumerate(index):
        e = np.zeros(free.size)
        e[i] = 1.0
        dense[:, m] = hessian.product(e)[index]
    factor = FreeSetFactor(hessian, free)
    factored = factor.lower @ factor.lower.T - factor.shift * np.eye(len(index))
    assert np.abs(factored - dense).max() <= 1e-4 * np.abs(dense).max()


def test_preconditioned_direction_is_the_newton_direction(digits):
    """Conjugate gradients on the factor solve the same system as on the diagonal, in far fewer iterations."""
    problem, hessian, free = _step(digits, 1.0, 0.5)
    # A consistent system (H_FF is singular without a ridge: one number added to every class's intercept).
    rhs = _consistent_rhs(hessian, free)
    plain, plain_iterations, solved = _conjugate_gradients(hessian, rhs, free, 1e-10, max_iter=5000)
    assert solved
    factor = FreeSetFactor(hessian, free)
    exact, iterations, solved = _conjugate_gradients(hessian, rhs, free, 1e-10,
                                                     factor.preconditioner(hessian.diagonal, free))
    assert solved and iterations < plain_iterations / 3
    # Both solve it to the rounding of the float32 products.
    residual = lambda d: np.linalg.norm(np.where(free, hessian.product(d) - rhs, 0.0))
    assert residual(exact) <= 1e-6 * np.linalg.norm(rhs) and residual(plain) <= 1e-6 * np.linalg.norm(rhs)


def test_factor_on_a_changed_free_set_is_a_preconditioner(digits):
    """A factor of a neighbouring free set (some weights left, others entered) still gives the solution."""
    problem, hessian, free = _step(digits, 1.0, 0.5)
    factor = FreeSetFactor(hessian, free)
    changed = free.copy()
    weights = np.flatnonzero(free[:problem.n_coef])
    changed[weights[:2]] = False
    changed[np.flatnonzero(~free[:problem.n_coef])[:2]] = True
    assert not factor.covers(np.zeros_like(free)) and factor.covers(free)
    rhs = _consistent_rhs(hessian, changed)
    d, _, solved = _conjugate_gradients(hessian, rhs, changed, 1e-10, factor.preconditioner(hessian.diagonal, changed))
    assert solved
    assert np.all(d[~changed] == 0)
    assert np.linalg.norm(np.where(changed, hessian.product(d) - rhs, 0.0)) <= 1e-6 * np.linalg.norm(rhs)


def test_factor_on_a_smaller_free_set_is_the_inverse_of_its_block(digits):
    """Weights that left the free set (a fifth of the factor's) leave a preconditioner that is the exact
    inverse of the factored matrix's block on the rest, so conjugate gradients need a step or two,
    as with a new factor."""
    problem, hessian, free = _step(digits, 1.0, 0.5)
    factor = FreeSetFactor(hessian, free)
    weights = np.flatnonzero(free[:problem.n_coef])
    smaller = free.copy()
    smaller[weights[::5]] = False
    assert factor.covers(smaller)
    factored = factor.lower @ factor.lower.T  # the matrix the factor inverts (float32-formed H_FF + shift)
    kept = smaller[factor.index]
    r = np.where(smaller, np.random.default_rng(1).standard_normal(free.size), 0.0)
    expected = np.linalg.solve(factored[np.ix_(kept, kept)], r[factor.index][kept])
    applied = factor.preconditioner(hessian.diagonal, smaller).apply(r)
    assert np.all(applied[~smaller] == 0)
    assert np.allclose(applied[factor.index][kept], expected, rtol=1e-8, atol=1e-10 * np.abs(expected).max())
    rhs = _consistent_rhs(hessian, smaller)
    d, iterations, solved = _conjugate_gradients(hessian, rhs, smaller, 1e-6,
                                                 factor.preconditioner(hessian.diagonal, smaller))
    assert solved and iterations <= 3


@pytest.mark.parametrize("l1_ratio, C", [(1.0, 5.0), (0.5, 20.0)])
def test_newton_with_factors_reaches_the_minimum(digits, l1_ratio, C):
    X, y = digits
    problem = Problem(SoftmaxDatafit(X, y, 10), PenaltySpec("elasticnet", l1_ratio).at(C, len(y)))
    reference = minimize_owlqn(problem, np.zeros(problem.size), tol=0.0, kkt_tol=1e-9, max_iter=100_000,
                               report_gap=False)
    x0 = minimize_owlqn(problem, np.zeros(problem.size), tol=0.0, kkt_tol=1e-3, max_iter=5000, report_gap=False).x
    factors = FactorCache()
    newton = minimize_newton(problem, x0, tol=1e-10, max_iter=200, factors=factors)
    assert reference.converged and newton.converged
    assert factors.built > 0  # the weak penalty's steps were long enough to build one
    f_newton = objective(X, y, *problem.unpack(newton.x), l1_ratio=l1_ratio, C=C)
    f_reference = objective(X, y, *problem.unpack(reference.x), l1_ratio=l1_ratio, C=C)
    assert f_newton <= f_reference + 1e-12
    assert f_newton == pytest.approx(f_reference, rel=1e-8)
