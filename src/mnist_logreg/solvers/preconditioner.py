r"""The preconditioner of the quasi-Newton model: the pixels' Gram matrix (or the identity).

Pixels are strongly correlated (on Fashion-MNIST the eigenvalues of the centred Gram matrix span
eight orders of magnitude), and that, not the number of samples, is what makes weakly regularised
fits take thousands of plain quasi-Newton steps. The Hessian of the mean log-loss is

.. math::

    \nabla^2 f = \frac1n \sum_i (\operatorname{diag} p_i - p_i p_i^\top) \otimes x_i x_i^\top
    \approx S \otimes A, \qquad A = \frac1n X^\top X + \delta I,\quad
    S = \frac1n \sum_i (\operatorname{diag} p_i - p_i p_i^\top),

so the quasi-Newton model starts from the preconditioner ``B0 = sigma S (x) A`` (plus the exact ridge) instead of a
multiple of the identity; the L-BFGS pairs and the scalar ``sigma`` correct the rest. ``A`` is
``d x d`` and is computed once per fit and shared by every path (:func:`.path.prepare_problem`; one
product of X with itself, about the cost of a few passes); ``delta`` keeps it invertible where pixels are (nearly) constant. ``S`` (k x k) follows
the iterate. It is singular along the all-ones direction (adding a constant to every class's
scores changes nothing), so the model uses ``S + 0.1 diag(S)``, which took fewer iterations than
``diag(S)`` alone or the undamped ``S`` (whose coordinate descent crawls along the flat direction)
(BENCHMARKS.md, "Measurements that used to live in the solver docstrings").
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["GramPreconditioner", "class_eigen"]

#: ``delta`` relative to the mean diagonal of the Gram matrix (insensitive within a wide range
#: (BENCHMARKS.md, "Measurements that used to live in the solver docstrings")).
DELTA = 1e-2
#: Share of its own diagonal added to the class curvature matrix.
CLASS_DAMPING = 0.1


class GramPreconditioner:
    """``A = X^T X / n + delta I`` of the (centred) matrix the iterations run on, and its eigenbasis.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The centred, scaled copy of :class:`.centring.CentredProblem` (float32 or float64).
    """

    def __init__(self, X: np.ndarray):
        n = X.shape[0]
        gram = (X.T @ X).astype(np.float64) / n
        gram = 0.5 * (gram + gram.T)
        delta = DELTA * max(float(np.mean(np.diag(gram))), 1e-300)
        self.A = np.ascontiguousarray(gram + delta * np.eye(X.shape[1]))
        self.eigenvalues, self.eigenvectors = np.linalg.eigh(self.A)
        np.maximum(self.eigenvalues, delta, out=self.eigenvalues)

    @classmethod
    def identity(cls, n_features: int) -> "GramPreconditioner":
        """``A = I``: the scalar preconditioner ``sigma S (x) I``, for problems where the Gram matrix
        does not pay (few samples per feature) but the penalty needs proximal steps (``group``)."""
        self = cls.__new__(cls)
        self.A = np.eye(n_features)
        self.eigenvalues, self.eigenvectors = np.ones(n_features), np.eye(n_features)
        return self

    @property
    def n_features(self) -> int:
        return self.A.shape[0]

    def gram(self, dtype) -> np.ndarray:
        """``A`` in ``dtype`` (float32 or float64), the float32 copy made once."""
        return self.A if np.dtype(dtype) == self.A.dtype else self._float32

    @functools.cached_property
    def _float32(self) -> np.ndarray:
        return self.A.astype(np.float32)

    def apply(self, W: np.ndarray) -> np.ndarray:
        """``W @ A`` for weights ``W`` of shape (k, d): ``(I (x) A) vec(W)`` in row-major order."""
        return W @ self.A

    def solve(self, W: np.ndarray, class_eig: tuple[np.ndarray, np.ndarray], sigma: float, ridge: float) -> np.ndarray:
        """``(sigma S (x) A + ridge I)^{-1} vec(W)`` as a (k, d) array, ``S = Q diag(s) Q^T`` given as ``(s, Q)``."""
        s, Q = class_eig
        U = self.eigenvectors
        rotated = Q.T @ W @ U
        rotated /= sigma * s[:, None] * self.eigenvalues[None, :] + ridge
        return Q @ rotated @ U.T


def class_eigen(S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(s, Q)`` with ``S + CLASS_DAMPING diag(S) = Q diag(s) Q^T`` (see the module docstring)."""
    S = 0.5 * (S + S.T)
    S = S + CLASS_DAMPING * np.diag(np.maximum(np.diag(S), 1e-12 * max(float(np.trace(S)), 1e-300)))
    s, Q = np.linalg.eigh(S)
    return np.maximum(s, 1e-12 * max(float(s.max()), 1e-300)), Q
