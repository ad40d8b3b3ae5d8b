"""Products with the Hessian of the smooth part at one point of the Newton tail, on the columns that can move.

:class:`FreeHessian` holds a step's probabilities and a copy of the columns of X with a free
coordinate (float32, or X's dtype once the tail's products run in it); :mod:`.newton` builds one per
step, :mod:`.cg` solves with it and :mod:`.freeset` forms and factors its block on the free set.
"""

from __future__ import annotations

import functools

import numpy as np

from .columns import take_columns
from .problem import Problem

__all__ = ["FreeHessian", "EXTRA_COLUMNS", "PRODUCT_BLOCK"]

#: A step reuses the last step's float32 copy of the free columns when they include its own with at
#: most this share more (a weight that reached zero, under L1, leaves its column in the copy).
EXTRA_COLUMNS = 0.1
#: Rows of X per block of a Hessian product: both of its matrix products run on one block before the
#: next is read (a pass over X instead of two) (BENCHMARKS.md, "Solver figures").
PRODUCT_BLOCK = 8192


class FreeHessian:
    """Products with the Hessian of the smooth part at one point, on the columns that can move.

    Only the columns of X with a free coordinate enter a product (copied in ``dtype``; from
    ``previous``, the last step's Hessian on the same problem, when its columns are the same): under
    L1 that is the support and its violators, often a small part of X.
    """

    def __init__(self, problem: Problem, P: np.ndarray, free: np.ndarray, previous: "FreeHessian | None" = None,
                 dtype=np.float32):
        self.problem, self.P = problem, P
        self.damping = 0.0  # mu of (H + mu I), set by the step under L1 without a ridge
        k, d = problem.n_classes, problem.n_features
        self.columns = np.flatnonzero(free[:k * d].reshape(k, d).any(axis=0))
        if previous is not None and previous.X.dtype == dtype and _covers(previous.columns, self.columns):
            # The last step's free columns include these (the usual case): no new copy. Products read
            # the few extra columns with zero weights; their entries are outside the free set.
            self.columns, self.X = previous.columns, previous.X
        else:
            if len(self.columns) * (1 + EXTRA_COLUMNS) >= d or np.dtype(dtype) != np.float32:
                # Nearly every column: copy them all, so that the next steps, whose free sets gain and
                # lose a few columns (weak L1), read this copy instead of making their own. In float64
                # (a tail's last steps, X's own dtype), X itself is read: no copy, whatever the columns.
                self.columns = np.arange(d)
            # float32 products (``dtype``) until the tail nears the rounding they allow: the conjugate
            # gradients only need an approximate H (inexact Newton), and the gradient and the certificate
            # stay in X's dtype.
            self.X = take_columns(problem.X, self.columns, dtype)

    @functools.cached_property
    def diagonal(self) -> np.ndarray:
        """``diag H`` (flat layout), computed on first use: a pass over the free columns that a step
        preconditioned by a factor covering its free set never needs."""
        problem, P, block = self.problem, self.P, 4096
        k, d, n = problem.n_classes, problem.n_features, problem.n_samples
        weights = P * (1.0 - P)  # the diagonal of diag p_i - p_i p_i^T
        # diag H_W = (P(1-P))^T (X o X) / n + alpha, read in blocks of rows (no copy of X o X kept).
        part_diag = np.zeros((k, len(self.columns)))
        for start in range(0, n, block):
            part = self.X[start:start + block]
            part_diag += (weights[start:start + block].T.astype(part.dtype) @ (part * part)).astype(np.float64,
                                                                                                    copy=False)
        diag_W = np.zeros((k, d))
        diag_W[:, self.columns] = part_diag / n + problem.penalty.alpha
        return np.concatenate([diag_W.ravel(), weights.sum(axis=0) / n])

    def product(self, v: np.ndarray) -> np.ndarray:
        r"""``(H + mu I) v`` for a flat vector ``v`` (k*d + k,) that is zero outside the free columns (``mu``
        the step's ``damping``, zero but under L1 without a ridge).

        With ``U = X V_W^T + v_b`` (n, k): ``(H v)_W = X^T (P o (U - (P o U) 1 1^T)) / n + alpha V_W``
        and ``(H v)_b`` the column sums of the same matrix.
        """
        problem, P, X = self.problem, self.P, self.X
        k, d, n_coef = problem.n_classes, problem.n_features, problem.n_coef
        V = v[:n_coef].reshape(k, d)[:, self.columns]
        V_T = np.ascontiguousarray(V.T, dtype=X.dtype)
        product_W = np.zeros((k, len(self.columns)), dtype=X.dtype)
        product_b = np.zeros(k)
        # A block of rows at a time, so that the second product reads the block from cache, not memory.
        for start in range(0, problem.n_samples, PRODUCT_BLOCK):
            block, P_block = X[start:start + PRODUCT_BLOCK], P[start:start + PRODUCT_BLOCK]
            U = (block @ V_T).astype(np.float64, copy=False) + v[n_coef:]
            HU = P_block * (U - np.einsum("ij,ij->i", P_block, U)[:, None])
            product_W += HU.T.astype(X.dtype) @ block
            product_b += HU.sum(axis=0)
        out = np.zeros_like(v)
        out_W = out[:n_coef].reshape(k, d)
        out_W[:, self.columns] = product_W.astype(np.float64) / problem.n_samples + problem.penalty.alpha * V
        out[n_coef:] = product_b / problem.n_samples
        if self.damping:
            out += self.damping * v
        return out


def _covers(kept: np.ndarray, wanted: np.ndarray) -> bool:
    """Whether the sorted columns ``kept`` include ``wanted`` with at most ``EXTRA_COLUMNS`` more."""
    return (len(kept) <= (1 + EXTRA_COLUMNS) * len(wanted) and len(wanted) > 0
            and bool(np.isin(wanted, kept, assume_unique=True).all()))
