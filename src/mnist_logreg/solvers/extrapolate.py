r"""The start of the next C on a path: the last two solutions extrapolated in ``log C``.

Along a path the solution ``x(C)`` is a continuous, piecewise smooth curve (smooth for a ridge;
for an L1 part, smooth between the values of C where a weight enters or leaves the support).
Warm-starting C_{i+1} from ``x(C_i)`` alone makes the quasi-Newton iterations travel the whole
step ``x(C_{i+1}) - x(C_i)``; the secant through the last two solutions predicts most of it:

.. math::

    \hat x = x_i + t\,(x_i - x_{i-1}),\qquad
    t = \frac{\log C_{i+1} - \log C_i}{\log C_i - \log C_{i-1}},

the first-order predictor of continuation methods (an ODE's explicit step with the derivative
taken from the last two points; on a geometric grid of C, ``t = 1``). Under a non-smooth part a
weight whose prediction crosses zero, or that is zero at ``x_i``, is set to zero: the support of
``x_i`` and its signs are kept, and the solver's own rules (working sets, orthants, proximal steps)
decide what enters. The prediction is kept only if the new C's objective is lower there than at
``x_i`` (two passes over X), so it never starts a row worse than the plain warm start.
"""

from __future__ import annotations

import numpy as np

from .problem import Problem

__all__ = ["extrapolated_start"]


def extrapolated_start(problem: Problem, before: tuple[np.ndarray, float], last: tuple[np.ndarray, float],
                       C: float) -> np.ndarray:
    """The start of ``problem`` (the row at ``C``) from the solutions at two smaller values of C.

    Parameters
    ----------
    problem : Problem
        The row to start: its datafit and its penalty at ``C``.
    before, last : (ndarray of shape (k*d + k,), float)
        Solutions and their C, ``before[1] < last[1] < C``.
    C : float

    Returns
    -------
    ndarray of shape (k*d + k,)
        The extrapolated point, or ``last``'s solution itself where that has the lower objective
        (or the three values of C are not increasing and finite).
    """
    (x0, C0), (x1, C1) = before, last
    if not (0 < C0 < C1 < C < np.inf):
        return x1
    t = (np.log(C) - np.log(C1)) / (np.log(C1) - np.log(C0))
    x = x1 + t * (x1 - x0)
    if problem.penalty.has_nonsmooth:
        n = problem.n_coef
        x[:n] = np.where(np.sign(x[:n]) == np.sign(x1[:n]), x[:n], 0.0)
    if np.array_equal(x, x1):  # nothing moved (zero weights under a penalty that keeps them zero): no passes
        return x1
    if problem.objective(problem.scores(x), x) < problem.objective(problem.scores(x1), x1):
        return x
    return x1
