r"""The exact Hessian on a Newton step's free set, factorised: a preconditioner that outlives its step.

Under L1 the Newton tail (:mod:`.newton`) solves ``H_FF d_F = -pg_F`` on a free set ``F`` that is
often small: the support and its violators, a few hundred weights of a few thousand on MNIST. Its
conjugate gradients, preconditioned by the diagonal, need tens to hundreds of Hessian products per
step once the steps are accurate, because neighbouring pixels are strongly correlated. With few
free weights ``H_FF`` itself is cheap to form:

.. math::

    H_{FF} = \frac1n \Bigl(\operatorname{blockdiag}_c\bigl(B_c^\top A_c\bigr) - B^\top B\Bigr) + \alpha I,
    \qquad A_{i m} = \tilde x_{i, j(m)},\quad B_{i m} = p_{i, c(m)} A_{i m},

for the free coordinates ``m`` (class ``c(m)``, pixel ``j(m)``, or the intercept, whose ``x~`` is
1; ``alpha`` on the weights only): one rank-n update ``B^T B`` and k small products, then a Cholesky factor. It is formed in
float32 and factored with a small diagonal shift (the difference of the two terms cancels where
``p_i`` is nearly one-hot, and adding one number to every class's intercept, or to every class's
weight of a pixel, is a null direction of ``H`` without a ridge), so it is a
preconditioner, not the solve: conjugate gradients with it need a handful of products. The
products and the factorisation run in NumPy's BLAS (only the triangular solves, level 2, in
SciPy's): with two threads, alternating between NumPy's and SciPy's OpenBLAS leaves each one's
idle threads spinning against the other's and doubles the time (BENCHMARKS.md).

A factor stays useful while the free set and the probabilities move little, which is where the
tail spends its steps (the last Newton steps of a row, and the first of the next C on a path), so
:class:`FactorCache` keeps the newest one per path and rebuilds it only when conjugate gradients
with it (or, without one, with the diagonal) take more than ``SWITCH_CG`` iterations. On a free set
that differs from the factor's, the exact inverse of the factored matrix's block on the shared
coordinates (a forward solve with the factor per coordinate left out) and the diagonal on the rest make
the preconditioner (symmetric and positive definite on ``F``): a free set that lost weights, as the
tail's steps do when weights reach zero, is preconditioned as well as by a new factor.
"""

from __future__ import annotations

import itertools

import numpy as np
import scipy.linalg

__all__ = ["FreeSetFactor", "FactorCache", "SWITCH_CG", "max_factor_bytes"]

#: Conjugate-gradient iterations after which a step builds a factor of its free set (when affordable).
SWITCH_CG = 15
#: A factor is built only when forming and factoring it costs at most this many Hessian products
#: (counted in floating-point operations) ...
MAX_FACTOR_PRODUCTS = 100
#: ... and the free set has at most this many coordinates (the matrix and its factor are ``|F|^2``
#: float64 numbers each: 64 MiB together at most).
MAX_FREE = 2048
#: Rows of X per block while the matrix is formed (its work arrays are ``|F| x BLOCK`` float32 at most).
BLOCK = 2048
#: A factor preconditions a free set that adds at most this share of coordinates to its own ...
MAX_CHANGE = 0.05
#: ... and leaves out at most this share of the factor's coordinates (each costs a solve with the factor).
MAX_REMOVED = 0.25
#: Diagonal shift of the factored matrix, relative to its largest diagonal entry (raised tenfold
#: until the Cholesky factorisation succeeds).
SHIFT = 1e-6


def factor_products(n_samples: int, n_free: int, n_columns: int, n_classes: int) -> float:
    """Cost of forming and factoring ``H_FF``, in Hessian products (two passes over ``n_columns``)."""
    product = 4.0 * n_samples * max(n_columns, 1) * n_classes
    return (n_samples * n_free ** 2 + n_free ** 3 / 3.0) / product


