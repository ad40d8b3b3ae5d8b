"""A contact sheet: the pictures as the model saw them after framing, with their predicted labels.

A sheet draws at most :data:`MAX_SHEET_IMAGES` pictures, the first ones in input order: one figure
of every picture would grow without bound (and be unreadable); ``predict --show`` says when it
shows only the first ones."""

from __future__ import annotations

import io
import math
from pathlib import Path

from matplotlib.figure import Figure

from ..io.atomic import write_bytes

__all__ = ["MAX_SHEET_IMAGES", "sheet_figure", "write_sheet"]

#: At most this many pictures go on one sheet (the first ones, in input order).
MAX_SHEET_IMAGES = 200


def sheet_figure(predictions, background: float = 0.0, ink: float = 255.0, columns: int = 10) -> Figure:
    """A grid of framed pictures titled ``label (probability)`` over the file name, the first
    :data:`MAX_SHEET_IMAGES` of them.

    Parameters
    ----------
    predictions : list of Prediction
        Those with ``framed`` set are drawn (at most :data:`MAX_SHEET_IMAGES`).
    background, ink : float
        The training images' background and full-ink levels (grey scale limits).
    columns : int
    """
    shown = [p for p in predictions if p.framed is not None][:MAX_SHEET_IMAGES]
    columns = max(1, min(columns, len(shown)))
    rows = max(1, math.ceil(len(shown) / columns))
    # Nothing to draw: wide enough for the sentence that says so (a one-cell sheet clipped it).
    size = (1.6 * columns, 1.9 * rows) if shown else (3.2, 1.0)
    figure = Figure(figsize=size, dpi=100, layout="constrained")
    low, high = sorted((background, ink))
    for i, p in enumerate(shown):
        axes = figure.add_subplot(rows, columns, i + 1)
        image = p.framed if ink >= background else background + ink - p.framed
        axes.imshow(image, cmap="gray", vmin=low, vmax=high, interpolation="nearest")
        probability = next(iter(p.probabilities.values()), float("nan"))
        name = Path(p.file).name
        name = name if len(name) <= 18 else name[:8] + "…" + name[-9:]
        axes.set_title(f"{p.label} ({probability:.2f})\n{name}", fontsize=8)
        axes.set_xticks([])
        axes.set_yticks([])
    if not shown:
        figure.text(0.5, 0.5, "no picture could be labelled", ha="center", va="center")
    return figure


def write_sheet(predictions, path, *, background: float = 0.0, ink: float = 255.0) -> Path:
    """Write :func:`sheet_figure` as one PNG at ``path`` (atomically)."""
    buffer = io.BytesIO()
    sheet_figure(predictions, background, ink).savefig(buffer, format="png")
    return write_bytes(path, buffer.getvalue())

