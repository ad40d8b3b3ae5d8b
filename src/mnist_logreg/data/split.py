"""Scale and split a :class:`~mnist_logreg.data.Dataset` into training and test arrays."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from .dataset import Dataset
from ..errors import DataError, DataSourceWarning, UsageError
from ..choices import check_dtype, parse_size
from ..preprocessing import scale_factor, scale_pixels

__all__ = ["Split", "parse_size", "split_dataset"]


@dataclass
class Split:
    """Scaled training and test arrays with labels encoded as class codes.

    Attributes
    ----------
    X_train : ndarray of shape (n_train, n_features)
    X_test : ndarray of shape (n_test, n_features)
    y_train, y_test : ndarray of shape (n_train,), (n_test,)
        Original labels.
    classes : ndarray of shape (n_classes,)
        Sorted distinct training labels; ``code[i]`` of a sample is the index of its label here.
    factor : float
        The pixel scaling applied (``X_train = X_train_raw * factor``).
    image_shape : tuple of int
    X_train_raw, X_test_raw : ndarray
        The same rows before scaling, as loaded (what a saved pipeline takes as input).
    """

    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    classes: np.ndarray
    factor: float
    image_shape: tuple[int, int]
    X_train_raw: np.ndarray | None = None
    X_test_raw: np.ndarray | None = None

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def codes(self, y: np.ndarray) -> np.ndarray:
        """Class codes ``0..n_classes-1`` for labels ``y`` (every label must be a training class)."""
        return np.searchsorted(self.classes, y)

    @property
    def y_train_codes(self) -> np.ndarray:
        return self.codes(self.y_train)

    @property
    def y_test_codes(self) -> np.ndarray:
        return self.codes(self.y_test)


def _check_8bit(ds: Dataset) -> None:
    """``--scale auto`` reads integer pixels as 8-bit (0..255); other integers would be scaled wrong."""
    parts = [ds.X] + ([ds.X_test] if ds.X_test is not None else [])
    low, high = min(int(p.min()) for p in parts), max(int(p.max()) for p in parts)
    if low < 0 or high > 255:
        raise DataError(f"{ds.name}: integer pixels range from {low} to {high}; allowed 0..255 with --scale auto "
                        "(8-bit images): pass --scale none to use them as they are, or store them as 8-bit")


def _warn_unscaled_floats(ds: Dataset) -> None:
    """``--scale auto`` leaves float pixels as they are; floats above 1 are most likely 8-bit values
    saved as floats, on which every C means a penalty 255 times weaker than on 0..1 pixels (and
    weak L1 rows are the slowest to fit). Said once, in one line; ``--scale none`` or ``255`` silence it."""
    parts = [ds.X] + ([ds.X_test] if ds.X_test is not None else [])
    high = max(float(np.max(p)) if p.size else 0.0 for p in parts)
    if high > 1.0:
        warnings.warn(f"{ds.name}: float pixels range up to {high:g}; --scale auto leaves float pixels as they "
                      "are, so each C is a much weaker penalty than on 0..1 pixels and L1 rows fit slowly: pass "
                      "--scale 255 if they are 8-bit values, or --scale none to keep them (and this warning quiet)",
                      DataSourceWarning, stacklevel=3)


def _count(size, n: int) -> int:
    return int(np.floor(size * n)) if isinstance(size, float) else size


def split_dataset(ds: Dataset, train_size=1500, test_size=1000, *, seed: int = 42,
                  scale: str = "auto", dtype="float64") -> Split:
    """Scale pixels and make a stratified train/test split of exactly the requested sizes.

    Parameters
    ----------
    ds : Dataset
    train_size, test_size : int or float
        Counts, or fractions of the whole data set. Ignored when ``ds`` comes pre-split.
    seed : int
        ``random_state`` of the split.
    scale : {"auto", "255", "none"}
    dtype : {"float64", "float32"}

    Returns
    -------
    Split
    """
    dtype = check_dtype(dtype)
    train_size = parse_size(train_size, "--train-size")
    test_size = parse_size(test_size, "--test-size")
    factor = scale_factor(ds.X, scale)
    if str(scale) == "auto" and ds.X.dtype.kind in "iu":
        _check_8bit(ds)
    elif str(scale) == "auto" and ds.X.dtype.kind == "f":
        _warn_unscaled_floats(ds)
    if ds.presplit:
        X_train, y_train, X_test, y_test = ds.X, ds.y, ds.X_test, ds.y_test
    else:
        n = ds.X.shape[0]
        n_train, n_test = _count(train_size, n), _count(test_size, n)
        if n_train + n_test > n:
            raise UsageError(f"--train-size/--test-size: {n_train} + {n_test} = {n_train + n_test} samples "
                             f"requested but {ds.name} has {n}; allowed at most {n} together")
        _check_classes(ds.y, n_train, n_test, ds.name)
        X_train, X_test, y_train, y_test = train_test_split(
            ds.X, ds.y, train_size=n_train, test_size=n_test, stratify=ds.y, random_state=seed)
    classes = np.unique(y_train)
    if len(classes) < 2:
        raise DataError(f"training labels: found {len(classes)} class ({classes.tolist()}); "
                        "at least 2 classes are needed")
    unseen = np.setdiff1d(np.unique(y_test), classes)
    if unseen.size:
        raise DataError(f"test labels: classes {unseen.tolist()[:10]} do not occur in the training set; "
                        f"allowed only the training classes {classes.tolist()[:20]}")
    return Split(
        X_train=scale_pixels(X_train, factor, dtype), X_test=scale_pixels(X_test, factor, dtype),
        y_train=np.asarray(y_train), y_test=np.asarray(y_test),
        classes=classes, factor=factor, image_shape=tuple(ds.image_shape),
        X_train_raw=X_train, X_test_raw=X_test)


def _check_classes(y: np.ndarray, n_train: int, n_test: int, name: str) -> None:
    """A stratified split needs every class at least once on each side."""
    labels, counts = np.unique(y, return_counts=True)
    if len(labels) < 2:
        raise DataError(f"{name}: labels hold {len(labels)} class; at least 2 classes are needed")
    rarest = int(counts.argmin())
    if counts[rarest] < 2:
        raise DataError(f"{name}: class {labels[rarest].item()!r} has {counts[rarest]} sample; a stratified split "
                        "needs at least 2 per class (one for training, one for testing)")
    if min(n_train, n_test) < len(labels):
        raise UsageError(f"--train-size/--test-size: {n_train}/{n_test} samples cannot hold all "
                         f"{len(labels)} classes of {name}; allowed at least {len(labels)} each")
