"""The Newton tail and the gap criterion of the numpy engine.

References are independent of the code under test: OWL-QN run to a tight KKT violation (a different
method), scikit-learn at a tight tolerance, both scored in float64 by
:func:`mnist_logreg.objective.objective`; the gap is compared with the distance measured against them.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from mnist_logreg import load_dataset, split_dataset
from mnist_logreg.engines.numpy import NumpyEngine
from mnist_logreg.metrics import score_fit
from mnist_logreg.objective import objective
from mnist_logreg.plan.grid import GridPoint
from mnist_logreg.solvers import Problem, SoftmaxDatafit, minimize_owlqn
from mnist_logreg.solvers.cg import conjugate_gradients
from mnist_logreg.solvers.freeset import _factor_in_place
from mnist_logreg.solvers.newton import STALL_STEPS, minimize_newton
from mnist_logreg.solvers.owlqn import ridge_gap
from mnist_logreg.solvers.fit import PathFitter
from mnist_logreg.solvers.path import solve_path
from mnist_logreg.solvers.prepare import nonzero_columns, prepare_problem
from mnist_logreg.solvers.preconditioner import AugmentedGram
from mnist_logreg.solvers.penalties import PenaltySpec


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = X[:300] / 16.0
    return X[:, X.any(axis=0)], y[:300]


@pytest.mark.parametrize("l1_ratio, C, preconditioned", [(1.0, 0.5, False), (0.0, 3.0, True), (0.5, 1.0, False),
                                                         (1.0, 0.2, True)])
def test_newton_reaches_the_quasi_newton_minimum(digits, l1_ratio, C, preconditioned):
    X, y = digits
    X, y = X[:150], y[:150]
    problem = Problem(SoftmaxDatafit(X, y, 10), PenaltySpec("elasticnet", l1_ratio).at(C, len(y)))
    reference = minimize_owlqn(problem, np.zeros(problem.size), tol=0.0, kkt_tol=1e-9, max_iter=50_000,
                               report_gap=False)
    # The tail starts where the path's quasi-Newton phase hands over: a rough point.
    x0 = minimize_owlqn(problem, np.zeros(problem.size), tol=0.0, kkt_tol=1e-3, max_iter=50_000, report_gap=False).x
    newton = minimize_newton(problem, x0, tol=1e-10, max_iter=200, gram=AugmentedGram(X) if preconditioned else None)
    assert reference.converged
    assert newton.converged and newton.gap <= 1e-10
    f_newton = objective(X, y, *problem.unpack(newton.x), l1_ratio=l1_ratio, C=C)
    f_reference = objective(X, y, *problem.unpack(reference.x), l1_ratio=l1_ratio, C=C)
    # The reference is above the minimum, so the certificate bounds the distance to it from above ...
    assert f_newton - f_reference <= newton.gap * f_newton
    assert f_newton == pytest.approx(f_reference, rel=1e-8)  # ... and both are the same minimum
    if l1_ratio > 0:  # the same weights are clearly non-zero
        W_newton, W_reference = problem.unpack(newton.x)[0], problem.unpack(reference.x)[0]
        assert np.all(W_newton[np.abs(W_reference) > 1e-5] != 0)


@pytest.mark.parametrize("C", [1.0, 10.0, 100.0])
def test_newton_certifies_l1_rows_on_exactly_collinear_columns(C):
    """Columns that are exact combinations of others make ``H_FF`` singular under L1 without a ridge:
    the undamped steps ran 200 times at gaps of 0.15-0.25 on these rows; the damped ones certify."""
    X, y = make_classification(n_samples=1000, n_features=40, n_informative=8, n_redundant=24, n_classes=3,
                               n_clusters_per_class=2, class_sep=0.8, random_state=0)
    problem = Problem(SoftmaxDatafit(X, y, 3), PenaltySpec("l1", 1.0).at(C, len(y)))
    x0 = minimize_owlqn(problem, np.zeros(problem.size), tol=0.0, kkt_tol=1e-3, max_iter=50_000, report_gap=False).x
    newton = minimize_newton(problem, x0, tol=1e-8, max_iter=300)
    assert newton.converged and newton.gap <= 1e-8
    # A long OWL-QN run from zero (a different method) is above the minimum: the certificate bounds the
    # distance to it, and Newton's point is no worse.
    reference = minimize_owlqn(problem, np.zeros(problem.size), tol=0.0, kkt_tol=1e-10, max_iter=3_000,
                               report_gap=False)
    f_newton = objective(X, y, *problem.unpack(newton.x), l1_ratio=1.0, C=C)
    f_reference = objective(X, y, *problem.unpack(reference.x), l1_ratio=1.0, C=C)
    assert f_newton - f_reference <= newton.gap * f_newton
    assert f_newton <= f_reference * (1 + 1e-12)


def test_newton_refuses_a_penalty_on_columns(digits):
    X, y = digits
    problem = Problem(SoftmaxDatafit(X, y, 10), PenaltySpec("group", 1.0).at(1.0, len(y)))
    with pytest.raises(ValueError, match="separable"):
        minimize_newton(problem, np.zeros(problem.size), tol=1e-5, max_iter=5)


ROWS = [GridPoint("l1", 1.0, 0.1), GridPoint("l1", 1.0, 1.0), GridPoint("l2", 0.0, 0.01), GridPoint("l2", 0.0, 20.0),
        GridPoint("elasticnet", 0.5, 2.0)]


@pytest.fixture(scope="module")
def sklearn_objectives(digits):
    """Each row of ROWS solved by scikit-learn at tolerance 1e-10, scored in float64."""
    X, y = digits
    out = []
    for row in ROWS:
        solver = "lbfgs" if row.l1_ratio == 0 else "saga"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            theirs = LogisticRegression(C=row.C, l1_ratio=row.l1_ratio, solver=solver, tol=1e-10, max_iter=200_000,
                                        random_state=0).fit(X, y)
        out.append(objective(X, y, theirs.coef_, theirs.intercept_, l1_ratio=row.l1_ratio, C=row.C))
    return out


@pytest.mark.parametrize("solver", ["owlqn", "proxqn"])
def test_default_rows_are_within_their_gap_of_a_tight_reference(digits, sklearn_objectives, solver):
    """At default settings each row is converged, its gap is at most 1e-5 and bounds its distance to
    scikit-learn's tight optimum, which is itself at most 1e-5."""
    X, y = digits
    fits = dict(NumpyEngine(solver=solver).fit_path(X, y, 10, ROWS))
    for i, row in enumerate(ROWS):
        record = score_fit(row, fits[i], X, y, X[:20], y[:20])
        distance = (record["objective"] - sklearn_objectives[i]) / record["objective"]
        assert record["converged"] and record["gap"] <= 1e-5
        assert distance <= record["gap"] + 4 * np.finfo(float).eps
        assert distance <= 1e-5


