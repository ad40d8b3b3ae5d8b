"""Figures of a sweep: every function returns a :class:`matplotlib.figure.Figure`.

Figures are built with ``Figure()`` directly, never through :mod:`matplotlib.pyplot`, so nothing
here touches global plotting state, opens a window or leaks memory in a long sweep; they render
with the Agg canvas (:func:`figure_png`).

Curves and heatmaps are views of the results table (one row per grid point, the columns of
``results.csv``). The ``none`` penalty has a single row with ``C = inf``: C has no meaning for it,
so curves draw it as a horizontal reference line and heatmaps give it one cell in a column of its
own ("no penalty"), never an ``inf`` tick. The names of rows and C values (:mod:`.labels`) and
the tables the figures draw (:mod:`.tables`) live apart from the drawing; the ones this module
has always offered are re-exported here.
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter, NullLocator

from ..io.atomic import write_bytes
from .raster import (as_images as _as_images, grid_shape as _grid_shape, panel_size as _panel_size,
                     MAX_PIXELS, sample_positions, weight_scale)
from ..select import select_best
from .labels import NO_PENALTY_COLUMN, format_C, grid_C_labels, penalty_label, row_labels  # noqa: F401 (re-exported)
from .tables import auc_tables, class_counts, over_repeats as _over_repeats, split_finite as _split_finite, with_labels as _with_labels

__all__ = [
    "penalty_label",
    "format_C",
    "grid_C_labels",
    "sample_images",
    "label_histograms",
    "auc_tables",
    "auc_heatmaps",
    "auc_vs_C",
    "fit_time_vs_C",
    "nonzero_vs_C",
    "weight_images",
    "confusion_matrix_figure",
    "figure_png",
    "save_figures",
]

#: Heatmaps with more C columns than this show colours only (see :func:`auc_heatmaps`).
MAX_ANNOTATED_COLUMNS = 13
#: Diverging colormap of the weight images: red positive, blue negative, white zero.
WEIGHT_CMAP = "RdBu_r"


def sample_images(X, y, image_shape, n: int = 20, seed: int = 0) -> Figure:
    """A grid of ``n`` randomly chosen images, each titled with its label.

    Parameters
    ----------
    X : array-like of shape (n_samples, h * w)
        Raw (0..255) or scaled pixel rows; each image is shown on its own grey range.
    y : array-like of shape (n_samples,)
    image_shape : (h, w)
    n : int, default 20
        Number of images (at most ``n_samples``), drawn without replacement.
    seed : int, default 0
    """
    images = _as_images(X, image_shape, "X")
    y = np.asarray(y)
    chosen = sample_positions(len(images), n, seed)
    n = len(chosen)
    h, w = images.shape[1:]
    panel_w, panel_h = _panel_size(h, w, 1.1)
    ncols = max(1, min(10, n, math.floor(12 / panel_w)))  # at most about 12 inches wide
    nrows = max(1, math.ceil(n / ncols))
    # Fixed margins instead of a layout engine: 20 small titled axes are the costliest part of a
    # constrained layout, and this grid needs none of its care.
    fig = Figure(figsize=(panel_w * ncols, (panel_h + 0.3) * nrows + 0.45))
    axes = fig.subplots(nrows, ncols, squeeze=False,
                        gridspec_kw={"left": 0.01, "right": 0.99, "bottom": 0.02, "top": 1 - 0.45 / fig.get_figheight(),
                                     "wspace": 0.08, "hspace": 0.3 / panel_h + 0.1}).ravel()
    for ax, i in zip(axes, chosen):
        # aspect="auto": a very wide or tall image fills its bounded panel instead of growing it.
        ax.imshow(images[i], cmap="gray_r", interpolation="nearest", aspect="auto")
        ax.set_title(str(y[i]), fontsize=10)
        ax.set_axis_off()
    for ax in axes[n:]:
        fig.delaxes(ax)
    fig.suptitle(f"{n} random images with their labels")
    return fig


def label_histograms(y_train, y_test) -> Figure:
    """Bar charts of class counts in the training and test sets, side by side, same classes."""
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    classes = np.unique(np.concatenate([y_train, y_test]))
    fig = Figure(figsize=(10, 3.4), layout="constrained")
    axes = fig.subplots(1, 2, sharey=False)
    for ax, y, name, colour in zip(axes, (y_train, y_test), ("train", "test"), ("C0", "C1")):
        counts = np.array([np.sum(y == c) for c in classes])
        bars = ax.bar([str(c) for c in classes], counts, color=colour)
        ax.bar_label(bars, fontsize=8)
        ax.set_title(f"{name}: {len(y)} images")
        ax.set_xlabel("class")
        ax.set_ylabel("count")
        ax.margins(y=0.15)
    return fig


def auc_heatmaps(results: pd.DataFrame) -> Figure:
    """Train and test ROC AUC over C (columns) x penalty (rows), annotated in percent.

    Cells carry their value for grids of at most :data:`MAX_ANNOTATED_COLUMNS` columns; beyond,
    the numbers would be too small to read at the size the report shows them.

    Both heatmaps share one colour scale, so equal colours mean equal AUC. They are placed side by
    side for up to 10 C values and one above the other beyond, where side by side would make the
    annotations unreadable. The unpenalised fit gets a single cell in a "no penalty" column.
    """
    import seaborn as sns  # imported here: the report draws its heatmaps without it (.raster)

    tables = auc_tables(results)
    nrows_t, ncols_t = tables[0].shape
    stacked = ncols_t > 10
    cell_w, cell_h = 0.62, 0.42
    width = max(4.0, 2.2 + cell_w * ncols_t)
    height = max(1.8, 1.6 + cell_h * nrows_t)
    fig = Figure(figsize=(width, 2 * height) if stacked else (2 * width, height), layout="constrained")
    axes = fig.subplots(2, 1) if stacked else fig.subplots(1, 2)
    values = np.concatenate([t.to_numpy().ravel() for t in tables])
    vmin, vmax = np.nanmin(values), np.nanmax(values)
    if vmin == vmax:
        vmin, vmax = vmin - 0.005, vmax + 0.005
    # Numbers in cells only where they can be read at the size the report shows the figure; on a
    # wider grid the colours, the results table and the explorer give the values.
    annotate = ncols_t <= MAX_ANNOTATED_COLUMNS
    for ax, table, name in zip(axes, tables, ("train", "test")):
        sns.heatmap(table * 100, ax=ax, annot=annotate, fmt=".1f", annot_kws={"fontsize": 7},
                    vmin=vmin * 100, vmax=vmax * 100, cmap="viridis", mask=table.isna(),
                    linewidths=0.5, linecolor="white", cbar_kws={"label": "ROC AUC (%)"})
        ax.set_title(f"{name} ROC AUC (%)")
        ax.set_xlabel("C")
        ax.set_ylabel("penalty")
        ax.tick_params(axis="x", labelrotation=90, labelsize=8)
        ax.tick_params(axis="y", labelrotation=0, labelsize=8)
    return fig


def _curve_axes(fig: Figure, n: int, sharey: bool = True):
    """``n`` side-by-side axes (at most 3 per row) sharing their y axis."""
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=sharey).ravel()
    for ax in axes[n:]:
        fig.delaxes(ax)
    return axes[:n]


#: ROC AUC is drawn on a logit axis, clipped to this margin from 0 and 1 (logit(1) is infinite).
_AUC_CLIP = 1e-4


def _plain_log_axis(axis, subs=(1.0,), fmt: str = ".0e") -> None:
    """Major ticks at powers of ten written as plain text (``1e-02``), no minor ticks.

    Matplotlib's default log ticks are mathtext (``$10^{-2}$``) plus eight minor ticks per decade;
    parsing the one and drawing the other is most of the time a small curve takes to render.
    """
    axis.set_major_locator(LogLocator(base=10, subs=subs, numticks=12))
    axis.set_major_formatter(FuncFormatter(lambda v, _: format(v, fmt)))
    axis.set_minor_locator(NullLocator())


def _percent_logit_ticks(ax) -> None:
    """Ticks 50%, 90%, 99%, 99.9%, ... on a logit y axis instead of ``1 - 10^-k`` labels."""
    ticks = [0.5, 0.9, 0.99, 0.999, 0.9999]
    low, high = ax.get_ylim()
    inside = [t for t in ticks if low <= t <= high] or ticks[:2]
    ax.yaxis.set_major_locator(FixedLocator(inside))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{100 * v:.10g}%"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_minor_locator(NullLocator())


def _band(ax, x, mean, spread, colour, clip=None) -> None:
    """A translucent band ``mean +- spread`` (drawn only where some spread exists)."""
    spread = np.asarray(spread, dtype=float)
    if not np.any(spread > 0):
        return
    low, high = np.asarray(mean) - spread, np.asarray(mean) + spread
    if clip is not None:
        low, high = np.clip(low, *clip), np.clip(high, *clip)
    ax.fill_between(x, low, high, color=colour, alpha=0.2, linewidth=0)


def auc_vs_C(results: pd.DataFrame, select_by: str = "roc_auc_test") -> Figure:
    """Train and test ROC AUC against C on a log axis, one axes per penalty.

    Small C (strong penalty) underfits: both curves low. Large C overfits: train keeps rising while
    test flattens or falls. The y axis is a logit scale, which spreads 0.99 from 0.999 as far as
    0.9 from 0.99: the differences that matter near 1 stay visible next to a chance-level 0.5
    (values are clipped to ``[1e-4, 1 - 1e-4]`` for drawing only).

    With a ``roc_auc_cv`` column (cross-validated selection) a third curve gives the CV mean with a
    band of +- one standard deviation over the folds (``roc_auc_cv_std``). Under ``--repeats``
    every curve, CV included, is the mean over repeats with a band of +- one standard deviation
    over them (as in the explorer). Each axes marks the best
    point of the selection score (``select_by``) with a star, the chosen row (:func:`select_best`)
    with a vertical line; the unpenalised fit, when present, is a pair of dotted horizontal lines.
    """
    frame = _with_labels(results)
    has_cv = "roc_auc_cv" in frame.columns and frame["roc_auc_cv"].notna().any()
    for column in ("roc_auc_train", "roc_auc_test") + (("roc_auc_cv",) if has_cv else ()):
        frame[column] = frame[column].astype(float)
    finite, unpenalised = _split_finite(frame)
    columns = ["roc_auc_train", "roc_auc_test"] + (["roc_auc_cv", "roc_auc_cv_std"] if has_cv else [])
    finite, repeats = _over_repeats(finite, columns)
    unpenalised, _ = _over_repeats(unpenalised, columns)
    labels = list(dict.fromkeys(finite["label"])) or ["none"]
    fig = Figure(figsize=(4.6 * min(3, len(labels)), 0.4 + 3.6 * math.ceil(len(labels) / 3)),
                 layout="constrained")
    axes = _curve_axes(fig, len(labels))
    C_labels = grid_C_labels(results["C"])
    position = select_best(results, select_by)
    chosen, chosen_label = results.iloc[position], row_labels(results)[position]
    score = select_by if select_by in finite.columns else "roc_auc_test"
    score_name = {"roc_auc_cv": "CV", "roc_auc_test": "test", "roc_auc_train": "train"}.get(score, score)
    clip = (_AUC_CLIP, 1 - _AUC_CLIP)
    curves = [("roc_auc_train", "train", "C0"), ("roc_auc_test", "test", "C1")]
    if has_cv:
        curves.append(("roc_auc_cv", "CV", "C2"))
    for ax, label in zip(axes, labels):
        part = finite[finite["label"] == label].sort_values("C")
        if len(part):
            for column, name, colour in curves:
                if repeats:
                    name += " (mean ± sd over repeats)"
                elif column == "roc_auc_cv":
                    name += " ± sd over folds"
                ax.plot(part["C"], part[column].clip(*clip), "o-", ms=3, color=colour, label=name)
                spread = part[column + "_spread"]
                if column == "roc_auc_cv" and not repeats:
                    spread = part["roc_auc_cv_std"].fillna(0.0)
                _band(ax, part["C"], part[column].clip(*clip), spread, colour, clip)
            best = part.loc[part[score].idxmax()]
            ax.plot([best["C"]], [min(max(best[score], clip[0]), clip[1])], "*", ms=14, color="C3", zorder=5,
                    label=f"best {score_name}: C={C_labels[float(best['C'])]}")
            if label == chosen_label and math.isfinite(float(chosen["C"])):
                ax.axvline(float(chosen["C"]), color="0.3", ls="--", lw=1, label="chosen")
            ax.set_xscale("log")
            _plain_log_axis(ax.xaxis)
            ax.set_xlabel("C (inverse penalty strength)")
        else:
            ax.set_xticks([])
        for _, row in unpenalised.iterrows():
            ax.axhline(min(row["roc_auc_train"], clip[1]), color="C0", ls=":", lw=1.2, label="train, no penalty")
            ax.axhline(min(row["roc_auc_test"], clip[1]), color="C1", ls=":", lw=1.2, label="test, no penalty")
        ax.set_yscale("logit")
        _percent_logit_ticks(ax)
        ax.set_title(label)
        ax.set_ylabel("ROC AUC (logit scale)")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    where = chosen_label if chosen_label == "none" else f"{chosen_label}, C={C_labels[float(chosen['C'])]}"
    fig.suptitle(f"ROC AUC vs C (underfitting at small C, overfitting where train and test part); "
                 f"chosen by {score_name}: {where}", fontsize=10)
    return fig


def _metric_vs_C(results: pd.DataFrame, column: str, ylabel: str, title: str,
                 logy: bool = False) -> Figure:
    """One line per penalty of ``column`` against C (under ``--repeats`` the mean, with a band of
    +- one standard deviation over the repeats); unpenalised fits as horizontal lines."""
    frame = _with_labels(results)
    finite, unpenalised = _split_finite(frame)
    finite, repeats = _over_repeats(finite, [column])
    unpenalised, _ = _over_repeats(unpenalised, [column])
    fig = Figure(figsize=(6.4, 3.8), layout="constrained")
    ax = fig.subplots()
    colours = iter(f"C{i}" for i in range(100))
    for label in dict.fromkeys(finite["label"]):
        part = finite[finite["label"] == label].sort_values("C")
        colour = next(colours)
        ax.plot(part["C"], part[column], "o-", ms=3, color=colour, label=label)
        _band(ax, part["C"], part[column], part[column + "_spread"], colour)
    for _, row in unpenalised.iterrows():
        ax.axhline(row[column], ls=":", color=next(colours), label=f"{row['label']} (no C)")
    if len(finite):
        ax.set_xscale("log")
        _plain_log_axis(ax.xaxis)
        ax.set_xlabel("C (inverse penalty strength)")
    else:
        ax.set_xticks([])
    if logy and (frame[column] > 0).all():
        ax.set_yscale("log")
        _plain_log_axis(ax.yaxis, subs=(1.0, 2.0, 5.0), fmt="g")  # seconds: 0.1, 0.2, 0.5, 1, ...
    ax.set_ylabel(ylabel)
    ax.set_title(title + (" (mean ± sd over repeats)" if repeats else ""))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def fit_time_vs_C(results: pd.DataFrame) -> Figure:
    """Seconds per fit against C (both axes log), one line per penalty."""
    return _metric_vs_C(results, "fit_seconds", "fit time (s)", "Fit time vs C", logy=True)


def nonzero_vs_C(results: pd.DataFrame) -> Figure:
    """Fraction of nonzero weights against C, one line per penalty: L1 sparsity at small C. For
    ``group`` rows the column counts pixels in use (results.csv's ``nonzero_fraction``), and the axis
    says so when the table has any."""
    pixels = "group" in set(results["penalty"])
    return _metric_vs_C(results, "nonzero_fraction",
                        "fraction of nonzero weights" + (" (group: of pixels)" if pixels else ""),
                        "Nonzero weights vs C")


def weight_images(coef, image_shape, classes) -> Figure:
    """The ``k`` weight vectors as images, on one diverging colour scale centred on 0.

    The scale is shared by all classes (``vmin = -vmax``, ``vmax = max |coef|``), so a colour means
    the same weight in every image and weak classes look weak. Red pixels raise the score of the
    class when they are bright, blue pixels lower it, white pixels are (near) zero.

    Parameters
    ----------
    coef : array-like of shape (k, h * w)
    image_shape : (h, w)
        Any size: (28, 28), (8, 8), or non-square.
    classes : sequence of length k
        Labels written above the images.
    """
    images = _as_images(coef, image_shape, "coef")
    classes = list(classes)
    vmax = weight_scale(images, classes)
    nrows, ncols = _grid_shape(len(images))
    h, w = images.shape[1:]
    # Panels of about the same area whatever the aspect ratio w/h of the images.
    panel_w, panel_h = _panel_size(h, w, 1.7)
    fig = Figure(figsize=(panel_w * ncols + 1.2, (panel_h + 0.35) * nrows + 0.5), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    image = None
    for ax, weights, label in zip(axes, images, classes):
        image = ax.imshow(weights, cmap=WEIGHT_CMAP, vmin=-vmax, vmax=vmax, interpolation="nearest", aspect="auto")
        ax.set_title(str(label))
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(images):]:
        fig.delaxes(ax)
    if image is not None:
        fig.colorbar(image, ax=list(axes[:len(images)]), shrink=0.8, label="weight")
    fig.suptitle("Weights per class (red: pushes towards the class, blue: away)")
    return fig


def confusion_matrix_figure(y_true, y_pred, classes) -> Figure:
    """Counts of true (rows) against predicted (columns) classes, with the accuracy in the title."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    classes = list(classes)
    size = max(4.5, 0.5 * len(classes) + 2)
    fig = Figure(figsize=(size, size * 0.9), layout="constrained")
    ax = fig.subplots()
    from sklearn.metrics import ConfusionMatrixDisplay  # only this figure needs it

    ConfusionMatrixDisplay(class_counts(y_true, y_pred, classes), display_labels=classes).plot(
        ax=ax, cmap="Blues", colorbar=False)
    accuracy = float(np.mean(y_true == y_pred)) if len(y_true) else float("nan")
    ax.set_title(f"Confusion matrix: {len(y_true)} images, accuracy {accuracy:.1%}")
    return fig


#: No figure is rendered wider or taller than this many pixels, whatever the data's shape or the
#: grid's size: the bound of the Pillow figures (the report shows figures at most about 1050 CSS
#: pixels wide).
MAX_FIGURE_PIXELS = MAX_PIXELS


def figure_png(fig: Figure, dpi: int = 100) -> bytes:
    """Render ``fig`` to PNG bytes with the Agg canvas, at most :data:`MAX_FIGURE_PIXELS` a side.

    The figure is drawn once at its own size (the layout engine has fitted titles and labels in
    it, so no ``bbox_inches="tight"`` second pass); ``dpi`` is lowered when the figure would
    otherwise exceed the pixel bound.
    """
    width, height = fig.get_size_inches()
    dpi = min(float(dpi), MAX_FIGURE_PIXELS / max(width, height, 1e-6))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def save_figures(figures: Mapping[str, Figure | bytes], folder, dpi: int = 100) -> dict[str, Path]:
    """Write every figure (a Figure, or PNG bytes already rendered) to ``folder/<name>.png``.

    Returns the paths by name.
    Names must be plain file stems (letters, digits, ``_ . -``), so a name can never write
    outside ``folder``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, fig in figures.items():
        if not _SAFE_NAME.match(name) or name in {".", ".."}:
            raise ValueError(f"figures: name {name!r} is not allowed; use letters, digits, '_', '.' or '-'")
        path = folder / f"{name}.png"
        write_bytes(path, fig if isinstance(fig, bytes) else figure_png(fig, dpi=dpi))
        paths[name] = path
    return paths
