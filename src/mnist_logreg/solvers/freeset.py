r"""The exact Hessian on a Newton step's free set, factorised: a preconditioner that outlives its step.

The Newton tail (:mod:`.newton`) solves ``H_FF d_F = -pg_F`` on a free set ``F``: under L1 the support and
its violators, without one every weight. Conjugate gradients preconditioned by the diagonal, or by the
Kronecker factor of :mod:`.preconditioner`, need tens to hundreds of Hessian products per step once the
steps are accurate, because neighbouring pixels are strongly correlated and confident samples bend the
Hessian away from any Kronecker product (BENCHMARKS.md, "Solver figures"). ``H_FF`` itself is formed class
pair by class pair (:mod:`.pairs`: a rank update per pair on the samples whose pair weight ``p_a p_b``
exceeds ``PAIR_THRESHOLD``, float32, no cancellation), the ridge ``alpha`` added on the weights, and
factored by Cholesky with a small diagonal shift (adding one number to every class's intercept, or to every
class's weight of a pixel, is a null direction of ``H`` without a ridge, :mod:`.nullspace`). It is a
preconditioner, not the solve: the samples left out and float32 make it close to ``H_FF``, not equal, and
conjugate gradients with it need few products for a tight relative residual (BENCHMARKS.md, "Solver
figures").
A factor stays useful while the free set and the probabilities move little, which is where the
tail spends its steps (the last Newton steps of a row, and the first of the next C on a path), so
:class:`FactorCache` keeps the newest one per path and builds a factor of a step's free set (where
:meth:`FactorCache.affordable`) in three cases: a kept factor covers the free set but conjugate
gradients with it take more than :meth:`FactorCache.attempts` iterations (``SWITCH_CG``, or a quarter
of what a new factor costs in products, if less); the path has never needed a factor and conjugate
gradients with the step's usual preconditioner (the Kronecker factor where the tail has a Gram matrix,
else the diagonal) take more than ``SWITCH_CG``; or a factor was needed before on this path and no kept
one covers the free set (``MAX_CHANGE``, ``MAX_REMOVED``): then at once, without an attempt.
On a free set that adds a few coordinates, the factor is extended by a border
(:meth:`FreeSetFactor.extend`: their exact Hessian rows at the step's probabilities). On a free set
that leaves coordinates out, the exact inverse of the factored matrix's block on the shared
coordinates (a forward solve with the factor per coordinate left out) makes the preconditioner
(symmetric and positive definite on ``F``): a free set that lost weights, as the
tail's steps do when weights reach zero, is preconditioned as well as by a new factor.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from .pairs import BLOCK, class_pair_weights, pair_hessian

__all__ = ["FreeSetFactor", "FactorCache", "SWITCH_CG", "max_factor_bytes"]

#: Conjugate-gradient iterations after which a step builds a factor of its free set (when affordable) ...
SWITCH_CG = 15
#: ... and at most this share of what the factor would cost (in products; :meth:`FactorCache.attempts`),
#: since an attempt that fails is paid on top of the factor: where a factor costs few products, a kept
#: factor that the step's probabilities have moved away from (or the Kronecker preconditioner) rarely
#: settles a step in the attempts (BENCHMARKS.md, "Solver figures") ...
ATTEMPT_SHARE = 0.25
#: ... but at least this many.
MIN_ATTEMPTS = 4
#: A factor is built only when forming and factoring it costs at most this many Hessian products ...
MAX_FACTOR_PRODUCTS = 100
#: ... counting a floating-point operation of the formation's rank updates and of the Cholesky
#: factorisation (level-3 BLAS) as this fraction of one of a product's (level 2 at heart, bound by
#: memory) (BENCHMARKS.md, "Solver figures") ...
LEVEL3_SHARE = 0.25
#: ... and the free set has at most this many coordinates (the matrix, factored in place, is
#: ``|F|^2`` float32 numbers: 256 MiB at most; every weight of 784 pixels x 10 classes fits).
MAX_FREE = 8192
#: Rows whose pair weight ``p_a p_b`` is at most this are left out of the formed matrix (:mod:`.pairs`).
PAIR_THRESHOLD = 1e-4
#: A factor preconditions a free set that adds at most this share of coordinates to its own ...
MAX_CHANGE = 0.05
#: ... and leaves out at most this share of the factor's coordinates (each costs a solve with the factor).
MAX_REMOVED = 0.25
#: Coordinates added to a kept factor per product with X (:meth:`FreeSetFactor.extend`: ``n x k`` numbers
#: each while it runs, in the dtype of the step's copy of X: float32, or X's own once the tail's products
#: run in X's dtype) ...
EXTEND_BLOCK = 16
#: ... and at most this share of the factored coordinates in all (the borders' ``B`` are float32
#: ``|F| x |A|``, counted in :func:`max_factor_bytes`).
MAX_BORDER = 0.1
#: Eigenvalues of an added border's Schur complement are raised to at least this share of its
#: coordinates' mean curvature.
BORDER_FLOOR = 1e-3
#: Free sets up to this size are factored by NumPy (a copy), larger ones in place by SciPy's LAPACK.
SMALL_FACTOR = 2048
#: Diagonal shift of the factored matrix, relative to its largest diagonal entry (raised tenfold
#: until the Cholesky factorisation succeeds).
SHIFT = 1e-6


def pair_rows(P: np.ndarray) -> int:
    """How many rows the pairs' rank updates of :mod:`.pairs` read at the probabilities ``P`` (n, k):
    over the pairs of classes, the samples whose pair weight exceeds ``PAIR_THRESHOLD``."""
    k = P.shape[1]
    return sum(np.count_nonzero(P[:, a] * P[:, b] > PAIR_THRESHOLD) for a in range(k) for b in range(a + 1, k))


def factor_products(n_samples: int, n_classes: int, rows: int, n_free: int, n_columns: int) -> float:
    """Cost of forming and factoring ``H_FF``, in Hessian products (two passes over ``n_columns``
    columns): the pairs' rank updates on ``rows`` rows (:func:`pair_rows`, at most ``n_columns``
    columns each) and the factorisation, at ``LEVEL3_SHARE``."""
    product = 4.0 * n_samples * max(n_columns, 1) * n_classes
    return LEVEL3_SHARE * (rows * n_columns ** 2 + n_free ** 3 / 3.0) / product


def max_factor_bytes(n_features: int, n_classes: int) -> int:
    """The most memory the factors take on a problem of this size: the matrix factored in place
    (float32, the one kept), the pairs' Gram matrix and work block while it is formed, and the
    preconditioner of a smaller free set (two float32 ``|F| x |R|`` arrays, :class:`_Restricted`), the
    borders of coordinates added later (:meth:`FreeSetFactor.extend`),
    for the largest free set that ``MAX_FREE`` and the problem's size let through."""
    n_free = min(MAX_FREE, n_classes * (n_features + 1))
    columns = n_features + 1
    borders = 4 * MAX_BORDER * (1 + MAX_BORDER)
    return int((4 + 8 * MAX_REMOVED + borders) * n_free ** 2) + 4 * columns * (columns + BLOCK)


