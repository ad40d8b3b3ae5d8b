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
intercept and, without a ridge, one weight of every pixel whose k weights are all free, which would
make ``H_FF`` singular: :mod:`.nullspace`, which also shifts each pixel's weights to the median
after every step under pure L1), keeping
every weight in its orthant: zero weights the solution moves the wrong way leave ``F``, and weights it
moves past zero are moved to zero exactly, the system solved again for the rest
(:func:`_orthant_direction`; fewer steps on weak l1 rows), by
conjugate gradients, truncated at a relative residual ``min(0.5, sqrt(kkt / kkt_0))`` (``kkt`` the
largest entry of ``pg``, ``kkt_0`` its value at the first step: the forcing term of inexact Newton
methods that keeps the convergence superlinear). Under an L1 part the gap is first order in the
violation on the support (scaling the dual point into the feasible box costs about the largest
relative violation), so once a step has kept every support weight's sign the next one aims at the
violation a gap of ``tol`` allows, a relative residual of ``tol * lambda_1 / kkt``: with the signs
settled, the step before the certificate is then solved that far, instead of shrinking the
violation by the loose forcing term step after step (fewer steps on l1 rows). Only where the free
set's factor preconditions the step: without one, a tight solve costs hundreds of products and made
rows slower (BENCHMARKS.md, "Measurements that used to live in the solver docstrings"). A Hessian-vector product costs one pass over
the free columns of X (both of its products block by block: :meth:`_Hessian.product`); the conjugate gradients
are preconditioned by the diagonal of ``H`` or, given :class:`AugmentedGram`, by the Kronecker
factor ``(S (x) A + alpha I)^{-1}`` of :mod:`.preconditioner`, and, where forming ``H_FF`` itself
is affordable (class pair by class pair, on the samples whose pair is uncertain: :mod:`.pairs`), by
its Cholesky factor, kept from step to step (:mod:`.freeset`; where every weight of a row fits one, a
step needs a few products instead of hundreds). Then, as in
OWL-QN, a backtracking
search along ``pi(x + t Delta)`` (``pi`` zeroes the weights that leave the orthant) with the Armijo
condition on ``pg``. The free set is rebuilt at every step, so zero weights whose gradient crosses
the penalty enter and weights that reach zero leave.

Under L1 without a ridge, ``H_FF`` is singular wherever columns of X are linearly dependent (exactly
collinear features; pixels that are sums of others): along such a direction ``v`` the loss is flat
and ``pg . v = lambda_1 s . v`` need not be zero, so the system has no solution, conjugate gradients
run to their limit, and each step crawls (BENCHMARKS.md's case d2, a synthetic set with exactly
collinear columns). The steps therefore solve ``(H_FF + mu I) d_F =
-pg_F`` (Levenberg-Marquardt): along a flat direction the step then goes far, until a weight reaches
zero and leaves the free set (which the orthant rules above handle), and elsewhere it is Newton's up
to ``mu`` against the curvature. ``mu`` is a share of the mean curvature that shrinks with the
violation, so the convergence stays superlinear, and it adapts to the data: after a step taken whole
the share falls, after a step the line search cut it rises (:data:`DAMPING`) (BENCHMARKS.md, "Measurements that used to live in the solver docstrings").

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

import functools

import numpy as np

from .columns import take_columns
from .datafit import log_normaliser
from .freeset import SWITCH_CG, FactorCache
from .gap import duality_gap
from .nullspace import balance_columns, pin_null_directions
from .owlqn import OWLQNResult, orthant_backtrack, pseudo_gradient
from .preconditioner import DELTA, class_eigen
from .problem import Problem

__all__ = ["AugmentedGram", "minimize_newton"]

