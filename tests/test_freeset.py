"""The free-set factor of the Newton tail: the matrix it factors is the Hessian, and steps with it reach the same minimum.

The reference Hessian is assembled column by column from :meth:`.hessian.FreeHessian.product` (a different
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
from mnist_logreg.solvers import freeset, pairs
from mnist_logreg.solvers.freeset import FactorCache, FreeSetFactor
from mnist_logreg.solvers.cg import conjugate_gradients
from mnist_logreg.solvers.hessian import FreeHessian
from mnist_logreg.solvers.newton import minimize_newton
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
    return problem, FreeHessian(problem, P, free), free


def _consistent_rhs(hessian, free):
    """``H_FF v`` for a random ``v`` on ``free``."""
    v = np.where(free, np.random.default_rng(0).standard_normal(free.size), 0.0)
    return np.where(free, hessian.product(v), 0.0)


def _dense(hessian, free):
    """``H_FF`` column by column from Hessian products."""
    index = np.flatnonzero(free)
    dense = np.empty((len(index), len(index)))
    for m, i in enumerate(index):
        e = np.zeros(free.size)
        e[i] = 1.0
        dense[:, m] = hessian.product(e)[index]
    return dense


def _factored(factor):
    """``L L^T`` in float64: the matrix a factor without borders inverts (the formed ``H_FF`` + shift)."""
    lower = factor.lower.astype(np.float64)
    return lower @ lower.T


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("l1_ratio, C", [(1.0, 0.5), (0.5, 2.0)])
def test_factor_is_of_the_free_set_hessian(digits, l1_ratio, C, compiled, monkeypatch):
    """With every sample kept, the factored matrix is ``H_FF`` (plus the shift), whether the rows are
    gathered by NumPy or by the compiled kernel (which large problems use)."""
    monkeypatch.setattr(freeset, "PAIR_THRESHOLD", 0.0)
    monkeypatch.setattr(pairs, "NUMBA_SIZE", 0 if compiled else 1 << 62)
    problem, hessian, free = _step(digits, l1_ratio, C)
    assert 0 < np.count_nonzero(free) < free.size  # a strict subset: the test reaches the gather of columns
    dense = _dense(hessian, free)
    factor = FreeSetFactor(hessian, free)
    lower = factor.lower.astype(np.float64)
    assert np.all(np.triu(lower, 1) == 0)
    factored = lower @ lower.T - factor.shift * np.eye(len(dense))
    assert np.abs(factored - dense).max() <= 1e-4 * np.abs(dense).max()


def test_samples_left_out_leave_a_matrix_below_the_hessian(digits, monkeypatch):
    """Leaving out the samples of small pair weights removes positive semidefinite terms: ``H_FF``
    minus the factored matrix has no negative eigenvalue, and it is small."""
    monkeypatch.setattr(freeset, "PAIR_THRESHOLD", 1e-3)
    problem, hessian, free = _step(digits, 1.0, 0.5)
    dense = _dense(hessian, free)
    factor = FreeSetFactor(hessian, free)
    missing = np.linalg.eigvalsh(dense - (_factored(factor) - factor.shift * np.eye(len(dense))))
    scale = np.linalg.eigvalsh(dense).max()
    assert missing.min() >= -1e-5 * scale  # float32 rounding only
    assert 1e-6 * scale < missing.max() <= 0.05 * scale  # something was left out, and little


def test_preconditioned_direction_is_the_newton_direction(digits):
    """Conjugate gradients on the factor solve the same system as on the diagonal, in far fewer iterations."""
    problem, hessian, free = _step(digits, 1.0, 0.5)
    # A consistent system (H_FF is singular without a ridge: one number added to every class's intercept).
    rhs = _consistent_rhs(hessian, free)
    plain, plain_iterations, solved = conjugate_gradients(hessian, rhs, free, 1e-10, max_iter=5000)
    assert solved
    factor = FreeSetFactor(hessian, free)
    exact, iterations, solved = conjugate_gradients(hessian, rhs, free, 1e-10,
                                                     factor.preconditioner(hessian, free))
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
    d, _, solved = conjugate_gradients(hessian, rhs, changed, 1e-10, factor.preconditioner(hessian, changed))
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
    factored = _factored(factor)
    kept = smaller[factor.index]
    r = np.where(smaller, np.random.default_rng(1).standard_normal(free.size), 0.0)
    applied = factor.preconditioner(hessian, smaller).apply(r)
    assert np.all(applied[~smaller] == 0)
    # It solves the block's system, to the float32 factor's rounding (a backward error).
    residual = factored[np.ix_(kept, kept)] @ applied[factor.index][kept] - r[factor.index][kept]
    assert np.linalg.norm(residual) <= 1e-2 * np.linalg.norm(r)
    rhs = _consistent_rhs(hessian, smaller)
    d, iterations, solved = conjugate_gradients(hessian, rhs, smaller, 1e-6,
                                                 factor.preconditioner(hessian, smaller))
    assert solved and iterations <= 3


def test_a_resolve_that_leaves_out_more_weights_extends_the_kept_basis(digits):
    """A step's re-solve leaves out a superset of the weights its first solve left out: the
    preconditioner extends the basis it kept and is still the exact inverse of the factored
    matrix's block, the same (to float32 rounding) as one built for that free set from scratch."""
    problem, hessian, free = _step(digits, 1.0, 0.5)
    factor, fresh = FreeSetFactor(hessian, free), FreeSetFactor(hessian, free)
    weights = np.flatnonzero(free[:problem.n_coef])
    first = free.copy()
    first[weights[::5]] = False
    second = first.copy()
    second[weights[1::7]] = False
    factor.preconditioner(hessian, first)
    extended = factor.preconditioner(hessian, second)
    assert extended.W.shape[1] == np.count_nonzero(free & ~second)
    assert np.allclose(extended.W.T.astype(np.float64) @ extended.W, np.eye(extended.W.shape[1]), atol=1e-5)
    r = np.where(second, np.random.default_rng(2).standard_normal(free.size), 0.0)
    applied, reference = extended.apply(r), fresh.preconditioner(hessian, second).apply(r)
    assert np.linalg.norm(applied - reference) <= 1e-3 * np.linalg.norm(reference)
    # Both solve the block's system to the float32 factor's rounding: backward errors alike.
    kept = second[factor.index]
    block = _factored(factor)[np.ix_(kept, kept)]
    errors = [np.linalg.norm(block @ z[factor.index][kept] - r[factor.index][kept]) for z in (applied, reference)]
    assert errors[0] <= 1.5 * errors[1] + 1e-3 * np.linalg.norm(r)
    assert errors[1] <= 5e-2 * np.linalg.norm(r)


