"""The ``numpy`` engine: each penalty's C path solved in order with warm starts, on NumPy/SciPy.

Rows are grouped by ``(penalty, l1_ratio)``; each group's C values are solved from the strongest
regularisation (smallest C) to the weakest, every solution starting the next. The iterations run
on centred features (in float32 on small problems and on tall ones) and are mapped back exactly.
Two methods of :mod:`mnist_logreg.solvers` iterate:

* with many samples per feature (``n >= 20 d``, e.g. 60,000 images of 784 pixels), the proximal
  quasi-Newton method on the pixels' Gram matrix (:mod:`~mnist_logreg.solvers.proxqn`), which
  needs ~20x fewer passes over X than
* the orthant-wise quasi-Newton method (L-BFGS without an L1 part), used otherwise; with an L1
  part its iterations run on a working set of columns and are checked on all of them.

Features that are zero in every training image are dropped (their weights are 0). The centred
copy, the Gram matrix and the gradient scale are built once per fit and shared by every path. A
row is certified converged when its KKT violation on the original X, relative to the gradient
scale at zero weights, is at most ``tol``; otherwise it is returned with ``converged=False`` and
a :class:`~sklearn.exceptions.ConvergenceWarning`.

Memory: besides X, a centred copy of the non-empty columns (float32 with ``mixed_precision``), a
copy of those columns when dropping empty ones saves at least 5 % of X, under L1 with OWL-QN a
copy of the working set's columns of the centred copy (at most 80 % of it), and with the metric
a ``d x d`` matrix.
"""

from __future__ import annotations

import warnings
from typing import Iterator, Sequence

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import ThreadpoolController

from ..grid import GridPoint, group_rows
from ..solvers import prepare_problem, solve_path, use_metric
from .base import Engine, FitResult

__all__ = ["NumpyEngine"]

#: Below this many multiply-adds per pass over X (n * d * k) one BLAS thread is faster than several
#: (measured on 2 cores: float32 passes of 1.9e6 gain nothing from a second thread, 4e6 and up
#: gain ~1.6x; case a, 1.2e7, runs 2.4 s -> 2.0 s).
ONE_THREAD_PASS = 2e6
#: Below this many multiply-adds per pass, float32 iterations are on by default.
SMALL_PASS = 5e7
#: Automatic float32 iterations only for tolerances float32 gradients reliably reach (relative KKT).
MIXED_MIN_TOL = 1e-5
#: Iteration methods (see ``solver``).
SOLVERS = ("auto", "owlqn", "proxqn")


