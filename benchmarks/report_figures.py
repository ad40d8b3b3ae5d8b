"""CPU seconds (``time.process_time``) to build and render each report figure, one tree at a time.

Reads a finished run folder of the notebook grid (``--run DIR``: results.csv, path.npz) and the same
1500/1000 split of the real MNIST test digits; draws the eight figures of the report with the
``mnist_logreg.report.figures`` of the tree on ``PYTHONPATH`` and renders each with its ``figure_png``.
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
    makers = {
        "samples": lambda: fg.sample_images(split.X_train_raw, split.y_train, split.image_shape),
        "labels": lambda: fg.label_histograms(split.y_train, split.y_test),
        "auc_heatmaps": lambda: fg.auc_heatmaps(table),
        "auc_vs_C": lambda: fg.auc_vs_C(table),
        "fit_time": lambda: fg.fit_time_vs_C(table),
        "nonzero": lambda: fg.nonzero_vs_C(table),
        "weights": lambda: fg.weight_images(weights, split.image_shape, split.classes),
        "confusion": lambda: fg.confusion_matrix_figure(split.y_test, split.y_test, split.classes),
    }
    total = 0.0
    for name, make in makers.items():
        start = time.process_time()
        fig = make()
        built = time.process_time()
        png = fg.figure_png(fig)
        done = time.process_time()
        total += done - start
        width, height = Image.open(io.BytesIO(png)).size
        print(f"{name:13s} build {built - start:5.2f} s  render {done - built:5.2f} s  {width}x{height} px  "
              f"{len(png) / 1000:.0f} kB")
    print(f"all figures   {total:.2f} CPU s")


if __name__ == "__main__":
    main()
