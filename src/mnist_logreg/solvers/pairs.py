r"""The Hessian of the log-loss on a free set, formed as a sum over pairs of classes.

For one sample the Hessian of the log-loss in its scores is ``diag p - p p^T``, which is a weighted
Laplacian of the classes (because ``sum_b p_b = 1``):

.. math::

    \operatorname{diag} p - p p^\top = \sum_{a<b} p_a p_b\, (e_a - e_b)(e_a - e_b)^\top,
    \qquad
    H = \frac1n \sum_{a<b} (e_a - e_b)(e_a - e_b)^\top \otimes G_{ab},\quad
    G_{ab} = \sum_i p_{ia} p_{ib}\, \tilde x_i \tilde x_i^\top,

with ``x~ = (x, 1)`` (the intercepts' column). Each ``G_ab`` is a Gram matrix of rows scaled by
``sqrt(p_a p_b)``: a symmetric rank update with non-negative weights, so the sum has no cancellation
(a formation as ``B^T B`` subtracted from a block diagonal would cancel to rounding wherever ``p_i``
is nearly one-hot) and every term is positive semidefinite.

That also makes the matrix cheap where it matters. Weakly regularised fits are confident: many samples put
nearly all their probability on one class, and the weight ``p_a p_b`` of most pairs of a sample is tiny
(BENCHMARKS.md, "Solver figures"), so the rows whose weight is below ``threshold`` are left out: ``sum_ab
|rows_ab|`` is a small multiple of n instead of ``k (k - 1) / 2`` times n, and what is left out is a
positive semidefinite matrix of small weights (the formed matrix is below H in the Loewner order, close to
it), which a preconditioner can afford to miss (BENCHMARKS.md).
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["class_pair_weights", "pair_hessian"]

#: Blocks of at least this many numbers are gathered by the compiled kernel (a fused, vectorised
#: copy; loading it costs a process ~0.2 s once), smaller ones by NumPy's indexing.
NUMBA_SIZE = 1 << 20
#: Rows of X per block while a pair's Gram matrix is accumulated (its work array is ``BLOCK x c`` float32).
BLOCK = 8192


def _gather_scaled(X, rows, columns, scale, out):
    """``out[r, :m] = X[rows[r], columns] * scale[r]`` and ``out[r, m] = scale[r]`` (the intercepts' column).
    When ``columns`` are all of X's, in order, the rows are copied whole (a loop the compiler vectorises)."""
    m = columns.shape[0]
    whole = m == X.shape[1] and (m == 0 or (columns[0] == 0 and columns[m - 1] == m - 1))
    for r in range(rows.shape[0]):
        source = X[rows[r]]
        s = scale[r]
        if whole:
            for j in range(m):
                out[r, j] = source[j] * s
        else:
            for j in range(m):
                out[r, j] = source[columns[j]] * s
        out[r, m] = s


@functools.cache
def _gather():
    """The compiled :func:`_gather_scaled`, compiled (or loaded from Numba's cache) on first use: Numba
    itself is imported only then, so fits that never gather a large block do not pay for it."""
    import numba

    try:
        return numba.njit(cache=True, nogil=True)(_gather_scaled)
    except RuntimeError:  # no writable cache folder: compile per process
        return numba.njit(nogil=True)(_gather_scaled)


def class_pair_weights(P: np.ndarray, c: int, threshold: float) -> np.ndarray:
    """``p_c p_b`` (n, k) for class ``c``'s pairs with every class ``b``: 0 for ``b = c`` and on the
    rows that :func:`pair_hessian` leaves out of a pair (weight at most ``threshold``). Class ``c``'s
    columns of the formed matrix are built from these (:meth:`.freeset.FreeSetFactor.extend`)."""
    weights = P[:, c, None] * P
    weights[:, c] = 0.0
    weights[weights <= threshold] = 0.0
    return weights


def _pair_gram(X: np.ndarray, weight: np.ndarray, columns: np.ndarray, threshold: float) -> np.ndarray:
    """``sum_i weight_i x~_i[columns] x~_i[columns]^T`` over the rows whose weight exceeds ``threshold``,
    as a float32 ``(m+1) x (m+1)`` matrix (the last row and column: the intercepts' ones)."""
    rows = np.flatnonzero(weight > threshold)
    scale = np.sqrt(weight[rows]).astype(np.float32)
    m = len(columns)
    gram = np.zeros((m + 1, m + 1), dtype=np.float32)
    work = np.empty((min(BLOCK, len(rows)), m + 1), dtype=np.float32)
    for start in range(0, len(rows), BLOCK):
        block = work[:min(BLOCK, len(rows) - start)]
        if block.size >= NUMBA_SIZE:
            _gather()(X, rows[start:start + BLOCK], columns, scale[start:start + BLOCK], block)
        else:  # small: NumPy's indexing, without loading the compiled kernel into the process
            block[:, :m] = X[np.ix_(rows[start:start + BLOCK], columns)]
            block[:, :m] *= scale[start:start + BLOCK, None]
            block[:, m] = scale[start:start + BLOCK]
        gram += block.T @ block  # numpy's symmetric rank-k update
    return gram


def pair_hessian(X: np.ndarray, P: np.ndarray, class_columns: list[np.ndarray], class_intercepts: np.ndarray,
                 threshold: float = 0.0) -> np.ndarray:
    """The free set's block of ``n H`` (the log-loss part, no ridge), float32, from the pairs' Gram matrices.

    Parameters
    ----------
    X : ndarray of shape (n_samples, c)
        float32, or float64 once the Newton tail's products run in X's dtype (the pairs' blocks are
        gathered into float32 either way).
        The columns of X that some free weight reads (C order).
    P : ndarray of shape (n_samples, k)
        Class probabilities at the point.
    class_columns : list of k int arrays
        For class ``a``, the positions in ``X``'s columns of its free weights, in the order of the
        free set (sorted).
    class_intercepts : bool ndarray of shape (k,)
        Whether each class's intercept is free.
    threshold : float, default=0.0
        Rows whose pair weight ``p_a p_b`` is at most this are left out of that pair's Gram matrix.

    Returns
    -------
    ndarray of shape (|F|, |F|), float32
        Rows and columns in the free set's flat order: class 0's free weights, class 1's, ...,
        then the free intercepts.
    """
    k = P.shape[1]
    sizes = [len(c) for c in class_columns]
    weight_start = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    intercept_row = weight_start[-1] + np.cumsum(class_intercepts) - 1  # valid where the intercept is free
    size = weight_start[-1] + int(np.count_nonzero(class_intercepts))
    H = np.zeros((size, size), dtype=np.float32)
    free = [sizes[a] > 0 or bool(class_intercepts[a]) for a in range(k)]

    def place(a: int, union: np.ndarray) -> tuple[slice, int | None, np.ndarray]:
        """Class a's free coordinates: (its weights' rows of H, its intercept's row or None, their
        positions in the pair's Gram matrix, weights first, then the intercepts' ones if free)."""
        where = np.searchsorted(union, class_columns[a])
        if class_intercepts[a]:
            where = np.append(where, len(union))
        return (slice(weight_start[a], weight_start[a + 1]), int(intercept_row[a]) if class_intercepts[a] else None,
                where)

    def add(first, second, block: np.ndarray) -> None:
        """``H[first, second] += block`` for two places of :func:`place` (block in their Gram order)."""
        (rows, row_b, _), (cols, col_b, _) = first, second
        m, q = rows.stop - rows.start, cols.stop - cols.start
        H[rows, cols] += block[:m, :q]
        if col_b is not None:
            H[rows, col_b] += block[:m, q]
        if row_b is not None:
            H[row_b, cols] += block[m, :q]
            if col_b is not None:
                H[row_b, col_b] += block[m, q]

    for a in range(k):
        for b in range(a + 1, k):
            if not (free[a] or free[b]):
                continue
            # The pair adds to each free class's diagonal block, and couples them when both are free.
            union = np.union1d(class_columns[a], class_columns[b]).astype(np.intp)
            gram = _pair_gram(X, P[:, a] * P[:, b], union, threshold)
            place_a, place_b = place(a, union), place(b, union)
            at_a, at_b = place_a[2], place_b[2]
            if free[a]:
                add(place_a, place_a, gram[np.ix_(at_a, at_a)])
            if free[b]:
                add(place_b, place_b, gram[np.ix_(at_b, at_b)])
            if free[a] and free[b]:
                cross = -gram[np.ix_(at_a, at_b)]
                add(place_a, place_b, cross)
                add(place_b, place_a, cross.T)
    return H
