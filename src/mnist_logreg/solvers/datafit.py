r"""The data-fitting term on a flat parameter vector, with scores kept between calls; softmax.

The solvers work on one float64 vector ``x`` of length ``k*d + k``: the weights ``W`` (k, d) in
row-major order followed by the intercepts ``b`` (k,). The smooth part is

.. math::

    L(W, b) = \frac1n \sum_i \Big(\log\sum_j e^{Z_{ij}} - Z_{i y_i}\Big),
    \qquad Z = X W^\top + b,

which is :func:`mnist_logreg.objective.mean_log_loss`. Its gradient is
``((P - Y)^T X / n, sum_i (P - Y)_i / n)`` with ``P = softmax(Z)``. It knows nothing of the
penalty or of C: one datafit serves a whole path (:mod:`.problem` pairs it with a penalty).

The two matrix products ``X W^T`` and ``R^T X`` read all of X; they are the whole cost of an
iteration. Because ``Z`` is linear in ``x``, a line search along a direction ``D`` needs one product
``X D_W^T`` and then evaluates any step ``t`` as ``Z + t X D_W^T`` without touching X again.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SoftmaxDatafit", "class_curvature", "log_normaliser", "softmax"]


def log_normaliser(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(lse, P)``: ``lse_i = log sum_j exp Z_ij`` (n,) and ``P = softmax(Z)`` (n, k), computed stably.

    ``P_ij = exp(Z_ij - m_i) / sum_j exp(Z_ij - m_i)`` with ``m_i = max_j Z_ij``. The row maxima
    are taken column by column and the row sums by a product with ones: NumPy's reductions
    along a short last axis (k = 10) are several times slower than these.
    """
    top = Z[:, 0].copy()
    for j in range(1, Z.shape[1]):
        np.maximum(top, Z[:, j], out=top)
    P = Z - top[:, None]
    np.exp(P, out=P)
    total = P @ np.ones(Z.shape[1])
    P /= total[:, None]
    return top + np.log(total), P


def class_curvature(P: np.ndarray, mean: bool = False) -> np.ndarray:
    """The Hessian of the log-loss in the scores, summed over the rows of the probabilities ``P``
    (n, k): ``sum_i (diag p_i - p_i p_i^T) = diag(sum_i p_i) - P^T P``; with ``mean``, its mean,
    written ``diag(mean_i p_i) - P^T P / n``."""
    if mean:
        return np.diag(P.mean(axis=0)) - (P.T @ P) / P.shape[0]
    return np.diag(P.sum(axis=0)) - P.T @ P


def softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of float scores ``Z`` (n, k), as a new float64 array (the one softmax of the package)."""
    return log_normaliser(np.asarray(Z, dtype=np.float64))[1]


class SoftmaxDatafit:
    """Mean multinomial log-loss as a function of the flat vector ``x``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        float32 or float64; the matrix products run in this dtype (float32 halves the memory
        traffic), every reduction runs in float64.
    y : ndarray of shape (n_samples,)
        Integer class codes in ``0..n_classes-1``.
    n_classes : int
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, n_classes: int):
        self.X = X
        self.y = np.asarray(y, dtype=np.intp)
        self.n_samples, self.n_features = X.shape
        self.n_classes = n_classes
        self.n_coef = n_classes * self.n_features
        self._rows = np.arange(self.n_samples)

    @property
    def size(self) -> int:
        """Length of the flat parameter vector, ``k*d + k``."""
        return self.n_coef + self.n_classes

    def unpack(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Views ``(W (k, d), b (k,))`` of the flat vector ``x``."""
        return x[:self.n_coef].reshape(self.n_classes, self.n_features), x[self.n_coef:]

    def pack(self, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
        """The flat float64 vector for ``coef`` (k, d) and ``intercept`` (k,)."""
        return np.concatenate([np.asarray(coef, np.float64).ravel(), np.asarray(intercept, np.float64)])

    def scores(self, x: np.ndarray) -> np.ndarray:
        """``Z = X W^T + b`` in float64, shape (n_samples, k); one pass over X."""
        W, b = self.unpack(x)
        if self.X.dtype == np.float64:
            Z = (W @ self.X.T).T  # OpenBLAS runs this orientation faster in float64 (BENCHMARKS.md)
        else:
            Z = (self.X @ W.T.astype(self.X.dtype)).astype(np.float64)
        return Z + b

    def scores_of_columns(self, columns: np.ndarray, dW: np.ndarray) -> np.ndarray:
        """``X[:, columns] @ dW.T`` for a few columns: the change of ``Z`` when only they move."""
        return (self.X[:, columns] @ dW.T.astype(self.X.dtype, copy=False)).astype(np.float64, copy=False)

    def value(self, Z: np.ndarray) -> float:
        """``L`` from precomputed scores ``Z`` (no pass over X)."""
        lse, _ = log_normaliser(Z)
        return float(np.mean(lse - Z[self._rows, self.y]))

    def value_grad(self, Z: np.ndarray, curvature: bool = False):
        """``(L, grad L)`` from precomputed scores ``Z``; one pass over X for ``R^T X``.

        Parameters
        ----------
        Z : ndarray of shape (n_samples, k)
        curvature : bool, default=False
            Also return the class curvature matrix ``mean_i (diag p_i - p_i p_i^T)`` (k, k), the
            class factor of the preconditioner in :mod:`.preconditioner`.

        Returns
        -------
        value : float
        grad : ndarray of shape (k*d + k,), float64
        curvature : ndarray of shape (k, k), only when asked for
        """
        total, R, S = self._residuals(Z, self.y, curvature)
        loss = total / self.n_samples
        # R = (P - Y) / n, the residuals; grad_W = R^T X, grad_b = sum_i R_i.
        R /= self.n_samples
        grad = np.empty(self.size)
        grad_W = (R.T.astype(self.X.dtype) @ self.X).astype(np.float64, copy=False)
        grad[:self.n_coef] = grad_W.ravel()
        grad[self.n_coef:] = R.sum(axis=0)
        if curvature:
            return loss, grad, S / self.n_samples
        return loss, grad

    def _residuals(self, Z: np.ndarray, labels: np.ndarray, curvature: bool):
        """``(sum_i loss_i, P - Y, sum_i (diag p_i - p_i p_i^T) or None)`` for the rows of scores ``Z``
        (float64, shape (m, k)) with class codes ``labels`` (m,)."""
        lse, P = log_normaliser(Z)
        rows = self._rows[:len(labels)]
        total = float(np.sum(lse - Z[rows, labels]))
        # The Hessian of the loss in the scores, summed over the rows.
        S = class_curvature(P) if curvature else None
        P[rows, labels] -= 1.0
        return total, P, S

    def value_grad_along(self, Z: np.ndarray, dx: np.ndarray, block: int = 4096):
        """The scores of a step ``dx`` and the loss, gradient and class curvature at ``Z + X dx``, in one pass.

        A search that usually takes its first trial (a quasi-Newton step) needs ``X dx`` and, at
        ``Z + X dx``, the gradient: two products with X. Here both run on one block of rows before
        the next is read, so each block comes from cache the second time (BENCHMARKS.md: "One pass for
        the step's scores and the new gradient").

        Parameters
        ----------
        Z : ndarray of shape (n_samples, k)
            Scores at the current point.
        dx : ndarray of shape (k*d + k,)
            The step.
        block : int, default=4096
            Rows per block.

        Returns
        -------
        dZ : ndarray of shape (n_samples, k)
            ``X dx`` (the scores of ``dx``, its intercepts included), float64.
        value, grad, curvature
            As :meth:`value_grad` at ``Z + dZ``.
        """
        dW, db = self.unpack(dx)
        dW_T = dW.T.astype(self.X.dtype)
        n, k = self.n_samples, self.n_classes
        dZ = np.empty((n, k))
        total, S = 0.0, np.zeros((k, k))
        grad_W, grad_b = np.zeros((k, self.n_features)), np.zeros(k)
        for start in range(0, n, block):
            X_block = self.X[start:start + block]
            dZ[start:start + block] = (X_block @ dW_T).astype(np.float64, copy=False) + db
            block_total, R, block_S = self._residuals(Z[start:start + block] + dZ[start:start + block],
                                                      self.y[start:start + block], curvature=True)
            total += block_total
            S += block_S
            grad_W += (R.T.astype(self.X.dtype) @ X_block).astype(np.float64, copy=False)
            grad_b += R.sum(axis=0)
        grad = np.concatenate([grad_W.ravel(), grad_b]) / n
        return dZ, total / n, grad, S / n
