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


def _softmax(Z):
    return np.exp(Z - logsumexp(Z, axis=1, keepdims=True))


def _column_norms(W):
    return np.sqrt((W ** 2).sum(axis=0))


class GroupProblem:
    """``mean log-loss + lam1 sum_j |W[:, j]|_2 + alpha/2 |W|^2`` written here, with its duality gap
    and a plain proximal-gradient solver (FISTA with restarts), independent of the package."""

    def __init__(self, X, y, n_classes, lam1, alpha=0.0):
        self.X, self.y = np.asarray(X, dtype=np.float64), np.asarray(y)
        self.n = len(self.y)
        self.Y = np.eye(n_classes)[self.y]
        self.lam1, self.alpha = lam1, alpha

    def smooth(self, W, b):
        """``(f, grad_W, grad_b)`` with the ridge in ``f``."""
        Z = self.X @ W.T + b
        lse = logsumexp(Z, axis=1)
        R = (np.exp(Z - lse[:, None]) - self.Y) / self.n
        f = np.mean(lse - Z[np.arange(self.n), self.y]) + 0.5 * self.alpha * np.sum(W ** 2)
        return f, R.T @ self.X + self.alpha * W, R.sum(axis=0)

    def value(self, W, b):
        return self.smooth(W, b)[0] + self.lam1 * _column_norms(W).sum()

    def best_intercepts(self, W, b):
        """Newton on b until the mean probabilities equal the class frequencies."""
        Z0 = self.X @ W.T
        for _ in range(100):
            P = _softmax(Z0 + b)
            g = P.mean(axis=0) - self.Y.mean(axis=0)
            if np.abs(g).max() < 1e-15:
                break
            b = b - np.linalg.lstsq(np.diag(P.mean(axis=0)) - P.T @ P / self.n, g, rcond=None)[0]
        return b

    def dual(self, W, b):
        """A lower bound of the minimum: D(theta) for theta = s (Y - P) / n at the best intercepts.

        Fenchel: D = mean_i H(q_i) - R*(theta^T X), q_i = Y_i - n theta_i, sum_i theta_i = 0 (the
        unpenalised intercepts); R*(V) = sum_j (|V_j| - lam1)_+^2 / (2 alpha), or for alpha = 0 the
        indicator of max_j |V_j| <= lam1, which the scaling s makes hold.
        """
        P = _softmax(self.X @ W.T + self.best_intercepts(W, b))
        norms = _column_norms((self.Y - P).T @ self.X / self.n)
        scales = [1.0] if self.alpha > 0 else []
        scales.append(min(1.0, self.lam1 / norms.max()) if norms.max() > 0 else 1.0)
        best = -np.inf
        for s in scales:
            conjugate = (np.sum(np.maximum(s * norms - self.lam1, 0) ** 2) / (2 * self.alpha)
                         if self.alpha > 0 else 0.0)
            Q = s * P + (1 - s) * self.Y
            entropy = -np.sum(Q[Q > 0] * np.log(Q[Q > 0])) / self.n
            best = max(best, entropy - conjugate)
        return best

    def prox(self, W, t):
        norms = _column_norms(W)
        return W * np.maximum(0.0, 1.0 - t * self.lam1 / np.maximum(norms, 1e-300))

    def solve(self, W, b, gap=1e-9, check_every=50, max_iter=100_000):
        """FISTA with backtracking and function-value restarts from ``(W, b)`` until the duality
        gap ``F - D`` is at most ``gap``; returns ``(W, b*, F, D)``."""
        L, t = 1.0, 1.0
        V, c = W.copy(), b.copy()
        F_old = np.inf
        for it in range(max_iter):
            f, gW, gb = self.smooth(V, c)
            while True:
                W_new, b_new = self.prox(V - gW / L, 1 / L), c - gb / L
                dW, db = W_new - V, b_new - c
                if self.smooth(W_new, b_new)[0] <= f + np.sum(gW * dW) + gb @ db + 0.5 * L * (np.sum(dW ** 2) + db @ db):
                    break
                L *= 2.0
            F_new = self.value(W_new, b_new)
            if F_new > F_old:  # momentum overshot: restart from the last iterate
                V, c, t, F_old = W.copy(), b.copy(), 1.0, np.inf
                continue
            t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
            V, c = W_new + (t - 1) / t_new * (W_new - W), b_new + (t - 1) / t_new * (b_new - b)
            W, b, t, F_old = W_new, b_new, t_new, F_new
            L *= 0.9
            if it % check_every == 0:
                b_star = self.best_intercepts(W, b)
                F, D = self.value(W, b_star), self.dual(W, b_star)
                if F - D <= gap:
                    return W, b_star, F, D
        raise AssertionError(f"reference did not reach a gap of {gap} in {max_iter} iterations")
