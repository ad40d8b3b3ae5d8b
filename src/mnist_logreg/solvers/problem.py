r"""One grid row's problem: a datafit shared by the whole path, and this row's penalty object.

.. math::

    F(x) = \underbrace{L(W, b) + \tfrac{\alpha}{2}\lVert W\rVert_2^2}_{f\ \text{(smooth)}}
           + \lambda_1 h(W),

with ``L`` from :mod:`.datafit` and ``lambda_1 h``, ``alpha`` from :mod:`.penalties`. The solvers
take a :class:`Problem` and never look at the penalty's name: :meth:`Problem.value` and
:meth:`Problem.value_grad` are ``f`` (the ridge is smooth, so the quasi-Newton models hold it
exactly), :meth:`Problem.objective` is ``F`` and :meth:`Problem.kkt` the certificate. A problem is
built per C from the shared datafit, so nothing shared changes from one C to the next.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

from .columns import take_columns
from .datafit import SoftmaxDatafit
from .penalties import Penalty

__all__ = ["Problem", "MAX_C", "check_C"]

#: The largest finite C a row may have (``inf``, no penalty, aside). The penalty is ``1/(C n)`` times the
#: mean loss's scale, and the training sets the sweeps see are separable: as C grows the loss falls with
#: the penalty, towards zero, until the duality gap's primal and dual values agree to their last digits
#: and the solver's steps no longer change the objective in float64. Single rows started from zero (as
#: the refit fits one), tol=1e-5, on 1,000 digits: l2 certifies up to 1e10 (with a gap of exactly 0 from
#: 1e8: rounding, not proof), elasticnet 0.5 up to 1e9, l1 up to 1e6 in 1 s and at 1e7 only after 14
#: Newton steps that changed nothing (:data:`.newton.STALL_STEPS`), not at 1e8 (the objective stops
#: moving at a gap of 3e-5). On 2,000 MNIST t10k digits (warm-started paths, as the sweep fits them) l2
#: and elasticnet certify up to 1e7 and l1 at 1e6 and 1e7. So 1e6, a decade below where the first row
#: stops certifying, and far above any C whose penalty still changes a fit (the default grid ends at
#: 10). Above it l2 rows crashed (C = 1e200: the gap's prediction underflowed) or refits ran for hours
#: (1e100); scikit-learn takes any C > 0, where saga ends at its max_iter.
MAX_C = 1e6


def check_C(C) -> None:
    """ValueError unless ``C`` is a number a row may have: in ``(0, MAX_C]``, or ``inf`` (no penalty)."""
    if not isinstance(C, Real) or not (0 < C <= MAX_C or C == math.inf):
        raise ValueError(f"C: received {C!r}; allowed a number in (0, {MAX_C:g}], or inf for no penalty")


class Problem:
    """``datafit + penalty`` on the flat vector ``x`` (weights (k, d) row-major, then k intercepts).

    Parameters
    ----------
    datafit : SoftmaxDatafit
    penalty : Penalty
    """

    def __init__(self, datafit: SoftmaxDatafit, penalty: Penalty):
        self.datafit = datafit
        self.penalty = penalty
        self.X, self.y = datafit.X, datafit.y
        self.n_samples, self.n_features = datafit.n_samples, datafit.n_features
        self.n_classes, self.n_coef = datafit.n_classes, datafit.n_coef
        self.size = datafit.size
        self.unpack, self.pack = datafit.unpack, datafit.pack
        self.scores, self.scores_of_columns = datafit.scores, datafit.scores_of_columns

    def weights(self, x: np.ndarray) -> np.ndarray:
        """The view ``W`` (k, d) of ``x``."""
        return x[:self.n_coef].reshape(self.n_classes, self.n_features)

    def value(self, Z: np.ndarray, x: np.ndarray) -> float:
        """``f`` (loss + ridge) from the scores ``Z`` of ``x``; no pass over X."""
        return self.datafit.value(Z) + self.penalty.ridge(x[:self.n_coef])

    def value_grad(self, Z: np.ndarray, x: np.ndarray, curvature: bool = False):
        """``(f, grad f)``, plus the class curvature matrix when asked (see :meth:`.SoftmaxDatafit.value_grad`)."""
        loss, grad, *rest = self.datafit.value_grad(Z, curvature)
        return (*self._with_ridge(loss, grad, x), *rest)

    def value_grad_along(self, Z: np.ndarray, x: np.ndarray, dx: np.ndarray):
        """``(X dx, f, grad f, curvature)`` at ``x + dx`` in one pass over X (:meth:`.SoftmaxDatafit.value_grad_along`)."""
        dZ, loss, grad, S = self.datafit.value_grad_along(Z, dx)
        return (dZ, *self._with_ridge(loss, grad, x + dx), S)

    def _with_ridge(self, loss: float, grad: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray]:
        """The datafit's ``(loss, grad)`` at ``x`` plus the ridge (``grad`` updated in place)."""
        w = x[:self.n_coef]
        if self.penalty.alpha:
            grad[:self.n_coef] += self.penalty.ridge_grad(w)
        return loss + self.penalty.ridge(w), grad

    def nonsmooth(self, x: np.ndarray) -> float:
        """``lambda_1 h(W)``."""
        return self.penalty.nonsmooth(self.weights(x))

    def objective(self, Z: np.ndarray, x: np.ndarray) -> float:
        """``F = f + lambda_1 h`` from the scores ``Z`` of ``x``."""
        return self.value(Z, x) + self.nonsmooth(x)

    def kkt(self, x: np.ndarray, grad: np.ndarray) -> float:
        """The largest violation of the optimality conditions given ``grad = grad f(x)``.

        The distance of ``-grad`` to the penalty's subdifferential, block by block, and ``|grad|``
        on the unpenalised intercepts; 0 exactly at the minimum.
        """
        G = grad[:self.n_coef].reshape(self.n_classes, self.n_features)
        weights = float(self.penalty.subdiff_distance(self.weights(x), G).max(initial=0.0))
        return max(weights, float(np.abs(grad[self.n_coef:]).max(initial=0.0)))

    def restricted(self, columns: np.ndarray) -> "Problem":
        """The same row on the columns ``columns`` of X only (a copy of those columns)."""
        sub = SoftmaxDatafit(take_columns(self.X, columns), self.y, self.n_classes)
        return Problem(sub, self.penalty)