def test_converged_means_gap_at_most_tol(digits):
    """With too few iterations some rows stop early: exactly those have ``gap > tol``."""
    X, y = digits
    tol = 1e-8
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fits = dict(NumpyEngine(tol=tol, max_iter=12).fit_path(X, y, 10, ROWS))
    flags = []
    for i, row in enumerate(ROWS):
        record = score_fit(row, fits[i], X, y, X[:20], y[:20])
        assert record["converged"] == (record["gap"] <= tol)
        flags.append(record["converged"])
    assert any(flags) and not all(flags)  # both cases occur


def test_unconverged_row_warns_with_its_gap(digits):
    X, y = digits
    with pytest.warns(ConvergenceWarning, match="relative duality gap"):
        list(NumpyEngine(tol=1e-12, max_iter=2).fit_path(X, y, 10, [GridPoint("l1", 1.0, 5.0)]))


@pytest.mark.parametrize("solver", ["owlqn", "proxqn"])
def test_group_rows_are_certified_by_their_gap(digits, solver):
    """The group penalty (proximal iterations, both preconditioners) meets the gap criterion, and the
    gap bounds the distance to a much tighter solve of the same row."""
    X, y = digits
    rows = [GridPoint("group", 1.0, 0.3), GridPoint("group", 0.5, 3.0)]
    fits = dict(NumpyEngine(solver=solver).fit_path(X, y, 10, rows))
    tight = dict(NumpyEngine(solver=solver, tol=1e-6, max_iter=20_000).fit_path(X, y, 10, rows))
    for i, row in enumerate(rows):
        record = score_fit(row, fits[i], X, y, X[:20], y[:20])
        f_tight = objective(X, y, tight[i].coef, tight[i].intercept, l1_ratio=row.l1_ratio, C=row.C, penalty="group")
        assert record["objective"] == pytest.approx(
            objective(X, y, fits[i].coef, fits[i].intercept, l1_ratio=row.l1_ratio, C=row.C, penalty="group"),
            rel=1e-12)
        assert record["converged"] and record["gap"] <= 1e-5
        assert tight[i].converged
        distance = (record["objective"] - f_tight) / record["objective"]
        assert distance <= record["gap"] + 4 * np.finfo(float).eps



