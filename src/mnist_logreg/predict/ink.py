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

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from ..errors import DataError
from .pieces import KEEP_NEAR_MASS, SURROUNDINGS_MIN_SIDE, choose_pieces

__all__ = ["Ink", "find_ink", "BOX_LEVEL"]

#: Fraction of an image's ink peak that counts as "in the box": the same rule measures the training
#: images' boxes (framing.py) and a picture's box here, so the two agree.
BOX_LEVEL = 0.25
#: Ink whose peak is weaker than this (grey levels, picture in [0, 1]) or than 8 noise deviations is "nothing".
MIN_CONTRAST = 0.04


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
    left_out : dict
        ``{reason: mass}`` of ink left out as the picture's surroundings (see :mod:`.pieces`).
    mass_kept : float
        Mass of the kept ink (same units, on the blurred ink the pieces were found on).
    beside : int
        Separate similar pieces standing side by side (more than 1: several digits).
    """

    ink: np.ndarray
    box: tuple[int, int, int, int]
    peak: float
    polarity: int
    left_out: dict = field(default_factory=dict)
    mass_kept: float = 0.0
    beside: int = 1


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
    noise and the picture as blank. Both directions are measured and the quieter one counts: in an
    8 x 8 digit most pairs along a row straddle a stroke's edge, fewer along a column (QA: 41 of 300
    of sklearn's digits read as blank).
    """
    quartiles = [float(np.quantile(np.abs(np.diff(grey, axis=axis)), 0.25))
                 for axis in (0, 1) if grey.shape[axis] > 1]
    return max(min(quartiles) / 0.4506, 1e-3) if quartiles else 1e-3


def _fit_surface(values, A, level: float, use: np.ndarray):
    """Quadratic fitted robustly from a flat start at ``level`` on ``use``; (coefficients, inlier share)."""
    coef = np.zeros(6)
    coef[0] = level
    residual = values - level
    sigma = max(_robust_sigma(residual[use]), 1e-3)
    for _ in range(5):
        sigma = max(_robust_sigma(residual[use]), 1e-3)
        use = np.abs(residual) <= 3.0 * sigma
        if use.sum() < 12:
            break
        # Normal equations (6 x 6), with a small ridge for the degenerate cases (a few border rows).
        gram = A[use].T @ A[use] + 1e-9 * np.eye(6)
        coef = np.linalg.solve(gram, A[use].T @ values[use])
        residual = values - A @ coef
    return coef, float(np.mean(np.abs(residual) <= 3.0 * sigma))


def page_surface(grey: np.ndarray) -> np.ndarray:
    """The page under the picture: a quadratic surface fitted robustly, shape (height, width).

    It starts flat at the median of a band along the border, then is refitted a few times on the
    pixels within three deviations of it (the deviation of those residuals, by their median): ink
    is left out as long as the page holds most of the border. When that surface holds less than
    half the picture, the border was not the page (a sheet on a desk): the fit is started again
    from the grey level most pixels are near, and the surface holding more pixels is the page.
    Not in pictures smaller than :data:`~.pieces.SURROUNDINGS_MIN_SIDE`: there the item may fill
    most of the picture (Fashion-MNIST), and the border is the page.
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
    if not border.any():
        border = np.ones_like(values, dtype=bool)
    coef, share = _fit_surface(values, A, float(np.median(values[border])), border)
    if share < 0.5 and min(h, w) >= SURROUNDINGS_MIN_SIDE:
        # The window mode: the level with the most pixels within +-1/32 of it.
        counts, edges = np.histogram(values, bins=256, range=(0.0, 1.0))
        counts = np.convolve(counts, np.ones(17), mode="same")
        level = float(edges[int(np.argmax(counts))] + 0.5 / 256)
        other, other_share = _fit_surface(values, A, level, np.abs(values - level) <= 1 / 32)
        if other_share > share:
            coef = other
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
    # The strongest contrast of any piece standing out from the noise, specks aside: a quantile of
    # the whole picture read a digit covering less than 0.1 % of it as blank (QA: 84 px in 3000 x 2000).
    labels, count = ndimage.label(amount > beyond, structure=np.ones((3, 3)))
    top = 0.0
    if count:
        index = np.arange(1, count + 1)
        mass = ndimage.sum_labels(amount, labels, index=index)
        peaks = ndimage.maximum(amount, labels, index=index)
        top = float(np.max(np.asarray(peaks)[mass >= KEEP_NEAR_MASS * mass.max()]))
    floor = max(MIN_CONTRAST, 8.0 * noise)
    if top < floor:
        raise DataError(f"image {name}: no foreground (nothing stands out from the background: strongest contrast "
                        f"{top:.3f} of full scale, below the {floor:.3f} needed (the larger of {MIN_CONTRAST} and 8 "
                        f"times the pixel noise)); allowed a picture with a visible digit or item")
    mask = amount > max(beyond, BOX_LEVEL * top * 0.6)
    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    chosen = choose_pieces(labels, count, amount, surroundings=min(grey.shape) >= SURROUNDINGS_MIN_SIDE)
    kept = chosen.kept
    # Keep the soft edges of the kept strokes (a little beyond the mask), nothing else.
    region = ndimage.binary_dilation(kept, iterations=max(1, int(round(2 * blur))))
    ink = np.where(region, np.clip(polarity * residual, 0, None), 0.0)
    # The box and peak are read on the ink itself, barely smoothed: the blur above widens a stroke
    # by about its deviation on each side, which shrank small digits in large pictures when framed.
    fine = ndimage.gaussian_filter(ink, min(blur, 1.0))
    peak = float(np.quantile(fine[kept], 0.99))
    inside = (fine >= BOX_LEVEL * peak) & region
    if not inside.any():
        inside = kept
    rows = np.flatnonzero(inside.any(axis=1))
    cols = np.flatnonzero(inside.any(axis=0))
    return Ink(ink=ink, box=(int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])), peak=peak, polarity=polarity,
               left_out=chosen.left_out, mass_kept=chosen.mass_kept, beside=chosen.beside)
