"""Independent float64 re-computations the tests check the solvers against (not package code)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import logsumexp


class MultinomialLoss:
    """The mean log-loss plus an optional ``alpha/2 |W|^2``, written with SciPy's ``logsumexp``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Integer class codes in ``0..n_classes-1``.
    n_classes : int
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, n_classes: int):
        self.X = np.asarray(X, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.intp)
        self.n_samples = len(self.y)
        self.Y = np.zeros((self.n_samples, n_classes))
        self.Y[np.arange(self.n_samples), self.y] = 1

    def value_grad(self, coef, intercept, alpha: float = 0.0):
        """``(value, grad_coef (k, d), grad_intercept (k,))``; the gradient is ``(P - Y)^T X / n``."""
        Z = self.X @ coef.T + intercept
        lse = logsumexp(Z, axis=1)
        value = float(np.mean(lse - Z[np.arange(self.n_samples), self.y]))
        R = (np.exp(Z - lse[:, None]) - self.Y) / self.n_samples
        grad_coef = R.T @ self.X
        if alpha:
            value += 0.5 * alpha * float(np.vdot(coef, coef))
            grad_coef = grad_coef + alpha * coef
        return value, grad_coef, R.sum(axis=0)


def grid_frame(rows) -> pd.DataFrame:
    """Grid rows as a DataFrame with columns ``penalty, l1_ratio, C``."""
    return pd.DataFrame([r.as_dict() for r in rows], columns=["penalty", "l1_ratio", "C"])

