r"""Pixel selection across classes: ``lambda_1 sum_j |W[:, j]|_2 + alpha/2 |W|_2^2``.

The blocks are the pixels: the k weights of pixel j (one per class) enter together through their
Euclidean norm, so a pixel is in the model for every class or for none (the group lasso of
Yuan & Lin, 2006; glmnet's "grouped multinomial"). With ``W_j = W[:, j]``:

* proximal step (block soft threshold): ``W_j max(0, 1 - t lambda_1 / |W_j|)``;
* ``d|W_j| = {W_j / |W_j|}`` when ``W_j != 0`` and the unit ball at 0, so the distance of ``-G_j``
  to ``lambda_1 d|W_j|`` is ``|G_j + lambda_1 W_j / |W_j||`` or ``(|G_j| - lambda_1)_+``;
* the norm is its own dual: ``R^*(V) = sum_j (|V_j| - lambda_1)_+^2 / (2 alpha)``.

At C large enough nearly every informative pixel enters; at small C ``W = 0`` is optimal as soon
as ``max_j |G_j| <= lambda_1`` at zero weights.
"""

from __future__ import annotations

import numpy as np

from .base import Penalty

__all__ = ["PixelGroup"]


def _column_norms(W: np.ndarray) -> np.ndarray:
    """``|W[:, j]|_2`` for every column, shape (d,)."""
    return np.sqrt(np.einsum("cj,cj->j", W, W))


class PixelGroup(Penalty):
    """``lambda_1 sum_j |W[:, j]|_2 + alpha/2 |W|^2`` (see :class:`.base.Penalty`)."""

    separable = False

    def nonsmooth(self, W: np.ndarray) -> float:
        return self.strength * float(_column_norms(W).sum())

    def prox(self, W: np.ndarray, step: float) -> np.ndarray:
        norms = _column_norms(W)
        shrink = np.maximum(1.0 - step * self.strength / np.maximum(norms, 1e-300), 0.0)
        return W * shrink[None, :]

    def subdiff_distance(self, W: np.ndarray, G: np.ndarray) -> np.ndarray:
        norms = _column_norms(W)
        on = norms > 0
        distance = np.maximum(_column_norms(G) - self.strength, 0.0)
        if on.any():
            direction = W[:, on] / norms[on]
            distance[on] = _column_norms(G[:, on] + self.strength * direction)
        return distance

    def magnitudes(self, V: np.ndarray) -> np.ndarray:
        return _column_norms(V)

    @staticmethod
    def nonzero_fraction(W: np.ndarray) -> float:
        """Share of the pixels (columns) with a non-zero weight in some class."""
        return float(np.count_nonzero(W.any(axis=0)) / W.shape[1])
