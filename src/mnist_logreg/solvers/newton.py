r"""Orthant-wise Newton-CG: the quadratically convergent tail of a path row (separable penalties).

Quasi-Newton methods converge linearly, and a duality-gap certificate under an L1 part is first
order in the KKT violation (:mod:`.gap`: scaling the dual point back into the feasible box costs
``~ violation * |W|_1``), so certifying a relative gap of ``1e-5`` asks for violations of
``~1e-9``, thousands of quasi-Newton steps. Newton's method squares the error at every step once
it is close, which is where a warm-started path, after its quasi-Newton phase, already is.

On the orthant of the current point (signs of the non-zero weights, and ``-sign(g)`` for the zero
weights whose gradient exceeds the penalty) ``F = f + lambda_1 |W|_1`` is smooth with gradient
``pg`` (:func:`.owlqn.pseudo_gradient`) and the Hessian of ``f``. Each step solves

.. math::

    H_{FF}\, \Delta_F = -pg_F,\qquad
    H = \frac1n \sum_i (\operatorname{diag} p_i - p_i p_i^\top) \otimes \tilde x_i \tilde x_i^\top
        + \alpha I_W,

on the free set ``F`` (non-zero weights, violating zero weights, intercepts; ``x~ = (x, 1)``; less one
intercept and, without a ridge, one weight of every pixel whose k weights are all free, which would make
``H_FF`` singular: :mod:`.nullspace`, which also shifts each pixel's weights to the median after every step
under pure L1), keeping every weight in its orthant: zero weights the solution moves the wrong way leave
``F``, and weights it moves past zero are moved to zero exactly, the system solved again for the rest
(:func:`_orthant_direction`; fewer steps on weak l1 rows), by conjugate gradients, truncated at a relative
residual ``min(0.5, sqrt(kkt / kkt_0))`` (``kkt`` the largest entry of ``pg``, ``kkt_0`` its value at the
first step: the forcing term of inexact Newton methods that keeps the convergence superlinear). Under an L1
part the gap is first order in the violation on the support (scaling the dual point into the feasible box
costs about the largest relative violation), so once a step has kept every support weight's sign the next
one aims at the violation a gap of ``tol`` allows, a relative residual of ``tol * lambda_1 / kkt``: with the
signs settled, the step before the certificate is then solved that far, instead of shrinking the violation
by the loose forcing term step after step (fewer steps on l1 rows). Only where the free set's factor
preconditions the step: without one, a tight solve costs hundreds of products and made rows slower
(BENCHMARKS.md, "Solver figures"). A Hessian-vector product costs one pass over the free columns of X (both
of its products block by block: :meth:`.hessian.FreeHessian.product`); the conjugate gradients are
preconditioned by the diagonal of ``H`` or, given :class:`.preconditioner.AugmentedGram`, by the Kronecker
factor ``(S (x) A + alpha I)^{-1}`` of :mod:`.preconditioner`, and, where forming ``H_FF`` itself is
affordable (class pair by class pair, on the samples whose pair is uncertain: :mod:`.pairs`), by its
Cholesky factor, kept from step to step (:mod:`.freeset`; where every weight of a row fits one, a step needs
a few products instead of hundreds). Then, as in OWL-QN, a backtracking search along ``pi(x + t Delta)``
(``pi`` zeroes the weights that leave the orthant) with the Armijo condition on ``pg``. The free set is
rebuilt at every step, so zero weights whose gradient crosses the penalty enter and weights that reach zero
leave.

Under L1 without a ridge, ``H_FF`` is singular wherever columns of X are linearly dependent (exactly
collinear features; pixels that are sums of others): along such a direction ``v`` the loss is flat
and ``pg . v = lambda_1 s . v`` need not be zero, so the system has no solution, conjugate gradients
run to their limit, and each step crawls (BENCHMARKS.md's case d2, a synthetic set with exactly
collinear columns). The steps therefore solve ``(H_FF + mu I) d_F =
-pg_F`` (Levenberg-Marquardt): along a flat direction the step then goes far, until a weight reaches
zero and leaves the free set (which the orthant rules above handle), and elsewhere it is Newton's up
to ``mu`` against the curvature. ``mu`` is a share of the mean curvature that shrinks with the
violation, so the convergence stays superlinear, and it adapts to the data: after a step taken whole
the share falls, after a step the line search cut it rises (:data:`DAMPING`) (BENCHMARKS.md, "Solver figures").

Until a step keeps every support weight's sign, zero weights enter the free set by the size of their
violation: only those whose pseudo-gradient is at least ``ENTER_SHARE`` of the largest among the zero
weights (a working set that grows, as in glmnet's and celer's, and which the certificate, computed on
every weight, checks); once the signs are settled, every violator enters. When every violator entered
from the start, a step could move a hundred and fifty weakly violating weights off zero for almost no
decrease, and the next steps had to cut them back to zero at step lengths of 1e-3 (BENCHMARKS.md).

The products run in float32 until the relative gap is below ``PRECISE_GAP`` and a step no longer halves
the largest violation; from then on in X's dtype, whose rounding no longer limits the steps to tight
tolerances.

The certificate is the relative duality gap of :mod:`.gap`, computed at every step (its gradient is
the one the step needs, so it costs no extra pass).
"""

