"""The numpy engine: optimality against scikit-learn and against the KKT conditions, path behaviour."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from mnist_logreg.engines import get_engine
from mnist_logreg.engines.numpy import NumpyEngine
from mnist_logreg.plan.grid import GridPoint, make_grid
from mnist_logreg.objective import objective
from mnist_logreg.solvers.penalties import PenaltySpec
from reference import MultinomialLoss


@pytest.fixture(scope="module")
def digits():
    """400 real 8x8 digits scaled to [0, 1] (several pixels are zero in every image)."""
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16.0, y[:400]


@pytest.fixture(params=["owlqn", "proxqn"])
def solver(request):
    """Both iteration methods of the engine (``auto`` picks proxqn only on tall data)."""
    return request.param


def fit_rows(X, y, rows, **options):
    engine = NumpyEngine(**options)
    out = dict(engine.fit_path(X, y, 10, rows))
    assert sorted(out) == list(range(len(rows)))
    return [out[i] for i in range(len(rows))]


def F(X, y, result, row):
    return objective(X, y, result.coef, result.intercept, l1_ratio=row.l1_ratio, C=row.C)


@pytest.mark.parametrize("row", [GridPoint("l1", 1.0, 0.05), GridPoint("l1", 1.0, 2.0), GridPoint("l2", 0.0, 0.1),
                                 GridPoint("l2", 0.0, 10.0), GridPoint("elasticnet", 0.5, 0.5),
                                 GridPoint("elasticnet", 0.2, 3.0)])
def test_objective_matches_sklearn_at_tight_tolerance(digits, row, solver):
    X, y = digits
    (ours,) = fit_rows(X, y, [row], tol=1e-11, solver=solver)
    solver = "lbfgs" if row.l1_ratio == 0 else "saga"
    theirs = LogisticRegression(C=row.C, l1_ratio=row.l1_ratio, solver=solver, tol=1e-10, max_iter=100_000,
                                random_state=0).fit(X, y)
    f_ours, f_theirs = F(X, y, ours, row), objective(X, y, theirs.coef_, theirs.intercept_,
                                                     l1_ratio=row.l1_ratio, C=row.C)
    assert ours.converged
    assert f_ours <= f_theirs + 1e-9
    assert f_ours == pytest.approx(f_theirs, rel=1e-6)


def test_no_penalty_matches_sklearn(digits, solver):
    X, y = digits
    # One pixel row and every third label redrawn: the classes overlap, so a finite minimum exists.
    X = X[:, 18:26]
    y = y.copy()
    y[::3] = np.random.default_rng(0).integers(0, 10, size=len(y[::3]))
    row = GridPoint("none", 0.0, math.inf)
    (ours,) = fit_rows(X, y, [row], tol=1e-7, solver=solver)
    theirs = LogisticRegression(C=math.inf, solver="lbfgs", tol=1e-12, max_iter=100_000).fit(X, y)
    f_theirs = objective(X, y, theirs.coef_, theirs.intercept_, l1_ratio=0.0, C=math.inf)
    assert ours.converged
    assert F(X, y, ours, row) <= f_theirs + 1e-8
    assert F(X, y, ours, row) == pytest.approx(f_theirs, rel=1e-6)


@pytest.mark.parametrize("l1_ratio, C", [(1.0, 0.3), (0.5, 1.0), (0.0, 1.0)])
def test_kkt_conditions_hold_at_the_solution(digits, l1_ratio, C, solver):
    X, y = digits
    row = GridPoint("elasticnet", l1_ratio, C)
    (result,) = fit_rows(X, y, [row], tol=1e-10, solver=solver)
    n = X.shape[0]
    lam1, alpha = l1_ratio / (C * n), (1 - l1_ratio) / (C * n)
    _, g, g_b = MultinomialLoss(X, y, 10).value_grad(result.coef, result.intercept, alpha=alpha)
    W = result.coef
    scale = np.abs(MultinomialLoss(X, y, 10).value_grad(np.zeros_like(W), np.zeros(10))[1]).max()
    eps = 1e-5 * scale
    nonzero = W != 0
    # 0 in grad + lam1 * d|W|: equality on the support, |g| <= lam1 off it; intercept gradient 0.
    assert np.abs(g[nonzero] + lam1 * np.sign(W[nonzero])).max() <= eps
    if (~nonzero).any():
        assert np.abs(g[~nonzero]).max() <= lam1 + eps
    assert np.abs(g_b).max() <= eps
    if l1_ratio > 0:
        assert (~nonzero).sum() > 0  # the L1 part makes the solution sparse


@pytest.mark.parametrize("l1_ratio, C", [(1.0, 0.3), (0.5, 1.0), (0.0, 1.0)])
def test_default_engine_is_within_tol_of_a_tight_reference(digits, l1_ratio, C):
    """At default settings the engine iterates in float32 (a small problem) and certifies a relative
    gap of 1e-5: the objective, recomputed here in float64, is within 1e-5 (relative) of a tight
    scikit-learn solve, and the KKT violation recomputed on all columns is small."""
    X, y = digits
    engine = NumpyEngine()
    assert engine.tol == 1e-5
    assert engine.fitter.mixed(X, 10)  # the float32 phase is what this tests
    row = GridPoint("elasticnet", l1_ratio, C)
    ((_, result),) = list(engine.fit_path(X, y, 10, [row]))
    solver = "lbfgs" if l1_ratio == 0 else "saga"
    theirs = LogisticRegression(C=C, l1_ratio=l1_ratio, solver=solver, tol=1e-10, max_iter=100_000,
                                random_state=0).fit(X, y)
    f_theirs = objective(X, y, theirs.coef_, theirs.intercept_, l1_ratio=l1_ratio, C=C)
    f_ours = F(X, y, result, row)
    assert result.converged
    assert (f_ours - f_theirs) / f_ours <= 1e-5
    n = X.shape[0]
    lam1, alpha = l1_ratio / (C * n), (1 - l1_ratio) / (C * n)
    _, g, g_b = MultinomialLoss(X, y, 10).value_grad(result.coef, result.intercept, alpha=alpha)
    W = result.coef
    b0 = np.log(np.bincount(y, minlength=10) / n)
    scale = np.abs(MultinomialLoss(X, y, 10).value_grad(np.zeros_like(W), b0)[1]).max()  # lambda_max
    violation = np.where(W > 0, g + lam1, np.where(W < 0, g - lam1, np.maximum(np.abs(g) - lam1, 0)))
    assert max(np.abs(violation).max(), np.abs(g_b).max()) <= 1e-3 * scale


def test_warm_started_path_equals_cold_starts(digits, solver):
    X, y = digits
    rows = make_grid("l1,elasticnet", "1e-2:1e1:5", l1_ratios=0.3)
    path = fit_rows(X, y, rows, tol=1e-10, solver=solver)
    for row, warm in zip(rows, path):
        (cold,) = fit_rows(X, y, [row], tol=1e-10, solver=solver)
        assert warm.converged and cold.converged  # a gap of 1e-10 is reachable here, warm or cold
        assert F(X, y, warm, row) == pytest.approx(F(X, y, cold, row), rel=1e-7)
        np.testing.assert_allclose(warm.coef, cold.coef, atol=2e-3 * np.abs(cold.coef).max())


def test_resumed_subset_and_any_row_order(digits, solver):
    X, y = digits
    rows = make_grid("l2", "1e-2:1e1:4")
    full = fit_rows(X, y, rows, tol=1e-10, solver=solver)
    subset = [rows[3], rows[1]]  # a resume with only some rows, out of order
    part = fit_rows(X, y, subset, tol=1e-10)
    for row, result, reference in zip(subset, part, [full[3], full[1]]):
        assert F(X, y, result, row) == pytest.approx(F(X, y, reference, row), rel=1e-8)


def test_very_small_C_under_l1_gives_zero_weights(digits, solver):
    X, y = digits
    (result,) = fit_rows(X, y, [GridPoint("l1", 1.0, 1e-4)], solver=solver)
    assert result.converged
    assert not result.coef.any()
    # With W = 0 the optimal intercepts reproduce the class frequencies.
    p = np.exp(result.intercept) / np.exp(result.intercept).sum()
    np.testing.assert_allclose(p, np.bincount(y, minlength=10) / len(y), atol=1e-6)


def test_empty_pixels_get_zero_weight(digits, solver):
    X, y = digits
    empty = ~X.any(axis=0)
    assert empty.any()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        results = fit_rows(X, y, [GridPoint("l2", 0.0, 1.0), GridPoint("none", 0.0, math.inf)], max_iter=50,
                           solver=solver)
    for result in results:
        assert not result.coef[:, empty].any()


def test_deterministic(digits, solver):
    X, y = digits
    rows = make_grid("l1,l2", "1e-2:1e1:3")
    first, second = fit_rows(X, y, rows, solver=solver), fit_rows(X, y, rows, solver=solver)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a.coef, b.coef)
        np.testing.assert_array_equal(a.intercept, b.intercept)
        assert a.n_iter == b.n_iter


def test_float32_matches_float64(digits):
    X, y = digits
    rows = make_grid("l1,l2", "0.1,1")
    r64 = fit_rows(X, y, rows, tol=1e-5)
    r32 = fit_rows(X.astype(np.float32), y, rows, tol=1e-5)
    for row, a, b in zip(rows, r64, r32):
        assert b.coef.dtype == np.float64 and b.converged
        assert F(X, y, b, row) == pytest.approx(F(X, y, a, row), rel=1e-5)


def test_unconverged_rows_warn_and_are_marked(digits, solver):
    X, y = digits
    rows = [GridPoint("l1", 1.0, 1.0), GridPoint("l2", 0.0, 1.0)]
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        results = fit_rows(X, y, rows, max_iter=1, solver=solver)
    assert all(not r.converged and r.n_iter == 1 for r in results)


def test_options_round_trip_through_json_and_reach_the_refit_estimator():
    """run.json records options() and --resume / the refit rebuild the engine from them: every
    option must survive JSON, rebuild the same engine, and reach the estimator that refits a row."""
    options = dict(tol=1e-4, max_iter=7, memory=4, mixed_precision=False, blas_threads=1, solver="owlqn")
    engine = get_engine("numpy", **options)
    assert engine.name == "numpy"
    recorded = json.loads(json.dumps(engine.options()))
    assert recorded == options
    assert get_engine("numpy", **recorded).options() == options
    estimator = engine.estimator(GridPoint("group", 0.5, 2.0))
    params = estimator.get_params()
    assert {k: params[k] for k in options} == options
    assert (params["C"], params["l1_ratio"], params["penalty"]) == (2.0, 0.5, "group")


def test_converged_rows_do_not_warn(digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        results = fit_rows(X, y, make_grid("l1,l2", "1e-3:1e1:4"))
    assert all(r.converged for r in results)


def test_centred_coordinates_describe_the_same_model(digits):
    from mnist_logreg.solvers.centring import CentredProblem
    from mnist_logreg.solvers.penalties import ElasticNet, PixelGroup

    X, y = digits
    X = X[:, X.any(axis=0)]
    problem = CentredProblem(X, y, 10, dtype=np.float64)
    rng = np.random.default_rng(1)
    W, b = rng.normal(size=(10, X.shape[1])) * (rng.random((10, X.shape[1])) < 0.3), rng.normal(size=10)
    x = np.concatenate([W.ravel(), b])
    centred = problem.to_centred(x)
    np.testing.assert_allclose(problem.datafit.scores(centred), X @ W.T + b, atol=1e-10)
    np.testing.assert_allclose(problem.from_centred(centred), x, atol=1e-12)
    W_centred = centred[:W.size].reshape(W.shape)
    for family in (ElasticNet, PixelGroup):
        penalty = family(0.3, 0.7)
        # The same penalty value in both coordinate systems, computed here without the objects' help.
        in_centred = problem.centred_penalty(penalty)
        assert in_centred.value(W_centred) == pytest.approx(penalty.value(W), rel=1e-12)
    assert problem.centred_penalty(ElasticNet(0.3, 0.7)).strength * np.abs(W_centred).sum() == pytest.approx(
        0.3 * np.abs(W).sum())
    assert np.array_equal(W_centred != 0, W != 0)  # zeros, hence the L1 orthants, are kept


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5, 0.0])
def test_duality_gap_brackets_the_minimum(digits, l1_ratio):
    from mnist_logreg.solvers import Problem, SoftmaxDatafit, solve_path
    from mnist_logreg.solvers.gap import duality_gap

    X, y = digits
    C, n = 0.5, X.shape[0]
    spec = PenaltySpec("elasticnet", l1_ratio)
    ((_, best),) = list(solve_path(X, y, 10, [C], spec, tol=1e-9))
    f_min = objective(X, y, best.coef, best.intercept, l1_ratio=l1_ratio, C=C)
    datafit = SoftmaxDatafit(X, y, 10)
    problem = Problem(datafit, spec.at(C, n))
    rng = np.random.default_rng(0)
    for scale in (1.0, 0.3, 0.0):  # from rough points to the solution itself
        coef = best.coef + scale * rng.normal(size=best.coef.shape) * (rng.random(best.coef.shape) < 0.2)
        x = datafit.pack(coef, best.intercept)
        gap = duality_gap(problem, x, datafit.scores(x))
        assert gap.dual <= f_min + 1e-10 <= gap.primal + 2e-10
        W, b = datafit.unpack(gap.x)
        assert gap.primal == pytest.approx(objective(X, y, W, b, l1_ratio=l1_ratio, C=C), rel=1e-12)
    assert gap.relative < 1e-6  # the last point is the solution: the gap closes there


def test_gap_criterion_certifies_the_objective(digits):
    from mnist_logreg.solvers import solve_path

    X, y = digits
    Cs = [0.1, 1.0]
    spec = PenaltySpec("elasticnet", 0.5)
    tight = dict(solve_path(X, y, 10, Cs, spec, tol=1e-9))
    for i, solution in solve_path(X, y, 10, Cs, spec, tol=1e-5, criterion="gap"):
        assert solution.converged and solution.gap <= 1e-5
        f = objective(X, y, solution.coef, solution.intercept, l1_ratio=0.5, C=Cs[i])
        f_min = objective(X, y, tight[i].coef, tight[i].intercept, l1_ratio=0.5, C=Cs[i])
        assert f_min - 1e-10 <= f <= f_min * (1 + 1e-5) + 1e-10  # the gap bounds the suboptimality


@pytest.mark.parametrize("margin", [0.1, 0.0, -100.0])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_working_set_solves_the_full_problem(digits, l1_ratio, margin, monkeypatch):
    """OWL-QN on working sets of columns reaches the full problem's minimum and its KKT conditions on
    every weight. With ``margin = -100`` the first working set is empty (only columns with
    ``|g| >= 101 lambda_1`` would enter), so every column of the solution enters as a KKT violator."""
    from mnist_logreg.solvers import Problem, SoftmaxDatafit, minimize_owlqn
    from mnist_logreg.solvers import workingset
    from mnist_logreg.solvers.owlqn import pseudo_gradient

    monkeypatch.setattr(workingset, "MARGIN", margin)
    X, y = digits
    C, n = 0.2, X.shape[0]
    lam = 1.0 / (C * n)
    problem = Problem(SoftmaxDatafit(X, y, 10), PenaltySpec("elasticnet", l1_ratio).at(C, n))
    x0 = np.zeros(problem.size)
    ws = workingset.minimize_working_set(problem, x0, kkt_tol=1e-9, max_iter=20_000)
    full = minimize_owlqn(problem, x0, tol=0.0, kkt_tol=1e-9, max_iter=20_000, report_gap=False)
    assert ws.converged and full.converged
    grad = problem.value_grad(problem.scores(ws.x), ws.x)[1]
    assert np.abs(pseudo_gradient(ws.x, grad, l1_ratio * lam, problem.n_coef)).max() <= 1e-9
    assert ws.value == pytest.approx(full.value, rel=1e-10)
    W = ws.x[:problem.n_coef].reshape(10, -1)
    assert 0 < (W != 0).any(axis=0).sum() < 0.8 * X.shape[1]  # sparse: the restricted problems were smaller


def test_path_resumes_exactly(digits, solver):
    """A row depends only on its start point (the working set, the metric and its class curvature
    alike): a path resumed from a saved solution repeats the uninterrupted path's next row bit for
    bit. The rows after it start from the secant through the two before them, which the resumed path
    has not both solved, so they agree with the uninterrupted path's within their certificate."""
    X, y = digits
    rows = [GridPoint("l1", 1.0, C) for C in (0.05, 0.2, 1.0, 5.0)]
    fresh = fit_rows(X, y, rows, tol=1e-6, solver=solver)
    engine = NumpyEngine(tol=1e-6, solver=solver)
    resumed = dict(engine.fit_path(X, y, 10, rows[1:], warm_start={0: (fresh[0].coef, fresh[0].intercept)}))
    assert np.array_equal(resumed[0].coef, fresh[1].coef)
    assert np.array_equal(resumed[0].intercept, fresh[1].intercept)
    for i in (1, 2):
        assert resumed[i].converged and fresh[i + 1].converged
        assert F(X, y, resumed[i], rows[i + 1]) == pytest.approx(F(X, y, fresh[i + 1], rows[i + 1]), rel=2e-6)




