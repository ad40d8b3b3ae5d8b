"""Checks every loader runs before it hands arrays over as a :class:`Dataset`.

Each check fails with one line that names the input (file or option), what was received and what is
allowed, so the command line can print it as is. Problems with the data itself raise
:class:`~mnist_logreg.errors.DataError` (exit 1).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import DataError
from .dataset import Dataset

__all__ = ["check_finite", "check_images", "check_labels", "image_shape_for", "integer_labels", "make_dataset"]


def image_shape_for(n_features: int) -> tuple[int, int]:
    """The image shape to assume for flat rows of ``n_features`` pixels.

    A perfect square ``s * s`` is read as an ``(s, s)`` image, anything else as one row ``(1, d)``.
    """
    side = math.isqrt(n_features)
    return (side, side) if side * side == n_features else (1, n_features)


def check_finite(X: np.ndarray, what: str) -> None:
    """Refuse NaN and infinite values, saying how many there are and where the first one is.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    what : str
        Names the input in the message, e.g. ``"npz:data.npz array 'X'"``.
    """
    if X.dtype.kind not in "fc":
        return
    bad = ~np.isfinite(X)
    if not bad.any():
        return
    n_nan = int(np.isnan(X).sum())
    n_inf = int(bad.sum()) - n_nan
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    where = f"row {first[0]}, column {first[1]}" if len(first) == 2 else f"index {first}"
    rows = int(bad.reshape(len(X), -1).any(axis=1).sum()) if X.ndim >= 2 else int(bad.sum())
    raise DataError(f"{what}: contains {n_nan} NaN and {n_inf} infinite values in {rows} rows "
                    f"(first at {where}); allowed finite numbers only")


def check_images(X, what: str) -> tuple[np.ndarray, tuple[int, int]]:
    """Bring images to flat rows and infer their shape.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or (n_samples, height, width)
        Grey images with an explicit channel axis of size 1, ``(n_samples, height, width, 1)`` or
        ``(n_samples, 1, height, width)``, lose that axis; more channels (colour) are refused.
    what : str
        Names the input in messages.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Same dtype (booleans become uint8).
    image_shape : tuple of int
        ``(height, width)`` for 3-D input, else :func:`image_shape_for` of the width.
    """
    X = np.asarray(X)
    if X.dtype.kind == "b":
        X = X.astype(np.uint8)
    if X.dtype.kind not in "iuf":
        raise DataError(f"{what}: received dtype {X.dtype}; allowed integer or floating-point pixels")
    if X.ndim == 4 and 1 in (X.shape[3], X.shape[1]):
        # One grey channel, last (Keras: n, h, w, 1) or first (PyTorch: n, 1, h, w): drop that axis.
        X = X[:, :, :, 0] if X.shape[3] == 1 else X[:, 0]
    elif X.ndim == 4:
        raise DataError(f"{what}: received an array of shape {X.shape} (4-D) with more than one colour "
                        "channel; allowed 2-D (n_samples, n_features), 3-D (n_samples, height, width), or 4-D "
                        "with one grey channel (n_samples, height, width, 1) or (n_samples, 1, height, width): "
                        "convert colour images to grey first")
    if X.ndim not in (2, 3):
        raise DataError(f"{what}: received an array of shape {X.shape} ({X.ndim}-D); allowed 2-D "
                        "(n_samples, n_features), 3-D (n_samples, height, width), or 4-D with one channel "
                        "(n_samples, height, width, 1) or (n_samples, 1, height, width)")
    if X.shape[0] == 0 or X.size == 0:
        raise DataError(f"{what}: received an empty array of shape {X.shape}; allowed at least one "
                        "sample with at least one pixel")
    if X.ndim == 3:
        shape = (int(X.shape[1]), int(X.shape[2]))
        X = X.reshape(X.shape[0], -1)
    else:
        shape = image_shape_for(int(X.shape[1]))
    # Located in the flat rows that the rest of the package sees (column = row-major pixel index).
    check_finite(X, what)
    return X, shape


def integer_labels(y: np.ndarray) -> np.ndarray:
    """Labels as int64 when they are integers or strings that all spell integers, else as given.

    OpenML delivers MNIST's labels as the strings ``"0"``..``"9"``; everything downstream (plots,
    class order) is nicer with the numbers.
    """
    y = np.asarray(y)
    if y.dtype.kind in "iub":
        return y.astype(np.int64)
    if y.dtype.kind == "f":
        if np.isfinite(y).all() and (y == np.round(y)).all():
            return y.astype(np.int64)
        return y
    if y.dtype.kind in "OUS":
        text = y.astype(str)
        try:
            as_int = np.array([int(value) for value in text.ravel()], dtype=np.int64).reshape(text.shape)
        except (ValueError, OverflowError):
            return text
        return as_int
    return y


def check_labels(y, n_samples: int, what: str) -> np.ndarray:
    """Labels must be one value per image.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
    n_samples : int
        Number of images they belong to.
    what : str
        Names the input in messages.
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"{what}: received labels of shape {y.shape}; allowed a 1-D array (n_samples,)")
    if len(y) != n_samples:
        raise DataError(f"{what}: received {len(y)} labels for {n_samples} images; allowed exactly one "
                        "label per image")
    if y.dtype.kind == "f":
        check_finite(y, what)
    return integer_labels(y)


