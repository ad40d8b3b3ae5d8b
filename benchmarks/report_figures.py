"""CPU seconds (``time.process_time``) to build and render each report figure, one tree at a time.

Reads a finished run folder of the notebook grid (``--run DIR``: results.csv, path.npz) and the same
1500/1000 split of the real MNIST test digits; draws the eight figures of the report as the tree on
``PYTHONPATH`` draws them (``mnist_logreg.report.raster`` for the grid-like ones where it exists,
``mnist_logreg.report.figures`` otherwise) and renders each Figure with its ``figure_png``.
CPU time is less sensitive than wall time to other processes on a shared machine.

Usage::

    PYTHONPATH=/tmp/before/src .venv/bin/python benchmarks/report_figures.py --run /tmp/grid
    PYTHONPATH=src .venv/bin/python benchmarks/report_figures.py --run /tmp/grid
"""

from __future__ import annotations

import argparse
import io
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from mnist_logreg.report import figures as fg
from mnist_logreg.data import load_dataset
from mnist_logreg.data.split import split_dataset

T10K = Path(os.environ.get("MNIST_LOGREG_T10K", Path(__file__).resolve().parents[2] / "shared" / "data"
                           / "mnist-t10k"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True)
    args = parser.parse_args()
    table = pd.read_csv(args.run / "results.csv")
    split = split_dataset(load_dataset(f"idx:{T10K}"), 1500, 1000, seed=42)
    with np.load(args.run / "path.npz") as path:
        weights = path["coef"][int(table.roc_auc_test.idxmax())]
    # The grid-like figures as the tree's report draws them: with Pillow where it has report.raster.
    draw = {"samples": fg.sample_images, "labels": fg.label_histograms, "auc_heatmaps": fg.auc_heatmaps,
            "weights": fg.weight_images, "confusion": fg.confusion_matrix_figure}
    try:
        from mnist_logreg.report import raster
        draw = {"samples": raster.sample_images, "labels": raster.label_histograms,
                "auc_heatmaps": lambda t: raster.auc_heatmaps(fg.auc_tables(t)),
                "weights": raster.weight_images, "confusion": raster.confusion_matrix}
    except ImportError:
        pass
    makers = {
        "samples": lambda: draw["samples"](split.X_train_raw, split.y_train, split.image_shape),
        "labels": lambda: draw["labels"](split.y_train, split.y_test),
        "auc_heatmaps": lambda: draw["auc_heatmaps"](table),
        "auc_vs_C": lambda: fg.auc_vs_C(table),
        "fit_time": lambda: fg.fit_time_vs_C(table),
        "nonzero": lambda: fg.nonzero_vs_C(table),
        "weights": lambda: draw["weights"](weights, split.image_shape, split.classes),
        "confusion": lambda: draw["confusion"](split.y_test, split.y_test, split.classes),
    }
    total = 0.0
    for name, make in makers.items():
        start = time.process_time()
        fig = make()
        built = time.process_time()
        png = fig if isinstance(fig, bytes) else fg.figure_png(fig)  # Pillow figures are PNG already
        done = time.process_time()
        total += done - start
        width, height = Image.open(io.BytesIO(png)).size
        print(f"{name:13s} build {built - start:5.2f} s  render {done - built:5.2f} s  {width}x{height} px  "
              f"{len(png) / 1000:.0f} kB")
    print(f"all figures   {total:.2f} CPU s")


if __name__ == "__main__":
    main()
