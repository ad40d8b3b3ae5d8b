r"""The regularisation path: many values of C for one ``l1_ratio``, strong to weak, warm-started.

For ``lambda = 1/(C n)`` the objective of :mod:`mnist_logreg.objective` is

.. math::

    F_C(W, b) = f_{\alpha}(W, b) + \lambda_1 h(W),\qquad
    \lambda_1 = \rho\lambda,\ \alpha = (1-\rho)\lambda,

with ``f_alpha`` the mean log-loss plus ``alpha/2 |W|^2`` and ``h`` the penalty's norm (the
penalty object of :mod:`.penalties`, built per C from the path's :class:`.penalties.PenaltySpec`;
the datafit is shared and never changes). Solutions move continuously with C, so each C starts
from the previous (stronger) one's solution or, for a separable penalty from the third C on, from
the secant through the last two (:mod:`.extrapolate`).

Two exact reformulations are applied before solving, and one scale is fixed:

* *Empty features.* A column of X that is zero in every training sample has zero gradient, so its
  weights are 0 at the optimum for every penalty (and stay 0 without one); when such columns are at
  least ``MIN_DROPPED_SHARE`` (:mod:`.prepare`) of X they are dropped (a copy of the rest) and their weights are
  returned as zeros.
* *Centred features.* The quasi-Newton iterations run on ``(X - mu) / sigma`` with the penalty
  rewritten for those coordinates (:mod:`.centring`); the answer is mapped back and certified on
  the original X. Centring removes the coupling between the pixel means and the intercepts, which
  cuts the iterations on MNIST-like data (BENCHMARKS.md, "Solver figures").
* *Certificate.* Under ``criterion="gap"`` (what :class:`.fit.PathFitter` always asks for) a penalised
  row is certified by its relative duality gap ``(F - D) / F <= tol`` (:mod:`.gap`). A row without a
  penalty (``C = inf``: no finite dual), and every row under ``criterion="kkt"``, is certified instead
  by ``kkt <= tol * lambda_max`` (``kkt`` the largest distance of the gradient to the subdifferential)
  with ``lambda_max = max |grad_W f_0(0, b_0)|``, the gradient at zero weights and the intercepts that
  fit the class frequencies (``b_0 = log p_c``). Under L1, ``lambda_1 >= lambda_max`` makes ``W = 0``
  optimal, so ``lambda_max`` is the natural scale of the KKT violation (and of the quasi-Newton
  phase's tolerances below).

A penalised row of a separable penalty (l1, l2, elasticnet) under the gap criterion is solved in two
phases (:func:`.rows.gap_row`). First a quasi-Newton phase on the centred copy (:func:`.rows._rough_phase`): with
many samples per feature (:func:`.prepare.use_preconditioner`) the proximal quasi-Newton steps of :mod:`.proxqn`
on the Gram matrix of the centred copy (built once, with the copy, by :func:`.prepare.prepare_problem`);
otherwise, with an L1 part, OWL-QN on a working set of columns (:mod:`.workingset`: the columns with a
weight that is non-zero, or whose gradient is near the penalty, at the start point, grown by the KKT
violators until none is left; every product then reads only those columns; the working set depends on
the start point alone, so a row started from the same point is solved alike); without one, L-BFGS.
It stops, uncertified, at the hand-over point of :func:`.rows._hand_over` (a KKT violation relative to
``lambda_max`` or to ``lambda_1``, or for L-BFGS a gap on the centred copy). Then the Newton tail of
:mod:`.newton` runs on X itself until the relative gap is at most ``tol``, which is the certificate;
its free-set factors (:mod:`.freeset`) are handed from C to C along the path. A row whose start has
zero weights and whose ``lambda_1`` is at least ``lambda_max`` is certified at its start without an
iteration (:func:`.rows.null_row`).

The other rows (:func:`.rows.kkt_row`: a penalty on pixel columns, ``group``; a row without a penalty; any
row under ``criterion="kkt"``) are certified by the quasi-Newton iterations themselves. Where these
run the proximal steps of :mod:`.proxqn` (tall data, or ``group``, whose norm of several weights gives
OWL-QN's orthants no meaning), each time the iterations meet their KKT tolerance they ask for the
certificate on X and, if it fails (rounding, or a gap that the KKT tolerance predicted short), go on
with a tighter one. ``group`` takes these steps on the Gram preconditioner, built on first use for
such a path, or on the identity with ``group_gram=False`` (several times more steps: BENCHMARKS.md).
Otherwise the centred phase runs as above to its KKT tolerance, and the certificate on X is computed
once, iterating on X itself (:func:`.rows._finish`) only where it fails.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Iterator, Sequence

import numpy as np

from .extrapolate import extrapolated_start
from .freeset import FactorCache
from .owlqn import OWLQNResult
from .penalties import PenaltySpec
from .prepare import PreparedProblem, nonzero_columns, null_start, prepare_problem, use_preconditioner
from .problem import Problem
from .rows import ROUGH_KKT, gap_row, kkt_row, null_row

__all__ = ["PathSolution", "PreparedProblem", "nonzero_columns", "prepare_problem", "solve_path",
           "use_preconditioner"]


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
    dual : float
        ``D``, a lower bound of the row's minimum, where the Newton tail proved it in float64 on X
        itself (the point's own certificate, so scoring need not build it again); NaN otherwise.
    """

    coef: np.ndarray
    intercept: np.ndarray
    n_iter: int
    converged: bool
    kkt: float
    gap: float
    seconds: float
    dual: float = float("nan")


