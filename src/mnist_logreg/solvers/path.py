r"""The regularisation path: many values of C for one ``l1_ratio``, strong to weak, warm-started.

For ``lambda = 1/(C n)`` the objective of :mod:`mnist_logreg.objective` is

.. math::

    F_C(W, b) = f_{\alpha}(W, b) + \lambda_1 \lVert W\rVert_1,\qquad
    \lambda_1 = \rho\lambda,\ \alpha = (1-\rho)\lambda,

with ``f_alpha`` the mean log-loss plus ``alpha/2 |W|^2`` (:class:`.SoftmaxDatafit`). Solutions move
continuously with C, so each C starts from the previous (stronger) one's solution.

Three exact reformulations are applied before solving:

* *Empty features.* A column of X that is zero in every training sample has zero gradient, so its
  weights are 0 at the optimum for every penalty (and stay 0 without one); it is dropped and its
  weights are returned as zeros.
* *Relative tolerance.* Convergence is ``max |pg| <= tol * lambda_max`` with
  ``lambda_max = max |grad_W f_0(0, b_0)|``, the gradient at zero weights and the intercepts that
  fit the class frequencies (``b_0 = log p_c``). Under L1, ``lambda_1 >= lambda_max`` makes ``W = 0``
  optimal, so ``lambda_max`` is the natural scale of the KKT violation.
* *Centred features.* The quasi-Newton iterations run on ``(X - mu) / sigma`` with the penalty
  rewritten for those coordinates (:mod:`.scaling`); the answer is mapped back and certified on
  the original X. Centring removes the coupling between the pixel means and the intercepts, which
  halves the iterations on MNIST-like data.

With an L1 part, the centred iterations run on a working set of columns (:mod:`.workingset`):
the columns with a weight that is non-zero, or whose gradient is near the penalty, at the start
point, grown by the KKT violators until none is left; every product then reads only those
columns. The working set depends on the start point alone, so a resumed path repeats a fresh one.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from .datafit import SoftmaxDatafit
from .owlqn import minimize_owlqn
from .scaling import StandardisedProblem
from .workingset import minimize_working_set

__all__ = ["PathSolution", "nonzero_columns", "solve_path"]

#: Drop empty columns only when that removes at least this share of X (the copy costs memory).
MIN_DROPPED_SHARE = 0.05


@dataclass
class PathSolution:
    """One C of the path.

    Attributes
    ----------
    coef : ndarray of shape (n_classes, n_features), float64
    intercept : ndarray of shape (n_classes,), float64
    n_iter : int
    converged : bool
    kkt : float
        Relative KKT violation ``max |pg| / lambda_max`` at the solution.
    gap : float
        Relative duality gap ``(F - D) / F`` at the solution (NaN without a penalty).
    seconds : float
    """

    coef: np.ndarray
    intercept: np.ndarray
    n_iter: int
    converged: bool
    kkt: float
    gap: float
    seconds: float


def nonzero_columns(X: np.ndarray, block: int = 4096) -> np.ndarray:
    """Indices of the columns of X that are not zero in every row, read in blocks of rows."""
    used = np.zeros(X.shape[1], dtype=bool)
    for start in range(0, X.shape[0], block):
        used |= (X[start:start + block] != 0).any(axis=0)
    return np.flatnonzero(used)


def _working_matrix(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(X_work, columns)``: X without its empty columns when that is worth a copy."""
    if X.dtype not in (np.float32, np.float64):
        X = np.asarray(X, dtype=np.float64)
    columns = nonzero_columns(X)
    if len(columns) <= (1 - MIN_DROPPED_SHARE) * X.shape[1]:
        return np.ascontiguousarray(X[:, columns]), columns
    return np.ascontiguousarray(X), np.arange(X.shape[1])


def _null_start(datafit: SoftmaxDatafit) -> np.ndarray:
    """Zero weights and intercepts ``log p_c`` (the optimum when W = 0), centred."""
    counts = np.bincount(datafit.y, minlength=datafit.n_classes).astype(np.float64)
    b0 = np.log(np.maximum(counts, 0.5) / datafit.n_samples)
    x0 = np.zeros(datafit.size)
    x0[datafit.n_coef:] = b0 - b0.mean()
    return x0


