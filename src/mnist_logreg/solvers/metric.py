r"""A feature metric for the quasi-Newton model: the pixels' Gram matrix.

Pixels are strongly correlated (on Fashion-MNIST the eigenvalues of the centred Gram matrix span
eight orders of magnitude), and that, not the number of samples, is what makes weakly regularised
fits take thousands of plain quasi-Newton steps. The Hessian of the mean log-loss is

.. math::

    \nabla^2 f = \frac1n \sum_i (\operatorname{diag} p_i - p_i p_i^\top) \otimes x_i x_i^\top
    \approx \operatorname{diag}(c) \otimes A, \qquad A = \frac1n X^\top X + \delta I,\quad
    c_k = \frac1n \sum_i p_{ik}(1 - p_{ik}),

so the quasi-Newton model starts from ``B0 = sigma * diag(c) (x) A`` (plus the exact ridge) instead
of a multiple of the identity; the L-BFGS pairs and the scalar ``sigma`` correct the rest. ``A`` is
``d x d`` and is computed once per path (one product of X with itself, about the cost of a few
passes); ``delta`` keeps it invertible where pixels are (nearly) constant.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FeatureMetric"]

#: ``delta`` relative to the mean diagonal of the Gram matrix (1e-3 .. 1e-1 measured the same).
DELTA = 1e-2


class FeatureMetric:
    """``A = X^T X / n + delta I`` of the (centred) matrix the iterations run on, and its eigenbasis.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The centred, scaled copy of :class:`.scaling.StandardisedProblem` (float32 or float64).
    """

    def __init__(self, X: np.ndarray):
        n = X.shape[0]
        gram = (X.T @ X).astype(np.float64) / n
        gram = 0.5 * (gram + gram.T)
        delta = DELTA * max(float(np.mean(np.diag(gram))), 1e-300)
        self.A = np.ascontiguousarray(gram + delta * np.eye(X.shape[1]))
        self.eigenvalues, self.eigenvectors = np.linalg.eigh(self.A)
        np.maximum(self.eigenvalues, delta, out=self.eigenvalues)

    @property
    def n_features(self) -> int:
        return self.A.shape[0]

    def apply(self, W: np.ndarray) -> np.ndarray:
        """``W @ A`` for weights ``W`` of shape (k, d): ``(I (x) A) vec(W)`` in row-major order."""
        return W @ self.A

    def solve(self, W: np.ndarray, cs: np.ndarray, sigma: float, ridge: float) -> np.ndarray:
        """Row c of the result is ``(sigma cs_c A + ridge I)^{-1} W_c``: the inverse of ``B0`` on weights."""
        U = self.eigenvectors
        denominators = sigma * cs[:, None] * self.eigenvalues[None, :] + ridge
        return ((W @ U) / denominators) @ U.T
