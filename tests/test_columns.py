"""Column copies (:func:`mnist_logreg.solvers.columns.take_columns`) against NumPy's own indexing."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_logreg.solvers.columns import BLOCK, take_columns


@pytest.mark.parametrize("dtype", [None, np.float32, np.float64])
@pytest.mark.parametrize("n_rows", [1, BLOCK - 1, BLOCK + 3, 2 * BLOCK + 1])
def test_take_columns_equals_fancy_indexing(n_rows, dtype):
    rng = np.random.default_rng(n_rows)
    X = rng.standard_normal((n_rows, 37))
    for columns in (np.array([0]), np.array([5, 2, 36, 2]), np.sort(rng.choice(37, 30, replace=False)),
                    np.arange(37), np.array([], dtype=int)):
        copy = take_columns(X, columns, dtype)
        expected = X[:, columns].astype(dtype or X.dtype)
        assert copy.dtype == expected.dtype and copy.flags["C_CONTIGUOUS"]
        np.testing.assert_array_equal(copy, expected)


def test_take_columns_copies_unless_every_column_is_kept_as_is():
    X = np.arange(24.0).reshape(6, 4)
    assert take_columns(X, np.arange(4)) is X  # every column, same dtype, C-ordered: read as it is
    part = take_columns(X, np.array([1, 3]))
    part[:] = -1  # a copy: X is left alone
    assert (X >= 0).all()
    converted = take_columns(X, np.arange(4), np.float32)
    assert converted.dtype == np.float32 and not np.shares_memory(converted, X)
    fortran = np.asfortranarray(X)
    np.testing.assert_array_equal(take_columns(fortran, np.arange(4)), X)
    assert take_columns(fortran, np.arange(4)).flags["C_CONTIGUOUS"]