def _tail_step(problem, kkt_tol):
    """The first Newton step of ``problem``'s tail after OWL-QN to ``kkt_tol``: ``(x, pg, free, P, hessian)``
    at the tail's own start (intercepts re-fitted), the free set as the tail builds it."""
    from mnist_logreg.solvers.datafit import log_normaliser
    from mnist_logreg.solvers.gap import duality_gap
    from mnist_logreg.solvers.hessian import FreeHessian
    from mnist_logreg.solvers.owlqn import pseudo_gradient

    rough = minimize_owlqn(problem, np.zeros(problem.size), tol=0.0, kkt_tol=kkt_tol, max_iter=5000, report_gap=False)
    at = duality_gap(problem, rough.x, problem.scores(rough.x))
    x, n_coef = at.x, problem.n_coef
    pg = pseudo_gradient(x, at.grad, problem.penalty.strength, n_coef)
    free = np.ones(x.size, dtype=bool)
    free[:n_coef] = (x[:n_coef] != 0) | (pg[:n_coef] != 0)
    P = log_normaliser(at.Z)[1]
    return x, pg, free, P, FreeHessian(problem, P, free)


def _model(X, y, P, pg, d, problem):
    """``pg . d + d H d / 2`` with the Hessian of the mean log-loss recomputed in float64 from X."""
    dW, db = problem.unpack(d)
    U = X @ dW.T + db
    curvature = float(np.sum(U * (P * (U - np.sum(P * U, axis=1, keepdims=True))))) / len(y)
    return pg @ d + 0.5 * curvature


def test_newton_step_moves_entering_weights_into_their_orthant_only(digits):
    """A zero weight whose gradient exceeds the penalty enters the step's free set but may only move
    against its pseudo-gradient. Where the solution of the Newton system moves some the other way,
    the direction leaves them out and is still a descent direction of the quadratic model (with the
    Hessian recomputed here in float64 from X)."""
    from mnist_logreg.solvers.newton import _newton_direction, _orthant_direction

    X, y = digits
    problem = Problem(SoftmaxDatafit(X, y, 10), PenaltySpec("l1", 1.0).at(5.0, len(y)))
    x, pg, free, P, hessian = _tail_step(problem, kkt_tol=1e-2)
    n_coef = problem.n_coef
    entering = np.zeros(x.size, dtype=bool)
    entering[:n_coef] = free[:n_coef] & (x[:n_coef] == 0)

    def wrong_way(d):
        return entering & (d * pg >= 0) & (d != 0)

    plain = _newton_direction(hessian, pg, free, 0.5, None, None)
    assert wrong_way(plain).any()  # the case this is about
    d = _orthant_direction(hessian, pg, x, free, 0.5, None, None, n_coef)
    assert not wrong_way(d).any()
    assert np.all(d[~free] == 0)
    assert _model(X, y, P, pg, d, problem) < 0


@pytest.mark.parametrize("C", [0.5, 2.0])
def test_newton_step_takes_weights_it_would_move_past_zero_to_zero(digits, C):
    """Near a row's solution the Newton system's solution moves some weights of the support past zero.
    The direction moves them to zero exactly (no further) and re-solves the rest given that move, so
    the step decreases the quadratic model, and by more than the plain solution cut back to the
    orthant (what the line search's projection would make of it; here that one even raises it)."""
    from mnist_logreg.solvers.newton import _newton_direction, _orthant_direction

    X, y = digits
    problem = Problem(SoftmaxDatafit(X, y, 10), PenaltySpec("l1", 1.0).at(C, len(y)))
    x, pg, free, P, hessian = _tail_step(problem, kkt_tol=0.1 * problem.penalty.strength)
    n_coef = problem.n_coef
    support = np.zeros(x.size, dtype=bool)
    support[:n_coef] = x[:n_coef] != 0

    plain = _newton_direction(hessian, pg, free, 0.5, None, None)
    crossing = support & (x * (x + plain) < 0)
    assert crossing.any()  # the case this is about
    d = _orthant_direction(hessian, pg, x, free, 0.5, None, None, n_coef)
    assert np.all(x[crossing] + d[crossing] == 0)  # to zero exactly
    assert not np.any(support & (x * (x + d) < 0))  # no weight of the support changes sign
    entering = free & ~support
    entering[n_coef:] = False
    assert not np.any(entering & (d * pg > 0))  # no zero weight moves the wrong way
    projected = plain.copy()
    projected[crossing] = -x[crossing]
    projected[entering & (plain * pg > 0)] = 0.0
    assert _model(X, y, P, pg, d, problem) < min(_model(X, y, P, pg, projected, problem), 0.0)


