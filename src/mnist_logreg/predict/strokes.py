"""Stroke width: measured on the training images when the framing is fitted, matched on a picture.

A pen's stroke is often far thinner, relative to the digit, than MNIST's (QA: a stroke 2 % of the
digit's box, common for a ballpoint, was labelled right 30 % of the time against 93 % at MNIST's
11 %). The width of a stroke is twice the distance from its middle (the ridge of the distance
transform of the ink above half its peak) to its edge, less one pixel, so a stroke ``k`` pixels wide
measures ``k``; it is expressed as a share of the ink box's longer side, which framing preserves.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["stroke_share", "training_stroke_share", "thicken", "THICKEN_BELOW"]

#: A picture's strokes are thickened when thinner than this share of the training strokes.
THICKEN_BELOW = 0.75


def _ridge_widths(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The strokes' middles (the ridge of the distance transform of ``mask``) and the width at each."""
    dt = ndimage.distance_transform_edt(mask)
    ridge = mask & (dt >= ndimage.maximum_filter(dt, size=3))
    return ridge, 2.0 * dt[ridge] - 1.0


def stroke_share(ink: np.ndarray, box: tuple) -> float:
    """Median stroke width of ``ink`` (>= 0, shape (height, width)) over the longer side of ``box``."""
    top, bottom, left, right = box
    crop = ink[top:bottom + 1, left:right + 1]
    if crop.size == 0 or crop.max() <= 0:
        return float("nan")
    _, widths = _ridge_widths(np.pad(crop >= 0.5 * np.quantile(crop[crop > 0], 0.99), 1))
    return float(np.median(widths)) / max(bottom - top + 1, right - left + 1) if widths.size else float("nan")


def training_stroke_share(norm: np.ndarray, box_long: np.ndarray) -> float:
    """Median stroke share of training images ``norm`` (n, h, w; ink in [0, 1] of each image's peak).

    The images are stacked into one tall picture, a background row between each, so one distance
    transform serves them all.
    """
    n, h, w = norm.shape
    stack = np.zeros((n, h + 1, w), dtype=bool)
    stack[:, :h] = norm >= 0.5
    ridge, widths = _ridge_widths(stack.reshape(n * (h + 1), w))
    image_of = np.nonzero(ridge)[0] // (h + 1)
    per_image = ndimage.median(widths, image_of, index=np.arange(n))
    per_image = np.asarray(per_image, dtype=np.float64) / np.maximum(box_long, 1.0)
    per_image = per_image[np.isfinite(per_image)]
    return float(np.median(per_image)) if per_image.size else float("nan")


def thicken(ink: np.ndarray, box: tuple, target: float) -> tuple[np.ndarray, tuple]:
    """``ink`` with strokes widened towards ``target`` (share of the box's longer side), and its new box.

    Strokes thinner than :data:`THICKEN_BELOW` of ``target`` are widened by a grey dilation with a
    disc, on each side by half the missing width; the box grows by as much. Others pass unchanged.
    """
    if not 0 < target < 1:  # also NaN: no training stroke width measured (or an older model file)
        return ink, box
    share = stroke_share(ink, box)
    if not np.isfinite(share) or share >= THICKEN_BELOW * target:
        return ink, box
    top, bottom, left, right = box
    long_side = max(bottom - top + 1, right - left + 1)
    radius = int(round((target - share) * long_side / 2.0))
    if radius < 1:
        return ink, box
    r = np.arange(-radius, radius + 1)
    disc = r[:, None] ** 2 + r[None, :] ** 2 <= radius ** 2
    pad = radius + 1
    wide = ndimage.grey_dilation(np.pad(ink, pad), footprint=disc)
    box = (top - radius + pad, bottom + radius + pad, left - radius + pad, right + radius + pad)
    return wide, box