def solve_path(X: np.ndarray, y: np.ndarray, n_classes: int, Cs: Sequence[float], penalty: PenaltySpec, *,
               tol: float = 1e-4, max_iter: int = 5000, memory: int = 10, criterion: str = "kkt",
               mixed_precision: bool = False, preconditioner: bool | None = None,
               start: tuple[np.ndarray, np.ndarray] | None = None, group_gram: bool = True,
               prepared: PreparedProblem | None = None) -> Iterator[tuple[int, PathSolution]]:
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
    penalty : PenaltySpec
        The path's penalty name and ``l1_ratio``.
    tol : float, default=1e-4
        Under ``criterion="gap"``, the relative duality gap that certifies a penalised row; under
        ``"kkt"``, and for a row without a penalty, the KKT violation relative to ``lambda_max`` (see
        the module docstring). (:class:`.fit.PathFitter` passes 1e-5 and ``"gap"``.)
    max_iter : int, default=5000
        Iterations per C, all phases together: quasi-Newton iterations, plus the Newton tail's steps
        under ``criterion="gap"``.
    memory : int, default=10
        L-BFGS pairs.
    criterion : {"kkt", "gap"}, default="kkt"
        Certificate: relative KKT violation, or relative duality gap (see :mod:`.gap`; rows without a
        penalty are certified by the KKT violation either way).
    mixed_precision : bool, default=False
        Iterate on a float32 centred copy (half the memory traffic) and certify, finishing if
        needed, in X's dtype. Faster on small problems; on large ones float32 rounding in the
        gradient can keep the float32 phase from reaching ``tol`` until ``max_iter``.
    preconditioner : bool or None, default=None
        Iterate with the Gram-preconditioned proximal quasi-Newton method (:mod:`.proxqn`) instead
        of OWL-QN; ``None`` decides by the shape of X (:func:`use_preconditioner`).
    start : (coef (k, d), intercept (k,)), optional
        Starting point for the first (smallest) C instead of zero weights.
    group_gram : bool, default=True
        A non-separable penalty takes its proximal steps on the Gram preconditioner even where
        ``preconditioner`` is off (``False``: on the identity).
    prepared : PreparedProblem, optional
        From :func:`prepare_problem` on the same ``(X, y)``, to share it between paths (then
        ``mixed_precision`` and ``preconditioner`` are those it was built with).

    Yields
    ------
    (int, PathSolution)
        The position of the C in ``Cs`` and its solution, in increasing order of C.
    """
    if prepared is None:
        prepared = prepare_problem(X, y, n_classes, mixed_precision=mixed_precision, preconditioner=preconditioner)
    columns, n_features, lambda_max = prepared.columns, prepared.n_features, prepared.lambda_max
    datafit, fast = prepared.datafit, prepared.fast
    n_samples = datafit.n_samples
    x = null_start(datafit)
    if start is not None:
        x = datafit.pack(np.asarray(start[0])[:, columns], start[1])
    factors = FactorCache()  # this path's own: the Newton tails of neighbouring C share free sets
    null: OWLQNResult | None = None  # the certificate of zero weights, the same for every C that makes them optimal
    n_coef = datafit.n_coef
    solved: list[tuple[np.ndarray, float]] = []  # the last two rows: (solution, C)
    for i in sorted(range(len(Cs)), key=lambda i: Cs[i]):
        began = time.perf_counter()
        # One problem per C: the shared datafits, and this C's penalty (in centred coordinates for the copy).
        problem = Problem(datafit, penalty.at(Cs[i], n_samples))
        if len(solved) == 2 and problem.penalty.separable:  # (C = inf, no penalty: the last start is kept)
            x = extrapolated_start(problem, solved[0], solved[1], Cs[i])
        centred = Problem(fast.datafit, fast.centred_penalty(problem.penalty))
        by_gap = criterion == "gap" and not problem.penalty.is_zero  # no penalty: no finite dual, KKT
        separable = by_gap and problem.penalty.separable
        if separable and problem.penalty.strength >= lambda_max and not x[:n_coef].any():
            null = null or null_row(problem, x, tol)
            result = replace(null, x=null.x.copy())
        elif separable:
            result = gap_row(problem, prepared, centred, x, tol, memory, max_iter, factors)
        else:
            # A gap certificate is asked for each time the proximal iterations meet their KKT
            # tolerance, which starts at ROUGH_KKT and tightens with the gap's shortfall.
            kkt_tol = (ROUGH_KKT if by_gap else tol) * lambda_max
            options = dict(tol=tol, kkt_tol=kkt_tol, memory=memory, criterion=criterion)
            result = kkt_row(problem, prepared, centred, x, options, max_iter, group_gram)
        x = result.x
        solved = solved[-1:] + [(x, Cs[i])]
        W, b = datafit.unpack(x)
        coef = np.zeros((n_classes, n_features))
        coef[:, columns] = W
        dual = result.dual if datafit.X.dtype == np.float64 else float("nan")  # float32 products: not a proof
        yield i, PathSolution(coef=coef, intercept=b.copy(), n_iter=result.n_iter, converged=result.converged,
                              kkt=result.kkt / lambda_max, gap=result.gap, seconds=time.perf_counter() - began,
                              dual=dual)
