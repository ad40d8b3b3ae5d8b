"""Finding the ink of a picture: what stands out from its (possibly uneven) page, specks left out.

The page is modelled as a smooth surface, a quadratic in the pixel coordinates, which follows a
lighting gradient or a vignette but not a stroke. It is fitted robustly: first on a band along the
border (a photographed digit or garment rarely fills the border), then on every pixel within three
noise deviations of the current surface, a few times. What remains, ``picture - page``, is ink on one
side of zero (dark ink on a light page is negative); its sign is the side holding more mass beyond
the noise. Connected pieces of ink are kept by their mass, so a speck or a JPEG artefact never
becomes the subject.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..errors import DataError

__all__ = ["Ink", "find_ink", "BOX_LEVEL"]

#: Fraction of an image's ink peak that counts as "in the box": the same rule measures the training
#: images' boxes (framing.py) and a picture's box here, so the two agree.
BOX_LEVEL = 0.25
#: Ink whose peak is weaker than this (grey levels, picture in [0, 1]) or than 8 noise deviations is "nothing".
MIN_CONTRAST = 0.04
#: Pieces of ink lighter than this fraction of the heaviest piece are specks...
KEEP_MASS = 0.15
#: ...unless they are at least this heavy and touch the heaviest piece's box (a detached stroke).
KEEP_NEAR_MASS = 0.02


@dataclass
class Ink:
    """Ink of a picture, on its own (page removed, specks removed).

    Attributes
    ----------
    ink : ndarray of shape (height, width)
        Ink amount, >= 0, in grey levels of the picture; zero off the kept pieces.
    box : tuple of int
        ``(top, bottom, left, right)``, inclusive, of the pixels at or above ``BOX_LEVEL * peak``.
    peak : float
        The ink's robust peak (99th percentile of the kept pieces).
    polarity : int
        +1 for light ink on a dark page, -1 for dark ink on a light page.
    """

    ink: np.ndarray
    box: tuple[int, int, int, int]
    peak: float
    polarity: int


def _coordinates(rows, cols, shape):
    """Pixel coordinates mapped to [-1, 1], so the surface's coefficients are well scaled."""
    return 2.0 * rows / max(shape[0] - 1, 1) - 1.0, 2.0 * cols / max(shape[1] - 1, 1) - 1.0


def _surface(coef, y, x):
    """``c0 + c1 x + c2 y + c3 x^2 + c4 x y + c5 y^2`` (broadcasts)."""
    return coef[0] + coef[1] * x + coef[2] * y + coef[3] * x * x + coef[4] * x * y + coef[5] * y * y


def _robust_sigma(residual: np.ndarray) -> float:
    return float(1.4826 * np.median(np.abs(residual - np.median(residual))))


def pixel_noise(grey: np.ndarray) -> float:
    """Deviation of the pixel noise, from neighbours' differences (strokes and gradients barely move it).

    For independent noise of deviation s, the difference ``d`` of two neighbours has deviation
    ``s sqrt(2)``, and the lower quartile of ``|d|`` is ``0.4506 s``. The quartile, not the median,
    ignores the differences that straddle an edge as long as three quarters of them do not: a tight
    crop of a bold digit is edges in about half its pairs, which made the median read the strokes as
    noise and the picture as blank.
    """
    d = np.abs(np.diff(grey, axis=1).ravel())
    return max(float(np.quantile(d, 0.25)) / 0.4506, 1e-3) if d.size else 1e-3