#: Conjugate-gradient iterations per Newton step, at most.
MAX_CG = 200
#: A step reuses the last step's float32 copy of the free columns when they include its own with at
#: most this share more (a weight that reached zero, under L1, leaves its column in the copy).
EXTRA_COLUMNS = 0.1
#: Rows of X per block of a Hessian product: both of its matrix products run on one block before the
#: next is read (a pass over X instead of two) (BENCHMARKS.md, "Measurements that used to live in the solver docstrings").
PRODUCT_BLOCK = 8192
#: Times a Newton step's system is solved again without the zero weights its solution moved the wrong way.
MAX_RESOLVES = 3
#: Under L1 without a ridge, each step solves ``(H_FF + mu I) d_F = -pg_F`` (Levenberg-Marquardt; see the
#: module docstring) with ``mu = damping * h * min(1, kkt / kkt_0)``, ``h`` the mean diagonal of ``H_FF``
#: at the tail's first step. ``damping`` starts here (a larger fixed value took many more steps
#: (BENCHMARKS.md, "Measurements that used to live in the solver docstrings")) ...
DAMPING = 1e-3
#: ... is multiplied by this after a step taken whole (the model was right), divided by it otherwise ...
DAMPING_FACTOR = 0.25
#: ... and stays within these bounds (a fixed 1e-3 left rows of a set with exactly collinear columns
#: uncertified, where 0.1 certified them: tests/test_newton.py; (BENCHMARKS.md, "Measurements that used to live in the solver docstrings")).
MIN_DAMPING = 1e-6
MAX_DAMPING = 1.0
#: Below this relative gap, a step that does not halve the largest violation makes the tail's Hessian products run
#: in X's dtype (float64) instead of float32: their rounding then limits the steps, and a row asked for a very
#: tight gap stops lowering its violation (BENCHMARKS.md, "Measurements that used to live in the solver docstrings").
PRECISE_GAP = 1e-6
#: Under L1, a zero weight enters a step's free set when its violation is at least this share of the largest
#: violation among the zero weights (the largest always enters).
ENTER_SHARE = 0.3
#: The tightest relative residual a settled step's conjugate gradients aim at. The Hessian products
#: run in float32 until the switch to X's dtype (``PRECISE_GAP``); aiming tighter there stalled a row asked for a very tight gap, where 1e-3
#: certifies it (tests/test_engine_numpy.py; (BENCHMARKS.md, "Measurements that used to live in the solver docstrings")).
MIN_FORCING = 1e-3


class _Hessian:
    """Products with the Hessian of the smooth part at one point, on the columns that can move.

    Only the columns of X with a free coordinate enter a product (copied in ``dtype``; from
    ``previous``, the last step's Hessian on the same problem, when its columns are the same): under
    L1 that is the support and its violators, often a small part of X.
    """

    def __init__(self, problem: Problem, P: np.ndarray, free: np.ndarray, previous: "_Hessian | None" = None,
                 dtype=np.float32):
        self.problem, self.P = problem, P
        self.damping = 0.0  # mu of (H + mu I), set by the step under L1 without a ridge
        k, d = problem.n_classes, problem.n_features
        self.columns = np.flatnonzero(free[:k * d].reshape(k, d).any(axis=0))
        if previous is not None and previous.X.dtype == dtype and _covers(previous.columns, self.columns):
            # The last step's free columns include these (the usual case): no new copy. Products read
            # the few extra columns with zero weights; their entries are outside the free set.
            self.columns, self.X = previous.columns, previous.X
        else:
            if len(self.columns) * (1 + EXTRA_COLUMNS) >= d or np.dtype(dtype) != np.float32:
                # Nearly every column: copy them all, so that the next steps, whose free sets gain and
                # lose a few columns (weak L1), read this copy instead of making their own. In float64
                # (a tail's last steps, X's own dtype), X itself is read: no copy, whatever the columns.
                self.columns = np.arange(d)
            # float32 products (``dtype``) until the tail nears the rounding they allow: the conjugate
            # gradients only need an approximate H (inexact Newton), and the gradient and the certificate
            # stay in X's dtype.
            self.X = take_columns(problem.X, self.columns, dtype)

    @functools.cached_property
    def diagonal(self) -> np.ndarray:
        """``diag H`` (flat layout), computed on first use: a pass over the free columns that a step
        preconditioned by a factor covering its free set never needs."""
        problem, P, block = self.problem, self.P, 4096
        k, d, n = problem.n_classes, problem.n_features, problem.n_samples
        weights = P * (1.0 - P)  # the diagonal of diag p_i - p_i p_i^T
        # diag H_W = (P(1-P))^T (X o X) / n + alpha, read in blocks of rows (no copy of X o X kept).
        part_diag = np.zeros((k, len(self.columns)))
        for start in range(0, n, block):
            part = self.X[start:start + block]
            part_diag += (weights[start:start + block].T.astype(part.dtype) @ (part * part)).astype(np.float64,
                                                                                                    copy=False)
        diag_W = np.zeros((k, d))
        diag_W[:, self.columns] = part_diag / n + problem.penalty.alpha
        return np.concatenate([diag_W.ravel(), weights.sum(axis=0) / n])

    def product(self, v: np.ndarray) -> np.ndarray:
        r"""``(H + mu I) v`` for a flat vector ``v`` (k*d + k,) that is zero outside the free columns (``mu``
        the step's ``damping``, zero but under L1 without a ridge).

        With ``U = X V_W^T + v_b`` (n, k): ``(H v)_W = X^T (P o (U - (P o U) 1 1^T)) / n + alpha V_W``
        and ``(H v)_b`` the column sums of the same matrix.
        """
        problem, P, X = self.problem, self.P, self.X
        k, d, n_coef = problem.n_classes, problem.n_features, problem.n_coef
        V = v[:n_coef].reshape(k, d)[:, self.columns]
        V_T = np.ascontiguousarray(V.T, dtype=X.dtype)
        product_W = np.zeros((k, len(self.columns)), dtype=X.dtype)
        product_b = np.zeros(k)
        # A block of rows at a time, so that the second product reads the block from cache, not memory.
        for start in range(0, problem.n_samples, PRODUCT_BLOCK):
            block, P_block = X[start:start + PRODUCT_BLOCK], P[start:start + PRODUCT_BLOCK]
            U = (block @ V_T).astype(np.float64, copy=False) + v[n_coef:]
            HU = P_block * (U - np.einsum("ij,ij->i", P_block, U)[:, None])
            product_W += HU.T.astype(X.dtype) @ block
            product_b += HU.sum(axis=0)
        out = np.zeros_like(v)
        out_W = out[:n_coef].reshape(k, d)
        out_W[:, self.columns] = product_W.astype(np.float64) / problem.n_samples + problem.penalty.alpha * V
        out[n_coef:] = product_b / problem.n_samples
        if self.damping:
            out += self.damping * v
        return out


