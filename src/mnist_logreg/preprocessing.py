"""Pixel scaling as a scikit-learn transformer, so a saved model scales new images itself."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .choices import DTYPES, SCALES, check_scale

__all__ = ["SCALES", "DTYPES", "check_scale", "scale_factor", "scale_pixels", "PixelScaler"]

def scale_pixels(X, factor: float, dtype) -> np.ndarray:
    """``X`` in ``dtype`` times ``factor``: what the model sees, in the sweep and in the pipeline alike."""
    dtype = np.dtype(dtype)
    return np.asarray(X, dtype=dtype) * dtype.type(factor)


def scale_factor(X: np.ndarray, scale: str) -> float:
    """The factor that ``--scale`` applies to ``X``.

    ``auto`` divides integer pixels by 255 and leaves floats unchanged; ``255`` always divides by
    255; ``none`` never scales.
    """
    scale = check_scale(scale)
    if scale == "none":
        return 1.0
    if scale == "255":
        return 1.0 / 255.0
    return 1.0 / 255.0 if np.asarray(X).dtype.kind in "iub" else 1.0


class PixelScaler(TransformerMixin, BaseEstimator):
    """Multiply pixels by a fixed factor and cast; remembers the image shape for ``predict``.

    Parameters
    ----------
    factor : float, default=1/255
    image_shape : tuple of int or None
        ``(height, width)`` of the images the model was trained on.
    dtype : {"float64", "float32"}
    pixel_max : float, default=255.0
        The raw value of a full-intensity pixel in the training data (255 for 8-bit images, 1.0 for
        data loaded as floats in [0, 1]); ``predict`` maps 8-bit image files onto this range.
    """

    def __init__(self, factor: float = 1.0 / 255.0, image_shape=None, dtype: str = "float64",
                 pixel_max: float = 255.0):
        self.factor = factor
        self.image_shape = image_shape
        self.dtype = dtype
        self.pixel_max = pixel_max

    def fit(self, X, y=None):
        validate_data(self, X, dtype=None, reset=True)
        return self

    def transform(self, X):
        check_is_fitted(self, "n_features_in_")
        X = validate_data(self, X, dtype=None, reset=False)
        return scale_pixels(X, self.factor, self.dtype)