@pytest.mark.parametrize("compiled", [False, True])
def test_a_factor_extended_by_entering_weights_is_the_larger_free_sets(digits, compiled, monkeypatch):
    """At the same probabilities, a factor bordered by entering weights (their Hessian columns, the same
    pairs' rows left out) inverts the matrix a new factor of the larger free set is formed from: the
    two preconditioners agree to float32 rounding, and conjugate gradients with the extended one settle
    the larger set's system in a few products."""
    if compiled:
        monkeypatch.setattr(pairs, "NUMBA_SIZE", 0)
    problem, hessian, free = _step(digits, 1.0, 0.5)
    smaller = free.copy()
    weights = np.flatnonzero(free[:problem.n_coef])
    smaller[weights[::14]] = False  # these enter later, two of them as an extension of its own
    smaller[problem.n_coef + 3] = False  # an intercept enters too
    middle = smaller.copy()
    middle[weights[::14][:2]] = True
    factor = FreeSetFactor(hessian, smaller)
    assert factor.extend(hessian, middle) and factor.extend(hessian, free)
    assert len(factor.index) == np.count_nonzero(free) and np.array_equal(factor.free, free)
    rhs = _consistent_rhs(hessian, free)
    fresh = FreeSetFactor(hessian, free)
    # Both solve the new factor's matrix (formed H_FF + shift) to float32 rounding: backward errors alike.
    matrix, at = _factored(fresh), fresh.index
    errors = [np.linalg.norm(matrix @ z[at] - rhs[at]) for z in (factor.preconditioner(hessian, free).apply(rhs),
                                                               fresh.preconditioner(hessian, free).apply(rhs))]
    assert errors[0] <= 1.5 * errors[1] + 1e-4 * np.linalg.norm(rhs)
    d, iterations, solved = conjugate_gradients(hessian, rhs, free, 1e-6, factor.preconditioner(hessian, free))
    assert solved and iterations <= 3


def test_extension_is_refused_past_its_share(digits):
    """More entering weights than ``MAX_BORDER`` of the factor leave it unchanged (the caller builds a new one)."""
    problem, hessian, free = _step(digits, 1.0, 0.5)
    smaller = free.copy()
    weights = np.flatnonzero(free[:problem.n_coef])
    smaller[weights[::2]] = False
    factor = FreeSetFactor(hessian, smaller)
    assert not factor.extend(hessian, free)
    assert np.array_equal(factor.free, smaller) and len(factor.index) == np.count_nonzero(smaller)


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


def test_a_class_with_nothing_free_still_curves_the_others(digits, monkeypatch):
    """A pair of classes adds to a free class's block even when the other class has no free coordinate."""
    monkeypatch.setattr(freeset, "PAIR_THRESHOLD", 0.0)
    problem, hessian, free = _step(digits, 0.5, 2.0)
    k, d = problem.n_classes, problem.n_features
    free = free.copy()
    free[3 * d:4 * d] = False
    free[k * d + 3] = False
    dense = _dense(hessian, free)
    factored = _factored(FreeSetFactor(hessian, free))
    assert np.abs(factored - dense).max() <= 1e-4 * np.abs(dense).max()