def _covers(kept: np.ndarray, wanted: np.ndarray) -> bool:
    """Whether the sorted columns ``kept`` include ``wanted`` with at most ``EXTRA_COLUMNS`` more."""
    return (len(kept) <= (1 + EXTRA_COLUMNS) * len(wanted) and len(wanted) > 0
            and bool(np.isin(wanted, kept, assume_unique=True).all()))


class AugmentedGram:
    r"""Eigenbasis of ``A = X~^T X~ / n + delta I`` with ``X~ = [X, 1]``: the feature factor of the preconditioner.

    The Hessian is close to ``S (x) A`` (:mod:`.preconditioner`; here the intercepts are the last
    feature, since the Newton tail runs on X itself, not on a centred copy), so
    ``(S (x) A + alpha I)^{-1}`` undoes most of the pixels' correlations that make conjugate
    gradients crawl. Built once per fit: one product ``X^T X`` and one ``(d+1) x (d+1)``
    eigendecomposition.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    """

    def __init__(self, X: np.ndarray, block: int = 4096):
        n, d = X.shape
        gram = np.zeros((d + 1, d + 1))
        for start in range(0, n, block):
            part = X[start:start + block]
            gram[:d, :d] += (part.T @ part).astype(np.float64, copy=False)
            gram[:d, d] += part.sum(axis=0, dtype=np.float64)
        gram[d, :d] = gram[:d, d]
        gram[d, d] = n
        gram /= n
        delta = DELTA * max(float(np.mean(np.diag(gram))), 1e-300)
        self.eigenvalues, self.eigenvectors = np.linalg.eigh(gram + delta * np.eye(d + 1))
        np.maximum(self.eigenvalues, delta, out=self.eigenvalues)


class _KroneckerPreconditioner:
    """``(S (x) A + alpha I)^{-1}`` on the flat layout, ``S`` the damped class curvature at ``P``."""

    def __init__(self, gram: AugmentedGram, P: np.ndarray, alpha: float, n_classes: int, n_features: int):
        self.gram, self.alpha = gram, alpha
        self.k, self.d = n_classes, n_features
        self.s, self.Q = class_eigen((np.diag(P.sum(axis=0)) - P.T @ P) / P.shape[0])

    def apply(self, r: np.ndarray) -> np.ndarray:
        k, d = self.k, self.d
        V = np.empty((k, d + 1))
        V[:, :d] = r[:k * d].reshape(k, d)
        V[:, d] = r[k * d:]
        U = self.gram.eigenvectors
        rotated = self.Q.T @ V @ U
        rotated /= self.s[:, None] * self.gram.eigenvalues[None, :] + self.alpha
        V = self.Q @ rotated @ U.T
        return np.concatenate([V[:, :d].ravel(), V[:, d]])