class NumpyEngine(Engine):
    """Warm-started path solver on NumPy/SciPy.

    Parameters
    ----------
    tol : float, default=1e-3
        Certificate: the largest violation of the optimality (KKT) conditions, divided by the
        largest weight gradient at zero weights, must be at most ``tol``.
    max_iter : int, default=5000
        Quasi-Newton iterations per row (each reads X twice).
    memory : int, default=10
        L-BFGS curvature pairs.
    mixed_precision : bool or None, default=None
        For float64 X, iterate on a float32 copy of X (half the memory traffic, products ~2x faster;
        memory 1.5x X) and certify, finishing in float64 if needed. float32 X is always solved in
        float32. ``None`` turns it on for small problems (``n*d*k < SMALL_PASS``) at ``tol >=
        MIXED_MIN_TOL``, where it is ~1.2x faster, and off otherwise: float32 rounding in the
        gradient can keep the float32 phase from reaching a tighter ``tol``, or any on large X.
    blas_threads : int or None, default=None
        BLAS threads during a fit; ``None`` picks 1 below ``ONE_THREAD_PASS`` (where thread start-up costs
        more than it saves) and leaves the BLAS default otherwise.
    solver : {"auto", "owlqn", "proxqn"}, default="auto"
        ``"proxqn"``: proximal quasi-Newton on the pixels' Gram matrix (:mod:`mnist_logreg.solvers.proxqn`),
        ~20x fewer iterations, each with an ``O(k d^2)`` model step; ``"owlqn"``: orthant-wise L-BFGS
        with working sets; ``"auto"`` takes ``proxqn`` when there are at least 20 samples per feature.
    """

    name = "numpy"

    def __init__(self, tol: float = 1e-3, max_iter: int = 5000, memory: int = 10,
                 mixed_precision: bool | None = None, blas_threads: int | None = None, solver: str = "auto"):
        if solver not in SOLVERS:
            raise ValueError(f"solver: received {solver!r}; allowed {', '.join(SOLVERS)}")
        self.solver = solver
        self.tol = tol
        self.mixed_precision = mixed_precision
        self.max_iter = max_iter
        self.memory = memory
        self.blas_threads = blas_threads

    def options(self) -> dict:
        return {"tol": self.tol, "max_iter": self.max_iter, "memory": self.memory,
                "mixed_precision": self.mixed_precision, "blas_threads": self.blas_threads, "solver": self.solver}

    def estimator(self, row: GridPoint):
        from ..estimators import MultinomialLogisticRegression  # it builds on this engine

        return MultinomialLogisticRegression(C=row.C, l1_ratio=row.l1_ratio, tol=self.tol, max_iter=self.max_iter)

    def _threads(self, X: np.ndarray, n_classes: int) -> int | None:
        if self.blas_threads is not None:
            return self.blas_threads
        return 1 if X.shape[0] * X.shape[1] * n_classes < ONE_THREAD_PASS else None

    def _mixed(self, X: np.ndarray, n_classes: int) -> bool:
        if self.mixed_precision is not None:
            return bool(self.mixed_precision)
        # The metric solver asks for the float64 certificate each time its float32 phase converges and
        # tightens its own tolerance when rounding kept it short, so float32 is safe there at any size.
        small = X.shape[0] * X.shape[1] * n_classes < SMALL_PASS
        return (small or self._metric(X)) and self.tol >= MIXED_MIN_TOL

    def _metric(self, X: np.ndarray) -> bool:
        """Whether the proximal quasi-Newton method on the feature metric iterates (``solver``)."""
        if self.solver == "auto":
            return use_metric(*X.shape)
        return self.solver == "proxqn"

    def fit_path(self, X, y, n_classes, rows: Sequence[GridPoint],
                 warm_start=None) -> Iterator[tuple[int, FitResult]]:
        if not rows:
            return
        threads = self._threads(X, n_classes)
        mixed = self._mixed(X, n_classes)
        # Inspecting the loaded BLAS libraries costs milliseconds: do it once, not once per row.
        controller = ThreadpoolController()
        # The centred copy, the metric and the gradient scale depend on the data only: build them once.
        with controller.limit(limits=threads, user_api="blas"):
            prepared = prepare_problem(X, y, n_classes, mixed_precision=mixed, metric=self._metric(X))
        for (penalty, l1_ratio), positions in group_rows(rows).items():
            Cs = [float(rows[i].C) for i in positions]
            # A path starts from zero weights unless the caller hands over the solution its first
            # (smallest) C would have been warm-started from, as --resume does.
            first = positions[int(np.argmin(Cs))]
            start = (warm_start or {}).get(first)
            path = solve_path(X, y, n_classes, Cs, l1_ratio, tol=self.tol, max_iter=self.max_iter,
                              memory=self.memory, start=start, prepared=prepared)
            while True:
                # Limit BLAS threads only while this engine computes, not while the caller runs.
                with controller.limit(limits=threads, user_api="blas"):
                    item = next(path, None)
                if item is None:
                    break
                j, solution = item
                row = rows[positions[j]]
                if not solution.converged:
                    warnings.warn(f"numpy engine: penalty={penalty} l1_ratio={l1_ratio:g} C={row.C:g} did not "
                                  f"converge in {solution.n_iter} iterations (relative KKT violation "
                                  f"{solution.kkt:.2e} > tol={self.tol:g}); raise max_iter",
                                  ConvergenceWarning, stacklevel=2)
                yield positions[j], FitResult(coef=solution.coef, intercept=solution.intercept,
                                              n_iter=solution.n_iter, converged=solution.converged,
                                              fit_seconds=solution.seconds)