def max_factor_bytes(n_features: int, n_classes: int) -> int:
    """The most memory the factors take on a problem of this size, at a rebuild: the new matrix, its
    factor and the three work arrays of a block of rows (the block of X transposed, A and B, float32),
    while the old factor and its preconditioner of a smaller free set (two ``|F| x |R|`` arrays,
    :class:`_Restricted`) are still held, for the largest free set that ``MAX_FREE`` and
    ``MAX_FACTOR_PRODUCTS`` let through (``|F|^2 <= 4 MAX_FACTOR_PRODUCTS d k``, from :func:`factor_products`)."""
    n_free = int(min(MAX_FREE, np.sqrt(4.0 * MAX_FACTOR_PRODUCTS * n_features * n_classes)))
    return int((16 + 8 + 16 * MAX_REMOVED) * n_free ** 2) + 12 * BLOCK * n_free


class FreeSetFactor:
    """Cholesky factor of ``H_FF`` (plus a small shift) at the probabilities of one Newton step.

    Parameters
    ----------
    hessian : newton._Hessian
        The step's Hessian: its problem, probabilities ``P`` (n, k), free columns and their float32 copy.
    free : ndarray of bool, shape (k*d + k,)

    Attributes
    ----------
    index : ndarray of int
        The free coordinates, in the order of the factor's rows.
    lower : ndarray of shape (|F|, |F|)
        Lower Cholesky factor of ``H_FF + shift I``.
    shift : float
        The diagonal shift that made the float32-formed matrix factorable.
    """

    def __init__(self, hessian, free: np.ndarray):
        problem, P = hessian.problem, hessian.P
        k, d, n, n_coef = problem.n_classes, problem.n_features, problem.n_samples, problem.n_coef
        self.free = free.copy()
        self.index = np.flatnonzero(free)
        weight = self.index < n_coef
        classes = np.where(weight, self.index // d, self.index - n_coef)
        position = np.searchsorted(hessian.columns, self.index[weight] % d)  # column of hessian.X
        H = np.zeros((len(self.index), len(self.index)))
        # The free coordinates are in flat order, class by class then the intercepts, so each class's
        # weights and its intercept form two contiguous runs: its block of the first term is read by slices.
        blocks = [_runs(np.flatnonzero(classes == c)) for c in range(k)]
        # A and B are formed transposed (|F| x rows): gathering whole rows of X^T is a copy of contiguous
        # memory, where gathering columns of X strides (a third of the time of forming the matrix).
        for start in range(0, n, BLOCK):  # rows in blocks: A^T and B^T never exceed |F| x BLOCK
            X_block = np.ascontiguousarray(hessian.X[start:start + BLOCK].T)
            At = np.ones((len(self.index), X_block.shape[1]), dtype=np.float32)
            At[weight] = X_block[position]  # the free weights' pixels, float32
            Bt = At * np.ascontiguousarray(P[start:start + BLOCK].T, dtype=np.float32)[classes]
            H -= (Bt @ Bt.T).astype(np.float64)  # numpy's symmetric rank-k update
            for rows, cols in (pair for runs in blocks for pair in itertools.product(runs, repeat=2)):
                H[rows, cols] += (Bt[rows] @ At[cols].T).astype(np.float64)
        H /= n
        H[np.flatnonzero(weight), np.flatnonzero(weight)] += problem.penalty.alpha  # the ridge: weights only
        self.shift = SHIFT * max(float(H.diagonal().max()), 1e-300)
        diagonal = np.diag_indices_from(H)
        H[diagonal] += self.shift
        while True:
            try:
                self.lower = np.linalg.cholesky(H)
                break
            except np.linalg.LinAlgError:
                H[diagonal] += 9.0 * self.shift
                self.shift *= 10.0

    def forward(self, r: np.ndarray) -> np.ndarray:
        """``L^{-1} r`` for ``r`` of shape (|F|,) or (|F|, m); ``L`` the lower factor of ``H_FF + shift I``."""
        return scipy.linalg.solve_triangular(self.lower, r, lower=True, check_finite=False)

    def backward(self, u: np.ndarray) -> np.ndarray:
        """``L^{-T} u``: after :meth:`forward`, ``(H_FF + shift I)^{-1} r``."""
        return scipy.linalg.solve_triangular(self.lower, u, lower=True, trans="T", check_finite=False)

    def covers(self, free: np.ndarray) -> bool:
        """Whether ``free`` adds at most ``MAX_CHANGE`` of its coordinates to the factor's free set and
        leaves out at most ``MAX_REMOVED`` of the factor's."""
        added = np.count_nonzero(free & ~self.free)
        removed = np.count_nonzero(self.free & ~free)
        return added <= MAX_CHANGE * max(np.count_nonzero(free), 1) and removed <= MAX_REMOVED * len(self.index)

    def preconditioner(self, diagonal: np.ndarray, free: np.ndarray) -> "_Restricted":
        """The preconditioner of a step on ``free``: this factor on the shared coordinates, ``diagonal`` (of H) elsewhere."""
        return _Restricted(self, diagonal, free)


def _runs(members: np.ndarray) -> list[slice]:
    """Sorted indices as the slices of their contiguous runs."""
    if len(members) == 0:
        return []
    breaks = np.flatnonzero(np.diff(members) != 1) + 1
    starts = np.concatenate([[0], breaks])
    ends = np.concatenate([breaks, [len(members)]])
    return [slice(int(members[s]), int(members[e - 1]) + 1) for s, e in zip(starts, ends)]


class _Restricted:
    r"""``M^{-1} r``: the inverse of the factored matrix's block on ``F & F0``, the inverse diagonal on
    ``F \ F0``, zero off ``F``.

    The block of the coordinates ``S = F & F0`` that the factor shares with ``F`` is solved exactly, not
    by the factor's solve restricted to ``S``. With ``H_{F0 F0} = L L^T``, ``R = F0 \ F`` the
    coordinates left out and ``W = L^{-1} E_R`` (``|R|`` forward solves, once per step), the solution
    of ``H_SS z_S = r_S`` (``z_R = 0``) is ``z = L^{-T} (I - Q Q^T) L^{-1} r`` with ``Q`` an orthonormal
    basis of ``W``'s columns (QR; through ``(W^T W)^{-1}`` instead, which squares the spread of ``W``'s
    columns, a row of the Fashion-MNIST grid of BENCHMARKS.md lost its descent direction): the
    factor's two triangular solves with the component along ``W`` taken out between them. So a step
    whose free set lost weights (they reached zero, or moved the wrong way and were left out) keeps
    a factor as good as a new one.
    """

    def __init__(self, factor: FreeSetFactor, diagonal: np.ndarray, free: np.ndarray):
        self.factor = factor
        self.shared = free[factor.index]
        self.inverse_diagonal = np.where(free & ~factor.free, 1.0 / np.maximum(diagonal, 1e-300), 0.0)
        removed = np.flatnonzero(~self.shared)
        self.W = None
        if len(removed):
            unit = np.zeros((len(factor.index), len(removed)))
            unit[removed, np.arange(len(removed))] = 1.0
            self.W = np.linalg.qr(factor.forward(unit))[0]

    def apply(self, r: np.ndarray) -> np.ndarray:
        out = self.inverse_diagonal * r
        factor = self.factor
        u = factor.forward(np.where(self.shared, r[factor.index], 0.0))
        if self.W is not None:
            u -= self.W @ (self.W.T @ u)
        out[factor.index] += np.where(self.shared, factor.backward(u), 0.0)
        return out


class FactorCache:
    """The newest :class:`FreeSetFactor` of one path, handed from step to step and from C to C."""

    def __init__(self):
        self.factor: FreeSetFactor | None = None
        self.built = 0

    def affordable(self, hessian, free: np.ndarray) -> bool:
        """Whether a factor of ``free`` is worth building at this step's size (``MAX_FREE``, ``MAX_FACTOR_PRODUCTS``)."""
        n_free = int(np.count_nonzero(free))
        problem = hessian.problem
        return n_free <= MAX_FREE and factor_products(problem.n_samples, n_free, len(hessian.columns),
                                                      problem.n_classes) <= MAX_FACTOR_PRODUCTS

    def usable(self, free: np.ndarray) -> FreeSetFactor | None:
        """The kept factor when it covers ``free``."""
        return self.factor if self.factor is not None and self.factor.covers(free) else None

    def build(self, hessian, free: np.ndarray) -> FreeSetFactor:
        self.factor = FreeSetFactor(hessian, free)
        self.built += 1
        return self.factor
