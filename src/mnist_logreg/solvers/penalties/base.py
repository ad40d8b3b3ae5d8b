r"""What a solver needs to know about a penalty, written once per penalty.

A penalty on the weights ``W`` (k classes x d pixels; the intercepts are never penalised) is

.. math::

    R(W) = \lambda_1\, h(W) + \frac{\alpha}{2}\lVert W\rVert_2^2,

with ``h`` a norm that is not smooth at zero (the L1 norm, or the sum of the pixels' L2 norms).
The solvers treat the ridge as part of the smooth function and ``lambda_1 h`` through the
methods below; they never ask which penalty they run.

* :meth:`Penalty.nonsmooth` and :meth:`Penalty.ridge`: the two parts of ``R``.
* :meth:`Penalty.prox`: ``argmin_U t lambda_1 h(U) + |U - W|^2 / 2``, the proximal step.
* :meth:`Penalty.subdiff_distance`: the distance of ``-G`` (``G`` the gradient of the smooth part,
  ridge included) to ``lambda_1 \partial h(W)``, one number per block of ``h``; its largest
  entry is the KKT violation that certifies a solution.
* :meth:`Penalty.magnitudes` and :meth:`Penalty.conjugate`: the duality gap of :mod:`..gap` needs
  ``R^*(V) = sum_blocks (|V_block| - lambda_1)_+^2 / (2 alpha)`` with ``|V_block|`` the dual norm
  of each block (for ``alpha = 0``: 0 when every ``|V_block| <= lambda_1``, else infinite).
* :meth:`Penalty.scaled`: the same penalty in the centred coordinates ``W' = s W`` of
  :mod:`..centring`: ``lambda_1 / s`` and ``alpha / s^2`` (both norms are 1-homogeneous).
* :attr:`Penalty.separable`: whether ``h`` is a sum over single weights (then the orthant-wise
  method and coordinate-wise steps apply) or over the columns ``W[:, j]`` (block steps).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

__all__ = ["Penalty"]


class Penalty(ABC):
    """``lambda_1 h(W) + alpha/2 |W|^2`` with both strengths fixed (one grid row, one C).

    Parameters
    ----------
    strength : float >= 0
        ``lambda_1``, the weight of the non-smooth part.
    alpha : float >= 0
        Strength of the ridge.
    """

    #: ``h`` is a sum over single weights (True) or over pixel columns (False).
    separable: ClassVar[bool]

    def __init__(self, strength: float = 0.0, alpha: float = 0.0):
        self.strength = float(strength)
        self.alpha = float(alpha)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(strength={self.strength!r}, alpha={self.alpha!r})"

    @property
    def has_nonsmooth(self) -> bool:
        """Whether ``lambda_1 > 0``."""
        return self.strength > 0

    @property
    def is_zero(self) -> bool:
        """No penalty at all (``C = inf``): the problem has no finite dual."""
        return self.strength == 0 and self.alpha == 0

    def scaled(self, scale: float) -> "Penalty":
        """The penalty on ``W' = scale W``: ``lambda_1 / scale`` and ``alpha / scale^2``."""
        return type(self)(self.strength / scale, self.alpha / scale ** 2)

    def ridge(self, W: np.ndarray) -> float:
        """``alpha/2 |W|^2``."""
        w = W.ravel()
        return 0.5 * self.alpha * float(w @ w)

    def ridge_grad(self, W: np.ndarray) -> np.ndarray:
        """``alpha W``."""
        return self.alpha * W

    def value(self, W: np.ndarray) -> float:
        """``R(W)`` for ``W`` of shape (k, d)."""
        return self.nonsmooth(W) + self.ridge(W)

    def dual_norm(self, V: np.ndarray) -> float:
        """``max_blocks |V_block|``: ``R^*`` is finite at ``V`` for ``alpha = 0`` iff this is ``<= lambda_1``."""
        return float(self.magnitudes(V).max())

    def conjugate(self, V: np.ndarray) -> float:
        """``R^*(V)``; for ``alpha = 0`` 0 inside the dual ball (up to rounding) and ``inf`` outside."""
        excess = np.maximum(self.magnitudes(V) - self.strength, 0.0)
        if self.alpha > 0:
            return float(np.sum(excess ** 2)) / (2 * self.alpha)
        return 0.0 if excess.max(initial=0.0) <= 1e-12 * max(self.strength, 1e-300) else np.inf

    @abstractmethod
    def nonsmooth(self, W: np.ndarray) -> float:
        """``lambda_1 h(W)``."""

    @abstractmethod
    def prox(self, W: np.ndarray, step: float) -> np.ndarray:
        """``argmin_U step lambda_1 h(U) + |U - W|^2 / 2`` for ``W`` of shape (k, d)."""

    @abstractmethod
    def subdiff_distance(self, W: np.ndarray, G: np.ndarray) -> np.ndarray:
        """Distance of ``-G`` to ``lambda_1 dh(W)`` per block: shape (k, d) if separable, else (d,)."""

    @abstractmethod
    def magnitudes(self, V: np.ndarray) -> np.ndarray:
        """The dual norm of each block of ``V`` (k, d): ``|V|`` if separable, else the column norms (d,)."""

    @staticmethod
    @abstractmethod
    def nonzero_fraction(W: np.ndarray) -> float:
        """The share of the model that is in use: weights if separable, pixels (columns) if not."""