class FreeSetFactor:
    """Cholesky factor of ``H_FF`` (plus a small shift) at the probabilities of one Newton step.

    Parameters
    ----------
    hessian : hessian.FreeHessian
        The step's Hessian: its problem, probabilities ``P`` (n, k), free columns and their copy (float32,
        or X's dtype once the tail's products run in it).
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
        k, d, n_coef = problem.n_classes, problem.n_features, problem.n_coef
        self.free = free.copy()
        self.index = np.flatnonzero(free)
        free_W = free[:n_coef].reshape(k, d)
        # Each class's free weights as positions among the step's free columns (hessian.X's columns).
        class_columns = [np.searchsorted(hessian.columns, np.flatnonzero(free_W[c])) for c in range(k)]
        H = pair_hessian(hessian.X, P, class_columns, free[n_coef:], PAIR_THRESHOLD)
        H /= problem.n_samples
        n_weights = int(np.count_nonzero(free_W))
        H[np.arange(n_weights), np.arange(n_weights)] += problem.penalty.alpha  # the ridge: weights only
        # The step's damping (:mod:`.newton`, under L1 without a ridge) is the least shift: the factor then
        # inverts the matrix the conjugate gradients solve with.
        shift = max(SHIFT * max(float(H.diagonal().max()), 1e-300), hessian.damping)
        self.lower, self.shift = _factor_in_place(H, shift)
        self._basis: tuple[np.ndarray, np.ndarray] | None = None  # the last removed_basis: (mask, basis)
        # Coordinates added since (:meth:`extend`): for each extension, (B, L_A) with the factor's rows
        # [[L, 0], [B^T, L_A]] over the coordinates so far and the added ones.
        self._borders: list[tuple[np.ndarray, np.ndarray]] = []

    def forward(self, r: np.ndarray) -> np.ndarray:
        """``L^{-1} r`` for ``r`` of shape (|F|,) or (|F|, m); ``L`` the lower factor of ``H_FF + shift I``."""
        size = self.lower.shape[0]
        y = scipy.linalg.solve_triangular(self.lower, r[:size].astype(self.lower.dtype), lower=True,
                                          check_finite=False)
        if not self._borders:
            return y
        y = y.astype(np.float64)
        for B, lower_added in self._borders:
            end = size + lower_added.shape[0]
            part = r[size:end].astype(np.float64) - B.T @ y
            y = np.concatenate([y, scipy.linalg.solve_triangular(lower_added, part, lower=True, check_finite=False)])
            size = end
        return y.astype(self.lower.dtype)

    def backward(self, u: np.ndarray) -> np.ndarray:
        """``L^{-T} u``: after :meth:`forward`, ``(H_FF + shift I)^{-1} r``."""
        if not self._borders:
            return scipy.linalg.solve_triangular(self.lower, u.astype(self.lower.dtype), lower=True, trans="T",
                                                 check_finite=False)
        u = u.astype(np.float64)  # a copy: the borders' parts are taken out of it
        parts = []
        end = len(u)
        for B, lower_added in reversed(self._borders):
            start = end - lower_added.shape[0]
            x = scipy.linalg.solve_triangular(lower_added, u[start:end], lower=True, trans="T", check_finite=False)
            u[:start] -= B @ x
            parts.append(x)
            end = start
        x0 = scipy.linalg.solve_triangular(self.lower, u[:end].astype(self.lower.dtype), lower=True, trans="T",
                                           check_finite=False)
        return np.concatenate([x0.astype(np.float64)] + parts[::-1]).astype(self.lower.dtype)

    def extend(self, hessian, free: np.ndarray) -> bool:
        """Add the coordinates ``A`` of ``free`` that the factor lacks, as a border: the factor becomes
        ``[[L, 0], [B^T, L_A]]`` over its coordinates and ``A``, with ``B = L^{-1} H_{F A}`` and ``L_A`` the
        Cholesky factor of ``H_AA + shift I - B^T B``.

        ``H_{F A}`` and ``H_AA`` are the Hessian's columns of ``A`` at this step's probabilities, pair by
        pair with the rows :mod:`.pairs` leaves out left out here too (one product with X per
        ``EXTEND_BLOCK`` coordinates), so at unchanged probabilities the result is the factor of the
        larger free set's formed matrix. The kept block is not formed again: where the probabilities
        moved, the Schur complement can dip below zero along a few directions, which are raised to
        ``BORDER_FLOOR`` of its mean curvature (any positive definite border keeps the preconditioner
        symmetric and positive definite). The tail's last steps add a few weights to a large factor at
        nearly its probabilities: conjugate gradients with the bordered factor settle them in a few
        products, where with those weights on their diagonal they did not in the attempt budget and a new
        factor was built (BENCHMARKS.md, "Solver figures").

        Returns ``False``, changing nothing, past ``MAX_BORDER`` and where the border's floor is not
        positive (a Schur complement that is not positive definite, on coordinates without curvature).
        The caller (:func:`.newton._newton_direction`) does not read the result: coordinates the factor
        does not cover are preconditioned by the inverse diagonal (:class:`_Restricted`)."""
        added = np.flatnonzero(free & ~self.free)
        if not len(added):
            return True
        bordered = sum(lower_added.shape[0] for _, lower_added in self._borders)
        if bordered + len(added) > MAX_BORDER * self.lower.shape[0]:
            return False
        problem, P, X = hessian.problem, hessian.P, hessian.X
        k, d, n_coef, n = problem.n_classes, problem.n_features, problem.n_coef, problem.n_samples
        position = np.full(d, -1)
        position[hessian.columns] = np.arange(len(hessian.columns))
        rows = np.concatenate([self.index, added])
        is_weight = rows < n_coef
        row_class = np.where(is_weight, rows // d, rows - n_coef)
        # A kept weight whose column the step's copy lacks (-1) has left the free set: the preconditioner
        # takes it out (removed_basis), so its coupling is left at zero.
        row_column = np.full(len(rows), -1)
        row_column[is_weight] = position[rows[is_weight] % d]
        weight_rows = row_column >= 0
        class_pairs = {}  # class -> its pairs' weights, as pair_hessian keeps them
        columns = np.zeros((len(rows), len(added)))
        for start in range(0, len(added), EXTEND_BLOCK):
            chunk = added[start:start + EXTEND_BLOCK]
            T = np.empty((n, k, len(chunk)), dtype=X.dtype)
            for m, coordinate in enumerate(chunk):
                c = coordinate // d if coordinate < n_coef else coordinate - n_coef
                if c not in class_pairs:
                    class_pairs[c] = class_pair_weights(P, c, PAIR_THRESHOLD)
                x = X[:, position[coordinate % d], None] if coordinate < n_coef else 1.0
                # -x p_c p_b towards class b, and their sum on class c.
                T[:, :, m] = -x * class_pairs[c]
                T[:, c, m] = -T[:, :, m].sum(axis=1)
            T = T.reshape(n, k * len(chunk))
            HW = (X.T @ T).reshape(len(hessian.columns), k, len(chunk)).astype(np.float64) / n
            Hb = T.sum(axis=0, dtype=np.float64).reshape(k, len(chunk)) / n
            block = np.zeros((len(rows), len(chunk)))
            block[weight_rows] = HW[row_column[weight_rows], row_class[weight_rows]]
            block[~is_weight] = Hb[row_class[~is_weight]]
            columns[:, start:start + len(chunk)] = block
        old = len(self.index)
        B = self.forward(columns[:old])
        schur = columns[old:] - B.T.astype(np.float64) @ B
        weights = added < n_coef
        schur[np.flatnonzero(weights), np.flatnonzero(weights)] += problem.penalty.alpha
        schur[np.diag_indices(len(added))] += self.shift
        schur = 0.5 * (schur + schur.T)
        try:
            lower_added = np.linalg.cholesky(schur)
        except np.linalg.LinAlgError:
            # The kept block is at older probabilities (and in float32): its Schur complement can dip below
            # zero along a few directions. Those are raised to a floor (any positive definite border
            # keeps the preconditioner symmetric and positive definite).
            values, vectors = np.linalg.eigh(schur)
            floor = BORDER_FLOOR * float(np.mean(np.diag(columns[old:])))
            if not floor > 0:
                return False
            lower_added = np.linalg.cholesky((vectors * np.maximum(values, floor)) @ vectors.T)
        self._borders.append((B, lower_added))
        self.index = rows
        self.free = self.free | free
        self._basis = None
        return True

    def covers(self, free: np.ndarray) -> bool:
        """Whether ``free`` adds at most ``MAX_CHANGE`` of its coordinates to the factor's free set and
        leaves out at most ``MAX_REMOVED`` of the factor's."""
        added = np.count_nonzero(free & ~self.free)
        removed = np.count_nonzero(self.free & ~free)
        return added <= MAX_CHANGE * max(np.count_nonzero(free), 1) and removed <= MAX_REMOVED * len(self.index)

    def removed_basis(self, removed: np.ndarray) -> np.ndarray | None:
        """An orthonormal basis of ``L^{-1} E_R`` for the factor's coordinates ``removed`` (a mask over
        :attr:`index`), or ``None`` when there are none.

        A step that solves again without more weights (:func:`.newton._resolved_direction`) removes a
        superset of the last set: the basis kept from it is extended by the new columns alone
        (orthogonalised against it twice, then QR), instead of ``|R|`` forward solves and a QR from scratch.
        """
        if not removed.any():
            return None
        kept = self._basis
        if kept is not None and not (kept[0] & ~removed).any():
            mask, basis = kept
            new = np.flatnonzero(removed & ~mask)
            if not len(new):
                return basis
            block = self.forward(_unit_columns(len(self.index), new))
            for _ in range(2):  # classical Gram-Schmidt, twice: orthogonal to working precision
                block -= basis @ (basis.T @ block)
            basis = np.hstack([basis, np.linalg.qr(block)[0]])
        else:
            self._basis = None  # freed before the new basis is made
            basis = np.linalg.qr(self.forward(_unit_columns(len(self.index), np.flatnonzero(removed))))[0]
        self._basis = (removed.copy(), basis)
        return basis

    def preconditioner(self, hessian, free: np.ndarray) -> "_Restricted":
        """The preconditioner of a step on ``free``: this factor on the shared coordinates, the diagonal
        of the step's Hessian (``hessian.diagonal``, read only if needed) elsewhere."""
        return _Restricted(self, hessian, free)