@pytest.mark.parametrize("penalty, l1_ratio", [("l1", 1.0), ("elasticnet", 0.5)])
def test_strong_l1_rows_are_zero_weights_certified_without_iterations(digits, penalty, l1_ratio):
    """Where lambda_1 is at least the largest weight gradient at zero weights, zero weights are the
    optimum: such rows take no iteration, their intercepts fit the class frequencies (the objective
    is the entropy of the class distribution) and the gap proves it; the first C with a non-zero
    weight is solved as usual."""
    from mnist_logreg.solvers.gap import certified_gap
    from mnist_logreg.objective import linear_scores

    X, y = digits
    rows = [GridPoint(penalty, l1_ratio, C) for C in (1e-4, 2e-4, 5e-4, 1e-3, 1.0)]
    fits = dict(NumpyEngine().fit_path(X, y, 10, rows))
    frequencies = np.bincount(y, minlength=10) / len(y)
    entropy = float(-np.sum(frequencies * np.log(frequencies)))
    for i, row in enumerate(rows[:-1]):
        fit = fits[i]
        assert not fit.coef.any() and fit.n_iter == 0 and fit.converged
        value = objective(X, y, fit.coef, fit.intercept, l1_ratio=l1_ratio, C=row.C)
        assert value == pytest.approx(entropy, rel=1e-12)
        gap = certified_gap(X, y, fit.coef, fit.intercept, linear_scores(X, fit.coef, fit.intercept), value,
                            l1_ratio=l1_ratio, C=row.C)
        assert gap <= 1e-12
    assert fits[len(rows) - 1].coef.any() and fits[len(rows) - 1].n_iter > 0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_images_with_every_pixel_zero_fit_the_class_frequencies(dtype):
    """Blank images carry no information: every penalty's rows are zero weights with the intercepts
    of the class frequencies (an unbalanced 3:2:1 here), certified, instead of an internal error."""
    X = np.zeros((60, 16), dtype=dtype)
    y = np.repeat([0, 1, 2], [30, 20, 10])
    rows = make_grid("l1,l2,elasticnet,group,none", "0.1,10")
    fits = dict(NumpyEngine().fit_path(X, y, 3, rows))
    assert len(fits) == len(rows)
    frequencies = np.array([0.5, 1 / 3, 1 / 6])
    entropy = -np.sum(frequencies * np.log(frequencies))
    for i, row in enumerate(rows):
        fit = fits[i]
        assert fit.converged and not fit.coef.any()
        probabilities = np.exp(fit.intercept) / np.exp(fit.intercept).sum()
        np.testing.assert_allclose(probabilities, frequencies, rtol=1e-9)
        f = objective(X, y, fit.coef, fit.intercept, l1_ratio=row.l1_ratio, C=row.C, penalty=row.penalty)
        assert f == pytest.approx(entropy, rel=1e-12)