from __future__ import annotations

import numpy as np

from .cg import conjugate_gradients
from .datafit import log_normaliser
from .freeset import SWITCH_CG, FactorCache
from .gap import duality_gap, fresh_gap
from .hessian import FreeHessian
from .nullspace import balance_columns, pin_null_directions
from .owlqn import OWLQNResult, orthant_backtrack, pseudo_gradient
from .preconditioner import AugmentedGram, KroneckerPreconditioner
from .problem import Problem

__all__ = ["minimize_newton"]

#: Times a Newton step's system is solved again without the zero weights its solution moved the wrong way.
MAX_RESOLVES = 3
#: Under L1 without a ridge, each step solves ``(H_FF + mu I) d_F = -pg_F`` (Levenberg-Marquardt; see the
#: module docstring) with ``mu = damping * h * min(1, kkt / kkt_0)``, ``h`` the mean diagonal of ``H_FF``
#: at the tail's first step. ``damping`` starts here (a larger fixed value took many more steps
#: (BENCHMARKS.md, "Solver figures")) ...
DAMPING = 1e-3
#: ... is multiplied by this after a step taken whole (the model was right), divided by it otherwise ...
DAMPING_FACTOR = 0.25
#: ... and stays within these bounds (a fixed 1e-3 left rows of a set with exactly collinear columns
#: uncertified, where 0.1 certified them: tests/test_newton.py; BENCHMARKS.md, "Solver figures").
MIN_DAMPING = 1e-6
MAX_DAMPING = 1.0
#: Below this relative gap, a step that does not halve the largest violation makes the tail's Hessian products run
#: in X's dtype (float64) instead of float32: their rounding then limits the steps, and a row asked for a very
#: tight gap stops lowering its violation (BENCHMARKS.md, "Solver figures").
PRECISE_GAP = 1e-6
#: Under L1, a zero weight enters a step's free set when its violation is at least this share of the largest
#: violation among the zero weights (the largest always enters).
ENTER_SHARE = 0.3
#: The tightest relative residual a settled step's conjugate gradients aim at. The Hessian products run in
#: float32 until the switch to X's dtype (``PRECISE_GAP``); aiming tighter there stalled a row asked for a
#: very tight gap, where 1e-3 certifies it (tests/test_engine_numpy.py; BENCHMARKS.md, "Solver figures").
MIN_FORCING = 1e-3
#: The tail ends, uncertified, after this many steps in a row that made no progress float64 can show:
#: none lowered ``F`` by more than ``STALL_DECREASE`` of it, nor the gap to half its smallest value so far.
#: Under a penalty too weak for float64 (l1 at C = 1e8 on 1,000 digits, l2 at C = 1e100 on 1,797) the
#: steps stop changing ``F`` at all while the gap stays far above any tolerance, and the tail went on to
#: ``max_iter`` (thousands of steps, each a factor and Hessian products: minutes to hours). A tail that
#: certifies can spend such steps while its damping (under L1 without a ridge) climbs from
#: ``MIN_DAMPING`` to ``MAX_DAMPING``, ten steps cut by the search (l1 at C = 1e7 on 1,000 digits: 14
#: steps without progress, then certified); three times that is the allowance.
STALL_STEPS = 30
STALL_DECREASE = 1e-13