def solve_path(X: np.ndarray, y: np.ndarray, n_classes: int, Cs: Sequence[float], l1_ratio: float, *,
               tol: float = 1e-4, max_iter: int = 5000, memory: int = 10, criterion: str = "kkt",
               mixed_precision: bool = False,
               start: tuple[np.ndarray, np.ndarray] | None = None) -> Iterator[tuple[int, PathSolution]]:
    """Solve ``F_C`` for every C, smallest C first, each warm-started from the previous solution.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        float32 or float64 (products run in that dtype); other dtypes are converted to float64.
    y : ndarray of shape (n_samples,)
        Integer class codes in ``0..n_classes-1``.
    n_classes : int
    Cs : sequence of float
        Values of C (``inf`` for no penalty), in any order.
    l1_ratio : float in [0, 1]
    tol : float, default=1e-4
        Relative KKT tolerance (see the module docstring).
    max_iter : int, default=5000
        OWL-QN iterations per C.
    memory : int, default=10
        L-BFGS pairs.
    criterion : {"kkt", "gap"}, default="kkt"
        Certificate: relative KKT violation, or relative duality gap (see :mod:`.gap`).
    mixed_precision : bool, default=False
        Iterate on a float32 centred copy (half the memory traffic) and certify, finishing if
        needed, in X's dtype. Faster on small problems; on large ones float32 rounding in the
        gradient can keep the float32 phase from reaching ``tol`` until ``max_iter``.
    start : (coef (k, d), intercept (k,)), optional
        Starting point for the first (smallest) C instead of zero weights.

    Yields
    ------
    (int, PathSolution)
        The position of the C in ``Cs`` and its solution, in increasing order of C.
    """
    X_work, columns = _working_matrix(X)
    n_samples, n_features = X.shape
    datafit = SoftmaxDatafit(X_work, y, n_classes)
    fast = StandardisedProblem(X_work, y, n_classes, dtype=np.float32 if mixed_precision else X_work.dtype)
    x = _null_start(datafit)
    _, g0 = datafit.value_grad(datafit.scores(x), x)
    lambda_max = max(float(np.abs(g0[:datafit.n_coef]).max()), 1e-12)
    if start is not None:
        x = datafit.pack(np.asarray(start[0])[:, columns], start[1])
    for i in sorted(range(len(Cs)), key=lambda i: Cs[i]):
        began = time.perf_counter()
        lam = 0.0 if math.isinf(Cs[i]) else 1.0 / (Cs[i] * n_samples)
        datafit.alpha = (1.0 - l1_ratio) * lam
        options = dict(tol=tol, kkt_tol=tol * lambda_max, memory=memory, criterion=criterion)
        # Iterate on the centred copy, then certify (and if need be finish) on X itself.
        l1_scaled, fast.datafit.alpha = fast.penalties(l1_ratio * lam, datafit.alpha)
        # The duality gap needs scalar penalties, so the centred phase always stops on the KKT test.
        # It aims at 0.8 tol (a KKT violation v in centred coordinates is at most v * max sigma on
        # X): the margin absorbs float32 rounding, and the float64 phase finishes in a few steps
        # where it does not (a margin of 0.5 costs ~20 % more iterations on case a).
        rough_options = dict(options, kkt_tol=0.8 * options["kkt_tol"] / fast.kkt_factor(), criterion="kkt",
                             report_gap=False)
        if l1_ratio * lam > 0:
            # L1: iterate on the columns that can be non-zero, check all of them (.workingset).
            rough = minimize_working_set(fast.datafit, fast.to_scaled(x), l1_scaled, kkt_tol=rough_options["kkt_tol"],
                                         max_iter=max_iter, memory=memory)
        else:
            rough = minimize_owlqn(fast.datafit, fast.to_scaled(x), l1_scaled, max_iter=max_iter, **rough_options)
        result = minimize_owlqn(datafit, fast.from_scaled(rough.x), l1_ratio * lam,
                                max_iter=max_iter - rough.n_iter, **options)
        result.n_iter += rough.n_iter
        x = result.x
        W, b = datafit.unpack(x)
        coef = np.zeros((n_classes, n_features))
        coef[:, columns] = W
        yield i, PathSolution(coef=coef, intercept=b.copy(), n_iter=result.n_iter, converged=result.converged,
                              kkt=result.kkt / lambda_max, gap=result.gap, seconds=time.perf_counter() - began)