def test_engine_dual_is_the_certificate_scoring_would_build(digits):
    """The numpy engine hands scoring the dual value its Newton tail proved; the gap scoring reports
    from it is the one :func:`certified_gap` builds from the reported weights alone. Fitted in
    float32, the engine hands none (its products are not a proof) and scoring builds its own."""
    from mnist_logreg.objective import linear_scores
    from mnist_logreg.solvers.gap import certified_gap

    X, y = digits
    fits = dict(NumpyEngine().fit_path(X, y, 10, ROWS))
    for i, row in enumerate(ROWS):
        fit = fits[i]
        assert np.isfinite(fit.dual)
        record = score_fit(row, fit, X, y, X[:20], y[:20])
        rebuilt = certified_gap(X, y, fit.coef, fit.intercept, linear_scores(X, fit.coef, fit.intercept),
                                record["objective"], l1_ratio=row.l1_ratio, C=row.C, penalty=row.penalty)
        assert record["gap"] == pytest.approx(rebuilt, rel=1e-6, abs=1e-12)
    X32 = X.astype(np.float32)
    fits32 = dict(NumpyEngine().fit_path(X32, y, 10, ROWS[:1]))
    assert np.isnan(fits32[0].dual)


def test_ridge_newton_direction_keeps_every_weight(digits):
    """Without an L1 part there are no orthants: from zero weights (all of them zero, none "entering"),
    the step is the whole Newton direction, not one with the weights it moves along the gradient left out."""
    from mnist_logreg.solvers.datafit import log_normaliser
    from mnist_logreg.solvers.hessian import FreeHessian
    from mnist_logreg.solvers.newton import _newton_direction, _orthant_direction

    X, y = digits
    problem = Problem(SoftmaxDatafit(X, y, 10), PenaltySpec("elasticnet", 0.0).at(1.0, len(y)))
    x = np.zeros(problem.size)
    Z = problem.scores(x)
    g = problem.value_grad(Z, x)[1]
    free = np.ones(x.size, dtype=bool)
    hessian = FreeHessian(problem, log_normaliser(Z)[1], free)
    plain = _newton_direction(hessian, g, free, 1e-8, None, None)
    assert np.any(plain[:problem.n_coef] * g[:problem.n_coef] > 0)  # some weights move along the gradient
    d = _orthant_direction(hessian, g, x, free, 1e-8, None, None, problem.n_coef)
    np.testing.assert_array_equal(d, plain)


def test_a_direction_that_is_no_descent_is_replaced_by_a_steepest_descent_step(digits, monkeypatch):
    """Conjugate gradients truncated early (or re-started from a solution with weights left out) can
    end short of a descent direction. Such a step is not taken, nor does the row give up: a
    steepest-descent step on the orthant lowers F, and the tail goes on to its certificate."""
    import mnist_logreg.solvers.newton as newton

    X, y = digits
    problem = Problem(SoftmaxDatafit(X, y, 10), PenaltySpec("l1", 1.0).at(2.0, len(y)))
    x0 = minimize_owlqn(problem, np.zeros(problem.size), tol=0.0, kkt_tol=0.1 * problem.penalty.strength,
                        max_iter=5000, report_gap=False).x
    real, values = newton._orthant_direction, []

    def ascent_first(hessian, pg, x, *args, **kwargs):
        values.append(problem.objective(problem.scores(x), x))
        return pg.copy() if len(values) == 1 else real(hessian, pg, x, *args, **kwargs)

    monkeypatch.setattr(newton, "_orthant_direction", ascent_first)
    result = minimize_newton(problem, x0, tol=1e-8, max_iter=100)
    assert len(values) >= 3  # the replaced step, then Newton steps
    assert values[1] < values[0]
    assert result.converged and result.gap <= 1e-8


def test_a_ridge_too_weak_for_float64_ends_unconverged_instead_of_dividing_by_zero():
    """QA: C = 1e200 (l2, 500 digits) raised ZeroDivisionError: as the loss of separable data falls towards
    zero, ``2 alpha F`` in the ridge gap's prediction underflowed to 0. The row must end, honestly
    unconverged (the grid refuses such a C: mnist_logreg.solvers.problem.MAX_C)."""
    X, y = load_digits(return_X_y=True)
    (solution,) = [s for _, s in solve_path(X[:500] / 16.0, y[:500], 10, [1e200], PenaltySpec("l2", 0.0), tol=1e-5,
                                             max_iter=5000, criterion="gap")]
    assert not solution.converged and not solution.gap <= 1e-5


