"""Applying a saved model to image files (PNG, JPEG, NPY) of any size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .atomic import plain
from .errors import DataError

__all__ = ["IMAGE_SUFFIXES", "read_image", "prepare_image", "predict_images"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".npy")


def read_image(path) -> np.ndarray:
    """Read an image file as a 2-D float array of grey levels in [0, 255].

    PNG/JPEG go through Pillow (converted to grey); ``.npy`` holds a (h, w) or (h, w, channels)
    array, with values in [0, 1] or [0, 255].
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"image {path}: not found; allowed PNG, JPEG or NPY files")
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise DataError(f"image {path}: unsupported type {suffix or '(none)'!r}; allowed {', '.join(IMAGE_SUFFIXES)}")
    if suffix == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise DataError(f"image {path}: not a readable .npy array ({error})") from None
        if array.ndim == 3 and array.shape[2] in (1, 3, 4):
            array = array[..., :3].mean(axis=2)
        if array.ndim != 2 or array.dtype.kind not in "iufb":
            raise DataError(f"image {path}: array of shape {array.shape} and dtype {array.dtype}; allowed a numeric "
                            "(height, width) or (height, width, channels) array")
        array = array.astype(np.float64)
        if not np.all(np.isfinite(array)):
            raise DataError(f"image {path}: holds {int(np.sum(~np.isfinite(array)))} NaN or infinite values; "
                            "allowed finite grey levels")
        if array.size and array.max() <= 1.0:
            array = array * 255.0
        return np.clip(array, 0, 255)
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("L"), dtype=np.float64)
    except (UnidentifiedImageError, OSError) as error:
        raise DataError(f"image {path}: cannot be decoded as an image ({error.__class__.__name__}); "
                        "allowed PNG, JPEG or NPY files") from None


def prepare_image(grey: np.ndarray, image_shape: tuple[int, int], pixel_max: float = 255.0) -> np.ndarray:
    """Bring a grey image to the model's input: light strokes on a dark ground, resized, flattened.

    The background is taken to be the median of the border pixels; when it is light, the image is
    inverted (MNIST digits are white on black). The image is then resized to ``image_shape``
    (area averaging when shrinking) and mapped to ``[0, pixel_max]``.

    Returns
    -------
    ndarray of shape (height * width,)
    """
    if grey.ndim != 2 or min(grey.shape) < 2:
        raise DataError(f"image of shape {grey.shape}: cannot be brought to {image_shape}; allowed 2-D images")
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if np.median(border) > 127.5:
        grey = 255.0 - grey
    height, width = image_shape
    if grey.shape != (height, width):
        image = Image.fromarray(grey.astype(np.float32), mode="F")
        shrinking = grey.shape[0] >= height and grey.shape[1] >= width
        image = image.resize((width, height), Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR)
        grey = np.asarray(image, dtype=np.float64)
    return np.clip(grey, 0, 255).ravel() * (pixel_max / 255.0)


def predict_images(model, paths, top: int = 3) -> list[dict]:
    """Label and top-``top`` probabilities for each image file.

    Returns
    -------
    list of dict
        ``{"file", "label", "probabilities"}``, probabilities as ``{label: p}`` for the top classes,
        most probable first.
    """
    scaler = model[0]
    rows = np.stack([prepare_image(read_image(p), tuple(scaler.image_shape), scaler.pixel_max) for p in paths])
    proba = model.predict_proba(rows)
    classes = model.classes_
    out = []
    for path, p in zip(paths, proba):
        order = np.argsort(-p, kind="stable")[:top]
        out.append({"file": str(path), "label": plain(classes[order[0]]),
                    "probabilities": {str(plain(classes[j])): float(p[j]) for j in order}})
    return out