def _newton_direction(hessian: FreeHessian, pg: np.ndarray, free: np.ndarray, forcing: float,
                      preconditioner: "KroneckerPreconditioner | None", factors: FactorCache | None,
                      start: np.ndarray | None = None, aimed: float | None = None) -> np.ndarray:
    """The step's direction: conjugate gradients on ``H_FF d_F = -pg_F`` (from ``start``, if given).

    With a :class:`.freeset.FactorCache` and a free set small enough to factor, they run on the
    kept factor for at most :meth:`.freeset.FactorCache.attempts` iterations (or, where the path has
    never needed a factor, on the usual preconditioner for at most ``SWITCH_CG``: a path whose steps
    it settles keeps no factor, so each row depends on its start point alone); if that does not
    settle the step, a factor of this step's Hessian is built, kept, and the iterations go on with it.
    Once a path has needed a factor, a step that no kept factor covers builds one at once (on case b
    the Kronecker-preconditioned attempts never settled a step, and cost 15 products each). Only
    there, where a tight solve costs a few products, do they go on to the tighter relative residual
    ``aimed`` when one is given.
    """
    if factors is None or not factors.affordable(hessian, free):
        return conjugate_gradients(hessian, -pg, free, forcing, preconditioner, start=start)[0]
    forcing = min(forcing, aimed) if aimed is not None else forcing
    factor = factors.usable(free)
    d = start
    if factor is not None or not factors.needed:
        if factor is not None:
            factor.extend(hessian, free)  # entering weights: a border of the kept factor, not its diagonal
            preconditioner = factor.preconditioner(hessian, free)
        attempts = factors.attempts(hessian, free) if factor is not None else SWITCH_CG
        d, _, solved = conjugate_gradients(hessian, -pg, free, forcing, preconditioner, max_iter=attempts,
                                            start=start)
        if solved:
            return d
    factor = factors.build(hessian, free)
    return conjugate_gradients(hessian, -pg, free, forcing,
                               factor.preconditioner(hessian, free) if factor is not None else preconditioner,
                               start=d)[0]


def _orthant_direction(hessian: FreeHessian, pg: np.ndarray, x: np.ndarray, free: np.ndarray, forcing: float,
                       preconditioner, factors: FactorCache | None, n_coef: int,
                       aimed: float | None = None) -> np.ndarray:
    """The Newton direction on the free set, with no weight moved out of its orthant.

    A zero weight enters the free set when its gradient exceeds the penalty, and may only move
    against its pseudo-gradient (into the orthant of ``-pg``); a weight of the support may move to
    zero but not past it. When the solution of the Newton system breaks either, cutting the step
    back to the orthant afterwards (as the line search's projection does) leaves the other weights
    compensating for a move that does not happen: the step is then no Newton step at all (the
    quadratic model can even rise along it) and the line search cuts it to a fraction, step after
    step. Instead, the zero weights it moves the wrong way leave the free set, the weights it moves
    past zero are moved to zero exactly, and the system is solved again for the rest given those
    moves (:func:`_resolved_direction`). Far from the solution, moving weights to zero can make
    the model rise; the direction then lets them move with the rest (the line search projects).
    """
    entering = np.zeros(x.size, dtype=bool)
    support = np.zeros(x.size, dtype=bool)
    if hessian.problem.penalty.strength > 0:  # without an L1 part there are no orthants to keep
        entering[:n_coef] = free[:n_coef] & (x[:n_coef] == 0)
        support[:n_coef] = x[:n_coef] != 0
    # The first solve is the same system either way: solved once, shared by both.
    first = _newton_direction(hessian, pg, free, forcing, preconditioner, factors, aimed=aimed)
    args = (hessian, pg, x, free, forcing, preconditioner, factors, aimed, entering)
    d = _resolved_direction(*args, support, first=first.copy())
    return d if d is not None else _resolved_direction(*args, np.zeros_like(support), first=first)


