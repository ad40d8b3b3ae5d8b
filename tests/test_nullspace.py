"""The log-loss's null directions (all classes of one pixel, all intercepts) and the Newton tail's remedies.

The Hessian is recomputed here in float64 from X, independently of the tail's own products."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from mnist_logreg.objective import objective
from mnist_logreg.solvers.nullspace import balance_columns, pin_null_directions


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = X[:400] / 16.0
    return X[:, X.any(axis=0)], y[:400]


def _hessian(X, P, free, k):
    """``H_FF`` of the mean log-loss (weights then intercepts, flat layout), formed in float64."""
    n, d = X.shape
    Xt = np.hstack([X, np.ones((n, 1))])
    H = np.zeros(((d + 1) * k, (d + 1) * k))
    for i in range(n):
        A = np.diag(P[i]) - np.outer(P[i], P[i])
        H += np.kron(A, np.outer(Xt[i], Xt[i]))
    H /= n
    # From class-major blocks of (pixels, intercept) to the flat layout: weights (c, j), then intercepts.
    order = np.concatenate([np.arange(k * (d + 1)).reshape(k, d + 1)[:, :d].ravel(),
                            np.arange(k * (d + 1)).reshape(k, d + 1)[:, d]])
    H = H[np.ix_(order, order)]
    return H[np.ix_(free, free)]


def test_balanced_columns_keep_the_loss_and_lower_the_l1_norm(digits):
    X, y = digits
    rng = np.random.default_rng(0)
    k, d = 10, X.shape[1]
    W = rng.normal(size=(k, d)) + rng.normal(size=d)  # columns off-centre: most medians are not zero
    W[:, :5] = 0.0  # empty columns stay empty
    b = rng.normal(size=k)
    x = np.concatenate([W.ravel(), b])
    shifted = balance_columns(x, k, d)
    W2 = shifted[:k * d].reshape(k, d)
    loss = objective(X, y, W, b, l1_ratio=0.0, C=np.inf)
    assert objective(X, y, W2, b, l1_ratio=0.0, C=np.inf) == pytest.approx(loss, rel=1e-12)
    # Each column's L1 norm is the least any shift of it reaches (the minimum sits at one of its weights or 0).
    for j in range(d):
        candidates = np.concatenate([W[:, j], [0.0]])
        best = min(np.abs(W[:, j] - t).sum() for t in candidates)
        assert np.abs(W2[:, j]).sum() == pytest.approx(best, rel=1e-12, abs=1e-12)
    assert (W2[:, 5:] == 0).any(axis=0).mean() > 0.9  # a zero weight is left in the shifted columns
    assert balance_columns(shifted, k, d) is shifted  # balanced columns do not move again


@pytest.mark.parametrize("ridge", [0.0, 1e-3])
def test_pinned_free_set_makes_the_newton_system_regular(digits, ridge):
    X, y = digits
    rng = np.random.default_rng(1)
    k, d = 10, X.shape[1]
    W = 0.3 * rng.normal(size=(k, d))
    W[rng.random(size=(k, d)) < 0.5] = 0.0
    W[:, :3] = 0.3 * rng.normal(size=(k, 3))  # three fully non-zero pixels
    x = np.concatenate([W.ravel(), np.zeros(k)])
    Z = X @ W.T
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    free = np.concatenate([(W != 0).ravel(), np.ones(k, dtype=bool)])

    def smallest_eigenvalue(mask):
        H = _hessian(X, P, mask, k)
        weights = np.flatnonzero(mask) < k * d
        H[np.flatnonzero(weights), np.flatnonzero(weights)] += ridge
        return np.linalg.eigvalsh(H)[0] / np.abs(H).max()

    assert smallest_eigenvalue(free) < 1e-12  # singular: the intercepts' direction, and the full pixels' without a ridge
    pinned = free.copy()
    pin_null_directions(pinned, x, k, d, ridge)
    assert smallest_eigenvalue(pinned) > 1e-9
    assert not pinned[-1] and pinned[k * d:-1].all()  # the last intercept, not the others
    left_out = np.flatnonzero(free & ~pinned)
    if ridge > 0:  # a ridge makes the pixels' directions regular: only the intercept is pinned
        assert list(left_out) == [x.size - 1]
    else:  # one weight of each fully free pixel, the smallest
        pixels = left_out[left_out < k * d] % d
        assert sorted(pixels) == [0, 1, 2]
        for index in left_out[left_out < k * d]:
            assert abs(x[index]) == np.abs(W[:, index % d]).min()
