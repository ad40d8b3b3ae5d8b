"""Each penalty object against an independent computation: proximal step, subdifferential distance,
conjugate, the centred form; the datafit's gradient against finite differences; the block kernel."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize, minimize_scalar

from mnist_logreg.objective import mean_log_loss
from mnist_logreg.solvers import SoftmaxDatafit
from mnist_logreg.solvers.penalties import ElasticNet, PenaltySpec, PixelGroup

FAMILIES = [ElasticNet, PixelGroup]


def _h(family, W):
    """The non-smooth norm, written here: sum |W_cj| or sum_j |W[:, j]|_2."""
    return np.abs(W).sum() if family is ElasticNet else np.linalg.norm(W, axis=0).sum()


def _random_W(rng, k=3, d=4):
    """Weights with some all-zero columns and some single zeros."""
    W = rng.normal(size=(k, d))
    W[:, 1] = 0.0
    W[0, 2] = 0.0
    return W


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("seed", range(3))
def test_prox_minimises_its_objective(family, seed):
    """prox(W, t) against a derivative-free minimisation of t lam h(U) + |U - W|^2 / 2."""
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(2, 3)) * 0.8
    penalty, t = family(0.7), 0.9

    def prox_objective(u):
        U = u.reshape(W.shape)
        return t * penalty.strength * _h(family, U) + 0.5 * np.sum((U - W) ** 2)

    ours = penalty.prox(W, t)
    brute = minimize(prox_objective, W.ravel(), method="Powell", options=dict(xtol=1e-12, ftol=1e-15, maxiter=100_000))
    assert prox_objective(ours.ravel()) <= brute.fun + 1e-10
    np.testing.assert_allclose(ours, brute.x.reshape(W.shape), atol=1e-4)


@pytest.mark.parametrize("family", FAMILIES)
def test_prox_zeroes_what_the_threshold_covers(family):
    W = np.array([[0.3, -2.0], [0.1, 1.0]])
    out = family(1.0).prox(W, 1.0)
    # Column 0 has |W|_2 = 0.32 < 1 (zero as a group) and entries < 1 (zero one by one).
    assert not out[:, 0].any()
    if family is PixelGroup:
        np.testing.assert_allclose(out[:, 1], W[:, 1] * (1 - 1 / np.sqrt(5)))  # shrunk, direction kept
    else:
        np.testing.assert_allclose(out[:, 1], [-1.0, 0.0])


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("seed", range(3))
def test_subdifferential_distance_against_a_constrained_minimisation(family, seed):
    """dist(-G, lam dh(W)) per block, found here by minimising |G + s| over the subdifferential."""
    rng = np.random.default_rng(seed)
    W, G = _random_W(rng), rng.normal(size=(3, 4))
    lam = 0.8
    ours = family(lam).subdiff_distance(W, G)
    if family is ElasticNet:
        expected = np.empty_like(W)
        for index, w in np.ndenumerate(W):
            if w != 0:
                expected[index] = abs(G[index] + lam * np.sign(w))
            else:  # d|0| = [-1, 1]
                expected[index] = minimize_scalar(lambda s: abs(G[index] + s), bounds=(-lam, lam),
                                                  method="bounded", options=dict(xatol=1e-12)).fun
    else:
        expected = np.empty(W.shape[1])
        for j in range(W.shape[1]):
            norm = np.linalg.norm(W[:, j])
            if norm > 0:
                expected[j] = np.linalg.norm(G[:, j] + lam * W[:, j] / norm)
            else:  # the ball of radius lam
                ball = {"type": "ineq", "fun": lambda s: lam ** 2 - s @ s}
                found = minimize(lambda s: np.sum((G[:, j] + s) ** 2), np.zeros(3), constraints=[ball],
                                 method="SLSQP", options=dict(ftol=1e-14))
                expected[j] = np.sqrt(max(found.fun, 0.0))
    np.testing.assert_allclose(ours, expected, atol=1e-6)


@pytest.mark.parametrize("family", FAMILIES)
def test_subdifferential_distance_is_zero_exactly_at_a_prox_fixed_point(family):
    """U = prox(U - G, 1) iff -G in lam dh(U): build such a pair and check the distance vanishes."""
    rng = np.random.default_rng(5)
    penalty = family(0.5)
    V = rng.normal(size=(3, 6)) * 0.6
    U = penalty.prox(V, 1.0)
    G = U - V  # then -G = V - U is in lam dh(U) by the prox's optimality condition
    assert penalty.subdiff_distance(U, G).max() <= 1e-12
    assert penalty.subdiff_distance(U, G + 0.1).max() > 1e-3


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("alpha", [0.4, 0.0])
def test_conjugate_is_the_sup_over_weights(family, alpha):
    """R*(V) = sup_W <V, W> - R(W), the maximisation done here numerically (alpha > 0), and the
    indicator of the dual ball (alpha = 0)."""
    rng = np.random.default_rng(2)
    penalty = family(0.5, alpha)
    V = rng.normal(size=(2, 3))
    if alpha > 0:
        def negative(w):
            W = w.reshape(V.shape)
            return -(np.vdot(V, W) - 0.5 * _h(family, W) - 0.5 * alpha * np.vdot(W, W))

        best = min((minimize(negative, rng.normal(size=V.size), method="Powell",
                             options=dict(xtol=1e-12, ftol=1e-15)) for _ in range(3)), key=lambda r: r.fun)
        assert penalty.conjugate(V) == pytest.approx(-best.fun, rel=1e-6)
    else:
        dual = np.abs(V).max() if family is ElasticNet else np.linalg.norm(V, axis=0).max()
        assert penalty.conjugate(V * (0.5 / dual)) == 0.0
        assert penalty.conjugate(V * (0.51 / dual)) == np.inf


@pytest.mark.parametrize("family", FAMILIES)
def test_centred_penalty_has_the_same_value(family):
    """W' = s W: the scaled penalty of W' equals the penalty of W (both norms are 1-homogeneous)."""
    W = _random_W(np.random.default_rng(4))
    penalty, s = family(0.3, 0.2), 7.5
    assert penalty.scaled(s).value(s * W) == pytest.approx(0.3 * _h(family, W) + 0.1 * np.sum(W ** 2), rel=1e-13)


def test_spec_strengths_follow_l1_ratio_and_C():
    penalty = PenaltySpec("group", 0.25).at(C=2.0, n_samples=100)
    assert isinstance(penalty, PixelGroup)
    assert (penalty.strength, penalty.alpha) == pytest.approx((0.25 / 200, 0.75 / 200))
    none = PenaltySpec("none", 0.0).at(C=np.inf, n_samples=100)
    assert none.is_zero
    assert PenaltySpec("group", 1.0).nonzero_fraction(np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 3.0]])) == pytest.approx(2 / 3)
    assert PenaltySpec("l1", 1.0).nonzero_fraction(np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 3.0]])) == pytest.approx(3 / 6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_datafit_gradient_matches_finite_differences(dtype):
    """The analytic gradient against central differences of the loss computed with SciPy's logsumexp."""
    rng = np.random.default_rng(0)
    n, d, k = 60, 5, 4
    X, y = rng.normal(size=(n, d)), rng.integers(0, k, size=n)
    datafit = SoftmaxDatafit(X.astype(dtype), y, k)
    x = rng.normal(size=datafit.size) * 0.5
    _, grad = datafit.value_grad(datafit.scores(x))

    def loss(v):
        return mean_log_loss(X, y, v[:k * d].reshape(k, d), v[k * d:])

    h = 1e-6
    numeric = np.array([(loss(x + h * e) - loss(x - h * e)) / (2 * h) for e in np.eye(datafit.size)])
    np.testing.assert_allclose(grad, numeric, atol=1e-6 if dtype == np.float64 else 1e-5)
    assert datafit.value(datafit.scores(x)) == pytest.approx(loss(x), rel=1e-12 if dtype == np.float64 else 1e-6)
