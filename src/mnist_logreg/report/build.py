"""From a finished run to figures/*.png and report.html: every figure is a view of the results."""

from __future__ import annotations

from sklearn.preprocessing import StandardScaler

from . import figures as fg
from . import raster
from ..io.record import RunRecord
from . import write_report
from .explorer import explorer_data
from .tables import auc_tables
from ..select import pixel_space_weights

__all__ = ["make_run_figures", "make_explorer_data", "build_report"]


def make_run_figures(split, sweep, pipeline, select_by: str = "roc_auc_test") -> dict:
    """The report's figures, in display order (name -> matplotlib Figure, or PNG bytes).

    The grid-like figures (sample digits, class counts, AUC heatmaps, weight images, confusion
    matrix) are drawn straight from their arrays by :mod:`.raster`; the curves over C by matplotlib
    (:mod:`.figures`).
    """
    y_pred = pipeline.predict(split.X_test_raw)
    return {
        "samples": raster.sample_images(split.X_train_raw, split.y_train, split.image_shape),
        "labels": raster.label_histograms(split.y_train, split.y_test),
        "auc_heatmaps": raster.auc_heatmaps(auc_tables(sweep.table)),
        "auc_vs_C": fg.auc_vs_C(sweep.table, select_by),
        "fit_time": fg.fit_time_vs_C(sweep.table),
        "nonzero": fg.nonzero_vs_C(sweep.table),
        "weights": raster.weight_images(pixel_space_weights(pipeline), split.image_shape, split.classes),
        "confusion": raster.confusion_matrix(split.y_test, y_pred, split.classes),
    }


def make_explorer_data(record: RunRecord, split, sweep) -> dict:
    """The explorer's data: results.csv and path.npz, with each row's test-set confusion matrix.

    The path's weights live in the space the sweep fitted in: scaled pixels, standardised when
    ``--standardize`` (a StandardScaler fitted on the training set, as the sweep fits it). The test
    set is put in that space for the confusion matrices, and the weight images are mapped back to
    pixels (``W / s``).
    """
    X_test, pixel_scale = split.X_test, None
    if record.config.standardize:
        scaler = StandardScaler().fit(split.X_train)
        X_test, pixel_scale = scaler.transform(split.X_test), scaler.scale_
    return explorer_data(sweep.table, sweep.coef, sweep.intercept, X_test=X_test, y_test_codes=split.y_test_codes,
                         classes=split.classes, image_shape=split.image_shape,
                         chosen=record.best.row if record.best else None, select_by=record.config.select_by,
                         pixel_scale=pixel_scale)


def build_report(folder, *, record: RunRecord, split, sweep, pipeline):
    """Save the figures as PNG files and write the self-contained report.html."""
    # Render each figure once: the same PNG bytes go to figures/ and into the report.
    figures = {name: fig if isinstance(fig, bytes) else fg.figure_png(fig)
               for name, fig in make_run_figures(split, sweep, pipeline, record.config.select_by).items()}
    fg.save_figures(figures, folder.path / "figures")
    return write_report(folder.path / "report.html", record, sweep.table, figures,
                        explorer=make_explorer_data(record, split, sweep))