def _conjugate_gradients(hessian: _Hessian, rhs: np.ndarray, free: np.ndarray, rtol: float, preconditioner=None,
                         max_iter: int = MAX_CG, start: np.ndarray | None = None) -> tuple[np.ndarray, int, bool]:
    """Solve ``H_FF d_F = rhs_F`` (zero outside ``free``) by preconditioned CG; ``(d, iterations, solved)``.

    The preconditioner is ``mask M^{-1} mask`` (symmetric positive definite on the free
    coordinates), with ``M`` the given one's (Kronecker factor, free-set factor) when given, else the
    diagonal of ``H``. ``solved`` says the relative residual ``rtol`` (of ``rhs``) was reached;
    ``start`` continues from an earlier ``d`` (one more product).
    """
    r = np.where(free, rhs, 0.0)
    target = rtol * np.linalg.norm(r)
    if start is None:
        d = np.zeros_like(rhs)
    else:
        d = start.copy()
        Hd = hessian.product(d)
        Hd[~free] = 0.0
        r -= Hd
    if preconditioner is None:
        inverse_diag = np.where(free, 1.0 / np.maximum(hessian.diagonal + hessian.damping, 1e-300), 0.0)

        def precondition(v):
            return inverse_diag * v
    else:
        def precondition(v):
            out = preconditioner.apply(v)
            out[~free] = 0.0
            return out
    if np.linalg.norm(r) <= target:
        return d, 0, True
    z = precondition(r)
    p = z.copy()
    rz = float(r @ z)
    for it in range(1, max_iter + 1):
        Hp = hessian.product(p)
        Hp[~free] = 0.0
        curvature = float(p @ Hp)
        if curvature <= 0:
            return d, it, False
        step = rz / curvature
        d += step * p
        r -= step * Hp
        if np.linalg.norm(r) <= target:
            return d, it, True
        z = precondition(r)
        rz_new = float(r @ z)
        p = z + (rz_new / rz) * p
        rz = rz_new
    return d, max_iter, False


def _newton_direction(hessian: _Hessian, pg: np.ndarray, free: np.ndarray, forcing: float,
                      preconditioner: "_KroneckerPreconditioner | None", factors: FactorCache | None,
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
        return _conjugate_gradients(hessian, -pg, free, forcing, preconditioner, start=start)[0]
    forcing = min(forcing, aimed) if aimed is not None else forcing
    factor = factors.usable(free)
    d = start
    if factor is not None or not factors.needed:
        if factor is not None:
            factor.extend(hessian, free)  # entering weights: a border of the kept factor, not its diagonal
            preconditioner = factor.preconditioner(hessian, free)
        attempts = factors.attempts(hessian, free) if factor is not None else SWITCH_CG
        d, _, solved = _conjugate_gradients(hessian, -pg, free, forcing, preconditioner, max_iter=attempts,
                                            start=start)
        if solved:
            return d
    factor = factors.build(hessian, free)
    return _conjugate_gradients(hessian, -pg, free, forcing, factor.preconditioner(hessian, free),
                                start=d)[0]


def _orthant_direction(hessian: _Hessian, pg: np.ndarray, x: np.ndarray, free: np.ndarray, forcing: float,
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


def _resolved_direction(hessian: _Hessian, pg: np.ndarray, x: np.ndarray, free: np.ndarray, forcing: float,
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
    while True:
        gap = duality_gap(problem, x, Z)
        if gap.relative <= tol and not fresh:
            # Certify on exact scores only.
            Z, fresh = problem.scores(x), True
            gap = duality_gap(problem, x, Z)
        x, Z, g, F = gap.x, gap.Z, gap.grad, gap.primal
        pg = pseudo_gradient(x, g, l1, n_coef)
        kkt = float(np.abs(pg).max())
        if gap.relative <= tol or n_iter >= max_iter:
            if not fresh:
                Z, fresh = problem.scores(x), True
                gap = duality_gap(problem, x, Z)
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
        hessian = _Hessian(problem, P, free, previous=hessian, dtype=problem.X.dtype if precise else np.float32)
        if l1 > 0 and penalty.alpha == 0:
            # Levenberg-Marquardt damping, shrinking with the violation (see the module docstring); the
            # scale is the first step's, since the mean curvature changes little along a tail.
            scale = scale or max(float(np.mean(hessian.diagonal[free])), 1e-300)
            hessian.damping = damping * scale * min(1.0, kkt / first_kkt)
        forcing = min(0.5, float(np.sqrt(kkt / first_kkt)))
        # Settled signs: aim at the violation a gap of tol allows (see the module docstring).
        aimed = max(tol * l1 / kkt, MIN_FORCING) if settled else None
        preconditioner = None if gram is None else _KroneckerPreconditioner(gram, P, penalty.alpha, problem.n_classes,
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
            Z, fresh = problem.scores(x), True
            gap = duality_gap(problem, x, Z)
            return OWLQNResult(gap.x, n_iter, gap.relative <= tol, kkt, gap.relative, gap.primal, gap.dual)
        support = x[:n_coef] != 0  # did every weight of the support keep its sign?
        settled = l1 > 0 and np.array_equal(np.sign(step[0][:n_coef][support]), np.sign(x[:n_coef][support]))
        x, Z = step
        if l1 > 0 and penalty.alpha == 0:
            x = balance_columns(x, problem.n_classes, problem.n_features)  # Z stays valid: the same loss
        fresh = False

