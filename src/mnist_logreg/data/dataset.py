"""The loaded data set: raw images as rows, labels, and where they came from."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Dataset"]


@dataclass
class Dataset:
    """Images as flat rows plus labels, before scaling and splitting.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
        Pixels as loaded: uint8 for image files, float for sources that give floats.
    y : ndarray of shape (n_samples,)
        Labels (integers or strings).
    image_shape : tuple of int (height, width)
        ``height * width == n_features``.
    name : str
        The ``--dataset`` value that produced it (``"mnist"``, ``"idx:/data/x"``...).
    source : str
        Where the arrays really came from, in words (recorded in run.json and the report).
    X_test, y_test : ndarray or None
        Set when the source comes pre-split (``npz`` with ``X_train``/``X_test``): then ``X, y`` are
        the training arrays and these are used as the test set as given.
    notes : list of str
        Warnings the loader raised for the user (e.g. a fallback), shown in the report.
    """

    X: np.ndarray
    y: np.ndarray
    image_shape: tuple[int, int]
    name: str
    source: str
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def presplit(self) -> bool:
        return self.X_test is not None

    @property
    def n_samples(self) -> int:
        return self.X.shape[0] + (0 if self.X_test is None else self.X_test.shape[0])

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    def all_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Every image and label loaded, training then test when pre-split."""
        if self.X_test is None:
            return self.X, self.y
        return np.concatenate([self.X, self.X_test]), np.concatenate([self.y, self.y_test])

    def sha256(self) -> str:
        """A digest of the arrays (values, dtypes and shapes), to recognise the same data later."""
        digest = hashlib.sha256()
        for array in (self.X, self.y, self.X_test, self.y_test):
            if array is None:
                digest.update(b"-")
                continue
            array = np.ascontiguousarray(array)
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            if array.dtype.kind in "OUS":
                digest.update("\x00".join(map(str, array.ravel())).encode())
            else:
                digest.update(array.tobytes())
        return digest.hexdigest()

    def summary(self) -> dict:
        """JSON-ready description for run.json."""
        return {
            "name": self.name,
            "source": self.source,
            "n_samples": int(self.n_samples),
            "n_features": int(self.n_features),
            "image_shape": list(self.image_shape),
            "presplit": self.presplit,
            "dtype": self.X.dtype.name,
            "sha256": self.sha256(),
        }
