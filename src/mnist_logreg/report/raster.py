"""The report's grid-like figures drawn straight from arrays to PNG with Pillow, without matplotlib.

Sample digits, weight images, the ROC AUC heatmaps and the confusion matrix are grids of coloured
cells: a pixel of an image, or one number of a table. Here each is an array mapped through a colour
ramp, enlarged with nearest-neighbour resampling and pasted on a white canvas, with the titles, axis
labels and cell values written in Pillow's built-in scalable font. That costs milliseconds per
figure where building and drawing a matplotlib figure of the same content cost 0.5-1.4 CPU seconds
(BENCHMARKS.md, "Report speed"), and the report draws them in every run.

The matplotlib versions in :mod:`.figures` stay the library's figures for notebooks
(``mnist_logreg.figures``); both draw the same data. Every PNG here is at most
:data:`MAX_PIXELS` a side, whatever the images' shape or the grid's size.
"""

from __future__ import annotations

import io
import math
from functools import lru_cache
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .tables import class_counts

__all__ = ["RAMPS", "ramp", "sample_images", "label_histograms", "weight_images", "auc_heatmaps",
           "confusion_matrix", "MAX_PIXELS"]

#: No PNG drawn here is wider or taller than this (the report shows figures at about 1050 px).
MAX_PIXELS = 1200

#: Colour ramps as (position, (r, g, b)) anchors, interpolated linearly in RGB.
#: ``diverging`` (positions -1..1) is the explorer's: blue negative, white zero, red positive.
#: ``sequential`` (0..1, dark violet to teal to yellow) is light where the value is high.
#: ``counts`` (0..1) runs from white to a dark blue.
RAMPS = {
    "diverging": ((-1.0, (38, 84, 170)), (-0.45, (150, 190, 226)), (0.0, (255, 255, 255)),
                  (0.45, (238, 160, 140)), (1.0, (170, 28, 42))),
    "sequential": ((0.0, (52, 30, 98)), (0.5, (36, 142, 140)), (1.0, (246, 226, 80))),
    "counts": ((0.0, (255, 255, 255)), (1.0, (22, 64, 140))),
}
_MISSING = (235, 235, 235)  # a heatmap cell without a value
_TEXT = (20, 20, 20)


def ramp(t: np.ndarray, name: str) -> np.ndarray:
    """Colours of the values ``t`` (any shape) on a ramp of :data:`RAMPS`: uint8 of shape (..., 3).

    Values outside the ramp's positions take the colour of its nearest end.
    """
    anchors = RAMPS[name]
    positions = [a[0] for a in anchors]
    t = np.asarray(t, dtype=np.float64)
    channels = [np.interp(t, positions, [a[1][c] for a in anchors]) for c in range(3)]
    return np.rint(np.stack(channels, axis=-1)).astype(np.uint8)


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _text_size(text: str, size: int) -> tuple[int, int]:
    left, top, right, bottom = _font(size).getbbox(text)
    return int(math.ceil(right - left)), int(math.ceil(bottom - top))


def _write(draw: ImageDraw.ImageDraw, xy, text: str, size: int, anchor: str = "mm", fill=_TEXT) -> None:
    draw.text(xy, text, fill=fill, font=_font(size), anchor=anchor)


