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

Every engine is scored with :func:`objective`; :class:`MultinomialLoss` gives the smooth part's value
and gradient for independent checks of a solver's optimality conditions.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

__all__ = ["penalty_strength", "penalty_value", "linear_scores", "mean_log_loss", "mean_log_loss_from_scores",
           "objective", "objective_from_scores", "MultinomialLoss", "softmax"]


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


def linear_scores(X: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """Scores ``Z = X @ coef.T + intercept`` in float64, shape (n_samples, k)."""
    Z = np.asarray(X, dtype=np.float64) @ np.asarray(coef, dtype=np.float64).T
    Z += np.asarray(intercept, dtype=np.float64)
    return Z


def mean_log_loss_from_scores(Z: np.ndarray, y: np.ndarray) -> float:
    """Mean multinomial log-loss ``mean(logsumexp(Z_i) - Z_{i, y_i})`` for scores ``Z`` (n, k)."""
    y = np.asarray(y)
    return float(np.mean(logsumexp(Z, axis=1) - Z[np.arange(len(y)), y]))


def mean_log_loss(X: np.ndarray, y: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> float:
    """Mean multinomial log-loss for integer labels ``y`` in ``0..k-1``, in float64."""
    return mean_log_loss_from_scores(linear_scores(X, coef, intercept), y)


def objective_from_scores(Z: np.ndarray, y: np.ndarray, coef: np.ndarray, *, l1_ratio: float, C: float) -> float:
    """:math:`F` from already computed float64 scores ``Z = X W^T + b`` (saves a pass over X)."""
    return mean_log_loss_from_scores(Z, y) + penalty_value(coef, l1_ratio, C, Z.shape[0])


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
    return objective_from_scores(linear_scores(X, coef, intercept), y, coef, l1_ratio=l1_ratio, C=C)


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
