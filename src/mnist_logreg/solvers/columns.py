"""Copies of some columns of a C-ordered matrix, a block of rows at a time.

``np.ascontiguousarray(X[:, columns], dtype)`` gathers a C-ordered X element by element, at a
fraction of the memory's speed, and converts on the way; taking the columns of one block of rows
at a time (``ndarray.take`` along the rows of a block that fits in cache) and converting the block is
several times faster on tall data (BENCHMARKS.md: "Column copies").
"""

from __future__ import annotations

import numpy as np

__all__ = ["take_columns"]

#: Rows per block: 4,096 rows of 784 float64 pixels are 25 MiB.
BLOCK = 4096


def take_columns(X: np.ndarray, columns: np.ndarray, dtype=None) -> np.ndarray:
    """``X[:, columns]`` as a C-ordered array of ``dtype`` (X's by default).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    columns : ndarray of int, shape (n_columns,)
        Sorted or not; every column of X, in order, returns X itself where it is already C-ordered
        in ``dtype`` (no copy: callers only read it).
    dtype : numpy dtype, optional

    Returns
    -------
    ndarray of shape (n_samples, n_columns)
    """
    dtype = X.dtype if dtype is None else np.dtype(dtype)
    columns = np.asarray(columns, dtype=np.intp)
    if len(columns) == X.shape[1] and np.array_equal(columns, np.arange(X.shape[1])):
        return np.ascontiguousarray(X, dtype=dtype)
    out = np.empty((X.shape[0], len(columns)), dtype=dtype)
    for start in range(0, X.shape[0], BLOCK):
        out[start:start + BLOCK] = X[start:start + BLOCK].take(columns, axis=1)
    return out
