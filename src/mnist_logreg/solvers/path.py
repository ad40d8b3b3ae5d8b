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
  least ``MIN_DROPPED_SHARE`` of X they are dropped (a copy of the rest) and their weights are
  returned as zeros.
* *Centred features.* The quasi-Newton iterations run on ``(X - mu) / sigma`` with the penalty
  rewritten for those coordinates (:mod:`.centring`); the answer is mapped back and certified on
  the original X. Centring removes the coupling between the pixel means and the intercepts, which
  cuts the iterations on MNIST-like data (BENCHMARKS.md, "Measurements that used to live in the solver docstrings").
* *Certificate.* Under ``criterion="gap"`` (what :class:`.fit.PathFitter` always asks for) a penalised
  row is certified by its relative duality gap ``(F - D) / F <= tol`` (:mod:`.gap`). A row without a
  penalty (``C = inf``: no finite dual), and every row under ``criterion="kkt"``, is certified instead
  by ``kkt <= tol * lambda_max`` (``kkt`` the largest distance of the gradient to the subdifferential)
  with ``lambda_max = max |grad_W f_0(0, b_0)|``, the gradient at zero weights and the intercepts that
  fit the class frequencies (``b_0 = log p_c``). Under L1, ``lambda_1 >= lambda_max`` makes ``W = 0``
  optimal, so ``lambda_max`` is the natural scale of the KKT violation (and of the quasi-Newton
  phase's tolerances below).

A penalised row of a separable penalty (l1, l2, elasticnet) under the gap criterion is solved in two
phases (:func:`_gap_row`). First a quasi-Newton phase on the centred copy (:func:`_rough_phase`): with
many samples per feature (:func:`use_preconditioner`) the proximal quasi-Newton steps of :mod:`.proxqn`
on the Gram matrix of the centred copy (built once, with the copy, by :func:`prepare_problem`);
otherwise, with an L1 part, OWL-QN on a working set of columns (:mod:`.workingset`: the columns with a
weight that is non-zero, or whose gradient is near the penalty, at the start point, grown by the KKT
violators until none is left; every product then reads only those columns; the working set depends on
the start point alone, so a row started from the same point is solved alike); without one, L-BFGS.
It stops, uncertified, at the hand-over point of :func:`_hand_over` (a KKT violation relative to
``lambda_max`` or to ``lambda_1``, or for L-BFGS a gap on the centred copy). Then the Newton tail of
:mod:`.newton` runs on X itself until the relative gap is at most ``tol``, which is the certificate;
its free-set factors (:mod:`.freeset`) are handed from C to C along the path. A row whose start has
zero weights and whose ``lambda_1`` is at least ``lambda_max`` is certified at its start without an
iteration (:func:`_null_row`).

The other rows (:func:`_kkt_row`: a penalty on pixel columns, ``group``; a row without a penalty; any
row under ``criterion="kkt"``) are certified by the quasi-Newton iterations themselves. Where these
run the proximal steps of :mod:`.proxqn` (tall data, or ``group``, whose norm of several weights gives
OWL-QN's orthants no meaning), each time the iterations meet their KKT tolerance they ask for the
certificate on X and, if it fails (rounding, or a gap that the KKT tolerance predicted short), go on
with a tighter one. ``group`` takes these steps on the Gram preconditioner, built on first use for
such a path, or on the identity with ``group_gram=False`` (several times more steps: BENCHMARKS.md).
Otherwise the centred phase runs as above to its KKT tolerance, and the certificate on X is computed
once, iterating on X itself (:func:`_finish`) only where it fails.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Iterator, Sequence

import numpy as np

from .centring import CentredProblem
from .columns import take_columns
from .datafit import SoftmaxDatafit
from .extrapolate import extrapolated_start
from .freeset import MAX_FREE, FactorCache
from .gap import duality_gap
from .owlqn import OWLQNResult, minimize_owlqn
from .penalties import PenaltySpec
from .preconditioner import GramPreconditioner
from .newton import AugmentedGram, minimize_newton
from .problem import Problem
from .proxqn import minimize_proxqn
from .workingset import minimize_working_set

__all__ = ["PathSolution", "PreparedProblem", "nonzero_columns", "prepare_problem", "solve_path",
           "use_preconditioner"]

#: Drop empty columns only when that removes at least this share of X (the copy costs memory).
MIN_DROPPED_SHARE = 0.05
#: The Gram-preconditioned solver (.proxqn) runs when there are at least this many samples per feature ...
PRECONDITIONER_MIN_SAMPLES_PER_FEATURE = 20
#: ... and at most this many features (its d x d matrix and O(k d^2) model steps).
PRECONDITIONER_MAX_FEATURES = 4096
#: Under the gap criterion, the quasi-Newton phase of a separable row stops at this KKT violation
#: relative to ``lambda_max`` and the Newton tail (:mod:`.newton`) takes over: with an L1 part, whose
#: gap is first order in the violation, early; without one (ridge: the gap is second order), late,
#: where L-BFGS steps are cheaper than Newton's (BENCHMARKS.md, case a).
ROUGH_KKT = 1e-3
ROUGH_KKT_SMOOTH = 1e-5
#: The same for OWL-QN on working sets (an L1 part, no Gram preconditioner): since the tail's steps
#: keep every weight in its orthant (zero weights never move the wrong way, weights stop at zero and
#: the rest is re-solved), it takes over early at the same cost per step; earlier was faster, and
#: earlier still no better (BENCHMARKS.md, "Measurements that used to live in the solver docstrings").
ROUGH_KKT_L1 = 1e-2
#: With an L1 part the quasi-Newton phase also goes on until the KKT violation is at most this share
#: of ``lambda_1``: under a weak L1 penalty (``lambda_1`` far below ``lambda_max``) ``ROUGH_KKT`` alone
#: hands the tail violations larger than the penalty itself, and its orthant-wise steps then bring
#: in hundreds of wrong signs; with this share the tail takes fewer steps. With the Gram preconditioner
#: too, its proximal steps then minimising each model further below ``ROUGH_KKT``
#: (:data:`.proxqn.FINE_SWEEPS`): a weak l1 row handed over at ``ROUGH_KKT`` alone could fail to certify,
#: while from here it does (BENCHMARKS.md, "Measurements that used to live in the solver docstrings").
ROUGH_L1 = 0.1
#: The same share on the Gram-preconditioned path, where the tail's steps are factored (.freeset) and so
#: cheap that handing over three times earlier pays (earlier still was slower) (BENCHMARKS.md, "Measurements that used to live in the solver docstrings").
ROUGH_L1_GRAM = 0.3
#: Without an L1 part the L-BFGS phase stops at this share of the gap tolerance (checked on the
#: centred copy; the margin absorbs the rounding between the copy and X, so the Newton tail's first
#: certificate on X usually ends the row without a Newton step). The two gaps agree closely, so a tenth
#: is margin enough, and a wider margin makes the rows iterate longer (BENCHMARKS.md, "Measurements that used to live in the solver docstrings").
GAP_MARGIN = 0.9
#: The Newton tail's conjugate gradients are preconditioned by the Gram matrix of X (``True``),
#: by the Hessian's diagonal (``False``), or by the Gram matrix where the quasi-Newton phase has
#: one (``None``: tall data).
NEWTON_GRAM = None
#: Tightenings of the proximal iterations' KKT tolerance allowed before a gap certificate is given up.
GAP_ROUNDS = 12


def use_preconditioner(n_samples: int, n_features: int) -> bool:
    """Whether :mod:`.proxqn` (Gram preconditioner) or :mod:`.owlqn` (scalar) solves a problem of this shape.

    A proximal quasi-Newton step costs one or two passes over X plus ``O(k d^2)`` for the model; it
    takes far fewer steps than OWL-QN on weakly regularised problems (BENCHMARKS.md, "Measurements that used to live in the solver docstrings"), so it wins when a pass
    (``n d k``) is large compared with the model, i.e. for many samples per feature.
    """
    return (n_samples >= PRECONDITIONER_MIN_SAMPLES_PER_FEATURE * n_features
            and n_features <= PRECONDITIONER_MAX_FEATURES)


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
        return take_columns(X, columns), columns
    return np.ascontiguousarray(X), np.arange(X.shape[1])


def _null_start(datafit: SoftmaxDatafit) -> np.ndarray:
    """Zero weights and intercepts ``log p_c`` (the optimum when W = 0), centred."""
    counts = np.bincount(datafit.y, minlength=datafit.n_classes).astype(np.float64)
    b0 = np.log(np.maximum(counts, 0.5) / datafit.n_samples)
    x0 = np.zeros(datafit.size)
    x0[datafit.n_coef:] = b0 - b0.mean()
    return x0


def _certifier(problem: Problem, options: dict, to_original):
    """``(certify, certified)``: ``certify(x)`` computes the certificate on X of the point that
    ``to_original`` maps ``x`` to, keeps it in ``certified["result"]`` and returns its violation
    divided by its tolerance (see ``certify`` in :func:`.proxqn.minimize_proxqn`)."""
    certified = {}

    def certify(x_iterate):
        result = certified["result"] = minimize_owlqn(problem, to_original(x_iterate), max_iter=0, **options)
        if options["criterion"] == "gap":
            return result.gap / options["tol"]
        return result.kkt / options["kkt_tol"]

    return certify, certified


def _rounds(options: dict) -> int:
    """How many times proximal iterations may tighten their KKT tolerance when the certificate on X
    fails: a few against float32 rounding (KKT), more for a duality gap, which a KKT tolerance
    predicts only roughly (under a non-smooth part the gap is first order in the violation)."""
    return GAP_ROUNDS if options["criterion"] == "gap" else 3


def _finish(problem: Problem, x: np.ndarray, options: dict, max_iter: int) -> OWLQNResult:
    """Iterate on X itself from ``x`` until the certificate holds: OWL-QN for a separable penalty,
    proximal quasi-Newton on the identity preconditioner otherwise."""
    if problem.penalty.separable:
        return minimize_owlqn(problem, x, max_iter=max_iter, **options)
    certify, certified = _certifier(problem, options, lambda x: x)
    rough = minimize_proxqn(problem, x, GramPreconditioner.identity(problem.n_features), kkt_tol=options["kkt_tol"],
                            max_iter=max_iter, memory=options["memory"], certify=certify, rounds=_rounds(options))
    result = certified.get("result") or minimize_owlqn(problem, rough.x, max_iter=0, **options)
    result.n_iter = rough.n_iter
    result.converged = result.converged and rough.converged
    return result


def _preconditioned_phase(problem: Problem, fast: CentredProblem, centred: Problem, preconditioner: GramPreconditioner,
                          x: np.ndarray, rough_tol: float, options: dict, max_iter: int) -> OWLQNResult:
    """Solve one C with :mod:`.proxqn` on the centred copy, certified on X.

    Each time the centred iterations meet ``rough_tol`` they ask for the certificate on X; when
    rounding in a float32 copy keeps it short, they go on with a tighter tolerance. The iterations
    on X (:func:`_finish`) finish only when that does not settle it.
    """
    certify, certified = _certifier(problem, options, fast.from_centred)
    rough = minimize_proxqn(centred, fast.to_centred(x), preconditioner, kkt_tol=rough_tol,
                            max_iter=max_iter, memory=options["memory"], certify=certify, rounds=_rounds(options))
    result = certified.get("result")
    if result is None or not result.converged:
        result = _finish(problem, fast.from_centred(rough.x), options, max_iter - rough.n_iter)
    result.n_iter += rough.n_iter
    return result


def _rough_phase(problem: Problem, prepared: "PreparedProblem", centred: Problem, x: np.ndarray, kkt_tol: float,
                 memory: int, max_iter: int, gap_tol: float = 0.0) -> OWLQNResult:
    """Quasi-Newton iterations of a separable row on the centred copy until its KKT violation on the
    centred copy is at most ``kkt_tol`` (original coordinates): proximal on the Gram preconditioner
    for tall data, OWL-QN on working sets of columns under L1, L-BFGS otherwise. ``x`` and the
    result are in original coordinates.

    With ``gap_tol``, the L-BFGS iterations of a row without an L1 part stop instead when the
    relative duality gap of the centred copy is at most ``gap_tol``: the copy describes the same
    objective and the same dual (one scale for all pixels, :mod:`.centring`), so its gap is the
    row's up to rounding, which the certificate on X then settles."""
    fast = prepared.fast
    start = fast.to_centred(x)
    centred_tol = kkt_tol / fast.kkt_factor()
    if prepared.preconditioner is not None:
        # To ROUGH_KKT lambda_max as tuned; below it (a weak L1 part: ROUGH_L1_GRAM lambda_1), with finer model solves.
        coarse_tol = max(centred_tol, ROUGH_KKT * prepared.lambda_max / fast.kkt_factor())
        rough = minimize_proxqn(centred, start, prepared.preconditioner, kkt_tol=coarse_tol, max_iter=max_iter,
                                memory=memory)
        if centred_tol < coarse_tol and rough.n_iter < max_iter:
            fine = minimize_proxqn(centred, rough.x, prepared.preconditioner, kkt_tol=centred_tol,
                                   max_iter=max_iter - rough.n_iter, memory=memory, fine=True)
            fine.n_iter += rough.n_iter
            rough = fine
    elif problem.penalty.has_nonsmooth:
        rough = minimize_working_set(centred, start, kkt_tol=centred_tol, max_iter=max_iter, memory=memory)
    else:
        rough = minimize_owlqn(centred, start, tol=gap_tol, kkt_tol=centred_tol, max_iter=max_iter, memory=memory,
                               criterion="gap" if gap_tol > 0 else "kkt", report_gap=False, exact_gap=False)
    rough.x = fast.from_centred(rough.x)
    return rough


def _hand_over(problem: Problem, prepared: "PreparedProblem", tol: float) -> tuple[float, float]:
    """``(kkt_tol, gap_tol)`` at which the quasi-Newton phase of a gap-criterion row hands over to the
    Newton tail, one case per method of :func:`_rough_phase`:

    * proximal steps on the Gram preconditioner: a KKT violation of ``ROUGH_KKT`` times ``lambda_max`` or,
      with an L1 part, ``ROUGH_L1_GRAM * lambda_1`` if smaller; without one, the same ``ROUGH_KKT`` where every
      weight's Hessian fits one factor (``k (d + 1) <= MAX_FREE``: the tail's Newton steps then cost a
      few products each (BENCHMARKS.md, "Measurements that used to live in the solver docstrings")), else ``ROUGH_KKT_SMOOTH * lambda_max``;
    * OWL-QN on working sets (an L1 part): ``ROUGH_KKT_L1 * lambda_max`` and ``ROUGH_L1 * lambda_1``,
      whichever is smaller;
    * L-BFGS (no L1 part): a gap of ``GAP_MARGIN * tol`` on the centred copy (the KKT tolerance returned
      with it, ``ROUGH_KKT_SMOOTH * lambda_max``, is not read: under the gap criterion OWL-QN stops on the
      gap alone), after which the tail's first certificate usually ends the row.
    """
    penalty, lambda_max, gram = problem.penalty, prepared.lambda_max, prepared.preconditioner is not None
    if penalty.has_nonsmooth:
        if gram:
            return min(ROUGH_KKT * lambda_max, ROUGH_L1_GRAM * penalty.strength), 0.0
        return min(ROUGH_KKT_L1 * lambda_max, ROUGH_L1 * penalty.strength), 0.0
    if gram and problem.n_classes * (problem.n_features + 1) <= MAX_FREE:
        # Every weight free fits one factor of the Hessian (.freeset), which makes Newton steps cheap.
        return ROUGH_KKT * lambda_max, 0.0
    return ROUGH_KKT_SMOOTH * lambda_max, 0.0 if gram else GAP_MARGIN * tol


def _null_row(problem: Problem, x: np.ndarray, tol: float) -> OWLQNResult:
    """A separable row whose ``lambda_1`` is at least ``lambda_max``, at a point with zero weights:
    every weight's gradient there is within ``lambda_1``, so zero weights are optimal and the
    certificate at ``x`` (intercepts re-optimised) ends the row without an iteration. Its primal
    value and dual point do not depend on C (no penalty is paid, the dual point needs no scaling),
    so :func:`solve_path` computes it once for all such C."""
    gap = duality_gap(problem, x, problem.scores(x))
    return OWLQNResult(gap.x, 0, gap.relative <= tol, problem.kkt(gap.x, gap.grad), gap.relative, gap.primal,
                       gap.dual)


def _gap_row(problem: Problem, prepared: "PreparedProblem", centred: Problem, x: np.ndarray, tol: float, memory: int,
             max_iter: int, factors: FactorCache) -> OWLQNResult:
    """One penalised C of a separable penalty under the gap criterion: quasi-Newton on the centred
    copy to the hand-over point of :func:`_hand_over`, then the Newton tail of :mod:`.newton` on X
    itself (X's dtype) until the relative duality gap is at most ``tol``, which is the certificate.
    ``factors`` is the path's free-set factor (:mod:`.freeset`), handed from C to C."""
    kkt_tol, gap_tol = _hand_over(problem, prepared, tol)
    rough = _rough_phase(problem, prepared, centred, x, kkt_tol, memory, max_iter, gap_tol=gap_tol)
    result = minimize_newton(problem, rough.x, tol=tol, max_iter=max(max_iter - rough.n_iter, 0),
                             gram=prepared.newton_gram(), factors=factors)
    result.n_iter += rough.n_iter
    return result


def _kkt_row(problem: Problem, prepared: "PreparedProblem", centred: Problem, x: np.ndarray, options: dict,
             max_iter: int, group_gram: bool) -> OWLQNResult:
    """One C certified by the quasi-Newton iterations themselves: rows under the KKT criterion, rows
    without a penalty (no finite dual: KKT), and rows of a penalty on pixel columns (``group``),
    whose proximal iterations ask for the chosen certificate each time they meet their tolerance."""
    fast, gram = prepared.fast, prepared.preconditioner
    # Iterate on the centred copy, then certify (and if need be finish) on X itself.
    # The centred phase always stops on the KKT test; the certificate on X is the chosen one.
    # It aims at 0.8 tol (a weight's KKT violation v in centred coordinates is v * sigma on X,
    # up to the intercepts' part, which the certificate re-optimises): the margin absorbs float32
    # rounding, and the float64 phase finishes in a few steps where it does not (a wider margin costs
    # more iterations: BENCHMARKS.md, "Measurements that used to live in the solver docstrings").
    rough_tol = 0.8 * options["kkt_tol"]
    if gram is not None or not problem.penalty.separable:
        # Proximal steps; a non-separable penalty takes them whatever the shape of X.
        preconditioner = gram if gram is not None else prepared.group_preconditioner(group_gram)
        result = _preconditioned_phase(problem, fast, centred, preconditioner, x, rough_tol / fast.kkt_factor(),
                                       options, max_iter)
    else:
        rough = _rough_phase(problem, prepared, centred, x, rough_tol, options["memory"], max_iter)
        result = _finish(problem, rough.x, options, max_iter - rough.n_iter)
        result.n_iter += rough.n_iter
    return result


@dataclass
class PreparedProblem:
    """What every path on the same data shares, built once: working matrix, centred copy, preconditioner.

    Attributes
    ----------
    columns : ndarray
        Columns of X kept (the others are empty).
    n_features : int
        Columns of the original X.
    datafit : SoftmaxDatafit
        On the kept columns of X, in X's dtype: the certificate is computed here.
    fast : CentredProblem
        The centred copy the iterations run on.
    preconditioner : GramPreconditioner or None
        Set when :mod:`.proxqn` iterates on the Gram matrix.
    lambda_max : float
        Scale of the relative KKT violation.
    """

    columns: np.ndarray
    n_features: int
    datafit: SoftmaxDatafit
    fast: CentredProblem
    preconditioner: GramPreconditioner | None
    lambda_max: float
    _group_gram: GramPreconditioner | None = field(default=None, repr=False)
    _newton_gram: AugmentedGram | None = field(default=None, repr=False)

    def newton_gram(self) -> AugmentedGram | None:
        """The Gram matrix (with the intercepts' column of ones) of the working X that preconditions the
        Newton tail's conjugate gradients, built on first use; ``None`` where the diagonal does (``NEWTON_GRAM``)."""
        use = self.preconditioner is not None if NEWTON_GRAM is None else NEWTON_GRAM
        if not use or self.datafit.n_features > PRECONDITIONER_MAX_FEATURES:
            return None
        if self._newton_gram is None:
            self._newton_gram = AugmentedGram(self.datafit.X)
        return self._newton_gram

    def group_preconditioner(self, gram: bool = True) -> GramPreconditioner:
        """The preconditioner of a penalty on pixel columns: the Gram matrix of the centred copy
        (the one the iterations use, or built once on first use) or, without ``gram`` or past
        ``PRECONDITIONER_MAX_FEATURES`` columns, the identity."""
        if self.preconditioner is not None:
            return self.preconditioner
        d = self.fast.datafit.n_features
        if not gram or d > PRECONDITIONER_MAX_FEATURES:
            return GramPreconditioner.identity(d)
        if self._group_gram is None:
            self._group_gram = GramPreconditioner(self.fast.datafit.X)
        return self._group_gram


def prepare_problem(X: np.ndarray, y: np.ndarray, n_classes: int, *, mixed_precision: bool = False,
                    preconditioner: bool | None = None) -> PreparedProblem:
    """Build the :class:`PreparedProblem` of ``(X, y)``; see :func:`solve_path` for the options."""
    X_work, columns = _working_matrix(X)
    datafit = SoftmaxDatafit(X_work, y, n_classes)
    fast = CentredProblem(X_work, y, n_classes, dtype=np.float32 if mixed_precision else X_work.dtype)
    if preconditioner is None:
        preconditioner = use_preconditioner(*X_work.shape)
    x = _null_start(datafit)
    _, g0 = datafit.value_grad(datafit.scores(x))
    return PreparedProblem(columns=columns, n_features=X.shape[1], datafit=datafit, fast=fast,
                           preconditioner=GramPreconditioner(fast.datafit.X) if preconditioner else None,
                           lambda_max=max(float(np.abs(g0[:datafit.n_coef]).max()), 1e-12))


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
    x = _null_start(datafit)
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
            null = null or _null_row(problem, x, tol)
            result = replace(null, x=null.x.copy())
        elif separable:
            result = _gap_row(problem, prepared, centred, x, tol, memory, max_iter, factors)
        else:
            # A gap certificate is asked for each time the proximal iterations meet their KKT
            # tolerance, which starts at ROUGH_KKT and tightens with the gap's shortfall.
            kkt_tol = (ROUGH_KKT if by_gap else tol) * lambda_max
            options = dict(tol=tol, kkt_tol=kkt_tol, memory=memory, criterion=criterion)
            result = _kkt_row(problem, prepared, centred, x, options, max_iter, group_gram)
        x = result.x
        solved = solved[-1:] + [(x, Cs[i])]
        W, b = datafit.unpack(x)
        coef = np.zeros((n_classes, n_features))
        coef[:, columns] = W
        dual = result.dual if datafit.X.dtype == np.float64 else float("nan")  # float32 products: not a proof
        yield i, PathSolution(coef=coef, intercept=b.copy(), n_iter=result.n_iter, converged=result.converged,
                              kkt=result.kkt / lambda_max, gap=result.gap, seconds=time.perf_counter() - began,
                              dual=dual)
