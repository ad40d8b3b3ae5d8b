r"""The elastic net: ``lambda_1 |W|_1 + alpha/2 |W|_2^2``; ``l1``, ``l2`` and ``none`` are its corners.

Per weight, ``h(w) = |w|``. Its proximal step is the soft threshold
``sign(w) max(|w| - t lambda_1, 0)``, and the distance of ``-g`` to ``lambda_1 d|w|`` is
``|g + lambda_1 sign(w)|`` where ``w != 0`` and ``(|g| - lambda_1)_+`` at zero: the absolute value
of OWL-QN's pseudo-gradient. The dual norm is ``max |V|``.
"""

from __future__ import annotations

import numpy as np

from .base import Penalty

__all__ = ["ElasticNet"]


class ElasticNet(Penalty):
    """``lambda_1 sum_cj |W_cj| + alpha/2 |W|^2`` (see :class:`.base.Penalty`)."""

    separable = True

    def nonsmooth(self, W: np.ndarray) -> float:
        return self.strength * float(np.abs(W.ravel()).sum())

    def prox(self, W: np.ndarray, step: float) -> np.ndarray:
        return np.sign(W) * np.maximum(np.abs(W) - step * self.strength, 0.0)

    def subdiff_distance(self, W: np.ndarray, G: np.ndarray) -> np.ndarray:
        lam = self.strength
        at_zero = np.maximum(np.abs(G) - lam, 0.0)
        return np.abs(np.where(W > 0, G + lam, np.where(W < 0, G - lam, at_zero)))

    def magnitudes(self, V: np.ndarray) -> np.ndarray:
        return np.abs(V)

    @staticmethod
    def nonzero_fraction(W: np.ndarray) -> float:
        """Share of the weights that are not exactly zero."""
        return float(np.count_nonzero(W) / W.size)
