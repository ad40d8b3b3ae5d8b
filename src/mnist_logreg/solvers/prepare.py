"""What every path of a fit on the same data shares, built once: working matrix, centred copy, preconditioners.

:func:`prepare_problem` drops X's empty columns when that is worth a copy, builds the centred copy
the quasi-Newton iterations run on (:mod:`.centring`), the Gram preconditioner of :mod:`.proxqn`
where there are many samples per feature (:func:`use_preconditioner`), and the scale
``lambda_max`` of the relative KKT violation (see :mod:`.path`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .centring import CentredProblem
from .columns import take_columns
from .datafit import SoftmaxDatafit
from .preconditioner import AugmentedGram, GramPreconditioner

__all__ = ["PreparedProblem", "nonzero_columns", "null_start", "prepare_problem", "use_preconditioner"]

#: Drop empty columns only when that removes at least this share of X (the copy costs memory).
MIN_DROPPED_SHARE = 0.05
#: The Gram-preconditioned solver (.proxqn) runs when there are at least this many samples per feature ...
PRECONDITIONER_MIN_SAMPLES_PER_FEATURE = 20
#: ... and at most this many features (its d x d matrix and O(k d^2) model steps).
PRECONDITIONER_MAX_FEATURES = 4096

def use_preconditioner(n_samples: int, n_features: int) -> bool:
    """Whether :mod:`.proxqn` (Gram preconditioner) or :mod:`.owlqn` (scalar) solves a problem of this shape.

    A proximal quasi-Newton step costs one or two passes over X plus ``O(k d^2)`` for the model; it
    takes far fewer steps than OWL-QN on weakly regularised problems (BENCHMARKS.md, "Solver figures"),
    so it wins when a pass (``n d k``) is large compared with the model, i.e. for many samples per
    feature.
    """
    return (n_samples >= PRECONDITIONER_MIN_SAMPLES_PER_FEATURE * n_features
            and n_features <= PRECONDITIONER_MAX_FEATURES)


def nonzero_columns(X: np.ndarray, block: int = 4096) -> np.ndarray:
    """Indices of the columns of X that are not zero in every row, read in blocks of rows."""
    used = np.zeros(X.shape[1], dtype=bool)
    for start in range(0, X.shape[0], block):
        used |= (X[start:start + block] != 0).any(axis=0)
    return np.flatnonzero(used)


def _working_matrix(X: np.ndarray, columns: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(X_work, columns)``: X without its empty columns when that is worth a copy (``columns``: those
    of :func:`nonzero_columns`, when the caller has them already)."""
    if X.dtype not in (np.float32, np.float64):
        X = np.asarray(X, dtype=np.float64)
    columns = nonzero_columns(X) if columns is None else columns
    if len(columns) <= (1 - MIN_DROPPED_SHARE) * X.shape[1]:
        return take_columns(X, columns), columns
    return np.ascontiguousarray(X), np.arange(X.shape[1])


def null_start(datafit: SoftmaxDatafit) -> np.ndarray:
    """Zero weights and intercepts ``log p_c`` (the optimum when W = 0), centred."""
    counts = np.bincount(datafit.y, minlength=datafit.n_classes).astype(np.float64)
    b0 = np.log(np.maximum(counts, 0.5) / datafit.n_samples)
    x0 = np.zeros(datafit.size)
    x0[datafit.n_coef:] = b0 - b0.mean()
    return x0


@dataclass
class PreparedProblem:
    """What every path on the same data shares, built once: working matrix, centred copy, preconditioner.

    Attributes
    ----------
    columns : ndarray
        Columns of X kept (the others are empty).
    n_features : int
        Columns of the original X.
    datafit : SoftmaxDatafit
        On the kept columns of X, in X's dtype: the certificate is computed here.
    fast : CentredProblem
        The centred copy the iterations run on.
    preconditioner : GramPreconditioner or None
        Set when :mod:`.proxqn` iterates on the Gram matrix.
    lambda_max : float
        Scale of the relative KKT violation.
    """

    columns: np.ndarray
    n_features: int
    datafit: SoftmaxDatafit
    fast: CentredProblem
    preconditioner: GramPreconditioner | None
    lambda_max: float
    _group_gram: GramPreconditioner | None = field(default=None, repr=False)
    _newton_gram: AugmentedGram | None = field(default=None, repr=False)

    def newton_gram(self) -> AugmentedGram | None:
        """The Gram matrix (with the intercepts' column of ones) of the working X that preconditions the
        Newton tail's conjugate gradients, built on first use where the quasi-Newton phase has a Gram
        preconditioner (tall data); ``None`` where the Hessian's diagonal does."""
        if self.preconditioner is None or self.datafit.n_features > PRECONDITIONER_MAX_FEATURES:
            return None
        if self._newton_gram is None:
            self._newton_gram = AugmentedGram(self.datafit.X)
        return self._newton_gram

    def group_preconditioner(self, gram: bool = True) -> GramPreconditioner:
        """The preconditioner of a penalty on pixel columns: the Gram matrix of the centred copy
        (the one the iterations use, or built once on first use) or, without ``gram`` or past
        ``PRECONDITIONER_MAX_FEATURES`` columns, the identity."""
        if self.preconditioner is not None:
            return self.preconditioner
        d = self.fast.datafit.n_features
        if not gram or d > PRECONDITIONER_MAX_FEATURES:
            return GramPreconditioner.identity(d)
        if self._group_gram is None:
            self._group_gram = GramPreconditioner(self.fast.datafit.X)
        return self._group_gram


def prepare_problem(X: np.ndarray, y: np.ndarray, n_classes: int, *, mixed_precision: bool = False,
                    preconditioner: bool | None = None, columns: np.ndarray | None = None) -> PreparedProblem:
    """Build the :class:`PreparedProblem` of ``(X, y)``; see :func:`solve_path` for the options.
    ``columns`` are X's non-empty columns (:func:`nonzero_columns`) where the caller has read them;
    at least one."""
    X_work, columns = _working_matrix(X, columns)
    datafit = SoftmaxDatafit(X_work, y, n_classes)
    fast = CentredProblem(X_work, y, n_classes, dtype=np.float32 if mixed_precision else X_work.dtype)
    if preconditioner is None:
        preconditioner = use_preconditioner(*X_work.shape)
    x = null_start(datafit)
    _, g0 = datafit.value_grad(datafit.scores(x))
    return PreparedProblem(columns=columns, n_features=X.shape[1], datafit=datafit, fast=fast,
                           preconditioner=GramPreconditioner(fast.datafit.X) if preconditioner else None,
                           lambda_max=max(float(np.abs(g0[:datafit.n_coef]).max()), 1e-12))
