r"""The multinomial logistic objective, written once.

For training data :math:`X \in \mathbb{R}^{n\times d}`, labels :math:`y_i \in \{0..k-1\}`, weights
:math:`W \in \mathbb{R}^{k\times d}` and intercepts :math:`b \in \mathbb{R}^k`, with scores
:math:`Z = X W^\top + b`:

.. math::

    F(W, b) = \frac1n \sum_i \Big(\log\sum_j e^{Z_{ij}} - Z_{i y_i}\Big)
              + \frac{1}{C n}\Big(\rho \lVert W\rVert_1 + \frac{1-\rho}{2}\lVert W\rVert_2^2\Big)

where :math:`\rho` is ``l1_ratio``. The intercept is not penalised; ``C = inf`` (penalty ``none``)
means no penalty. Dividing scikit-learn's objective ``C * sum(loss) + penalty`` by ``C n`` gives
exactly this, so the minimisers agree and the values are comparable across engines.

Every engine is scored with :func:`objective`; solvers may use :class:`MultinomialLoss` for the
smooth part (value, gradient, Hessian-vector product).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

__all__ = ["penalty_strength", "penalty_value", "mean_log_loss", "objective", "MultinomialLoss", "softmax"]


def penalty_strength(C: float, n_samples: int) -> float:
    """``1 / (C n)``, the factor in front of the penalty; 0 when ``C`` is infinite."""
    if math.isinf(C):
        return 0.0
    return 1.0 / (C * n_samples)


def penalty_value(coef: np.ndarray, l1_ratio: float, C: float, n_samples: int) -> float:
    """The penalty term of :math:`F` for ``coef`` of shape (k, d)."""
    lam = penalty_strength(C, n_samples)
    if lam == 0.0:
        return 0.0
    W = np.asarray(coef, dtype=np.float64)
    return lam * (l1_ratio * np.abs(W).sum() + 0.5 * (1.0 - l1_ratio) * np.vdot(W, W))


def softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of scores ``Z`` of shape (n, k), computed stably."""
    Z = Z - Z.max(axis=1, keepdims=True)
    np.exp(Z, out=Z)
    Z /= Z.sum(axis=1, keepdims=True)
    return Z


def mean_log_loss(X: np.ndarray, y: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> float:
    """Mean multinomial log-loss for integer labels ``y`` in ``0..k-1``, in float64."""
    Z = np.asarray(X, dtype=np.float64) @ np.asarray(coef, dtype=np.float64).T
    Z += np.asarray(intercept, dtype=np.float64)
    y = np.asarray(y)
    return float(np.mean(logsumexp(Z, axis=1) - Z[np.arange(len(y)), y]))


def objective(X, y, coef, intercept, *, l1_ratio: float, C: float) -> float:
    """Value of :math:`F(W, b)`, always evaluated in float64.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Integer class codes in ``0..k-1``.
    coef : ndarray of shape (k, n_features)
    intercept : ndarray of shape (k,)
    l1_ratio : float in [0, 1]
    C : float > 0 or inf

    Returns
    -------
    float
    """
    n = X.shape[0]
    return mean_log_loss(X, y, coef, intercept) + penalty_value(coef, l1_ratio, C, n)


class MultinomialLoss:
    """The smooth part of :math:`F`: mean log-loss plus an optional L2 term ``alpha/2 |W|^2``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Integer class codes in ``0..n_classes-1``.
    n_classes : int
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, n_classes: int):
        self.X = X
        self.y = np.asarray(y, dtype=np.intp)
        self.n_samples, self.n_features = X.shape
        self.n_classes = n_classes
        self.Y = np.zeros((self.n_samples, n_classes), dtype=X.dtype)
        self.Y[np.arange(self.n_samples), self.y] = 1

    def scores(self, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
        """``X @ coef.T + intercept``, shape (n_samples, k)."""
        return self.X @ coef.T + intercept

    def value_grad(self, coef, intercept, alpha: float = 0.0):
        """Loss value and gradients ``(value, grad_coef (k, d), grad_intercept (k,))``.

        The gradient of the mean log-loss is ``(P - Y)^T X / n`` with ``P`` the softmax
        probabilities and ``Y`` the one-hot labels.
        """
        Z = self.scores(coef, intercept)
        lse = logsumexp(Z, axis=1)
        value = float(np.mean(lse - Z[np.arange(self.n_samples), self.y]))
        P = np.exp(Z - lse[:, None])
        R = (P - self.Y) / self.n_samples
        grad_coef = R.T @ self.X
        grad_intercept = R.sum(axis=0)
        if alpha:
            value += 0.5 * alpha * float(np.vdot(coef, coef))
            grad_coef += alpha * coef
        return value, grad_coef, grad_intercept

    def hessp(self, coef, intercept, v_coef, v_intercept, alpha: float = 0.0):
        """Hessian-vector product at ``(coef, intercept)`` in direction ``(v_coef, v_intercept)``.

        For the softmax loss, with ``U = X v_coef^T + v_intercept`` the Hessian acts as
        ``H v = X^T (P * U - P * sum(P * U, axis=1)) / n``.
        """
        P = softmax(self.scores(coef, intercept))
        U = self.X @ v_coef.T + v_intercept
        PU = P * U
        S = (PU - P * PU.sum(axis=1, keepdims=True)) / self.n_samples
        h_coef = S.T @ self.X
        if alpha:
            h_coef += alpha * v_coef
        return h_coef, S.sum(axis=0)
