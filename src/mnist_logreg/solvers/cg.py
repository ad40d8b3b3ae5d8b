"""Preconditioned conjugate gradients on a Newton step's free set (:mod:`.newton`)."""

from __future__ import annotations

import numpy as np

from .hessian import FreeHessian

__all__ = ["conjugate_gradients", "MAX_CG"]

#: Conjugate-gradient iterations per Newton step, at most.
MAX_CG = 200


def conjugate_gradients(hessian: FreeHessian, rhs: np.ndarray, free: np.ndarray, rtol: float, preconditioner=None,
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
        if not curvature > 0:  # also NaN: a product that overflowed (float32) leaves nothing to solve with
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