def _unit_columns(size: int, rows: np.ndarray) -> np.ndarray:
    """``E_R``: the columns of the identity of order ``size`` at ``rows``."""
    unit = np.zeros((size, len(rows)))
    unit[rows, np.arange(len(rows))] = 1.0
    return unit


def _factor_in_place(H: np.ndarray, shift: float) -> tuple[np.ndarray, float]:
    """``(L, shift)``: the lower Cholesky factor of the symmetric ``H + shift I``, in ``H``'s memory
    (above ``SMALL_FACTOR`` coordinates).

    ``shift`` is raised tenfold until the factorisation succeeds. LAPACK factors the transposed
    view (the same matrix, in Fortran order) and writes the factor over one triangle only, so the
    other still holds ``H`` for a retry; it is zeroed once the factor stands.

    The shift starts at no less than the smallest normal number of ``H``'s dtype: where every
    probability has saturated (a very weak penalty on separable data) ``H`` is zero in float32 and the
    caller's floor of 1e-300 is zero too, which took some 260 failed factorisations to raise. It
    stops at the dtype's largest: no finite shift factors a matrix that is not finite, and then
    ``numpy.linalg.LinAlgError`` is raised (:meth:`FactorCache.build` builds no factor).
    """
    size = H.shape[0]
    limits = np.finfo(H.dtype)
    shift = max(shift, float(limits.tiny))
    if size <= SMALL_FACTOR:
        # NumPy's LAPACK (a copy is cheap here): with two threads, switching to SciPy's OpenBLAS
        # between NumPy's products leaves each pool's threads spinning against the other's.
        while True:
            try:
                return np.linalg.cholesky(H + np.asarray(shift, H.dtype) * np.eye(size, dtype=H.dtype)), shift
            except np.linalg.LinAlgError:
                shift *= 10.0
                if not shift <= limits.max:
                    raise
    diagonal = H.diagonal().copy()
    potrf, = scipy.linalg.lapack.get_lapack_funcs(("potrf",), (H,))
    while True:
        H[np.diag_indices(size)] = diagonal + shift
        lower, info = potrf(H.T, lower=True, overwrite_a=True, clean=False)
        if info == 0:
            break
        if info < 0:  # pragma: no cover - an argument LAPACK refuses: a bug here, not the data
            raise ValueError(f"potrf: illegal argument {-info}")
        if not shift * 10.0 <= limits.max:
            raise np.linalg.LinAlgError(f"no shift up to {limits.max:g} factors the free set's Hessian: it is not finite")
        # Restore the factored triangle from the other one (H is symmetric), a band of columns at a time.
        for start in range(0, size, 512):
            band = slice(start, start + 512)
            below = np.tri(size - start, min(512, size - start), -1, dtype=bool)
            lower[start:, band] = np.where(below, lower.T[start:, band], lower[start:, band])
        shift *= 10.0
    for start in range(0, size, 512):  # zero the triangle above the factor, a band of columns at a time
        stop = min(start + 512, size)
        lower[:stop, start:stop][np.triu(np.ones((stop, stop - start), dtype=bool), 1 - start)] = 0.0
    return lower, shift