def test_ridge_gap_prediction_survives_underflow():
    """The prediction ``|g|^2 / (2 alpha F)`` with ``alpha F`` below the smallest float64: huge, not an error."""
    problem = SimpleNamespace(penalty=SimpleNamespace(alpha=1.1e-202))
    assert ridge_gap(problem, np.full(10, 1e-17), 8.1e-199) > 1e300


def test_a_newton_tail_that_no_longer_moves_ends_before_max_iter():
    """QA: a refit at C = 1e100 (l2, all digits) still ran after 15 minutes, and l1 at C = 1e8 on 1,000 digits
    takes Newton steps that leave the objective unchanged in float64 from a gap of 3e-5 on: the tail went
    on to max_iter, each step a factor and Hessian products. It now ends after STALL_STEPS such steps,
    unconverged, with max_iter iterations to spare."""
    split = split_dataset(load_dataset("digits"), 1000, 300, seed=42)
    X, y = split.X_train, split.y_train_codes
    fitter = PathFitter()  # its way of solving a path, past its own refusal of C > MAX_C
    prepared = prepare_problem(X, y, 10, mixed_precision=fitter.mixed(X, 10), preconditioner=fitter.preconditioned(X),
                               columns=nonzero_columns(X))
    max_iter = 1500  # the quasi-Newton phase takes about 900 of them
    (solution,) = [s for _, s in solve_path(X, y, 10, [1e8], PenaltySpec("l1", 1.0), tol=1e-5, max_iter=max_iter,
                                             criterion="gap", prepared=prepared)]
    assert not solution.converged and solution.gap > 1e-5
    assert solution.n_iter < max_iter - 2 * STALL_STEPS


def test_a_vanished_hessian_is_factored_at_the_first_shift(monkeypatch):
    """Every probability saturated (C = 1e100 on all digits): the free set's float32 Hessian is zero, and a
    shift floored at 1e-300 is zero in float32 too; it was raised tenfold some 260 times, each a Cholesky
    factorisation, at every Newton step. The shift starts at float32's smallest normal number instead."""
    calls = []
    cholesky = np.linalg.cholesky
    monkeypatch.setattr(np.linalg, "cholesky", lambda A: calls.append(1) or cholesky(A))
    lower, shift = _factor_in_place(np.zeros((50, 50), dtype=np.float32), 1e-300)
    assert len(calls) == 1 and shift == np.finfo(np.float32).tiny
    assert np.all(np.isfinite(lower)) and np.all(np.diag(lower) > 0)


def test_conjugate_gradients_stop_at_a_product_that_overflowed():
    """A float32 Hessian product that overflowed gives NaN curvature, which passed the ``curvature <= 0``
    test: the iterations went on to MAX_CG with NaN, at every Newton step. They stop at once, the
    direction so far (zero) untouched."""
    n = 20
    hessian = SimpleNamespace(diagonal=np.ones(n), damping=0.0, product=lambda v: np.full_like(v, np.nan))
    d, iterations, solved = conjugate_gradients(hessian, np.ones(n), np.ones(n, dtype=bool), 1e-3)
    assert (iterations, solved) == (1, False) and np.array_equal(d, np.zeros(n))


@pytest.mark.parametrize("n_iter, advice", [(40, "will not help"), (100, "raise max_iter")])
def test_the_convergence_warning_says_whether_more_iterations_would_help(monkeypatch, n_iter, advice):
    """A row the tail ended for want of progress (a stall, short of max_iter) used to say 'raise max_iter'."""
    import mnist_logreg.solvers.fit as fit
    from mnist_logreg.solvers.path import PathSolution

    def stalled(X, y, n_classes, Cs, spec, **options):
        for j in range(len(Cs)):
            yield j, PathSolution(coef=np.zeros((n_classes, X.shape[1])), intercept=np.zeros(n_classes),
                                  n_iter=n_iter, converged=False, kkt=1.0, gap=3e-5, seconds=0.0)

    monkeypatch.setattr(fit, "solve_path", stalled)
    X, y = load_digits(return_X_y=True)
    with pytest.warns(ConvergenceWarning, match=advice):
        list(PathFitter(max_iter=100).fit(X[:200] / 16.0, y[:200], 10, [(GridPoint("l1", 1.0, 1.0).spec, [1.0])]))
