"""How the report writes numbers: percentages like the results table, other numbers by format."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["percent", "number"]


def percent(value: Any, digits: int = 2) -> str:
    """``0.98765`` -> ``"98.77"``; missing values -> an en dash."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "–"
    return "–" if math.isnan(value) else f"{100 * value:.{digits}f}"


def number(value: Any, fmt: str) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "–"
    return "–" if math.isnan(value) else format(value, fmt)