def page_surface(grey: np.ndarray) -> np.ndarray:
    """The page under the picture: a quadratic surface fitted robustly, shape (height, width).

    It starts flat at the median of a band along the border, then is refitted a few times on the
    pixels within three deviations of it (the deviation of those residuals, by their median): ink
    is left out as long as the page holds most of the border.
    """
    h, w = grey.shape
    band = max(1, min(h, w) // 16)
    # Fit on at most ~5k pixels: a surface with 6 coefficients needs no more.
    stride = max(1, int(np.sqrt(h * w / 5_000)))
    rows, cols = np.mgrid[0:h:stride, 0:w:stride]
    rows, cols = rows.ravel(), cols.ravel()
    values = grey[rows, cols]
    y, x = _coordinates(rows, cols, grey.shape)
    A = np.column_stack([np.ones_like(x), x, y, x * x, x * y, y * y])
    border = (rows < band) | (rows >= h - band) | (cols < band) | (cols >= w - band)
    coef = np.zeros(6)
    coef[0] = np.median(values[border]) if border.any() else np.median(values)
    residual = values - coef[0]
    use = border
    for _ in range(5):
        sigma = max(_robust_sigma(residual[use]), 1e-3)
        use = np.abs(residual) <= 3.0 * sigma
        if use.sum() < 12:
            break
        # Normal equations (6 x 6), with a small ridge for the degenerate cases (a few border rows).
        gram = A[use].T @ A[use] + 1e-9 * np.eye(6)
        coef = np.linalg.solve(gram, A[use].T @ values[use])
        residual = values - A @ coef
    y, x = _coordinates(np.arange(h)[:, None], np.arange(w)[None, :], grey.shape)
    return _surface(coef, y, x)


def find_ink(grey: np.ndarray, name: str = "image") -> Ink:
    """The ink of ``grey`` (shape (height, width), values in [0, 1]); DataError when there is none.

    Parameters
    ----------
    grey : ndarray of shape (height, width)
    name : str
        How the picture is named in the error (its file).
    """
    residual = grey - page_surface(grey)
    sigma = pixel_noise(grey)
    # A light blur joins broken strokes and quiets pixel noise before pieces are found.
    blur = max(0.5, min(grey.shape) / 150.0)
    smooth = ndimage.gaussian_filter(residual, blur)
    noise = sigma / max(1.0, np.sqrt(2 * np.pi) * blur)  # deviation left after the blur
    beyond = 4.0 * noise
    positive = float(np.clip(smooth - beyond, 0, None).sum())
    negative = float(np.clip(-smooth - beyond, 0, None).sum())
    polarity = 1 if positive >= negative else -1
    amount = np.clip(polarity * smooth, 0, None)
    top = float(np.quantile(amount, 0.999)) if amount.size >= 1000 else float(amount.max())
    if top < max(MIN_CONTRAST, 8.0 * noise):
        raise DataError(f"image {name}: no foreground (nothing stands out from the background: strongest contrast "
                        f"{top:.3f} of full scale); allowed a picture with a visible digit or item")
    mask = amount > max(beyond, BOX_LEVEL * top * 0.6)
    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    mass = ndimage.sum_labels(amount, labels, index=np.arange(1, count + 1))
    heaviest = int(np.argmax(mass))
    boxes = ndimage.find_objects(labels)
    main = boxes[heaviest]
    grow_r = (main[0].stop - main[0].start) // 4 + 1
    grow_c = (main[1].stop - main[1].start) // 4 + 1
    keep = np.zeros(count + 1, dtype=bool)
    for i, (rows, cols) in enumerate(boxes):
        near = (rows.start <= main[0].stop + grow_r and rows.stop >= main[0].start - grow_r
                and cols.start <= main[1].stop + grow_c and cols.stop >= main[1].start - grow_c)
        keep[i + 1] = mass[i] >= KEEP_MASS * mass[heaviest] or (near and mass[i] >= KEEP_NEAR_MASS * mass[heaviest])
    kept = keep[labels]
    # Keep the soft edges of the kept strokes (a little beyond the mask), nothing else.
    region = ndimage.binary_dilation(kept, iterations=max(1, int(round(2 * blur))))
    ink = np.where(region, np.clip(polarity * residual, 0, None), 0.0)
    peak = float(np.quantile(amount[kept], 0.99))
    inside = (amount >= BOX_LEVEL * peak) & kept
    if not inside.any():
        inside = kept
    rows = np.flatnonzero(inside.any(axis=1))
    cols = np.flatnonzero(inside.any(axis=0))
    return Ink(ink=ink, box=(int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])), peak=peak, polarity=polarity)
