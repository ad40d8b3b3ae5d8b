r"""Duality gap of the penalised multinomial problem, the certificate of convergence.

Primal: :math:`F(W, b) = \frac1n\sum_i \ell(z_i, y_i) + R(W)` with :math:`z_i = W x_i + b`,
:math:`\ell(z, y) = \mathrm{lse}(z) - z_y` and :math:`R(W) = \lambda_1 h(W) +
\frac\alpha2\lVert W\rVert_2^2` (:mod:`.penalties`). Writing the residuals :math:`\theta_i = (Y_i - q_i)/n` with each
:math:`q_i` in the probability simplex, Fenchel duality gives, for every such :math:`\theta` with
:math:`\sum_i \theta_i = 0` (the unpenalised intercept),

.. math::

    D(\theta) = \frac1n \sum_i H(q_i) - R^*(\theta^\top X) \le F(W, b),
    \qquad H(q) = -\sum_j q_j \log q_j,

since :math:`\ell^*(u) = -H(u + e_y)`. The penalty object gives
:math:`R^*(V) = \sum_{\text{blocks}} (\lVert V_B\rVert_* - \lambda_1)_+^2 / (2\alpha)` (for the
elastic net the blocks are single weights, for ``group`` the pixel columns); without a ridge
(``alpha = 0``) it is 0 when every :math:`\lVert V_B\rVert_* \le \lambda_1` and infinite
otherwise, so :math:`\theta` is scaled by :math:`s = \min(1, \lambda_1/\max_B\lVert V_B\rVert_*)`
(then :math:`q = (1-s) Y + s P` stays in the simplex and :math:`\sum_i\theta_i` stays 0).

The dual point comes from the primal one: :math:`q = P = \mathrm{softmax}(X W^\top + b^*)` with
:math:`b^*` the intercepts that are optimal for the current :math:`W` (a small Newton solve on the
scores, which makes :math:`\sum_i \theta_i = 0` and can only lower :math:`F`). The gap
:math:`F - D \ge F - F^*` then bounds the distance to the minimum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .datafit import SoftmaxDatafit, class_curvature, log_normaliser
from .problem import Problem

__all__ = ["DualityGap", "fit_intercept", "duality_gap", "fresh_gap", "certified_gap"]


@dataclass
class DualityGap:
    """Primal and dual values at a point whose intercepts were re-optimised.

    Attributes
    ----------
    primal : float
        ``F(W, b*)``.
    dual : float
        ``D(theta) <= min F``.
    x : ndarray of shape (k*d + k,)
        The point ``(W, b*)``.
    Z : ndarray of shape (n_samples, k)
        Its scores.
    grad : ndarray of shape (k*d + k,)
        Gradient of the smooth part at ``x`` (a by-product of the dual point).
    """

    primal: float
    dual: float
    x: np.ndarray
    Z: np.ndarray
    grad: np.ndarray

    @property
    def relative(self) -> float:
        """``(F - D) / max(|F|, tiny)``: the relative suboptimality bound."""
        return (self.primal - self.dual) / max(abs(self.primal), 1e-300)


def fit_intercept(datafit: SoftmaxDatafit, Z: np.ndarray, max_steps: int = 20) -> np.ndarray:
    """Shift ``delta`` (k,) minimising the mean log-loss of ``Z + delta``; no pass over X.

    Newton's method on the k intercepts: gradient ``mean(P) - p_y`` (``p_y`` the class
    frequencies), Hessian ``mean(diag(P_i) - P_i P_i^T)``, which is singular along the all-ones
    direction, so the step is the least-squares solution. Each step is halved until the loss
    decreases (Armijo): from intercepts far from their optimum a full Newton step overshoots
    (BENCHMARKS.md, "Solver figures"), so a shift never raises the loss.
    """
    target = np.bincount(datafit.y, minlength=datafit.n_classes) / datafit.n_samples
    delta = np.zeros(datafit.n_classes)
    lse, P = log_normaliser(Z)
    value = float(lse.mean())  # the loss of Z + delta, up to the constant -mean(Z_iy), minus target . delta
    for _ in range(max_steps):
        grad = P.mean(axis=0) - target
        if np.abs(grad).max() <= 1e-13:
            break
        hess = class_curvature(P, mean=True)
        step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        decrease, t = float(grad @ step), 1.0
        while True:
            trial = delta - t * step
            lse, P_trial = log_normaliser(Z + trial)
            value_trial = float(lse.mean() - target @ trial)
            if value_trial <= value - 1e-4 * t * decrease + 1e-15 * abs(value):
                break
            t *= 0.5
            if t < 1e-10:
                return delta  # no decrease left to find: rounding
        delta, value, P = trial, value_trial, P_trial
    return delta


def _entropy_sum(Q: np.ndarray) -> float:
    """``sum_i H(q_i)`` with ``0 log 0 = 0``."""
    positive = Q > 0
    return float(-np.sum(Q[positive] * np.log(Q[positive])))


def duality_gap(problem: Problem, x: np.ndarray, Z: np.ndarray) -> DualityGap:
    """Primal value at ``(W, b*)`` and the dual value of the point built from it.

    Parameters
    ----------
    problem : Problem
        A penalty with ``lambda_1 == alpha == 0`` (no penalty) has no finite dual.
    x : ndarray of shape (k*d + k,)
    Z : ndarray of shape (n_samples, k)
        Scores of ``x``.

    Returns
    -------
    DualityGap
    """
    datafit, penalty = problem.datafit, problem.penalty
    n, n_coef, alpha, l1 = datafit.n_samples, datafit.n_coef, penalty.alpha, penalty.strength
    delta = fit_intercept(datafit, Z)
    Z = Z + delta
    x = x.copy()
    x[n_coef:] += delta
    W = x[:n_coef]
    primal = problem.objective(Z, x)
    P = log_normaliser(Z)[1]
    R = P.copy()
    R[np.arange(n), datafit.y] -= 1.0  # R = P - Y = -n theta
    V = -(R.T.astype(datafit.X.dtype) @ datafit.X).astype(np.float64, copy=False) / n
    grad = np.concatenate([penalty.ridge_grad(W) - V.ravel(), R.mean(axis=0)])
    # Candidate scalings of theta: s = 1, and the largest s with every block's |s V_B| <= l1 (where R* = 0).
    biggest = penalty.dual_norm(V)
    scales = [1.0] if alpha > 0 else []
    if l1 > 0 or alpha == 0:
        scales.append(1.0 if biggest <= l1 else l1 / biggest)
    dual = -np.inf
    for s in scales:
        conjugate = penalty.conjugate(s * V) if alpha > 0 else 0.0  # alpha = 0: s puts s V in the dual ball
        # q = Y - n s theta = Y + s (P - Y)
        Q = s * P
        Q[np.arange(n), datafit.y] += 1.0 - s
        dual = max(dual, _entropy_sum(Q) / n - conjugate)
    return DualityGap(primal=primal, dual=dual, x=x, Z=Z, grad=grad)


def fresh_gap(problem: Problem, x: np.ndarray) -> DualityGap:
    """:func:`duality_gap` on scores computed afresh from ``x``: a certificate never rests on scores
    accumulated along line searches (whose rounding grows with the steps)."""
    return duality_gap(problem, x, problem.scores(x))


def certified_gap(X: np.ndarray, y: np.ndarray, coef: np.ndarray, intercept: np.ndarray, Z: np.ndarray,
                  value: float, *, l1_ratio: float, C: float, penalty: str = "elasticnet",
                  dual: float = float("nan")) -> float:
    r"""The certificate of one fitted row: an upper bound of ``(value - min F) / value``, in float64.

    ``value`` is :math:`F(W, b)` at the reported point (scored from the same scores ``Z``); the
    dual value :math:`D \le \min F` comes from the residuals of :func:`duality_gap` (intercepts
    re-optimised for the dual point only), so the bound holds for ``(W, b)`` exactly as reported,
    whichever engine produced it.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The training matrix the row was fitted on (used in float64).
    y : ndarray of shape (n_samples,)
        Class codes in ``0..k-1``.
    coef : ndarray of shape (k, n_features)
    intercept : ndarray of shape (k,)
    Z : ndarray of shape (n_samples, k)
        ``X coef^T + intercept`` in float64.
    value : float
        :math:`F(W, b)`.
    l1_ratio, C : float
        ``C = inf`` (no penalty) has no finite dual: the result is NaN.
    penalty : str, default="elasticnet"
        The row's penalty name (l1, l2 and elasticnet are all the elastic-net family).
    dual : float, default=NaN
        A dual value ``D <= min F`` already proved at exactly this ``(coef, intercept)`` in float64
        on this X (an engine's own, :attr:`~mnist_logreg.engines.base.FitResult.dual`): used
        instead of building the dual point again. NaN: build it.

    Returns
    -------
    float
        ``max((value - D) / value, 0)`` (rounding could make it a hair negative at the optimum).
    """
    from .penalties import PenaltySpec  # the penalty family of the row

    n = X.shape[0]
    if not np.isfinite(C) or not value > 0:
        return float("nan")
    if not np.isfinite(dual):
        datafit = SoftmaxDatafit(np.asarray(X, dtype=np.float64), y, coef.shape[0])
        problem = Problem(datafit, PenaltySpec(penalty, float(l1_ratio)).at(C, n))
        x = datafit.pack(coef, intercept)
        dual = duality_gap(problem, x, np.asarray(Z, dtype=np.float64)).dual
    return max((value - dual) / value, 0.0)
