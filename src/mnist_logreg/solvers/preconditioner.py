r"""The preconditioner of the quasi-Newton model: the pixels' Gram matrix (or the identity).

Pixels are strongly correlated (on Fashion-MNIST the eigenvalues of the centred Gram matrix span
eight orders of magnitude), and that, not the number of samples, is what makes weakly regularised
fits take thousands of plain quasi-Newton steps. The Hessian of the mean log-loss is

.. math::

    \nabla^2 f = \frac1n \sum_i (\operatorname{diag} p_i - p_i p_i^\top) \otimes x_i x_i^\top
    \approx S \otimes A, \qquad A = \frac1n X^\top X + \delta I,\quad
    S = \frac1n \sum_i (\operatorname{diag} p_i - p_i p_i^\top),

so the quasi-Newton model starts from the preconditioner ``B0 = sigma S (x) A`` (plus the exact ridge)
instead of a multiple of the identity; the L-BFGS pairs and the scalar ``sigma`` correct the rest. ``A`` is
``d x d`` and is computed once per fit and shared by every path (:func:`.prepare.prepare_problem`; one
product of X with itself, about the cost of a few passes); ``delta`` keeps it invertible where pixels are
(nearly) constant. ``S`` (k x k) follows the iterate. It is singular along the all-ones direction (adding a
constant to every class's scores changes nothing), so the model uses ``S + 0.1 diag(S)``, which took fewer
iterations than ``diag(S)`` alone or the undamped ``S`` (whose coordinate descent crawls along the flat
direction) (BENCHMARKS.md, "Solver figures").
"""

from __future__ import annotations

import functools

import numpy as np

from .datafit import class_curvature

__all__ = ["GramPreconditioner", "AugmentedGram", "KroneckerPreconditioner", "class_eigen"]

#: ``delta`` relative to the mean diagonal of the Gram matrix (insensitive within a wide range
#: (BENCHMARKS.md, "Solver figures")).
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
        self.A, self.eigenvalues, self.eigenvectors = _damped_eigh(gram)

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


def _damped_eigh(gram: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(A, eigenvalues, eigenvectors)`` of ``A = gram + delta I``, ``delta = DELTA`` times the mean
    diagonal of ``gram``, with the eigenvalues raised to at least ``delta`` (rounding)."""
    delta = DELTA * max(float(np.mean(np.diag(gram))), 1e-300)
    A = np.ascontiguousarray(gram + delta * np.eye(gram.shape[0]))
    eigenvalues, eigenvectors = np.linalg.eigh(A)
    np.maximum(eigenvalues, delta, out=eigenvalues)
    return A, eigenvalues, eigenvectors


def class_eigen(S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(s, Q)`` with ``S + CLASS_DAMPING diag(S) = Q diag(s) Q^T`` (see the module docstring)."""
    S = 0.5 * (S + S.T)
    S = S + CLASS_DAMPING * np.diag(np.maximum(np.diag(S), 1e-12 * max(float(np.trace(S)), 1e-300)))
    s, Q = np.linalg.eigh(S)
    return np.maximum(s, 1e-12 * max(float(s.max()), 1e-300)), Q


class AugmentedGram(GramPreconditioner):
    r"""``A = X~^T X~ / n + delta I`` with ``X~ = [X, 1]`` and its eigenbasis: the feature factor of the
    Newton tail's preconditioner.

    The Hessian is close to ``S (x) A`` (see the module docstring; here the intercepts are the last
    feature, since the Newton tail runs on X itself, not on a centred copy), so
    ``(S (x) A + alpha I)^{-1}`` undoes most of the pixels' correlations that make conjugate
    gradients crawl. Built once per fit, on first use (:meth:`.prepare.PreparedProblem.newton_gram`):
    one product ``X^T X``, read in blocks of rows, and one ``(d+1) x (d+1)`` eigendecomposition.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    """

    def __init__(self, X: np.ndarray, block: int = 4096):
        n, d = X.shape
        gram = np.zeros((d + 1, d + 1))
        for start in range(0, n, block):
            part = X[start:start + block]
            gram[:d, :d] += (part.T @ part).astype(np.float64, copy=False)
            gram[:d, d] += part.sum(axis=0, dtype=np.float64)
        gram[d, :d] = gram[:d, d]
        gram[d, d] = n
        gram /= n
        self.A, self.eigenvalues, self.eigenvectors = _damped_eigh(gram)


class KroneckerPreconditioner:
    """``(S (x) A + alpha I)^{-1}`` on the Newton tail's flat layout, ``S`` the damped class curvature
    at ``P`` and ``A`` an :class:`AugmentedGram`."""

    def __init__(self, gram: AugmentedGram, P: np.ndarray, alpha: float, n_classes: int, n_features: int):
        self.gram, self.alpha = gram, alpha
        self.k, self.d = n_classes, n_features
        self.class_eig = class_eigen(class_curvature(P) / P.shape[0])

    def apply(self, r: np.ndarray) -> np.ndarray:
        k, d = self.k, self.d
        V = np.empty((k, d + 1))
        V[:, :d] = r[:k * d].reshape(k, d)
        V[:, d] = r[k * d:]
        V = self.gram.solve(V, self.class_eig, 1.0, self.alpha)
        return np.concatenate([V[:, :d].ravel(), V[:, d]])
