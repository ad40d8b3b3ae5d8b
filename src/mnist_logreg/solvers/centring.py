r"""The centred copy the iterations run on: centred features, one scale for all, in float32 or X's dtype.

(Not to be confused with the pixel scaling of the data, ``--scale``, nor with ``--standardize``,
which changes the model: this copy describes the same model in other coordinates.)

Pixel columns differ in mean, and the means couple every weight to the intercepts, which makes
quasi-Newton steps crawl on weakly regularised problems. With :math:`X' = (X - \mu) / \sigma`
(``mu`` per column, ``sigma`` the largest column spread, one number for all columns) the same
model reads

.. math::

    X W^\top + b = X' W'^\top + b', \qquad W' = \sigma W,\quad b' = b + W \mu,

and the penalty becomes :math:`\frac{\lambda_1}{\sigma} h(W') +
\frac{\alpha}{2\sigma^2} \lVert W'\rVert_2^2` for every 1-homogeneous ``h`` (the L1 norm, the
pixels' group norm: :meth:`.penalties.Penalty.scaled`). Zeros are kept (``W'_cj = 0`` iff
``W_cj = 0``), so a sparse problem is the same problem in other coordinates. (A spread per
column measured worse (BENCHMARKS.md, "Solver figures").) The copy is float32 (half the size of
a float64 X) or X's dtype, built block by block so no float64 temporary of X's size is made.
"""

from __future__ import annotations

import numpy as np

from .datafit import SoftmaxDatafit
from .penalties import Penalty

__all__ = ["CentredProblem"]


class CentredProblem:
    """The datafit on ``(X - mu) / sigma`` and the maps between its parameters and the original ones.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    n_classes : int
    block : int, default=4096
        Rows converted at a time.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, n_classes: int, dtype=np.float32, block: int = 4096):
        n, d = X.shape
        total = np.zeros(d)
        squares = np.zeros(d)
        for start in range(0, n, block):
            part = np.asarray(X[start:start + block], dtype=np.float64)
            total += part.sum(axis=0)
            squares += np.einsum("ij,ij->j", part, part)
        self.mean = total / n
        spread = np.sqrt(np.maximum(squares / n - self.mean ** 2, 0.0))
        self.spread = max(float(spread.max()), 1e-300)
        scaled = np.empty((n, d), dtype=dtype)
        for start in range(0, n, block):
            scaled[start:start + block] = (X[start:start + block] - self.mean) / self.spread
        self.datafit = SoftmaxDatafit(scaled, y, n_classes)

    def to_centred(self, x: np.ndarray) -> np.ndarray:
        """``(W, b) -> (W sigma, b + W mu)`` on flat vectors."""
        W, b = self.datafit.unpack(x)
        return self.datafit.pack(W * self.spread, b + W @ self.mean)

    def from_centred(self, x: np.ndarray) -> np.ndarray:
        """``(W', b') -> (W' / sigma, b' - W mu)`` on flat vectors."""
        W_centred, b_centred = self.datafit.unpack(x)
        W = W_centred / self.spread
        return self.datafit.pack(W, b_centred - W @ self.mean)

    def centred_penalty(self, penalty: Penalty) -> Penalty:
        """The penalty in the centred coordinates (``lambda_1 / sigma``, ``alpha / sigma^2``)."""
        return penalty.scaled(self.spread)

    def kkt_factor(self) -> float:
        """``sigma``: a weight's KKT violation ``v`` in centred coordinates is ``v sigma`` in original ones."""
        return self.spread