def _checked_shape(image_shape, n_features: int, what: str) -> tuple[int, int]:
    """``image_shape`` stored with the data: two positive whole numbers whose product is the width.

    Only numbers are read: text (``"28"``), booleans or objects are refused, never parsed.
    """
    array = np.asarray(image_shape)
    values = array.ravel().tolist()
    numeric = array.dtype.kind in "iuf" and array.size == 2
    if numeric and array.dtype.kind == "f":
        numeric = bool(np.isfinite(array).all() and (array == np.round(array)).all())
    if not numeric or not all(v > 0 for v in values) or int(values[0]) * int(values[1]) != n_features:
        received = f"{values} (dtype {array.dtype})" if array.dtype.kind not in "iuf" else f"{values}"
        raise DataError(f"{what}: received image_shape {received}; allowed two positive whole numbers "
                        f"(height, width) whose product is the width of X, {n_features}")
    return int(values[0]), int(values[1])


def make_dataset(X, y, *, name: str, source: str, what: str, X_test=None, y_test=None,
                 image_shape=None, notes=None) -> Dataset:
    """Validate arrays and wrap them as a :class:`Dataset`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or (n_samples, height, width)
    y : array-like of shape (n_samples,)
    name, source : str
        See :class:`Dataset`.
    what : str
        Names the input in error messages (file or option).
    X_test, y_test : array-like or None
        A test set given with the data (pre-split sources).
    image_shape : sequence of two int, optional
        Overrides the shape inferred from ``X``.
    notes : list of str, optional
    """
    X, shape = check_images(X, f"{what} X" if X_test is None else f"{what} X_train")
    y = check_labels(y, X.shape[0], f"{what} y" if X_test is None else f"{what} y_train")
    if X_test is not None:
        X_test, _ = check_images(X_test, f"{what} X_test")
        y_test = check_labels(y_test, X_test.shape[0], f"{what} y_test")
        if X_test.shape[1] != X.shape[1]:
            raise DataError(f"{what}: X_train has {X.shape[1]} features per image but X_test has "
                            f"{X_test.shape[1]}; allowed the same width for both")
        if y.dtype.kind != y_test.dtype.kind:
            # "3" and 3 would never match as classes; make both sides strings.
            y, y_test = y.astype(str), y_test.astype(str)
    if image_shape is not None:
        shape = _checked_shape(image_shape, X.shape[1], what)
    return Dataset(X=X, y=y, image_shape=shape, name=name, source=source, X_test=X_test,
                   y_test=y_test, notes=list(notes or []))
