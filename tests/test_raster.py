"""The report's grid-like figures drawn with Pillow (mnist_logreg.report.raster), read back as pixels.

Expected colours are recomputed here from the ramps' anchor colours by plain linear interpolation,
and expected places from the data (which class, which cell), never from the drawing code's layout.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from mnist_logreg.report import raster

RED, BLUE_END, WHITE = (170, 28, 42), (38, 84, 170), (255, 255, 255)


def _pixels(png: bytes) -> np.ndarray:
    assert png.startswith(b"\x89PNG")
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def _where(pixels: np.ndarray, colour) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the pixels of exactly ``colour``."""
    return np.nonzero((pixels == np.array(colour, dtype=np.uint8)).all(axis=2))


def test_weight_images_put_each_class_weight_in_its_panel_on_one_scale():
    coef = np.zeros((10, 64))
    coef[0, 9] = 2.0    # class 0: the largest weight, the red end of the scale
    coef[6, 30] = -1.0  # class 6 (second row): half the largest, negative
    pixels = _pixels(raster.weight_images(coef, (8, 8), range(10)))
    # -1 / 2 = -0.5 on the scale: between the anchors -1 (38, 84, 170) and -0.45 (150, 190, 226),
    # at fraction 0.5 / 0.55 of the way.
    f = 0.5 / 0.55
    half_blue = tuple(int(round(a + f * (b - a))) for a, b in zip(BLUE_END, (150, 190, 226)))
    body = pixels[:, : pixels.shape[1] - 90]  # the panels, without the colour bar on the right
    red_rows, red_cols = _where(body, RED)
    blue_rows, blue_cols = _where(body, half_blue)
    assert len(red_rows) and len(blue_rows)
    height, width = body.shape[:2]
    # Class 0 is top-left of a 2 x 5 grid, class 6 bottom row, second column.
    assert red_rows.max() < height / 2 and red_cols.max() < width / 5
    assert blue_rows.min() > height / 2 and width / 5 < blue_cols.min() and blue_cols.max() < 2 * width / 5
    # Everything else in the panels is a zero weight: white (or the frame, the titles).
    assert not _where(body, BLUE_END)[0].size


def test_weight_images_refuse_a_wrong_shape_or_labels():
    coef = np.zeros((3, 64))
    with pytest.raises(ValueError, match="coef"):
        raster.weight_images(coef, (5, 16), ["a", "b", "c"])
    with pytest.raises(ValueError, match="classes"):
        raster.weight_images(coef, (8, 8), ["a", "b"])
    assert raster.weight_images(coef, (8, 8), ["a", "b", "c"]).startswith(b"\x89PNG")  # all zero: still drawn


def test_sample_images_show_the_darkest_pixels_of_the_chosen_images():
    X = np.zeros((30, 16))
    X[:, 0] = 255  # every image: its first pixel (top-left) black, the rest white
    pixels = _pixels(raster.sample_images(X, np.arange(30) % 10, (4, 4), n=10, seed=1))
    rows, cols = _where(pixels, (0, 0, 0))
    assert len(rows)
    # One black block per image: ten distinct blocks along one row of panels.
    starts = np.flatnonzero(np.diff(np.unique(cols)) > 1)
    assert len(starts) + 1 == 10


def test_auc_heatmaps_colour_the_extremes_and_leave_missing_cells_grey():
    train = pd.DataFrame([[0.5, 0.9, np.nan], [0.7, 0.99, 0.95]], index=["l1", "l2"],
                         columns=["1e-02", "1e-01", "no penalty"])
    test = train - 0.01
    pixels = _pixels(raster.auc_heatmaps((train, test)))
    low, high = (52, 30, 98), (246, 226, 80)  # the sequential ramp's ends: 0.49 (test) and 0.99 (train)
    assert _where(pixels, high)[0].size and _where(pixels, low)[0].size
    # The highest value is a train cell (top half), the lowest a test cell (bottom half).
    half = pixels.shape[0] / 2
    body = pixels[:, : pixels.shape[1] - 100]
    assert _where(body, high)[0].max() < half < _where(body, low)[0].min()
    assert _where(body, (235, 235, 235))[0].size  # the missing "no penalty" cell of l1


def test_confusion_matrix_is_dark_on_the_diagonal_when_every_label_is_right():
    y = np.repeat(np.arange(5), 20)
    right = _pixels(raster.confusion_matrix(y, y, list(range(5))))
    shifted = _pixels(raster.confusion_matrix(y, (y + 1) % 5, list(range(5))))
    dark = (22, 64, 140)  # the counts ramp's end: the largest count (20 in every full cell)
    rows, cols = _where(right, dark)
    # Square cells on the diagonal: column - row stays within +- one cell (a cell is under a fifth of
    # the width), where the five cells of a row would span the whole width.
    assert len(rows) and (cols - rows).max() - (cols - rows).min() < 2 * right.shape[1] / 5
    # Every image labelled as the next class: the dark cells move one column right (but the wrap-around
    # 4 -> 0), so the median of column - row grows.
    rows_s, cols_s = _where(shifted, dark)
    assert np.median(cols_s - rows_s) > np.median(cols - rows) + right.shape[1] / 20


@pytest.mark.parametrize("n_features", [785, 1601])
def test_grids_of_non_square_data_stay_small(n_features):
    shape = (1, n_features)
    rng = np.random.default_rng(0)
    X, y = rng.integers(0, 256, size=(40, n_features)), np.arange(40) % 10
    for png in (raster.sample_images(X, y, shape), raster.weight_images(rng.normal(size=(10, n_features)), shape,
                                                                         range(10)),
                raster.confusion_matrix(y, y, list(range(60)))):
        width, height = Image.open(io.BytesIO(png)).size
        assert width <= 1200 and height <= 1200
        assert len(png) < 500_000


def test_ramp_interpolates_between_anchors():
    np.testing.assert_array_equal(raster.ramp([-1.0, 0.0, 1.0, 2.0], "diverging"), [BLUE_END, WHITE, RED, RED])
    np.testing.assert_allclose(raster.ramp([0.5], "counts"), [[(255 + 22) / 2, (255 + 64) / 2, (255 + 140) / 2]],
                               atol=0.5)


def test_label_histograms_bar_heights_follow_the_class_counts():
    y_train = np.repeat(np.arange(4), [10, 40, 20, 30])
    pixels = _pixels(raster.label_histograms(y_train, np.arange(4)))
    rows, cols = _where(pixels, (49, 119, 180))  # the train bars' colour
    heights = np.bincount(cols)
    bars = [heights[c] for c in np.unique(cols)]
    # Four bars, left to right in class order; each column of a bar as tall as its count allows.
    tops = sorted(set(bars), key=bars.index)
    assert len(tops) == 4
    np.testing.assert_allclose(np.array(tops) / max(tops), np.array([10, 40, 20, 30]) / 40, atol=0.02)