class _Restricted:
    r"""``M^{-1} r``: the inverse of the factored matrix's block on ``F & F0``, the inverse diagonal on
    ``F \ F0``, zero off ``F``.

    The block of the coordinates ``S = F & F0`` that the factor shares with ``F`` is solved exactly, not
    by the factor's solve restricted to ``S``. With ``H_{F0 F0} = L L^T``, ``R = F0 \ F`` the
    coordinates left out and ``W = L^{-1} E_R`` (``|R|`` forward solves; a re-solve that leaves out more
    coordinates extends the factor's last basis, :meth:`FreeSetFactor.removed_basis`), the solution
    of ``H_SS z_S = r_S`` (``z_R = 0``) is ``z = L^{-T} (I - Q Q^T) L^{-1} r`` with ``Q`` an orthonormal
    basis of ``W``'s columns (QR; through ``(W^T W)^{-1}`` instead, which squares the spread of ``W``'s
    columns, a row of the Fashion-MNIST grid of BENCHMARKS.md lost its descent direction): the
    factor's two triangular solves with the component along ``W`` taken out between them. So a step
    whose free set lost weights (they reached zero, or moved the wrong way and were left out) keeps
    a factor as good as a new one.
    """

    def __init__(self, factor: FreeSetFactor, hessian, free: np.ndarray):
        self.factor = factor
        self.shared = free[factor.index]
        outside = free & ~factor.free
        self.inverse_diagonal = (np.where(outside, 1.0 / np.maximum(hessian.diagonal, 1e-300), 0.0) if outside.any()
                                 else np.zeros(free.size))
        self.W = factor.removed_basis(~self.shared)

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
        #: Set once a factor has been built on this path (conjugate gradients without a covering one
        #: did not settle a step): later steps that no kept factor covers build one at once.
        self.needed = False
        self._rows: tuple[np.ndarray, int] | None = None  # (P, pair_rows(P)) of the last step asked about

    def cost(self, hessian, free: np.ndarray) -> float:
        """What a factor of ``free`` would cost at this step, in Hessian products (:func:`factor_products`).

        A step asks once per solve (its re-solves too); the pairs' rows depend on its probabilities
        alone, so they are counted once per step."""
        if self._rows is None or self._rows[0] is not hessian.P:
            self._rows = (hessian.P, pair_rows(hessian.P))
        problem = hessian.problem
        return factor_products(problem.n_samples, problem.n_classes, self._rows[1], int(np.count_nonzero(free)),
                               len(hessian.columns))

    def affordable(self, hessian, free: np.ndarray) -> bool:
        """Whether a factor of ``free`` is worth building at this step (``MAX_FREE``, ``MAX_FACTOR_PRODUCTS``)."""
        return np.count_nonzero(free) <= MAX_FREE and self.cost(hessian, free) <= MAX_FACTOR_PRODUCTS

    def attempts(self, hessian, free: np.ndarray) -> int:
        """Conjugate-gradient iterations a step spends before it builds a factor: ``SWITCH_CG``, or fewer
        where a factor costs less than ``SWITCH_CG / ATTEMPT_SHARE`` products (at least ``MIN_ATTEMPTS``)."""
        return int(max(MIN_ATTEMPTS, min(SWITCH_CG, ATTEMPT_SHARE * self.cost(hessian, free))))

    def usable(self, free: np.ndarray) -> FreeSetFactor | None:
        """The kept factor when it covers ``free``."""
        return self.factor if self.factor is not None and self.factor.covers(free) else None

    def build(self, hessian, free: np.ndarray) -> FreeSetFactor | None:
        """A factor of ``free`` at this step, kept; ``None`` where the step's Hessian has no factor (not
        finite: :func:`_factor_in_place`), and the step then goes on without one."""
        self.needed = True
        self.factor = None  # the old factor's memory is free while the new one is formed
        try:
            self.factor = FreeSetFactor(hessian, free)
        except np.linalg.LinAlgError:
            return None
        self.built += 1
        return self.factor
