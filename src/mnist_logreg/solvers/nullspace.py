r"""The directions along which the log-loss does not change, and what the Newton tail does about them.

Adding the same number to every class's score of a sample changes no probability. So adding ``t`` to
every class's intercept, or ``t`` to every class's weight of one pixel, leaves the mean log-loss
unchanged: with ``v_j = sum_c e_{cj}`` (all classes, pixel ``j``) and ``v_b`` (all intercepts),

.. math::

    f(W + t v_j) = f(W),\qquad \nabla^2 f\, v_j = 0\quad(\text{without a ridge}),

and the same for ``v_b`` (with a ridge too: it never reaches the intercepts). The Newton system on
a free set that holds all k weights of some pixel is therefore singular; under L1 its right-hand
side is not zero along ``v_j`` (the loss gradient sums to zero over the classes, the penalty's part
is ``lambda_1 (#positive - #negative)``), so conjugate gradients chase a step of unbounded length
along it and the Cholesky factor of the free set, shifted to be factorable, preconditions nothing.
Fully free pixels do occur where the tail takes over, and then no Newton system reaches even a loose
relative residual (BENCHMARKS.md, "Solver figures").

Two exact remedies, for a pure L1 penalty (no ridge):

* :func:`balance_columns`: along ``v_j`` only the penalty moves, ``lambda_1 sum_c |w_cj - t|``,
  smallest for ``t`` in the median interval of the column. Shifting each column by the point of
  that interval nearest zero lowers the objective (or leaves it) and leaves a zero weight in every
  column whose median interval does not hold zero.
* :func:`pin_null_directions`: a fully free pixel keeps one weight fixed for the step (its first zero weight
  in class order if it has one, the smallest otherwise), and the last class's intercept is always fixed. Any
  change of the scores the step could make is still possible (moving one weight alone is the same, for the
  loss, as moving the other k - 1 the opposite way), and the system is no longer singular.
"""

from __future__ import annotations

import numpy as np

__all__ = ["balance_columns", "pin_null_directions"]


def balance_columns(x: np.ndarray, n_classes: int, n_features: int) -> np.ndarray:
    """``x`` with each pixel column ``W[:, j]`` shifted by the point of its median interval nearest
    zero: the same log-loss, an L1 norm no larger. Returns ``x`` itself when no column moves."""
    k, n_coef = n_classes, n_classes * n_features
    W = x[:n_coef].reshape(k, n_features)
    ordered = np.sort(W, axis=0)
    shift = np.clip(0.0, ordered[(k - 1) // 2], ordered[k // 2])
    if not shift.any():
        return x
    out = x.copy()
    out[:n_coef] = (W - shift).ravel()
    return out


def pin_null_directions(free: np.ndarray, x: np.ndarray, n_classes: int, n_features: int, ridge: float) -> None:
    """Take out of ``free`` (in place) the last intercept and, without a ridge, one weight of every
    pixel whose k weights are all free: its first zero weight (in class order) where the column has
    one, else the smallest in magnitude."""
    k, n_coef = n_classes, n_classes * n_features
    free[n_coef + k - 1] = False
    if ridge > 0:
        return
    free_W = free[:n_coef].reshape(k, n_features)
    full = np.flatnonzero(free_W.all(axis=0))
    if len(full) == 0:
        return
    magnitude = np.abs(x[:n_coef].reshape(k, n_features)[:, full])  # a zero weight is the smallest
    free_W[np.argmin(magnitude, axis=0), full] = False
