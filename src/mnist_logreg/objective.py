r"""The multinomial logistic objective, written once.

For training data :math:`X \in \mathbb{R}^{n\times d}`, labels :math:`y_i \in \{0..k-1\}`, weights
:math:`W \in \mathbb{R}^{k\times d}` and intercepts :math:`b \in \mathbb{R}^k`, with scores
:math:`Z = X W^\top + b`:

.. math::

    F(W, b) = \frac1n \sum_i \Big(\log\sum_j e^{Z_{ij}} - Z_{i y_i}\Big)
              + \frac{1}{C n}\Big(\rho\, h(W) + \frac{1-\rho}{2}\lVert W\rVert_2^2\Big)

where :math:`\rho` is ``l1_ratio`` and ``h`` the penalty's norm: :math:`\lVert W\rVert_1` for
``l1``, ``l2``, ``elasticnet``, and :math:`\sum_j \lVert W_{:,j}\rVert_2` for ``group`` (the
penalty objects of :mod:`mnist_logreg.solvers.penalties` compute it). The intercept is not
penalised; ``C = inf`` (penalty ``none``) means no penalty. Dividing scikit-learn's objective
``C * sum(loss) + penalty`` by ``C n`` gives exactly this, so the minimisers agree and the values
are comparable across engines.

Every engine is scored with :func:`objective`; the loss is computed here with SciPy's
``logsumexp`` in float64, independently of the solvers' datafit.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

from .solvers.penalties import PenaltySpec

__all__ = ["penalty_strength", "penalty_value", "linear_scores", "mean_log_loss", "mean_log_loss_from_scores",
           "objective", "objective_from_scores"]


def penalty_strength(C: float, n_samples: int) -> float:
    """``1 / (C n)``, the factor in front of the penalty; 0 when ``C`` is infinite."""
    if math.isinf(C):
        return 0.0
    return 1.0 / (C * n_samples)


def penalty_value(coef: np.ndarray, l1_ratio: float, C: float, n_samples: int, penalty: str = "elasticnet") -> float:
    """The penalty term of :math:`F` for ``coef`` of shape (k, d); ``penalty`` is the row's name."""
    return PenaltySpec(penalty, float(l1_ratio)).at(C, n_samples).value(np.asarray(coef, dtype=np.float64))


#: Scores read only the pixels some class uses when they are at most this share of the columns.
SPARSE_COLUMNS = 0.125


def linear_scores(X: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """Scores ``Z = X @ coef.T + intercept`` in float64, shape (n_samples, k).

    A sparse ``coef`` (at most ``SPARSE_COLUMNS`` of its pixels used by any class, as strong L1
    rows are) reads only those columns of X; otherwise the product runs as ``(coef @ X.T).T``, the
    orientation OpenBLAS runs faster in float64 with k = 10 (BENCHMARKS.md).
    """
    X = np.asarray(X, dtype=np.float64)
    coef = np.asarray(coef, dtype=np.float64)
    used = np.flatnonzero(coef.any(axis=0))
    if len(used) <= SPARSE_COLUMNS * coef.shape[1]:
        Z = X[:, used] @ coef[:, used].T
    else:
        Z = np.ascontiguousarray((coef @ X.T).T)
    Z += np.asarray(intercept, dtype=np.float64)
    return Z


def mean_log_loss_from_scores(Z: np.ndarray, y: np.ndarray) -> float:
    """Mean multinomial log-loss ``mean(logsumexp(Z_i) - Z_{i, y_i})`` for scores ``Z`` (n, k)."""
    y = np.asarray(y)
    return float(np.mean(logsumexp(Z, axis=1) - Z[np.arange(len(y)), y]))


def mean_log_loss(X: np.ndarray, y: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> float:
    """Mean multinomial log-loss for integer labels ``y`` in ``0..k-1``, in float64."""
    return mean_log_loss_from_scores(linear_scores(X, coef, intercept), y)


def objective_from_scores(Z: np.ndarray, y: np.ndarray, coef: np.ndarray, *, l1_ratio: float, C: float,
                          penalty: str = "elasticnet") -> float:
    """:math:`F` from already computed float64 scores ``Z = X W^T + b`` (saves a pass over X)."""
    return mean_log_loss_from_scores(Z, y) + penalty_value(coef, l1_ratio, C, Z.shape[0], penalty)


def objective(X, y, coef, intercept, *, l1_ratio: float, C: float, penalty: str = "elasticnet") -> float:
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
    penalty : str, default="elasticnet"
        The row's penalty name (``l1``, ``l2``, ``elasticnet`` and ``none`` are all the elastic
        net at their ``l1_ratio``; ``group`` the pixels' group norm).

    Returns
    -------
    float
    """
    return objective_from_scores(linear_scores(X, coef, intercept), y, coef, l1_ratio=l1_ratio, C=C,
                                 penalty=penalty)
