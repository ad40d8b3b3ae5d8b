"""scikit-learn estimators over the ``numpy`` engine's path solver.

:class:`MultinomialLogisticRegression` fits one C; :class:`MultinomialLogisticPath` fits a list of C
values at once, each warm-started from the previous one. Both minimise exactly
:func:`mnist_logreg.objective.objective` (intercept not penalised) and keep only plain NumPy arrays,
Python scalars and strings as fitted attributes, so they persist with ``skops.io``.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .engines.numpy import NumpyEngine
from .grid import GridPoint
from .metrics import predict_proba
from .objective import softmax

__all__ = ["MultinomialLogisticRegression", "MultinomialLogisticPath"]


def _penalty_name(l1_ratio: float, C: float) -> str:
    """The grid's name for a penalty given through ``l1_ratio`` and ``C``."""
    if math.isinf(C):
        return "none"
    return {1.0: "l1", 0.0: "l2"}.get(float(l1_ratio), "elasticnet")


def _check_params(Cs, l1_ratio, tol, max_iter) -> None:
    """Raise ``ValueError`` naming the parameter, the allowed values and what was received."""
    for C in Cs:
        if not isinstance(C, Real) or not (C > 0):
            raise ValueError(f"C: received {C!r}; allowed a number > 0 (or inf for no penalty)")
    if not isinstance(l1_ratio, Real) or not 0.0 <= l1_ratio <= 1.0:
        raise ValueError(f"l1_ratio: received {l1_ratio!r}; allowed a number in [0, 1]")
    if not isinstance(tol, Real) or not tol > 0:
        raise ValueError(f"tol: received {tol!r}; allowed a number > 0")
    if not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ValueError(f"max_iter: received {max_iter!r}; allowed an integer >= 1")


def _fit_codes(estimator, X, y, Cs, l1_ratio, tol, max_iter):
    """Validate ``X, y``, encode labels and solve the path; returns the solutions in the order of ``Cs``."""
    X, y = validate_data(estimator, X, y, dtype=[np.float64, np.float32])
    check_classification_targets(y)
    classes, codes = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"y: found 1 class ({classes[0]!r}); at least 2 classes are needed to fit")
    engine = NumpyEngine(tol=tol, max_iter=max_iter)
    rows = [GridPoint(_penalty_name(l1_ratio, C), float(l1_ratio), float(C)) for C in Cs]
    results = [None] * len(rows)
    for i, result in engine.fit_path(X, codes, len(classes), rows):
        results[i] = result
    return classes, results


class MultinomialLogisticRegression(ClassifierMixin, BaseEstimator):
    """Multinomial logistic regression with an elastic-net penalty, for one value of C.

    Minimises ``mean log-loss + (l1_ratio |W|_1 + (1 - l1_ratio)/2 |W|_2^2) / (C n)``.

    Parameters
    ----------
    C : float, default=1.0
        Inverse regularisation strength; ``inf`` fits without a penalty.
    l1_ratio : float in [0, 1], default=0.0
        0 is the L2 penalty, 1 the L1 penalty (lasso), in between the elastic net.
    tol : float, default=1e-3
        Relative KKT violation certifying convergence (see :class:`~mnist_logreg.engines.numpy.NumpyEngine`).
    max_iter : int, default=5000
        Quasi-Newton iterations.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (n_classes, n_features)
        One weight vector per class (also for two classes).
    intercept_ : ndarray of shape (n_classes,)
    n_iter_ : int
    converged_ : bool
    n_features_in_ : int
    """

    def __init__(self, C=1.0, l1_ratio=0.0, tol=1e-3, max_iter=5000):
        self.C = C
        self.l1_ratio = l1_ratio
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, X, y):
        """Fit on ``X`` of shape (n_samples, n_features) and labels ``y`` of shape (n_samples,)."""
        _check_params([self.C], self.l1_ratio, self.tol, self.max_iter)
        self.classes_, (result,) = _fit_codes(self, X, y, [self.C], self.l1_ratio, self.tol, self.max_iter)
        self.coef_ = result.coef
        self.intercept_ = result.intercept
        self.n_iter_ = int(result.n_iter)
        self.converged_ = bool(result.converged)
        return self

    def _scores(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return X @ self.coef_.T.astype(X.dtype) + self.intercept_

    def decision_function(self, X):
        """Scores of shape (n_samples, n_classes); for two classes, ``score_1 - score_0`` of shape (n_samples,)."""
        Z = self._scores(X)
        return Z[:, 1] - Z[:, 0] if Z.shape[1] == 2 else Z

    def predict_proba(self, X):
        """Class probabilities of shape (n_samples, n_classes)."""
        return softmax(np.asarray(self._scores(X), dtype=np.float64))

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`."""
        return np.log(self.predict_proba(X))

    def predict(self, X):
        """Most probable class of each sample, shape (n_samples,)."""
        Z = self._scores(X)
        return self.classes_[np.argmax(Z, axis=1)]


class MultinomialLogisticPath(BaseEstimator):
    """Multinomial logistic regression for many values of C at once (a warm-started path).

    Parameters
    ----------
    Cs : sequence of float, default=(0.001, 0.01, 0.1, 1.0, 10.0)
        Values of C, any order; results keep this order.
    l1_ratio : float in [0, 1], default=0.0
    tol : float, default=1e-3
    max_iter : int, default=5000
        Iterations per C.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    Cs_ : ndarray of shape (n_Cs,)
    coef_path_ : ndarray of shape (n_Cs, n_classes, n_features)
    intercept_path_ : ndarray of shape (n_Cs, n_classes)
    n_iter_ : ndarray of shape (n_Cs,)
    converged_ : ndarray of shape (n_Cs,), bool
    n_features_in_ : int
    """

    def __init__(self, Cs=(0.001, 0.01, 0.1, 1.0, 10.0), l1_ratio=0.0, tol=1e-3, max_iter=5000):
        self.Cs = Cs
        self.l1_ratio = l1_ratio
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, X, y):
        """Fit every C on ``X`` (n_samples, n_features) and ``y`` (n_samples,)."""
        Cs = [float(C) for C in np.atleast_1d(self.Cs)]
        if not Cs:
            raise ValueError("Cs: received an empty list; allowed one or more numbers > 0")
        _check_params(Cs, self.l1_ratio, self.tol, self.max_iter)
        self.classes_, results = _fit_codes(self, X, y, Cs, self.l1_ratio, self.tol, self.max_iter)
        self.Cs_ = np.array(Cs)
        self.coef_path_ = np.stack([r.coef for r in results])
        self.intercept_path_ = np.stack([r.intercept for r in results])
        self.n_iter_ = np.array([r.n_iter for r in results])
        self.converged_ = np.array([r.converged for r in results])
        return self

    def predict_proba_path(self, X):
        """Class probabilities for every C, shape (n_Cs, n_samples, n_classes)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return np.stack([predict_proba(X, W, b) for W, b in zip(self.coef_path_, self.intercept_path_)])

    def predict_path(self, X):
        """Predicted labels for every C, shape (n_Cs, n_samples)."""
        return self.classes_[np.argmax(self.predict_proba_path(X), axis=2)]