def _resolved_direction(hessian: FreeHessian, pg: np.ndarray, x: np.ndarray, free: np.ndarray, forcing: float,
                        preconditioner, factors: FactorCache | None, aimed: float | None, entering: np.ndarray,
                        support: np.ndarray, first: np.ndarray) -> np.ndarray | None:
    """From ``first``, the solution of ``H_FF d_F = -pg_F`` (modified here), solve again without the
    ``entering`` weights it moved the wrong way and with the ``support`` weights it moved past zero
    fixed at ``-x`` (``H_FF' d_F' = -pg_F' - H_F'R d_R``), up to ``MAX_RESOLVES`` times, each from
    the solution so far (an empty ``support``: the zero weights' rule alone).

    Returns the direction, or ``None`` when weights were moved to zero and the quadratic model
    ``pg . d + d H d / 2`` does not decrease along it (one more product).
    """
    fixed = np.zeros(x.size)  # the moves of the weights taken to zero
    rhs, d = pg, first
    for attempt in range(MAX_RESOLVES + 1):
        if attempt > 0:
            d = _newton_direction(hessian, rhs, free, forcing, preconditioner, factors, start=d, aimed=aimed)
        wrong = entering & (d * pg >= 0) & (d != 0)
        crossing = support & (x * (x + d) < 0)
        if not (wrong.any() or crossing.any()):
            break
        free = free & ~wrong & ~crossing
        d[wrong | crossing] = 0.0  # after the last solve, only this: no weight leaves its orthant
        fixed[crossing] = -x[crossing]
        if crossing.any() and attempt < MAX_RESOLVES:
            rhs = pg + np.where(free, hessian.product(fixed), 0.0)
    if not fixed.any():
        return d
    d += fixed
    return d if pg @ d + 0.5 * (d @ hessian.product(d)) < 0 else None


