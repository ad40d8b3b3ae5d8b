r"""Orthant-wise limited-memory quasi-Newton (OWL-QN) for ``f(x) + lambda |W|_1``.

Andrew & Gao (2007), "Scalable training of L1-regularized log-linear models". On the orthant that
contains the current point, ``|W|_1`` is linear, so the objective is smooth there and L-BFGS
applies. Each iteration

1. computes the *pseudo-gradient* ``pg``, the minimum-norm subgradient of
   ``F = f + lambda |W|_1``:

   .. math::

       pg_j = \begin{cases} g_j + \lambda\,\mathrm{sign}(w_j) & w_j \ne 0 \\
              \mathrm{sign}(g_j)\max(|g_j| - \lambda, 0) & w_j = 0 \end{cases}

   (intercepts are not penalised: ``pg_j = g_j``). ``x`` minimises ``F`` iff ``pg = 0``, so
   ``max_j |pg_j|`` is the KKT violation, the certificate under the ``"kkt"`` criterion and without a
   penalty (under ``"gap"`` it is the relative duality gap of :mod:`.gap`);
2. takes the L-BFGS direction ``d = -H pg`` from the curvature pairs of the smooth part, zeroing
   the penalised components whose sign disagrees with ``-pg``;
3. backtracks ``x(t) = pi(x + t d)`` where ``pi`` zeroes every penalised coordinate that leaves the
   orthant ``sign(x)`` (``sign(-pg)`` at zeros), until the Armijo condition
   ``F(x(t)) <= F(x) + c pg . (x(t) - x)`` holds.

With ``lambda = 0`` it is plain L-BFGS with a backtracking line search. The line search evaluates
``F`` from ``Z + t X D^T`` (see :mod:`.datafit`), so an iteration costs two passes over X whatever
the number of backtracks.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from scipy.linalg.blas import daxpy, ddot

from .gap import duality_gap, fresh_gap
from .problem import Problem

__all__ = ["OWLQNResult", "pseudo_gradient", "minimize_owlqn"]

#: Armijo constant of the line search.
ARMIJO = 1e-4
#: Halvings of the step before the line search gives up and the memory is reset.
MAX_BACKTRACKS = 40
#: Iterations between exact recomputations of the scores, which are otherwise updated in place.
REFRESH_SCORES = 20
#: Iterations between duality-gap checks; under a pure ridge, checks come when :func:`ridge_gap`
#: predicts the gap met, and at least every ``RIDGE_GAP_EVERY`` iterations in case it errs high.
GAP_EVERY = 5
RIDGE_GAP_EVERY = 20


def ridge_gap(problem: Problem, g: np.ndarray, F: float) -> float:
    r"""The relative duality gap that a pure ridge row (no L1 part, ``alpha > 0``) will show: with the
    intercepts optimal and the dual point of :mod:`.gap` (the residuals, unscaled), the gap is exactly

    .. math::

        F - D = \frac{1}{2\alpha} \lVert \alpha W - X^\top\theta \rVert^2 = \frac{\lVert\nabla_W F\rVert^2}{2\alpha},

    so the gradient the iterations already have says when the gap is worth computing (one more pass
    over X and the intercepts' re-optimisation). The same on the centred copy: its weights are X's
    times one scale, its ``alpha`` divided by the scale's square. The intercepts' own gradient is
    counted in too, so that a point whose intercepts are still far off does not trigger a check.

    Divided by ``2 alpha`` and by ``F`` in turn: under a very weak ridge on separable data both are
    tiny (``alpha`` 1e-202 and ``F`` 1e-198 at C = 1e200 on 500 digits), and their product underflows
    to zero. In turn, the quotient can only overflow, to ``inf``: a gap not worth checking yet."""
    return float(g @ g) / (2.0 * problem.penalty.alpha) / max(abs(F), 1e-300)


@dataclass
class OWLQNResult:
    """Outcome of :func:`minimize_owlqn`.

    Attributes
    ----------
    x : ndarray of shape (k*d + k,)
    n_iter : int
        Quasi-Newton iterations taken (each costs two passes over X).
    converged : bool
        Whether the chosen certificate holds at ``x``: ``gap <= tol`` under the ``"gap"`` criterion,
        ``kkt <= kkt_tol`` under ``"kkt"`` or without a penalty.
    kkt : float
        ``max |pg|`` at ``x``.
    gap : float
        Relative duality gap at ``x`` (NaN without a penalty).
    value : float
        ``F(x)`` (smooth part + ``lambda |W|_1``).
    dual : float
        The dual value ``D <= min F`` behind ``gap`` (:mod:`.gap`), where the solver keeps it; NaN otherwise.
    """

    x: np.ndarray
    n_iter: int
    converged: bool
    kkt: float
    gap: float
    value: float
    dual: float = float("nan")


def pseudo_gradient(x: np.ndarray, grad: np.ndarray, l1: float, n_coef: int) -> np.ndarray:
    """Minimum-norm subgradient of ``f + l1 sum_{j < n_coef} |x_j|`` given ``grad = grad f(x)``."""
    pg = grad.copy()
    if l1 > 0:
        w, g = x[:n_coef], grad[:n_coef]
        at_zero = np.sign(g) * np.maximum(np.abs(g) - l1, 0.0)
        pg[:n_coef] = np.where(w > 0, g + l1, np.where(w < 0, g - l1, at_zero))
    return pg


def _two_loop(pg: np.ndarray, pairs, initial=None) -> np.ndarray:
    """L-BFGS two-loop recursion: ``H pg`` with ``H`` the inverse-Hessian model of the pairs.

    ``pairs`` holds ``(s, y, 1 / s.y, ...)`` tuples, oldest first. The initial inverse Hessian is
    ``gamma I`` with ``gamma = s.y / y.y`` from the newest pair, or ``initial(q)`` when given.
    The updates ``q <- q - a y`` run as in-place BLAS ``axpy`` calls: NumPy's ``q -= a * y``
    allocates a temporary, which doubles the cost of the recursion on vectors of ~10^4 entries.
    """
    q = np.array(pg, dtype=np.float64)
    alphas = []
    for s, y, rho, *_ in reversed(pairs):
        a = rho * ddot(s, q)
        daxpy(y, q, a=-a)
        alphas.append(a)
    if initial is not None:
        q = np.array(initial(q), dtype=np.float64)
    elif pairs:
        s, y, *_ = pairs[-1]
        q *= ddot(s, y) / ddot(y, y)  # initial Hessian gamma I, gamma = s.y / y.y (Nocedal & Wright 7.20)
    for (s, y, rho, *_), a in zip(pairs, reversed(alphas)):
        b = rho * ddot(y, q)
        daxpy(s, q, a=a - b)
    return q


def minimize_owlqn(problem: Problem, x0: np.ndarray, *, tol: float, kkt_tol: float,
                   max_iter: int, memory: int = 10, criterion: str = "kkt",
                   report_gap: bool = True, exact_gap: bool = True) -> OWLQNResult:
    """Minimise ``F = f(x) + l1 |W|_1`` from ``x0`` until convergence is certified.

    Under ``criterion="gap"`` with a penalty the certificate is the relative duality gap
    ``(F - D) / F <= tol`` of :mod:`.gap`, checked every ``GAP_EVERY`` iterations (one extra pass over
    X each), or under a pure ridge when the gradient predicts it met (:func:`ridge_gap`); each check
    also re-optimises the intercepts, which only lowers ``F``. Under ``criterion="kkt"`` (the default),
    and without a penalty (no finite dual), the certificate is the KKT violation
    ``max |pg| <= kkt_tol``, checked at every iteration on scores recomputed from ``x``; with
    ``report_gap`` the duality gap is then computed once at the end, for the record.

    The iterations need a separable penalty (the elastic net: ``l1 = penalty.strength``, the
    ridge in the smooth part). With ``max_iter=0`` nothing is iterated and any penalty is
    accepted: the result is the certificate (KKT violation, duality gap) of ``x0``.

    Parameters
    ----------
    problem : Problem
        Datafit and penalty of one row.
    x0 : ndarray of shape (k*d + k,)
        Starting point (a warm start from a neighbouring C, or zeros); not modified.
    tol : float
        Relative duality gap to reach under the ``"gap"`` criterion (not read under ``"kkt"``).
    kkt_tol : float
        Absolute KKT tolerance of the ``"kkt"`` criterion and of rows without a penalty (not read
        under ``"gap"`` with a penalty).
    max_iter : int
    memory : int, default=10
        Number of L-BFGS curvature pairs kept.
    criterion : {"kkt", "gap"}, default="kkt"
    report_gap : bool, default=True
        Under the KKT criterion, also compute the duality gap at the end (and adopt the
        re-optimised intercepts).
    exact_gap : bool, default=True
        Under the gap criterion, confirm a gap that meets ``tol`` on scores computed afresh from
        ``x`` (not those accumulated along line searches). ``False`` where the caller certifies the
        point again anyway (the centred copy's phase, certified on X by the Newton tail).

    Returns
    -------
    OWLQNResult
    """
    n_coef, penalty = problem.n_coef, problem.penalty
    if max_iter > 0 and not penalty.separable:
        raise ValueError(f"OWL-QN needs a penalty that is a sum over single weights; received {penalty!r}")
    l1 = penalty.strength
    penalised = not penalty.is_zero
    use_gap = penalised and criterion == "gap"
    # A pure ridge row checks its gap when ridge_gap predicts it met; a check that finds it larger
    # (the iterate's intercepts are not yet optimal) scales the later predictions by the ratio seen.
    predict_gap = use_gap and l1 == 0 and penalty.alpha > 0
    ratio = 1.0
    x = np.array(x0, dtype=np.float64)
    Z = problem.scores(x)
    f, g = problem.value_grad(Z, x)
    F = f + problem.nonsmooth(x)
    pairs: deque = deque(maxlen=memory)
    fresh = True  # Z was computed from x directly, not accumulated along line searches
    n_iter = 0
    stalled = False
    while True:
        kkt = problem.kkt(x, g)
        last = stalled or n_iter >= max_iter
        if predict_gap:
            predicted = ridge_gap(problem, g, F)
            due = ratio * predicted <= tol or (n_iter > 0 and n_iter % RIDGE_GAP_EVERY == 0)
        else:
            due = n_iter % GAP_EVERY == 0
        if use_gap and (last or due):
            if not fresh and (last or n_iter % REFRESH_SCORES == 0):
                gap, fresh = fresh_gap(problem, x), True
            else:
                gap = duality_gap(problem, x, Z)
            if gap.relative <= tol and not fresh and exact_gap:
                gap, fresh = fresh_gap(problem, x), True  # certify on exact scores
            # Adopt the re-optimised intercepts: a lower F, with its gradient already known.
            x, Z, g, F = gap.x, gap.Z, gap.grad, gap.primal
            if gap.relative <= tol or last:
                kkt = problem.kkt(x, g)
                return OWLQNResult(x, n_iter, gap.relative <= tol, kkt, gap.relative, F)
            if predict_gap:  # (not the last iteration: that returned above)
                ratio = max(ratio, gap.relative / max(predicted, 1e-300))
        elif not use_gap and (kkt <= kkt_tol or last):
            if not fresh:
                Z, fresh = problem.scores(x), True
                f, g = problem.value_grad(Z, x)
                F = f + problem.nonsmooth(x)
                continue
            if not penalised or not report_gap:
                return OWLQNResult(x, n_iter, kkt <= kkt_tol, kkt, np.nan, F)
            gap = duality_gap(problem, x, Z)  # report the gap; b* only lowers F
            kkt_star = problem.kkt(gap.x, gap.grad)
            if kkt_star <= max(kkt, kkt_tol):
                return OWLQNResult(gap.x, n_iter, kkt_star <= kkt_tol, kkt_star, gap.relative, gap.primal)
            return OWLQNResult(x, n_iter, kkt <= kkt_tol, kkt, gap.relative, F)
        n_iter += 1
        pg = pseudo_gradient(x, g, l1, n_coef)
        step = _search(problem, x, Z, F, pg, pairs, first=not pairs)
        if step is None:
            # No decrease along the quasi-Newton direction: restart from steepest descent.
            pairs.clear()
            step = _search(problem, x, Z, F, pg, pairs, first=True)
            if step is None:
                stalled = True
                continue
        x_new, Z_new = step
        fresh = False
        f_new, g_new = problem.value_grad(Z_new, x_new)
        s, y = x_new - x, g_new - g
        sy = s @ y
        if sy > 1e-12 * (y @ y):  # keep the model positive definite
            pairs.append((s, y, 1.0 / sy))
        x, Z, g = x_new, Z_new, g_new
        F = f_new + problem.nonsmooth(x)


def _search(problem: Problem, x, Z, F, pg, pairs, *, first: bool):
    """Backtracking line search along the projected quasi-Newton direction.

    Returns ``(x_new, Z_new)`` or ``None`` when no step of at least ``2**-MAX_BACKTRACKS`` decreases
    ``F`` enough.
    """
    n_coef, l1 = problem.n_coef, problem.penalty.strength
    d = -_two_loop(pg, pairs) if pairs else -pg
    if l1 > 0:
        # Keep the direction in the orthant that pg points into.
        wrong = d[:n_coef] * pg[:n_coef] >= 0
        d[:n_coef][wrong] = 0.0
    if pg @ d >= 0:  # not a descent direction: fall back to steepest descent
        d = -pg
    return orthant_backtrack(problem, x, Z, F, pg, d, min(1.0, 1.0 / np.linalg.norm(pg)) if first else 1.0)


def orthant_backtrack(problem: Problem, x, Z, F, pg, d, t: float):
    """Armijo backtracking from step ``t`` along ``pi(x + t d)``, the projection onto the orthant
    that ``x`` (or ``-pg`` where ``x`` is zero) lies in; ``(x_new, Z_new)`` or ``None``.

    Shared by the quasi-Newton phase and the Newton tail (:mod:`.newton`): only the direction differs.
    """
    n_coef, l1 = problem.n_coef, problem.penalty.strength
    orthant = np.sign(x[:n_coef])
    zero = orthant == 0
    orthant[zero] = np.sign(-pg[:n_coef][zero])
    XD = problem.scores(d)  # X D_W^T + D_b: Z moves linearly along d
    for _ in range(MAX_BACKTRACKS):
        x_t = x + t * d
        Z_t = Z + t * XD
        if l1 > 0:
            w_t = x_t[:n_coef]
            leaving = np.sign(w_t) != orthant
            if leaving.any():
                # pi(x + t d): zero what left the orthant, and correct Z for those coordinates only.
                change = np.zeros(n_coef)
                change[leaving] = -w_t[leaving]
                w_t[leaving] = 0.0
                change = change.reshape(problem.n_classes, problem.n_features)
                columns = np.flatnonzero(change.any(axis=0))
                Z_t += problem.scores_of_columns(columns, change[:, columns])
        F_t = problem.objective(Z_t, x_t)
        if F_t <= F + ARMIJO * (pg @ (x_t - x)):
            return x_t, Z_t
        t *= 0.5
    return None
