r"""Proximal quasi-Newton with a Gram preconditioner, for fits on many samples (and for ``group``).

Minimises ``F = f + lambda h(W)`` (``f`` the smooth part of :mod:`.problem`, ridge included,
``lambda h`` the non-smooth part of the penalty object) by steps that minimise a quadratic model
of ``f`` plus the exact non-smooth term,

.. math::

    \Delta = \arg\min_\Delta\ g^\top\Delta + \tfrac12\Delta^\top B\Delta + \lambda h(w + \Delta),

followed by a backtracking search along ``x + s Delta``. ``B`` is the limited-memory BFGS matrix of
the last ``memory`` steps built on the preconditioner ``B0 = sigma S (x) A + alpha I`` of
:mod:`.preconditioner`, not on a multiple of the identity; ``sigma`` is refitted at every step from the
newest pair (``y^T M^{-1} y / s^T y`` on the loss part, ``M = S (x) A``). The model is minimised
by coordinate descent (:mod:`._cd`: one weight at a time for a separable ``h``, one pixel column
at a time otherwise), or, without a non-smooth part, exactly by the two-loop recursion with
``B0^{-1}``.

On Fashion-MNIST this takes far fewer steps than orthant-wise L-BFGS with a scalar initial Hessian
(BENCHMARKS.md, "Solver figures"): the preconditioner removes the pixel correlations, which are what make
the weakly regularised problem ill-conditioned. Each step whose first trial is taken costs one pass over X
(the step's scores and the new gradient, block by block: :meth:`.problem.Problem.value_grad_along`; one more
where the search cuts the step), plus the model minimisation, which costs ``O(k d^2)`` per sweep and does
not depend on n; so the method pays off when n is large compared with d, and :func:`.path.solve_path` uses
it there.

The iterations stop on the KKT test: the largest distance of the gradient to the penalty's
subdifferential (:meth:`.problem.Problem.kkt`), on scores recomputed from ``x``, at most ``kkt_tol``.
With ``certify``, each time that test holds they ask for the caller's certificate (in
:mod:`.path`, the duality gap or KKT violation on X itself) and, when it fails, go on with a
tighter ``kkt_tol``, at most ``rounds`` times.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from ._cd import model_bcd, model_cd
from .owlqn import ARMIJO, MAX_BACKTRACKS, OWLQNResult, _two_loop
from .preconditioner import GramPreconditioner, class_eigen
from .problem import Problem

__all__ = ["minimize_proxqn"]

#: Coordinate-descent sweeps per model minimisation, at most.
MAX_SWEEPS = 20
#: The model is minimised until no coordinate moves by more than this share of the KKT violation.
#: Accurate model steps pay, up to this accuracy (BENCHMARKS.md, "Solver figures").
SUBPROBLEM_TOL = 0.03
#: Past the Newton tail's usual hand-over, on a weak L1 penalty, the model is solved further: there the
#: coordinate descent, not the model, limits each step (BENCHMARKS.md, "Solver figures").
FINE_SWEEPS = 100
FINE_SUBPROBLEM_TOL = 0.003


class _Model:
    """The quasi-Newton model: preconditioner, scale ``sigma``, class curvature matrix and curvature pairs."""

    def __init__(self, problem: Problem, preconditioner: GramPreconditioner, curvature: np.ndarray, memory: int,
                 fine: bool):
        self.k, self.d = problem.n_classes, problem.n_features
        self.sweeps = (FINE_SWEEPS, FINE_SUBPROBLEM_TOL) if fine else (MAX_SWEEPS, SUBPROBLEM_TOL)
        self.n_coef = problem.n_coef
        self.preconditioner = preconditioner
        # The model's coordinate descent runs in the copy's precision (float32: :mod:`._cd`).
        self.dtype = np.float32 if problem.datafit.X.dtype == np.float32 else np.float64
        self.penalty = problem.penalty
        self.ridge = problem.penalty.alpha
        # (s, y, 1/s.y, s_W @ A); the last one only feeds the compact form, used with a non-smooth part.
        self.pairs: deque = deque(maxlen=memory)
        self.sigma = 1.0
        self._set_curvature(curvature)

    def _set_curvature(self, curvature: np.ndarray) -> None:
        self.class_eig = class_eigen(curvature)
        s, Q = self.class_eig
        self.S = np.ascontiguousarray((Q * s) @ Q.T)  # the damped S that the inverse inverts

    def _weights(self, v: np.ndarray) -> np.ndarray:
        return v[:self.n_coef].reshape(self.k, self.d)

    def preconditioner_product(self, v: np.ndarray, Av: np.ndarray) -> np.ndarray:
        """``B0 v`` given ``Av = v_W @ A``."""
        out = np.empty_like(v)
        out[:self.n_coef] = (self.sigma * self.S @ Av).ravel() + self.ridge * v[:self.n_coef]
        out[self.n_coef:] = self.sigma * self.S @ v[self.n_coef:]
        return out

    def inverse_preconditioner(self, v: np.ndarray, sigma: float | None = None,
                               ridge: float | None = None) -> np.ndarray:
        """``B0^{-1} v``."""
        sigma = self.sigma if sigma is None else sigma
        ridge = self.ridge if ridge is None else ridge
        s, Q = self.class_eig
        out = np.empty_like(v)
        out[:self.n_coef] = self.preconditioner.solve(self._weights(v), self.class_eig, sigma, ridge).ravel()
        out[self.n_coef:] = Q @ ((Q.T @ v[self.n_coef:]) / (sigma * s))
        return out

    def update(self, s: np.ndarray, y: np.ndarray, curvature: np.ndarray) -> None:
        """Adopt the new class curvature matrix, refit ``sigma`` and keep the pair if it has curvature."""
        self._set_curvature(curvature)
        loss_y = y.copy()
        loss_y[:self.n_coef] -= self.ridge * s[:self.n_coef]
        sy_loss = float(s @ loss_y)
        if sy_loss > 0:
            # sigma = y^T M^{-1} y / s^T y on the loss part, M = S (x) A (the Barzilai-Borwein scale
            # that fits y to s; the other one, s^T y / s^T M s, took more steps: BENCHMARKS.md,
            # "Solver figures").
            self.sigma = float(loss_y @ self.inverse_preconditioner(loss_y, 1.0, 0.0)) / sy_loss
        sy = float(s @ y)
        if sy > 1e-10 * np.linalg.norm(s) * np.linalg.norm(y):
            As = self.preconditioner.apply(self._weights(s)) if self.penalty.has_nonsmooth else None
            self.pairs.append((s, y, 1.0 / sy, As))

    def compact(self) -> tuple[np.ndarray, np.ndarray]:
        """``(Wk, Wk M^{-1})`` of the compact form ``B = B0 - Wk M^{-1} Wk^T`` (Byrd, Nocedal & Schnabel)."""
        N = self.n_coef + self.k
        if not self.pairs:
            return np.zeros((N, 0)), np.zeros((N, 0))
        S = np.column_stack([p[0] for p in self.pairs])
        Y = np.column_stack([p[1] for p in self.pairs])
        B0S = np.column_stack([self.preconditioner_product(p[0], p[3]) for p in self.pairs])
        SY = S.T @ Y
        lower = np.tril(SY, -1)
        middle = np.block([[S.T @ B0S, lower], [lower.T, -np.diag(np.diag(SY))]])
        Wk = np.ascontiguousarray(np.hstack([B0S, Y]))
        try:
            Wh = np.linalg.solve(middle, Wk.T).T
        except np.linalg.LinAlgError:
            self.pairs.clear()
            return np.zeros((N, 0)), np.zeros((N, 0))
        return Wk, np.ascontiguousarray(Wh)

    def step(self, x: np.ndarray, g: np.ndarray, kkt: float) -> np.ndarray:
        """The minimiser ``Delta`` of the model."""
        if not self.penalty.has_nonsmooth:
            return -_two_loop(g, self.pairs, initial=self.inverse_preconditioner)
        Wk, Wh = self.compact()
        D = np.zeros_like(x)
        # The penalty's proximal step, compiled: per weight (soft threshold) or per pixel column.
        kernel = model_cd if self.penalty.separable else model_bcd
        A = self.preconditioner.gram(self.dtype)
        kernel(x, g, D, np.zeros((self.k, self.d), dtype=A.dtype), np.zeros(Wk.shape[1]), Wk, Wh, A, self.sigma,
               self.S, self.ridge, self.penalty.strength, self.k, self.d, self.sweeps[0], self.sweeps[1] * kkt)
        return D


def minimize_proxqn(problem: Problem, x0: np.ndarray, preconditioner: GramPreconditioner, *, kkt_tol: float,
                    max_iter: int, memory: int = 10, certify=None, rounds: int = 3, fine: bool = False) -> OWLQNResult:
    """Minimise ``f + lambda h(W)`` from ``x0`` until the KKT violation is at most ``kkt_tol``.

    Parameters
    ----------
    problem : Problem
        Datafit and penalty; the preconditioner must come from the same X.
    x0 : ndarray of shape (k*d + k,)
        Start point; not modified.
    preconditioner : GramPreconditioner
    kkt_tol : float
    max_iter : int
    memory : int, default=10
        Curvature pairs kept.
    certify : callable, optional
        ``certify(x) -> float``, called when ``kkt <= kkt_tol``: the violation of the certificate
        that counts (in :func:`.path.solve_path`, on X in float64) divided by its tolerance. Above 1,
        the iterations go on, model intact, to a ``kkt_tol`` below the violation reached (by the
        failure's ratio, with a margin), at most ``rounds`` times; the result is then marked not
        converged.
    rounds : int, default=3
        How many times a failed certificate may tighten ``kkt_tol``.
    fine : bool, default=False
        Minimise each model further (``FINE_SWEEPS``, ``FINE_SUBPROBLEM_TOL``).

    Returns
    -------
    OWLQNResult
        ``gap`` is NaN (not computed).
    """
    x = np.array(x0, dtype=np.float64)
    Z = problem.scores(x)
    f, g, curvature = problem.value_grad(Z, x, curvature=True)
    model = _Model(problem, preconditioner, curvature, memory, fine)
    F = f + problem.nonsmooth(x)
    fresh, stalled, n_iter = True, False, 0
    while True:
        kkt = problem.kkt(x, g)
        if kkt <= kkt_tol or n_iter >= max_iter or stalled:
            if not fresh:
                # Certify on scores computed from x, not accumulated along the searches.
                Z, fresh = problem.scores(x), True
                f, g = problem.value_grad(Z, x)
                F = f + problem.nonsmooth(x)
                continue
            converged = kkt <= kkt_tol
            if converged and certify is not None:
                ratio = certify(x)
                if ratio > 1.0 and rounds > 0 and n_iter < max_iter:
                    # Tightened from the violation reached, not from the old tolerance: where the
                    # iterations had gone far below it, a round that asks for less would end at once.
                    kkt_tol = min(kkt_tol, kkt) * 0.9 / ratio
                    rounds -= 1
                    continue
                converged = ratio <= 1.0
            return OWLQNResult(x, n_iter, converged, kkt, np.nan, F)
        n_iter += 1
        accepted = _search(problem, model, x, Z, g, F, kkt)
        if accepted is None and model.pairs:
            model.pairs.clear()  # a poor model: start again from the preconditioner alone
            accepted = _search(problem, model, x, Z, g, F, kkt)
        if accepted is None:
            stalled = True
            continue
        x_new, Z_new, F_new, at_new = accepted
        f_new, g_new, curvature = at_new or problem.value_grad(Z_new, x_new, curvature=True)
        model.update(x_new - x, g_new - g, curvature)
        x, Z, g, F, fresh = x_new, Z_new, g_new, F_new, False


def _search(problem: Problem, model: _Model, x, Z, g, F, kkt):
    """Backtrack along the model's step until the Armijo condition holds; ``None`` if it never does.

    Returns ``(x_new, Z_new, F_new, at_new)``: ``at_new`` is ``(f, grad f, curvature)`` at ``x_new``
    when the whole step is taken (computed in the same pass as the step's scores, since it usually
    is), else ``None``.
    """
    D = model.step(x, g, kkt)
    decrease = float(g @ D) + problem.nonsmooth(x + D) - problem.nonsmooth(x)
    if not decrease < 0:
        return None
    XD, f_1, g_1, curvature_1 = problem.value_grad_along(Z, x, D)  # Z moves linearly along D
    x_1 = x + D
    F_1 = f_1 + problem.nonsmooth(x_1)
    if F_1 <= F + ARMIJO * decrease:
        return x_1, Z + XD, F_1, (f_1, g_1, curvature_1)
    t = 0.5
    for _ in range(MAX_BACKTRACKS - 1):
        x_t = x + t * D
        Z_t = Z + t * XD
        F_t = problem.objective(Z_t, x_t)
        if F_t <= F + ARMIJO * t * decrease:
            return x_t, Z_t, F_t, None
        t *= 0.5
    return None