def minimize_newton(problem: Problem, x0: np.ndarray, *, tol: float, max_iter: int,
                    gram: AugmentedGram | None = None, factors: FactorCache | None = None) -> OWLQNResult:
    """Minimise ``F = f + lambda_1 |W|_1`` from ``x0`` until the relative duality gap is at most ``tol``.

    Parameters
    ----------
    problem : Problem
        Datafit and a separable penalty (``penalty.separable``) with a finite dual (not zero).
    x0 : ndarray of shape (k*d + k,)
        Start point, best close to the solution (a quasi-Newton phase's end); not modified.
    tol : float
        Relative duality gap to reach.
    max_iter : int
        Newton steps.
    gram : AugmentedGram, optional
        Of the same X: conjugate gradients preconditioned by ``S (x) A`` instead of the diagonal.
    factors : FactorCache, optional
        The path's kept factor of the exact Hessian on a free set (:mod:`.freeset`), used and
        renewed where the free set is small; without it, no factor is built.

    Returns
    -------
    OWLQNResult
        ``n_iter`` counts Newton steps; ``kkt`` the largest pseudo-gradient entry; ``gap`` the
        relative duality gap, at the re-optimised intercepts that ``x`` carries.
    """
    penalty = problem.penalty
    if not penalty.separable or penalty.is_zero:
        raise ValueError(f"Newton tail needs a separable penalty with a finite dual; received {penalty!r}")
    n_coef, l1 = problem.n_coef, penalty.strength
    x = np.array(x0, dtype=np.float64)
    Z = problem.scores(x)
    fresh = True  # Z computed from x, not accumulated along line searches
    n_iter, first_kkt, hessian, scale, damping = 0, None, None, None, DAMPING
    settled = False
    precise, last_kkt = False, None  # float64 products, once float32 ones stop lowering the violation
    last_F, least_gap, stalled = np.inf, np.inf, 0  # steps in a row without progress (STALL_STEPS)
    while True:
        gap = duality_gap(problem, x, Z)
        if gap.relative <= tol and not fresh:
            gap, fresh = fresh_gap(problem, x), True  # certify on exact scores only
        x, Z, g, F = gap.x, gap.Z, gap.grad, gap.primal
        pg = pseudo_gradient(x, g, l1, n_coef)
        kkt = float(np.abs(pg).max())
        progress = F < last_F - STALL_DECREASE * abs(last_F) or gap.relative <= 0.5 * least_gap
        stalled = 0 if progress else stalled + 1
        last_F, least_gap = F, min(least_gap, gap.relative)
        if gap.relative <= tol or n_iter >= max_iter or stalled >= STALL_STEPS:
            if not fresh:
                gap, fresh = fresh_gap(problem, x), True
                x, F = gap.x, gap.primal
            return OWLQNResult(x, n_iter, gap.relative <= tol, kkt, gap.relative, F, gap.dual)
        n_iter += 1
        free = np.ones(x.size, dtype=bool)
        if l1 > 0:
            zero = x[:n_coef] == 0
            violation = np.where(zero, np.abs(pg[:n_coef]), 0.0)
            # Zero weights enter by the size of their violation (see the module docstring).
            share = 0.0 if settled else ENTER_SHARE  # settled signs: every violator, as the certificate asks
            entering = (violation > 0) & (violation >= share * violation.max(initial=0.0))
            free[:n_coef] = ~zero | entering
        pin_null_directions(free, x, problem.n_classes, problem.n_features, penalty.alpha)
        P = log_normaliser(Z)[1]
        first_kkt = first_kkt or max(kkt, 1e-300)
        if not precise and last_kkt is not None and gap.relative < PRECISE_GAP and kkt > 0.5 * last_kkt:
            precise = True
        last_kkt = kkt
        hessian = FreeHessian(problem, P, free, previous=hessian, dtype=problem.X.dtype if precise else np.float32)
        if l1 > 0 and penalty.alpha == 0:
            # Levenberg-Marquardt damping, shrinking with the violation (see the module docstring); the
            # scale is the first step's, since the mean curvature changes little along a tail.
            scale = scale or max(float(np.mean(hessian.diagonal[free])), 1e-300)
            hessian.damping = damping * scale * min(1.0, kkt / first_kkt)
        forcing = min(0.5, float(np.sqrt(kkt / first_kkt)))
        # Settled signs: aim at the violation a gap of tol allows (see the module docstring).
        aimed = max(tol * l1 / kkt, MIN_FORCING) if settled else None
        preconditioner = None if gram is None else KroneckerPreconditioner(gram, P, penalty.alpha, problem.n_classes,
                                                                            problem.n_features)
        d = _orthant_direction(hessian, pg, x, free, forcing, preconditioner, factors, n_coef, aimed)
        step = orthant_backtrack(problem, x, Z, F, pg, d, 1.0) if pg @ d < 0 else None
        if hessian.damping:
            # Less damping after a Newton step taken whole (t = 1; the weights it took past zero are zero),
            # where the model can be trusted more; more after one the search cut or that was no descent.
            moved = step[0] != 0 if step is not None else None
            whole = step is not None and np.array_equal(step[0][moved], (x + d)[moved])
            damping = max(damping * DAMPING_FACTOR, MIN_DAMPING) if whole else min(damping / DAMPING_FACTOR, MAX_DAMPING)
        if step is None:
            # Conjugate gradients truncated early, or re-started from a solution with weights left out,
            # can end short of a descent direction: a steepest-descent step on the orthant instead.
            step = orthant_backtrack(problem, x, Z, F, pg, -pg, 1.0)
        if step is None:
            gap = fresh_gap(problem, x)
            return OWLQNResult(gap.x, n_iter, gap.relative <= tol, kkt, gap.relative, gap.primal, gap.dual)
        support = x[:n_coef] != 0  # did every weight of the support keep its sign?
        settled = l1 > 0 and np.array_equal(np.sign(step[0][:n_coef][support]), np.sign(x[:n_coef][support]))
        x, Z = step
        if l1 > 0 and penalty.alpha == 0:
            x = balance_columns(x, problem.n_classes, problem.n_features)  # Z stays valid: the same loss
        fresh = False

