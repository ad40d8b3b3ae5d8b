"""Views of the results table that figures draw: rows labelled by penalty, means over repeats, and
the ROC AUC tables of the heatmaps. Nothing here draws."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..io.record import has_repeats
from .labels import NO_PENALTY_COLUMN, grid_C_labels, row_labels

__all__ = ["with_labels", "split_finite", "over_repeats", "auc_tables", "class_counts"]


def with_labels(results: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``results`` with a ``label`` column (:func:`.labels.row_labels`), in the table's own
    penalty order."""
    missing = {"penalty", "l1_ratio", "C"} - set(results.columns)
    if missing:
        raise ValueError(f"results: missing column(s) {sorted(missing)}; "
                         f"expected the columns of results.csv, got {list(results.columns)}")
    frame = results.copy()
    frame["C"] = frame["C"].astype(float)
    frame["label"] = row_labels(frame)
    return frame


def split_finite(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows with a finite C (curves over C) and rows without a penalty (reference lines)."""
    finite = np.isfinite(frame["C"].to_numpy())
    return frame[finite], frame[~finite]


def over_repeats(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[pd.DataFrame, bool]:
    """Rows of a labelled ``frame`` (:func:`with_labels`) with ``columns`` averaged over repeats, each
    with a ``<column>_spread`` standard deviation (ddof=0) over the repeats; whether there were
    repeats.

    One repeat: the rows themselves, spreads 0."""
    columns = [c for c in columns if c in frame.columns]
    if not has_repeats(frame):
        out = frame.copy()
        for c in columns:
            out[c + "_spread"] = 0.0
        return out, False
    grouped = frame.groupby(["label", "C"], sort=False)
    out = grouped[columns].mean()
    spread = grouped[columns].std(ddof=0).add_suffix("_spread")
    return out.join(spread).reset_index(), True


def _auc_table(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Pivot ``column`` to rows = penalty label, columns = formatted C (+ "no penalty")."""
    finite, unpenalised = split_finite(frame)
    rows = list(dict.fromkeys(frame["label"]))
    by_C = grid_C_labels(finite["C"])
    names = list(by_C.values())
    table = pd.DataFrame(np.nan, index=rows, columns=names + ([NO_PENALTY_COLUMN] if len(unpenalised) else []))
    for label, C, value in zip(finite["label"], finite["C"], finite[column]):
        table.loc[label, by_C[C]] = value
    for label, value in zip(unpenalised["label"], unpenalised[column]):
        table.loc[label, NO_PENALTY_COLUMN] = value
    return table.astype(float)


def auc_tables(results: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and test ROC AUC (0..1) as tables: rows = penalty label, columns = formatted C
    (:func:`.labels.grid_C_labels`) and ``"no penalty"`` for the unpenalised fit; NaN where no row
    exists. Under ``--repeats``, the mean over repeats."""
    frame, _ = over_repeats(with_labels(results), ["roc_auc_train", "roc_auc_test"])
    return _auc_table(frame, "roc_auc_train"), _auc_table(frame, "roc_auc_test")


def class_counts(y_true, y_pred, classes: Sequence) -> np.ndarray:
    """Confusion counts, true classes (rows) against predicted ones (columns), in the order of ``classes``.

    The labels are matched to ``classes`` by value and counted by position, so any labels a data set
    may have count alike: scikit-learn's ``confusion_matrix`` refuses float labels that are not whole
    numbers (0.5, 1.5, ...) as "continuous", which a report drawn after a whole sweep must not.
    """
    from sklearn.metrics import confusion_matrix  # only the confusion figures need it

    position = {c: i for i, c in enumerate(np.asarray(classes).tolist())}
    k = len(position)
    if not len(y_true):
        return np.zeros((k, k), np.int64)
    true = np.array([position[v] for v in np.asarray(y_true).tolist()])
    pred = np.array([position[v] for v in np.asarray(y_pred).tolist()])
    return confusion_matrix(true, pred, labels=np.arange(k))
