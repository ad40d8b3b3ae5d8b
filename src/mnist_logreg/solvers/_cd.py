r"""Coordinate descent on the quadratic model of :mod:`.proxqn`, compiled with Numba.

The model, in the flat layout of :mod:`.datafit` (weights ``(c, j)`` at ``c*d + j``, then the k
intercepts), is

.. math::

    q(\Delta) = g^\top\Delta + \tfrac12 \Delta^\top B \Delta + \sum_{cj} \lambda_{cj} |w_{cj} + \Delta_{cj}|,
    \qquad B = B_0 - W_k \hat W_k^\top,

with the preconditioner ``B0 = sigma S (x) A`` on the weights plus the ridge ``rho`` on their diagonal,
``sigma S`` on the intercepts (:mod:`.preconditioner`), and the low-rank L-BFGS correction
(``W_hat = W_k M^{-1}``). The state ``Delta_W A`` (k x d) and ``r = W_k^T Delta`` is kept up to
date, so a coordinate step costs ``d + k + 4m`` operations: ``(B0 Delta)_{cj} = sigma sum_c'
S_{cc'} (Delta_W A)_{c'j} + rho Delta_cj`` is read in k operations. Each step minimises ``q``
exactly along one coordinate (a soft-threshold for the weights). The first sweep visits every
coordinate; later ones visit the non-zero weights and the intercepts until the largest scaled
step is below ``tol``, and a final full sweep confirms it.

:func:`model_bcd` does the same for a penalty on the pixel columns, ``lambda sum_j |w_j + Delta_j|``
with ``w_j = W[:, j]`` (k weights): its blocks are the columns, and a block step is a proximal
gradient step on the model restricted to the block,

.. math::

    w_j + \Delta_j \leftarrow \operatorname{prox}_{(\lambda/L_j)\lVert\cdot\rVert}
        \big(w_j + \Delta_j - \nabla_j q / L_j\big),\qquad
    \operatorname{prox}_{t\lVert\cdot\rVert}(z) = z\,\max(0, 1 - t/\lVert z\rVert),

with ``L_j`` the largest eigenvalue of the model's k x k block ``B_jj`` (computed once per call), so
each step lowers ``q`` (the block is majorised by ``L_j I``). The intercepts are visited one by one
as above.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["model_cd", "model_bcd"]


def _model_cd(x, g, D, DA, r, Wk, Wh, A, sigma, S, ridge, lam, n_classes, n_features, max_sweeps, tol):
    """Minimise the model over ``D`` in place; returns the number of sweeps made.

    Parameters
    ----------
    x, g : float64 arrays of shape (N,)
        Current point and gradient of the smooth part, ``N = k*d + k``.
    D : float64 array of shape (N,)
        Step, updated in place (start at zero).
    DA : float32 or float64 array of shape (k, d)
        ``D_W @ A``, updated in place (start at zero); in ``A``'s dtype.
    r : float64 array of shape (2m,)
        ``Wk.T @ D``, updated in place.
    Wk, Wh : float64 arrays of shape (N, 2m)
    A : float32 or float64 array of shape (d, d)
        The Gram matrix; float32 for a float32 copy of X, whose gradients carry float32 rounding
        anyway: updating ``DA``, most of a coordinate step, then moves half the bytes at twice the
        vector width (BENCHMARKS.md, "Solver figures").
    sigma : float
    S : float64 array of shape (k, k)
    ridge, lam : float
        The ridge ``rho`` and the L1 strength.
    max_sweeps : int
    tol : float
        Stop when no step ``|delta| * B_ii`` exceeds it in a sweep over every coordinate.
    """
    n_coef = n_classes * n_features
    N = n_coef + n_classes
    m2 = Wk.shape[1]
    cast = np.empty(1, DA.dtype)
    full = True
    sweeps = 0
    while sweeps < max_sweeps:
        biggest = 0.0
        for i in range(N):
            B0D = 0.0
            if i < n_coef:
                c = i // n_features
                j = i - c * n_features
                if not full and x[i] + D[i] == 0.0:
                    continue
                b0 = sigma * S[c, c] * A[j, j] + ridge
                for cc in range(n_classes):
                    B0D += S[c, cc] * DA[cc, j]
                B0D = sigma * B0D + ridge * D[i]
            else:
                c = i - n_coef
                j = -1
                b0 = sigma * S[c, c]
                for cc in range(n_classes):
                    B0D += S[c, cc] * D[n_coef + cc]
                B0D *= sigma
            lowrank = 0.0
            diag_lr = 0.0
            for q in range(m2):
                lowrank += Wh[i, q] * r[q]
                diag_lr += Wh[i, q] * Wk[i, q]
            h = b0 - diag_lr
            if h <= 1e-12 * b0:
                h = b0
            current = x[i] + D[i]
            z = current - (g[i] + B0D - lowrank) / h
            if i < n_coef:
                threshold = lam / h
                if z > threshold:
                    new = z - threshold
                elif z < -threshold:
                    new = z + threshold
                else:
                    new = 0.0
            else:
                new = z
            step = new - current
            if step == 0.0:
                continue
            D[i] += step
            if i < n_coef:
                cast[0] = step
                step_da = cast[0]  # in DA's dtype, so the update vectorises in it
                for l in range(n_features):
                    DA[c, l] += step_da * A[j, l]
            for q in range(m2):
                r[q] += step * Wk[i, q]
            change = abs(step) * h
            if change > biggest:
                biggest = change
        sweeps += 1
        if biggest <= tol:
            if full:
                break
            full = True
        else:
            full = False
    return sweeps


def _model_bcd(x, g, D, DA, r, Wk, Wh, A, sigma, S, ridge, lam, n_classes, n_features, max_sweeps, tol):
    """Minimise the model with the column penalty over ``D`` in place; returns the number of sweeps.

    The arguments are those of :func:`_model_cd`; ``lam`` weighs ``sum_j |w_j + Delta_j|_2``.
    Stops when no block moves by more than ``tol`` in ``|step| * L_j`` over a full sweep.
    """
    k = n_classes
    d = n_features
    n_coef = k * d
    m2 = Wk.shape[1]
    cast = np.empty(1, DA.dtype)
    # L_j: the largest eigenvalue of B_jj = sigma S A_jj + ridge I - (Wh Wk^T)_jj.
    L = np.empty(d)
    H = np.empty((k, k))
    for j in range(d):
        for c in range(k):
            for cc in range(k):
                lowrank = 0.0
                for q in range(m2):
                    lowrank += Wh[c * d + j, q] * Wk[cc * d + j, q]
                H[c, cc] = sigma * S[c, cc] * A[j, j] - lowrank
            H[c, c] += ridge
        H = 0.5 * (H + H.T)
        L[j] = max(np.linalg.eigvalsh(H)[-1], 1e-12 * (sigma * A[j, j] + ridge))
    grad = np.empty(k)
    new = np.empty(k)
    full = True
    sweeps = 0
    while sweeps < max_sweeps:
        biggest = 0.0
        for j in range(d):
            active = False
            for c in range(k):
                if x[c * d + j] + D[c * d + j] != 0.0:
                    active = True
            if not full and not active:
                continue
            norm = 0.0
            for c in range(k):
                i = c * d + j
                B0D = 0.0
                for cc in range(k):
                    B0D += S[c, cc] * DA[cc, j]
                B0D = sigma * B0D + ridge * D[i]
                lowrank = 0.0
                for q in range(m2):
                    lowrank += Wh[i, q] * r[q]
                grad[c] = g[i] + B0D - lowrank
                new[c] = x[i] + D[i] - grad[c] / L[j]
                norm += new[c] * new[c]
            norm = np.sqrt(norm)
            shrink = 0.0
            if norm > lam / L[j]:
                shrink = 1.0 - lam / (L[j] * norm)
            moved = 0.0
            for c in range(k):
                i = c * d + j
                step = new[c] * shrink - (x[i] + D[i])
                if step == 0.0:
                    continue
                moved += step * step
                D[i] += step
                cast[0] = step
                step_da = cast[0]
                for l in range(d):
                    DA[c, l] += step_da * A[j, l]
                for q in range(m2):
                    r[q] += step * Wk[i, q]
            change = np.sqrt(moved) * L[j]
            if change > biggest:
                biggest = change
        for c in range(k):
            i = n_coef + c
            B0D = 0.0
            for cc in range(k):
                B0D += S[c, cc] * D[n_coef + cc]
            B0D *= sigma
            b0 = sigma * S[c, c]
            lowrank = 0.0
            diag_lr = 0.0
            for q in range(m2):
                lowrank += Wh[i, q] * r[q]
                diag_lr += Wh[i, q] * Wk[i, q]
            h = b0 - diag_lr
            if h <= 1e-12 * b0:
                h = b0
            step = -(g[i] + B0D - lowrank) / h
            if step == 0.0:
                continue
            D[i] += step
            for q in range(m2):
                r[q] += step * Wk[i, q]
            change = abs(step) * h
            if change > biggest:
                biggest = change
        sweeps += 1
        if biggest <= tol:
            if full:
                break
            full = True
        else:
            full = False
    return sweeps


def _compile(function):
    """``numba.njit`` with Numba's on-disk cache, or without it where no cache folder is writable."""
    try:
        return numba.njit(cache=True, nogil=True)(function)
    except RuntimeError:  # "no locator available": a read-only install and no writable home
        return numba.njit(nogil=True)(function)


model_cd = _compile(_model_cd)
model_bcd = _compile(_model_bcd)
