"""The engine interface: training arrays and grid rows in, one fitted model per row out.

An engine declares what it supports, so the sweep can check the whole grid before it fits
anything, and yields each row's result as soon as it is known, so the sweep can write results as
they finish and keep them when interrupted.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Iterator, Mapping, Sequence

import numpy as np

from ..errors import UsageError
from ..plan.grid import GridPoint

__all__ = ["FitResult", "Engine"]


@dataclass
class FitResult:
    """One fitted row.

    Attributes
    ----------
    coef : ndarray of shape (n_classes, n_features)
    intercept : ndarray of shape (n_classes,)
    n_iter : int
        Solver iterations (epochs, Newton or quasi-Newton steps: the engine's own unit).
    converged : bool
        Whether the engine's stopping criterion was met within ``max_iter``.
    fit_seconds : float
        Wall time spent on this row (for a path solver: the time of this row's own solve).
    dual : float
        A dual value ``D <= min F`` that the engine proved in float64 on the same training matrix at
        exactly this ``(coef, intercept)``; scoring then bounds the gap by it instead of building the
        dual point again (:func:`~mnist_logreg.solvers.gap.certified_gap`). NaN: none.
    """

    coef: np.ndarray
    intercept: np.ndarray
    n_iter: int
    converged: bool
    fit_seconds: float
    dual: float = float("nan")


class Engine(ABC):
    """Fits multinomial logistic regression for a list of grid rows.

    Subclasses set :attr:`name`, :attr:`penalties` and :attr:`dtypes`, and implement
    :meth:`fit_path`. Constructor arguments are engine options (tolerance, iterations, threads);
    the sweep hands the engine object itself to every task, so a row is always fitted with every
    option it was given, and the object must pickle (tasks may run in other processes).

    :attr:`task_unit` says how many rows the engine wants per call of :meth:`fit_path`:
    ``"path"`` (default) one ``(penalty, l1_ratio)`` over its C values, so warm starts carry;
    ``"row"`` one row (independent fits, the most parallelism); ``"grid"`` every row of a split
    at once (an engine that fits many rows in one call, such as a GPU engine).
    """

    name: ClassVar[str]
    task_unit: ClassVar[str] = "path"
    penalties: ClassVar[frozenset[str]] = frozenset({"l1", "l2", "elasticnet", "none"})
    dtypes: ClassVar[tuple[str, ...]] = ("float64", "float32")

    def check(self, rows: Sequence[GridPoint], dtype) -> None:
        """Raise :class:`UsageError` if any row or the dtype is not supported, before any fit."""
        dtype_name = np.dtype(dtype).name
        if dtype_name not in self.dtypes:
            raise UsageError(f"--dtype: engine {self.name!r} does not support {dtype_name}; "
                             f"allowed {', '.join(self.dtypes)}")
        unsupported = sorted({r.penalty for r in rows} - set(self.penalties))
        if unsupported:
            raise UsageError(f"--penalties: engine {self.name!r} does not support {', '.join(unsupported)}; "
                             f"allowed {', '.join(sorted(self.penalties))}")

    @abstractmethod
    def fit_path(self, X: np.ndarray, y: np.ndarray, n_classes: int, rows: Sequence[GridPoint],
                 warm_start: Mapping[int, tuple[np.ndarray, np.ndarray]] | None = None,
                 ) -> Iterator[tuple[int, FitResult]]:
        """Fit every row and yield ``(position in rows, FitResult)`` as each one finishes.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Training features, float32 or float64, already scaled.
        y : ndarray of shape (n_samples,)
            Integer class codes in ``0..n_classes-1``.
        n_classes : int
        rows : sequence of GridPoint
        warm_start : mapping of int to (coef, intercept), optional
            Start the row at that position from this solution instead of the engine's own choice
            (e.g. a path continued from a solution saved earlier: a path solver that warm-starts
            each C from the previous ones then goes on from there). Engines that always start from
            zero ignore it.

        Yields
        ------
        (int, FitResult)
            Rows may finish in any order; every position is yielded exactly once.
        """

    @abstractmethod
    def estimator(self, row: GridPoint):
        """An unfitted scikit-learn estimator that fits ``row`` as this engine does (the saved model's
        last step)."""

    def options(self) -> dict:
        """The engine's options, recorded in run.json and compared on ``--resume``."""
        return {}
