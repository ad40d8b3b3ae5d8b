"""How a report writes a row: the name of its penalty and its C, the same in every table, axis,
caption and in the path explorer.

Nothing here draws, so the writer and the explorer use it without loading matplotlib.
"""

from __future__ import annotations

import math
from typing import Sequence

import pandas as pd

from ..solvers.penalties import penalty_label

__all__ = ["NO_PENALTY_COLUMN", "penalty_label", "row_labels", "format_C", "grid_C_labels"]

#: Column label of the heatmap cell that holds the unpenalised fit.
NO_PENALTY_COLUMN = "no penalty"


def row_labels(results: pd.DataFrame) -> list[str]:
    """The penalty name of every row of a results table (:func:`penalty_label` of its penalty and
    ``l1_ratio``): ``l1``, ``l2``, ``none``, ``elasticnet (l1_ratio=0.5)``, ``group (l1_ratio=1)``.

    The rows of one name and ``l1_ratio`` form one path; heatmap rows, curve legends, the top table
    and the explorer's paths all use these names.
    """
    return [penalty_label(p, r) for p, r in zip(results["penalty"], results["l1_ratio"])]


def format_C(values: Sequence[float]) -> list[str]:
    """Format C values like ``1e-03``, with the fewest digits that keep them distinct and close.

    The mantissa gets more digits until every label is unique (a 25-point log grid has several
    values that round to ``1e-03``) and within 5% of its value (2.51 is ``2.5e+00``, not
    ``3e+00``). Infinite C is written ``"none"``.
    """
    finite = [float(v) for v in values if math.isfinite(float(v))]
    for digits in range(0, 6):
        labels = [f"{v:.{digits}e}" for v in finite]
        close = all(abs(float(label) - v) <= 0.05 * abs(v) for label, v in zip(labels, finite))
        if close and len(set(labels)) == len(set(finite)):
            break
    it = iter(labels)
    return [next(it) if math.isfinite(float(v)) else "none" for v in values]


def grid_C_labels(Cs) -> dict[float, str]:
    """``{C: label}`` for the finite values of a grid, formatted together (:func:`format_C`), so one
    C is written the same way in every table, axis and caption of a report."""
    finite = sorted({float(C) for C in Cs if math.isfinite(float(C))})
    return dict(zip(finite, format_C(finite)))