def _rotated_text(text: str, size: int) -> Image.Image:
    """``text`` written bottom to top (rotated 90 degrees), on a white tile that fits it."""
    width, height = _text_size(text, size)
    tile = Image.new("RGB", (width + 4, height + 6), "white")
    _write(ImageDraw.Draw(tile), (2, (height + 6) // 2), text, size, anchor="lm")
    return tile.rotate(90, expand=True)


def _png(image: Image.Image) -> bytes:
    if max(image.size) > MAX_PIXELS:
        image.thumbnail((MAX_PIXELS, MAX_PIXELS), Image.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _ink(rgb) -> tuple[int, int, int]:
    """Black or white, whichever reads better on a cell of colour ``rgb`` (by its luminance)."""
    r, g, b = (int(c) for c in rgb)
    return _TEXT if 0.299 * r + 0.587 * g + 0.114 * b > 140 else (255, 255, 255)


# ---- layout helpers (shared with the matplotlib figures) -------------------------------------------
def grid_shape(k: int, max_cols: int = 10) -> tuple[int, int]:
    """Rows and columns of a grid of ``k`` images: one row up to 5, two rows up to 12
    (2 x 5 for the 10 digits), then a near-square grid at most ``max_cols`` wide."""
    if k <= 5:
        return 1, k
    if k <= 12:
        return 2, math.ceil(k / 2)
    ncols = min(max_cols, math.ceil(math.sqrt(k)))
    return math.ceil(k / ncols), ncols


def as_images(X, image_shape: Sequence[int], what: str) -> np.ndarray:
    """Reshape rows of shape (n, h*w) into images of shape (n, h, w), naming ``what`` on error."""
    X = np.asarray(X)
    h, w = (int(s) for s in image_shape)
    if X.ndim != 2 or X.shape[1] != h * w:
        raise ValueError(f"{what}: expected shape (n, {h * w}) for image_shape {(h, w)}, got {X.shape}")
    return X.reshape(len(X), h, w)


def sample_positions(n_images: int, n: int, seed: int) -> np.ndarray:
    """Sorted positions of the ``min(n, n_images)`` images a sample figure shows, drawn without
    replacement: both renderings of the sample figure show the same images."""
    n = min(int(n), n_images)
    return np.sort(np.random.default_rng(seed).choice(n_images, size=n, replace=False))


def weight_scale(images: np.ndarray, classes: Sequence) -> float:
    """``max |weight|``, the end of the weight images' symmetric colour scale (1 for all-zero
    weights, as strong L1 gives, so the scale stays valid and centred); checks one label per image."""
    if len(classes) != len(images):
        raise ValueError(f"classes: expected {len(images)} labels (one per row of coef), got {len(classes)}")
    vmax = float(np.max(np.abs(images))) if images.size else 0.0
    return vmax if vmax > 0 else 1.0


def panel_size(h: int, w: int, side: float) -> tuple[float, float]:
    """Width and height of one image panel of about ``side**2`` square units, whatever the aspect
    ratio ``w / h``: it is clamped to [1/4, 4], so a 1 x 785 image cannot widen the figure."""
    aspect = min(max(w / h, 0.25), 4.0)
    return side * math.sqrt(aspect), side / math.sqrt(aspect)


def _tiles(images: np.ndarray, rgb: np.ndarray, titles: Sequence[str], ncols: int, side: int, title: str,
           title_size: int = 14) -> tuple[Image.Image, int]:
    """Images (``rgb``: (n, h, w, 3) uint8) in a grid of ``ncols``, each titled, under ``title``.
    Returns the canvas and its width without the room left on the right for a colour bar."""
    n, h, w = images.shape[:3]
    pw, ph = (int(round(v)) for v in panel_size(h, w, side))
    gap, label_h, head = 8, 18, 30
    nrows = max(1, math.ceil(n / ncols))
    width = ncols * (pw + gap) + gap
    canvas = Image.new("RGB", (width + 90, head + nrows * (ph + label_h + gap) + gap), "white")
    draw = ImageDraw.Draw(canvas)
    _write(draw, (width // 2, head // 2 + 2), title, title_size)
    for i in range(n):
        r, c = divmod(i, ncols)
        x, y = gap + c * (pw + gap), head + r * (ph + label_h + gap)
        _write(draw, (x + pw // 2, y + label_h // 2), str(titles[i]), 13)
        tile = Image.fromarray(rgb[i]).resize((pw, ph), Image.NEAREST)
        canvas.paste(tile, (x, y + label_h))
        draw.rectangle([x - 1, y + label_h - 1, x + pw, y + label_h + ph], outline=(200, 200, 200))
    return canvas, width


def sample_images(X, y, image_shape, n: int = 20, seed: int = 0) -> bytes:
    """PNG of ``n`` randomly chosen images (the same ones as :func:`.figures.sample_images`), each
    titled with its label and shown on its own grey range (white = its lowest pixel).

    Parameters
    ----------
    X : array-like of shape (n_samples, h * w)
    y : array-like of shape (n_samples,)
    image_shape : (h, w)
    n : int, default 20
    seed : int, default 0
    """
    images = as_images(X, image_shape, "X").astype(np.float64)
    y = np.asarray(y)
    chosen = sample_positions(len(images), n, seed)
    n, images = len(chosen), images[chosen]
    low = images.min(axis=(1, 2), keepdims=True)
    span = images.max(axis=(1, 2), keepdims=True) - low
    grey = 255 - np.rint(255 * (images - low) / np.where(span > 0, span, 1)).astype(np.uint8)
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    pw, _ = panel_size(*images.shape[1:], 84)
    ncols = max(1, min(10, n, math.floor(1100 / (pw + 8))))
    canvas, width = _tiles(images, rgb, [str(v) for v in y[chosen]], ncols, 84,
                           f"{n} random images with their labels")
    return _png(canvas.crop((0, 0, width, canvas.height)))


def label_histograms(y_train, y_test) -> bytes:
    """PNG of the images per class in the training and test sets: two bar charts side by side over
    the same classes, each bar with its count written above it.

    Parameters
    ----------
    y_train, y_test : array-like of shape (n,)
    """
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    classes = np.unique(np.concatenate([y_train, y_test]))
    k = max(len(classes), 1)
    plot_w = int(min(520, max(200, 36 * k)))
    plot_h, left, top, bottom = 220, 52, 44, 46
    canvas = Image.new("RGB", (2 * (left + plot_w + 16), top + plot_h + bottom), "white")
    draw = ImageDraw.Draw(canvas)
    bar_w = plot_w / k
    for part, (y, name, colour) in enumerate(((y_train, "train", (49, 119, 180)), (y_test, "test", (240, 130, 40)))):
        x0 = part * (left + plot_w + 16) + left
        counts = np.array([np.sum(y == c) for c in classes])
        scale = plot_h / (1.15 * counts.max()) if counts.size and counts.max() > 0 else 0.0
        _write(draw, (x0 + plot_w // 2, 16), f"{name}: {len(y)} images", 14)
        draw.line([x0, top, x0, top + plot_h, x0 + plot_w, top + plot_h], fill=(60, 60, 60))
        for j, (c, n) in enumerate(zip(classes, counts)):
            bx = x0 + j * bar_w
            h = int(round(n * scale))
            draw.rectangle([bx + 0.15 * bar_w, top + plot_h - h, bx + 0.85 * bar_w, top + plot_h - 1], fill=colour)
            if bar_w >= 18:
                _write(draw, (bx + bar_w / 2, top + plot_h - h - 3), str(n), 10, anchor="ms")
                _write(draw, (bx + bar_w / 2, top + plot_h + 10), str(c), 12)
        _write(draw, (x0 + plot_w // 2, top + plot_h + 32), "class", 12)
        label = _rotated_text("count", 12)
        canvas.paste(label, (x0 - left + 4, top + (plot_h - label.height) // 2))
    return _png(canvas)


def weight_images(coef, image_shape, classes) -> bytes:
    """PNG of the ``k`` weight vectors as images on one diverging scale centred on 0 (the
    explorer's colours: red raises the class's score, blue lowers it, white is zero), with a
    colour bar from ``-max |coef|`` to ``+max |coef|``.

    Parameters
    ----------
    coef : array-like of shape (k, h * w)
    image_shape : (h, w)
    classes : sequence of length k
    """
    images = as_images(coef, image_shape, "coef").astype(np.float64)
    classes = list(classes)
    vmax = weight_scale(images, classes)
    _, ncols = grid_shape(len(images))
    canvas, width = _tiles(images, ramp(images / vmax, "diverging"), [str(c) for c in classes], ncols, 110,
                           "Weights per class (red: pushes towards the class, blue: away)")
    # The colour bar: top = +vmax, middle = 0, bottom = -vmax.
    draw = ImageDraw.Draw(canvas)
    top, bottom = 48, canvas.height - 16
    bar = ramp(np.linspace(1, -1, bottom - top)[:, None].repeat(14, axis=1), "diverging")
    canvas.paste(Image.fromarray(bar), (width + 4, top))
    draw.rectangle([width + 3, top - 1, width + 18, bottom], outline=(120, 120, 120))
    for value, yy in ((vmax, top), (0.0, (top + bottom) // 2), (-vmax, bottom - 1)):
        _write(draw, (width + 22, yy), f"{value:.2g}", 11, anchor="lm")
    _write(draw, (width + 45, 20), "weight", 11)
    return _png(canvas)


def _cell_grid(draw: ImageDraw.ImageDraw, canvas: Image.Image, values: np.ndarray, colours: np.ndarray,
               texts, origin: tuple[int, int], cell: tuple[int, int], text_size: int) -> None:
    """Paste a table of coloured cells at ``origin`` and write ``texts[i][j]`` (None: nothing) in
    each, in black or white by the cell's colour."""
    x0, y0 = origin
    cw, ch = cell
    rows, cols = values.shape
    block = np.repeat(np.repeat(colours, ch, axis=0), cw, axis=1)
    canvas.paste(Image.fromarray(block), (x0, y0))
    for i in range(rows + 1):  # white lines between cells
        draw.line([x0, y0 + i * ch, x0 + cols * cw, y0 + i * ch], fill="white")
    for j in range(cols + 1):
        draw.line([x0 + j * cw, y0, x0 + j * cw, y0 + rows * ch], fill="white")
    if texts is None:
        return
    for i in range(rows):
        for j in range(cols):
            if texts[i][j] is not None:
                _write(draw, (x0 + j * cw + cw // 2, y0 + i * ch + ch // 2), texts[i][j], text_size,
                       fill=_ink(colours[i, j]))


def _colour_bar(draw, canvas, x: int, top: int, bottom: int, name: str, low: float, high: float,
                label: str, fmt: str) -> None:
    """A vertical colour bar from ``low`` (bottom) to ``high`` (top) with both ends and the middle
    written, and ``label`` above it."""
    bar = ramp(np.linspace(1, 0, bottom - top)[:, None].repeat(14, axis=1), name)
    canvas.paste(Image.fromarray(bar), (x, top))
    draw.rectangle([x - 1, top - 1, x + 14, bottom], outline=(120, 120, 120))
    for value, yy in ((high, top + 5), ((low + high) / 2, (top + bottom) // 2), (low, bottom - 5)):
        _write(draw, (x + 18, yy), format(value, fmt), 11, anchor="lm")
    _write(draw, (x + 7, top - 10), label, 11, anchor="ms")


def auc_heatmaps(tables) -> bytes:
    """PNG of train and test ROC AUC (percent) over C (columns) x penalty (rows), one above the
    other on one colour scale, every cell written to one decimal where it fits.

    Parameters
    ----------
    tables : (train, test) DataFrames
        :func:`.tables.auc_tables`: rows = penalty label, columns = C labels (and
        ``"no penalty"``), values = ROC AUC in 0..1, NaN where the grid has no row.
    """
    train, test = tables
    row_labels, col_labels = [str(v) for v in train.index], [str(v) for v in train.columns]
    values = [100 * t.to_numpy(dtype=np.float64) for t in (train, test)]
    finite = np.concatenate([v.ravel() for v in values])
    finite = finite[np.isfinite(finite)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 100.0)
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    label_w = max(_text_size(s, 12)[0] for s in row_labels) + 14
    rows, cols = values[0].shape
    cw = int(max(12, min(64, (MAX_PIXELS - label_w - 110) // max(cols, 1))))
    ch = 26
    text_fits = _text_size("100.0", 11)[0] + 4 <= cw
    ticks = [_rotated_text(s, 11) for s in col_labels]
    tick_h = max(t.height for t in ticks) + 4
    block_h = 26 + rows * ch + tick_h + 22
    width = label_w + cols * cw + 110
    canvas = Image.new("RGB", (width, 2 * block_h + 8), "white")
    draw = ImageDraw.Draw(canvas)
    for b, (v, name) in enumerate(zip(values, ("train", "test"))):
        y0 = b * block_h + 26
        _write(draw, (label_w + cols * cw // 2, y0 - 13), f"{name} ROC AUC (%)", 14)
        colours = ramp(np.nan_to_num((v - low) / (high - low)), "sequential")
        colours[~np.isfinite(v)] = _MISSING
        texts = [[f"{x:.1f}" if text_fits and np.isfinite(x) else None for x in r] for r in v]
        _cell_grid(draw, canvas, v, colours, texts, (label_w, y0), (cw, ch), 11)
        for i, label in enumerate(row_labels):
            _write(draw, (label_w - 6, y0 + i * ch + ch // 2), label, 12, anchor="rm")
        for j, tile in enumerate(ticks):
            canvas.paste(tile, (label_w + j * cw + (cw - tile.width) // 2, y0 + rows * ch + 3))
        _write(draw, (label_w + cols * cw // 2, y0 + rows * ch + tick_h + 10), "C", 12)
    _colour_bar(draw, canvas, label_w + cols * cw + 24, 40, canvas.height - 30, "sequential", low, high,
                "ROC AUC (%)", ".1f")
    return _png(canvas)


def confusion_matrix(y_true, y_pred, classes) -> bytes:
    """PNG of the counts of true (rows) against predicted (columns) classes, each written in its
    cell where it fits, with the accuracy in the title.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
    classes : sequence of length k
        The order of rows and columns.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    classes = list(classes)
    k = len(classes)
    counts = class_counts(y_true, y_pred, classes)
    accuracy = float(np.mean(y_true == y_pred)) if len(y_true) else float("nan")
    cell = int(max(14, min(56, 840 // max(k, 1))))
    size = max(10, min(15, cell // 3))
    texts = [[str(v) if _text_size(str(v), size)[0] + 4 <= cell else None for v in r] for r in counts]
    top = counts.max() if counts.size and counts.max() > 0 else 1
    colours = ramp(counts / top, "counts")
    label_w = max(_text_size(str(c), 12)[0] for c in classes) + 12 if classes else 12
    x0, y0 = label_w + 30, 40
    canvas = Image.new("RGB", (x0 + k * cell + 20, y0 + k * cell + 50), "white")
    draw = ImageDraw.Draw(canvas)
    _write(draw, (canvas.width // 2, 18), f"Confusion matrix: {len(y_true)} images, accuracy {accuracy:.1%}", 14)
    _cell_grid(draw, canvas, counts, colours, texts, (x0, y0), (cell, cell), size)
    for i, c in enumerate(classes):
        _write(draw, (x0 - 6, y0 + i * cell + cell // 2), str(c), 12, anchor="rm")
        _write(draw, (x0 + i * cell + cell // 2, y0 + k * cell + 12), str(c), 12)
    _write(draw, (x0 + k * cell // 2, y0 + k * cell + 34), "predicted label", 13)
    label = _rotated_text("true label", 13)
    canvas.paste(label, (4, y0 + (k * cell - label.height) // 2))
    return _png(canvas)
