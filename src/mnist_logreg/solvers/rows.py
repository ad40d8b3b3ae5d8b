"""One C of a path: the strategy that solves and certifies a row (see :mod:`.path` for the overview).

A penalised separable row under the gap criterion: a quasi-Newton phase on the centred copy
(:func:`_rough_phase`) to the hand-over point of :func:`_hand_over`, then the Newton tail of
:mod:`.newton` on X (:func:`gap_row`); zero weights that are optimal, without an iteration
(:func:`null_row`); every other row certified by the quasi-Newton iterations themselves
(:func:`kkt_row`).
"""

from __future__ import annotations

import numpy as np

from .centring import CentredProblem
from .freeset import MAX_FREE, FactorCache
from .gap import fresh_gap
from .newton import minimize_newton
from .owlqn import OWLQNResult, minimize_owlqn
from .prepare import PreparedProblem
from .preconditioner import GramPreconditioner
from .problem import Problem
from .proxqn import minimize_proxqn
from .workingset import minimize_working_set

__all__ = ["GAP_MARGIN", "GAP_ROUNDS", "ROUGH_KKT", "ROUGH_KKT_L1", "ROUGH_KKT_SMOOTH", "ROUGH_L1", "ROUGH_L1_GRAM",
           "gap_row", "kkt_row", "null_row"]

#: Under the gap criterion, the quasi-Newton phase of a separable row stops at this KKT violation
#: relative to ``lambda_max`` and the Newton tail (:mod:`.newton`) takes over: with an L1 part, whose
#: gap is first order in the violation, early; without one (ridge: the gap is second order), late,
#: where L-BFGS steps are cheaper than Newton's (BENCHMARKS.md, case a).
ROUGH_KKT = 1e-3
ROUGH_KKT_SMOOTH = 1e-5
#: The same for OWL-QN on working sets (an L1 part, no Gram preconditioner): since the tail's steps
#: keep every weight in its orthant (zero weights never move the wrong way, weights stop at zero and
#: the rest is re-solved), it takes over early at the same cost per step; earlier was faster, and
#: earlier still no better (BENCHMARKS.md, "Solver figures").
ROUGH_KKT_L1 = 1e-2
#: With an L1 part the quasi-Newton phase also goes on until the KKT violation is at most this share
#: of ``lambda_1``: under a weak L1 penalty (``lambda_1`` far below ``lambda_max``) ``ROUGH_KKT`` alone
#: hands the tail violations larger than the penalty itself, and its orthant-wise steps then bring
#: in hundreds of wrong signs; with this share the tail takes fewer steps. With the Gram preconditioner
#: too, its proximal steps then minimising each model further below ``ROUGH_KKT``
#: (:data:`.proxqn.FINE_SWEEPS`): a weak l1 row handed over at ``ROUGH_KKT`` alone could fail to certify,
#: while from here it does (BENCHMARKS.md, "Solver figures").
ROUGH_L1 = 0.1
#: The same share on the Gram-preconditioned path, where the tail's steps are factored (.freeset) and so
#: cheap that handing over three times earlier pays (earlier still was slower) (BENCHMARKS.md, "Solver figures").
ROUGH_L1_GRAM = 0.3
#: Without an L1 part the L-BFGS phase stops at this share of the gap tolerance (checked on the
#: centred copy; the margin absorbs the rounding between the copy and X, so the Newton tail's first
#: certificate on X usually ends the row without a Newton step). The two gaps agree closely, so a tenth
#: is margin enough, and a wider margin makes the rows iterate longer (BENCHMARKS.md, "Solver figures").
GAP_MARGIN = 0.9
#: Tightenings of the proximal iterations' KKT tolerance allowed before a gap certificate is given up.
GAP_ROUNDS = 12



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


def _certified_proxqn(problem: Problem, iterated: Problem, x: np.ndarray, preconditioner: GramPreconditioner,
                      to_original, kkt_tol: float, options: dict,
                      max_iter: int) -> tuple[OWLQNResult, OWLQNResult | None]:
    """``(rough, certified)``: :mod:`.proxqn` on ``iterated`` from ``x`` (its coordinates) to ``kkt_tol``,
    asking for the certificate on ``problem`` (X itself) at the point ``to_original`` maps each
    candidate to (:func:`_certifier`); ``certified`` is the last certificate computed, or ``None``."""
    certify, certified = _certifier(problem, options, to_original)
    rough = minimize_proxqn(iterated, x, preconditioner, kkt_tol=kkt_tol, max_iter=max_iter, memory=options["memory"],
                            certify=certify, rounds=_rounds(options))
    return rough, certified.get("result")


def _finish(problem: Problem, x: np.ndarray, options: dict, max_iter: int) -> OWLQNResult:
    """Iterate on X itself from ``x`` until the certificate holds: OWL-QN for a separable penalty,
    proximal quasi-Newton on the identity preconditioner otherwise."""
    if problem.penalty.separable:
        return minimize_owlqn(problem, x, max_iter=max_iter, **options)
    rough, result = _certified_proxqn(problem, problem, x, GramPreconditioner.identity(problem.n_features),
                                      lambda x: x, options["kkt_tol"], options, max_iter)
    result = result or minimize_owlqn(problem, rough.x, max_iter=0, **options)
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
    rough, result = _certified_proxqn(problem, centred, fast.to_centred(x), preconditioner, fast.from_centred,
                                      rough_tol, options, max_iter)
    if result is None or not result.converged:
        result = _finish(problem, fast.from_centred(rough.x), options, max_iter - rough.n_iter)
    result.n_iter += rough.n_iter
    return result


def _rough_phase(problem: Problem, prepared: PreparedProblem, centred: Problem, x: np.ndarray, kkt_tol: float,
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


def _hand_over(problem: Problem, prepared: PreparedProblem, tol: float) -> tuple[float, float]:
    """``(kkt_tol, gap_tol)`` at which the quasi-Newton phase of a gap-criterion row hands over to the
    Newton tail, one case per method of :func:`_rough_phase`:

    * proximal steps on the Gram preconditioner: a KKT violation of ``ROUGH_KKT`` times ``lambda_max`` or,
      with an L1 part, ``ROUGH_L1_GRAM * lambda_1`` if smaller; without one, the same ``ROUGH_KKT`` where every
      weight's Hessian fits one factor (``k (d + 1) <= MAX_FREE``: the tail's Newton steps then cost a
      few products each (BENCHMARKS.md, "Solver figures")), else ``ROUGH_KKT_SMOOTH * lambda_max``;
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


def null_row(problem: Problem, x: np.ndarray, tol: float) -> OWLQNResult:
    """A separable row whose ``lambda_1`` is at least ``lambda_max``, at a point with zero weights:
    every weight's gradient there is within ``lambda_1``, so zero weights are optimal and the
    certificate at ``x`` (intercepts re-optimised) ends the row without an iteration. Its primal
    value and dual point do not depend on C (no penalty is paid, the dual point needs no scaling),
    so :func:`solve_path` computes it once for all such C."""
    gap = fresh_gap(problem, x)
    return OWLQNResult(gap.x, 0, gap.relative <= tol, problem.kkt(gap.x, gap.grad), gap.relative, gap.primal,
                       gap.dual)


def gap_row(problem: Problem, prepared: PreparedProblem, centred: Problem, x: np.ndarray, tol: float, memory: int,
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


def kkt_row(problem: Problem, prepared: PreparedProblem, centred: Problem, x: np.ndarray, options: dict,
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
    # more iterations: BENCHMARKS.md, "Solver figures").
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
