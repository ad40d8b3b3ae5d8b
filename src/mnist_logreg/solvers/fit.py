"""The solver layer's front door: options in, every path of a fit solved, each C's solution out.

Both the ``numpy`` engine (:mod:`mnist_logreg.engines.numpy`) and the scikit-learn estimators
(:mod:`mnist_logreg.estimators`) fit through :class:`PathFitter`, so they share every option and
every default, and neither imports the other. A *path* is one penalty spec (name and
``l1_ratio``) with its values of C; the centred copy, the Gram preconditioner and the gradient
scale depend on the data only and are built once for all paths.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import asdict, dataclass
from numbers import Real
from typing import Iterator, Mapping, Sequence

import numpy as np
from threadpoolctl import ThreadpoolController

from .datafit import SoftmaxDatafit
from .path import PathSolution, solve_path
from .prepare import nonzero_columns, null_start, prepare_problem, use_preconditioner
from .penalties import PenaltySpec
from .problem import check_C

__all__ = ["PathFitter", "SOLVERS"]

#: Below this many multiply-adds per pass over X (n * d * k) one BLAS thread is faster than several
#: (thread start-up costs more than it saves) (BENCHMARKS.md, "Solver figures").
ONE_THREAD_PASS = 2e6
#: Below this many multiply-adds per pass, float32 iterations are on by default.
SMALL_PASS = 5e7
#: Iteration methods (see ``solver``).
SOLVERS = ("auto", "owlqn", "proxqn")


@dataclass
class PathFitter:
    """Warm-started path solver on NumPy/SciPy, with every option of the ``numpy`` engine.

    Parameters
    ----------
    tol : float, default=1e-5
        Certificate: the relative duality gap ``(F - D) / F`` of :mod:`.gap`, a proven bound of
        ``(F - min F) / F``, must be at most ``tol``. A row without a penalty (``C = inf``, no
        finite dual) is certified instead by its largest optimality (KKT) violation divided by the
        largest weight gradient at zero weights.
    max_iter : int, default=5000
        Quasi-Newton plus Newton iterations per C.
    memory : int, default=10
        L-BFGS curvature pairs.
    mixed_precision : bool or None, default=None
        For float64 X, iterate on a float32 copy of X (half the memory traffic, products ~2x faster;
        memory 1.5x X); the Newton tail and the certificate run on X itself. float32 X is always
        solved in float32. ``None`` turns it on for small problems (``n*d*k < SMALL_PASS``) and
        where the Gram preconditioner iterates, off otherwise.
    blas_threads : int or None, default=None
        BLAS threads during a fit; ``None`` picks 1 below ``ONE_THREAD_PASS`` (where thread start-up costs
        more than it saves) and leaves the BLAS default otherwise.
    solver : {"auto", "owlqn", "proxqn"}, default="auto"
        ``"proxqn"``: proximal quasi-Newton on the pixels' Gram matrix (:mod:`.proxqn`), far fewer
        iterations (BENCHMARKS.md, "Solver figures"), each with an ``O(k d^2)`` model step; ``"owlqn"``:
        orthant-wise L-BFGS with working sets; ``"auto"`` takes ``proxqn`` when there are at least 20
        samples per feature and at most 4096 features (:func:`.prepare.use_preconditioner`). A penalty on
        pixel columns (``group``) always takes proximal quasi-Newton steps: on the Gram matrix under
        ``"auto"`` and ``"proxqn"``, on the identity under ``"owlqn"``.
    """

    tol: float = 1e-5
    max_iter: int = 5000
    memory: int = 10
    mixed_precision: bool | None = None
    blas_threads: int | None = None
    solver: str = "auto"

    def __post_init__(self):
        """Refuse an option no fit could run with, naming it, what was received and what is allowed."""
        def whole(value) -> bool:
            return isinstance(value, (int, np.integer)) and not isinstance(value, bool)

        if not isinstance(self.tol, Real) or isinstance(self.tol, bool) or not self.tol > 0:
            raise ValueError(f"tol: received {self.tol!r}; allowed a number > 0")
        if not whole(self.max_iter) or self.max_iter < 1:
            raise ValueError(f"max_iter: received {self.max_iter!r}; allowed an integer >= 1")
        if not whole(self.memory) or self.memory < 1:
            raise ValueError(f"memory: received {self.memory!r}; allowed an integer >= 1 (L-BFGS pairs)")
        if self.mixed_precision not in (None, True, False):
            raise ValueError(f"mixed_precision: received {self.mixed_precision!r}; allowed None, True or False")
        if self.blas_threads is not None and (not whole(self.blas_threads) or self.blas_threads < 1):
            raise ValueError(f"blas_threads: received {self.blas_threads!r}; allowed None or an integer >= 1")
        if self.solver not in SOLVERS:
            raise ValueError(f"solver: received {self.solver!r}; allowed {', '.join(SOLVERS)}")

    def options(self) -> dict:
        """Every option, as plain Python values."""
        return asdict(self)

    def threads(self, X: np.ndarray, n_classes: int) -> int | None:
        if self.blas_threads is not None:
            return self.blas_threads
        return 1 if X.shape[0] * X.shape[1] * n_classes < ONE_THREAD_PASS else None

    def mixed(self, X: np.ndarray, n_classes: int) -> bool:
        if self.mixed_precision is not None:
            return bool(self.mixed_precision)
        # The preconditioned solver asks for the float64 certificate each time its float32 phase converges and
        # tightens its own tolerance when rounding kept it short, so float32 is safe there at any size.
        small = X.shape[0] * X.shape[1] * n_classes < SMALL_PASS
        return small or self.preconditioned(X)

    def preconditioned(self, X: np.ndarray) -> bool:
        """Whether the proximal quasi-Newton method on the Gram preconditioner iterates (``solver``)."""
        if self.solver == "auto":
            return use_preconditioner(*X.shape)
        return self.solver == "proxqn"

    def fit(self, X: np.ndarray, y: np.ndarray, n_classes: int,
            paths: Sequence[tuple[PenaltySpec, Sequence[float]]],
            starts: Mapping[int, tuple[np.ndarray, np.ndarray]] | None = None,
            ) -> Iterator[tuple[int, int, PathSolution]]:
        """Solve every path, yielding ``(path index, C index, solution)`` as each C is solved.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            Integer class codes in ``0..n_classes-1``.
        n_classes : int
        paths : sequence of (PenaltySpec, sequence of float)
        starts : mapping of path index to (coef (k, d), intercept (k,)), optional
            Start that path's smallest C there instead of at zero weights.

        Warns
        -----
        ConvergenceWarning
            For each C whose certificate does not hold within ``max_iter``.

        Raises
        ------
        ValueError
            For a C outside ``(0, MAX_C]`` other than ``inf`` (:func:`.problem.check_C`), before any fit.
        """
        for _, Cs in paths:
            for C in Cs:
                check_C(C)
        if not paths:
            return
        columns = nonzero_columns(X)
        if not len(columns):
            yield from _intercepts_only(X, y, n_classes, paths, self.tol)
            return
        threads = self.threads(X, n_classes)
        # Inspecting the loaded BLAS libraries costs milliseconds: do it once, not once per row.
        controller = ThreadpoolController()
        with controller.limit(limits=threads, user_api="blas"):
            prepared = prepare_problem(X, y, n_classes, mixed_precision=self.mixed(X, n_classes),
                                       preconditioner=self.preconditioned(X), columns=columns)
        for p, (spec, Cs) in enumerate(paths):
            path = solve_path(X, y, n_classes, Cs, spec, tol=self.tol, max_iter=self.max_iter, memory=self.memory,
                              criterion="gap", start=(starts or {}).get(p), group_gram=self.solver != "owlqn",
                              prepared=prepared)
            while True:
                # Limit BLAS threads only while the solver computes, not while the caller runs.
                with controller.limit(limits=threads, user_api="blas"):
                    item = next(path, None)
                if item is None:
                    break
                j, solution = item
                if not solution.converged:
                    from sklearn.exceptions import ConvergenceWarning  # imported when needed: see plan.warmup

                    certificate = (f"relative duality gap {solution.gap:.2e}" if np.isfinite(solution.gap)
                                   else f"relative KKT violation {solution.kkt:.2e}")
                    # Short of max_iter, the iterations stopped because their steps no longer changed
                    # anything float64 can show (a penalty too weak for it): more iterations would not help.
                    advice = ("raise max_iter" if solution.n_iter >= self.max_iter else
                              f"its steps stopped lowering the objective before max_iter={self.max_iter}, so raising "
                              "it will not help; a smaller C or a looser tol may")
                    warnings.warn(f"numpy engine: penalty={spec.name} l1_ratio={spec.l1_ratio:g} C={Cs[j]:g} did not "
                                  f"converge in {solution.n_iter} iterations ({certificate} > tol={self.tol:g}); "
                                  f"{advice}", ConvergenceWarning, stacklevel=2)
                yield p, j, solution


def _intercepts_only(X: np.ndarray, y: np.ndarray, n_classes: int,
                     paths: Sequence[tuple[PenaltySpec, Sequence[float]]], tol: float,
                     ) -> Iterator[tuple[int, int, PathSolution]]:
    """Every pixel is 0 in every image: the weights multiply nothing, so zero weights (which no
    penalty charges for) with the intercepts that fit the class frequencies (:func:`.prepare.null_start`)
    are optimal for every penalty and C. Each row still carries its own certificate
    (:func:`.gap.certified_gap`; KKT without a penalty)."""
    from ..objective import objective_from_scores
    from .gap import certified_gap

    start = time.perf_counter()
    datafit = SoftmaxDatafit(np.zeros((X.shape[0], 0)), y, n_classes)
    x = null_start(datafit)
    Z = datafit.scores(x)
    kkt = float(np.abs(datafit.value_grad(Z)[1]).max())  # the intercepts' gradient: the only one
    coef, intercept = np.zeros((n_classes, X.shape[1])), x[datafit.n_coef:]
    seconds = time.perf_counter() - start
    for p, (spec, Cs) in enumerate(paths):
        for j, C in enumerate(Cs):
            value = objective_from_scores(Z, y, coef, l1_ratio=spec.l1_ratio, C=C, penalty=spec.name)
            gap = certified_gap(X, y, coef, intercept, Z, value, l1_ratio=spec.l1_ratio, C=C, penalty=spec.name)
            converged = bool(gap <= tol) if np.isfinite(gap) else kkt <= tol
            yield p, j, PathSolution(coef=coef.copy(), intercept=intercept.copy(), n_iter=0, converged=converged,
                                     kkt=kkt, gap=gap, seconds=seconds)
