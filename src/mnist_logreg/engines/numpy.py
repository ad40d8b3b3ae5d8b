"""The ``numpy`` engine: each penalty's C path solved in order with warm starts, on NumPy/SciPy.

Rows are grouped by ``(penalty, l1_ratio)``; each group's C values are solved from the strongest
regularisation (smallest C) to the weakest, every solution starting the next. The iterations run
on centred features (in float32 on small problems and on tall ones) and are mapped back exactly.
Two methods of :mod:`mnist_logreg.solvers` iterate:

* with many samples per feature and not too many features (``n >= 20 d`` and ``d <= 4096``,
  e.g. 60,000 images of 784 pixels: :func:`~mnist_logreg.solvers.prepare.use_preconditioner`), the
  proximal quasi-Newton method on the pixels' Gram matrix (:mod:`~mnist_logreg.solvers.proxqn`),
  which needs many fewer passes over X there than
* the orthant-wise quasi-Newton method (L-BFGS without an L1 part), used otherwise; with an L1
  part its iterations run on a working set of columns and are checked on all of them. The
  ``group`` penalty, which OWL-QN's orthants cannot express, takes proximal quasi-Newton steps
  on the identity preconditioner there.

Features that are zero in every training image are dropped (their weights are 0). The centred
copy, the Gram matrix and the gradient scale are built once per fit and shared by every path. A
penalised row is certified converged when its relative duality gap ``(F - D) / F`` on the
original X (:mod:`~mnist_logreg.solvers.gap`), a proven bound of its relative distance to the
optimum, is at most ``tol`` (a row without a penalty, which has no finite dual, when its KKT
violation relative to the gradient scale at zero weights is); otherwise it is returned with
``converged=False`` and a :class:`~sklearn.exceptions.ConvergenceWarning`. Separable rows reach a
tight gap through the orthant-wise Newton-CG tail of :mod:`~mnist_logreg.solvers.newton`.

Memory: besides X, a centred copy of the non-empty columns (float32 with ``mixed_precision``), a
copy of those columns when dropping empty ones saves at least 5 % of X, under L1 with OWL-QN a
copy of the working set's columns of the centred copy (at most 80 % of it), and with the Gram
preconditioner (or ``group`` rows) a ``d x d`` matrix.

The solving itself lives in :class:`mnist_logreg.solvers.fit.PathFitter`, which the estimators
of :mod:`mnist_logreg.estimators` use too; this module only maps grid rows to paths and back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Sequence

from ..plan.grid import GridPoint, rows_as_paths
from ..solvers.fit import PathFitter
from ..solvers.penalties import PENALTIES
from .base import Engine, FitResult

if TYPE_CHECKING:  # pragma: no cover - the estimator (scikit-learn) is imported where a model is built
    from ..estimators import MultinomialLogisticRegression

__all__ = ["NumpyEngine"]


class NumpyEngine(Engine):
    """Warm-started path solver on NumPy/SciPy: the grid's face of :class:`~mnist_logreg.solvers.fit.PathFitter`.

    Parameters
    ----------
    tol, max_iter, memory, mixed_precision, blas_threads, solver
        See :class:`~mnist_logreg.solvers.fit.PathFitter`: ``tol`` (default 1e-5) the relative duality
        gap that certifies a row, ``max_iter`` (5000) quasi-Newton iterations plus Newton steps per row,
        ``memory`` (10) L-BFGS pairs, ``mixed_precision`` (None: automatic) float32 iterations,
        ``blas_threads`` (None: automatic), ``solver`` ({"auto", "owlqn", "proxqn"}).
    """

    name = "numpy"
    penalties = frozenset(PENALTIES)

    def __init__(self, tol: float = 1e-5, max_iter: int = 5000, memory: int = 10,
                 mixed_precision: bool | None = None, blas_threads: int | None = None, solver: str = "auto"):
        self.tol = tol
        self.max_iter = max_iter
        self.memory = memory
        self.mixed_precision = mixed_precision
        self.blas_threads = blas_threads
        self.solver = solver
        self.fitter  # builds the solver layer, which checks every option now, not at the first fit

    @property
    def fitter(self) -> PathFitter:
        """The solver layer with this engine's options."""
        return PathFitter(**self.options())

    def options(self) -> dict:
        return {"tol": self.tol, "max_iter": self.max_iter, "memory": self.memory,
                "mixed_precision": self.mixed_precision, "blas_threads": self.blas_threads, "solver": self.solver}

    def estimator(self, row: GridPoint) -> MultinomialLogisticRegression:
        """The estimator that refits ``row`` with every option of this engine."""
        from ..estimators import MultinomialLogisticRegression  # scikit-learn: the driver's, not the workers'

        return MultinomialLogisticRegression(C=row.C, l1_ratio=row.l1_ratio, penalty=row.spec.family_name,
                                             **self.options())

    def fit_path(self, X, y, n_classes, rows: Sequence[GridPoint],
                 warm_start=None) -> Iterator[tuple[int, FitResult]]:
        groups, paths = rows_as_paths(rows)
        # A path starts from zero weights unless the caller hands over the solution its first
        # (smallest) C would have been warm-started from.
        starts = {}
        for p, positions in enumerate(groups):
            first = min(positions, key=lambda i: rows[i].C)
            if (warm_start or {}).get(first) is not None:
                starts[p] = warm_start[first]
        for p, j, solution in self.fitter.fit(X, y, n_classes, paths, starts):
            yield groups[p][j], FitResult(coef=solution.coef, intercept=solution.intercept, n_iter=solution.n_iter,
                                          converged=solution.converged, fit_seconds=solution.seconds,
                                          dual=solution.dual)
