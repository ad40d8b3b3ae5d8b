"""The multinomial datafit's fused pass against its two separate passes and a float64 recomputation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp, softmax

from mnist_logreg.solvers.datafit import SoftmaxDatafit


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("block", [7, 4096])
def test_value_grad_along_equals_a_step_then_a_gradient(dtype, block):
    rng = np.random.default_rng(3)
    n, d, k = 50, 6, 4
    X = rng.standard_normal((n, d)).astype(dtype)
    y = rng.integers(0, k, n)
    datafit = SoftmaxDatafit(X, y, k)
    x, dx = rng.standard_normal(datafit.size), rng.standard_normal(datafit.size)
    Z = datafit.scores(x)

    dZ, value, grad, curvature = datafit.value_grad_along(Z, dx, block=block)

    # The same quantities by the two passes a search makes otherwise ...
    value_2, grad_2, curvature_2 = datafit.value_grad(Z + datafit.scores(dx), curvature=True)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(dZ, datafit.scores(dx), rtol=rtol, atol=rtol)
    assert value == pytest.approx(value_2, rel=rtol)
    np.testing.assert_allclose(grad, grad_2, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(curvature, curvature_2, rtol=rtol, atol=rtol)

    # ... and from the definitions, in float64 at x + dx.
    W = (x + dx)[:k * d].reshape(k, d)
    b = (x + dx)[k * d:]
    scores = X.astype(np.float64) @ W.T + b
    P = softmax(scores, axis=1)
    assert value == pytest.approx(np.mean(logsumexp(scores, axis=1) - scores[np.arange(n), y]), rel=rtol)
    R = P - np.eye(k)[y]
    np.testing.assert_allclose(grad, np.concatenate([(R.T @ X.astype(np.float64)).ravel(), R.sum(axis=0)]) / n,
                               rtol=rtol, atol=rtol)
    np.testing.assert_allclose(curvature, (np.diag(P.sum(axis=0)) - P.T @ P) / n, rtol=rtol, atol=rtol)
