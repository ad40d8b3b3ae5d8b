"""scikit-learn estimators over the solver layer (:class:`mnist_logreg.solvers.fit.PathFitter`).

:class:`MultinomialLogisticRegression` fits one C; :class:`MultinomialLogisticPath` fits a list of C
values at once, each warm-started from the previous one. They take every option of the ``numpy``
engine (it builds its refit estimators with them) and fit through the same solver layer, without
importing the engine. Both minimise exactly
:func:`mnist_logreg.objective.objective` (intercept not penalised) and keep only plain NumPy arrays,
Python scalars and strings as fitted attributes, so they persist with ``skops.io``.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .metrics import predict_proba
from .solvers.datafit import softmax
from .solvers.fit import PathFitter
from .plan.grid import GridPoint, rows_as_paths
from .solvers.penalties import FAMILIES, row_penalty
from .solvers.problem import check_C

__all__ = ["MultinomialLogisticRegression", "MultinomialLogisticPath"]


def _check_params(Cs, l1_ratio, penalty) -> None:
    """Raise ``ValueError`` naming the parameter, the allowed values and what was received (the
    solver's options are checked by :class:`~mnist_logreg.solvers.fit.PathFitter`)."""
    for C in Cs:
        check_C(C)  # above MAX_C the penalty is too small for float64 to fit; inf is no penalty
    if not isinstance(l1_ratio, Real) or not 0.0 <= l1_ratio <= 1.0:
        raise ValueError(f"l1_ratio: received {l1_ratio!r}; allowed a number in [0, 1]")
    if penalty not in FAMILIES:
        # The command line's other names are settings of these two: say which.
        raise ValueError(f"penalty: received {penalty!r}; allowed {', '.join(FAMILIES)} (l1 is "
                         "penalty='elasticnet', l1_ratio=1; l2 is l1_ratio=0; no penalty is C=inf)")


def _refuse_fit_params(estimator, params: dict) -> None:
    """``fit`` takes ``X, y`` only. ``sample_weight`` gets its own message: scikit-learn's tools
    (Pipeline, GridSearchCV, cross_validate) pass it on by name, and a bare ``TypeError`` about an
    unexpected keyword would not say that weighting is what is missing.

    The keyword is not part of ``fit``'s signature on purpose: scikit-learn reads the signature
    (``has_fit_parameter``) to decide whether an estimator weights samples.
    """
    name = type(estimator).__name__
    params = dict(params)
    if params.pop("sample_weight", None) is not None:
        raise TypeError(f"sample_weight is not supported by {name}: its solver and convergence certificate "
                        "minimise the unweighted mean log-loss; allowed sample_weight=None (an unweighted fit), "
                        "or sklearn.linear_model.LogisticRegression for weighted samples")
    if params:
        raise TypeError(f"{name}.fit() got an unexpected keyword argument {next(iter(params))!r}; allowed X, y")


def _fit_codes(estimator, X, y, Cs):
    """Validate ``X, y``, encode labels and solve the path; returns the solutions in the order of ``Cs``."""
    _check_params(Cs, estimator.l1_ratio, estimator.penalty)
    fitter = PathFitter(**{name: getattr(estimator, name) for name in PathFitter().options()})
    X, y = validate_data(estimator, X, y, dtype=[np.float64, np.float32])
    check_classification_targets(y)
    classes, codes = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        label = classes[0].item() if isinstance(classes[0], np.generic) else classes[0]  # 0.0, not np.float64(0.0)
        raise ValueError(f"y: found 1 class ({label!r}); at least 2 classes are needed to fit")
    # The grid's rows of these C (C = inf, no penalty, is its own path, as in the grid).
    rows = [GridPoint(row_penalty(estimator.penalty, estimator.l1_ratio, C), float(estimator.l1_ratio), C) for C in Cs]
    groups, paths = rows_as_paths(rows)
    results = [None] * len(Cs)
    for p, j, solution in fitter.fit(X, codes, len(classes), paths):
        results[groups[p][j]] = solution
    return classes, results


class MultinomialLogisticRegression(ClassifierMixin, BaseEstimator):
    """Multinomial logistic regression with an elastic-net or pixel-group penalty, for one value of C.

    Minimises ``mean log-loss + (l1_ratio h(W) + (1 - l1_ratio)/2 |W|_2^2) / (C n)`` with ``h`` the
    L1 norm (``penalty="elasticnet"``) or the sum over pixels of the L2 norm of their weights across
    classes (``penalty="group"``).

    Parameters
    ----------
    C : float, default=1.0
        Inverse regularisation strength; ``inf`` fits without a penalty.
    l1_ratio : float in [0, 1], default=0.0
        Weight of ``h``: with ``elasticnet`` 0 is the L2 penalty, 1 the L1 penalty (lasso).
    penalty : {"elasticnet", "group"}, default="elasticnet"
        The command line's ``l1``, ``l2`` and ``none`` are ``elasticnet`` with ``l1_ratio=1``,
        ``l1_ratio=0`` and ``C=inf``; those names are refused here with that hint.
    tol : float, default=1e-5
        Relative duality gap certifying convergence: a proven bound of ``(F - min F) / F``.
    max_iter : int, default=5000
        Quasi-Newton iterations plus Newton steps per C.
    memory : int, default=10
        L-BFGS curvature pairs.
    mixed_precision : bool or None, default=None
        Iterate in float32 and certify in float64 (``None``: on for small problems).
    blas_threads : int or None, default=None
        BLAS threads during the fit (``None``: automatic).
    solver : {"auto", "owlqn", "proxqn"}, default="auto"
        Iteration method; see :class:`mnist_logreg.solvers.fit.PathFitter` for all of these.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (n_classes, n_features)
        One weight vector per class (also for two classes).
    intercept_ : ndarray of shape (n_classes,)
    n_iter_ : int
    converged_ : bool
    n_features_in_ : int

    Notes
    -----
    * ``sample_weight`` is not supported: ``fit(X, y, sample_weight=w)`` raises ``TypeError``
      (``sample_weight=None`` is accepted and changes nothing). The solver minimises the
      unweighted mean log-loss.
    * ``X`` must be dense: sparse matrices are refused (scikit-learn's "dense data is required").
    * ``X`` may be float64 or float32 (other dtypes are converted to float64); the fitted weights
      and the probabilities are float64 whatever the input's dtype.
    """

    def __init__(self, C=1.0, l1_ratio=0.0, penalty="elasticnet", tol=1e-5, max_iter=5000, memory=10,
                 mixed_precision=None, blas_threads=None, solver="auto"):
        self.C = C
        self.l1_ratio = l1_ratio
        self.penalty = penalty
        self.tol = tol
        self.max_iter = max_iter
        self.memory = memory
        self.mixed_precision = mixed_precision
        self.blas_threads = blas_threads
        self.solver = solver

    def fit(self, X, y, **params):
        """Fit on ``X`` of shape (n_samples, n_features) and labels ``y`` of shape (n_samples,).

        No other argument is taken: ``sample_weight`` is refused with a ``TypeError`` unless it is ``None``.
        """
        _refuse_fit_params(self, params)
        self.classes_, (result,) = _fit_codes(self, X, y, [self.C])
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
    penalty : {"elasticnet", "group"}, default="elasticnet"
    tol : float, default=1e-5
        Relative duality gap certifying convergence: a proven bound of ``(F - min F) / F``.
    max_iter : int, default=5000
        Quasi-Newton iterations plus Newton steps per C.
    memory : int, default=10
        L-BFGS curvature pairs.
    mixed_precision : bool or None, default=None
        Iterate in float32 and certify in float64 (``None``: on for small problems).
    blas_threads : int or None, default=None
        BLAS threads during the fit (``None``: automatic).
    solver : {"auto", "owlqn", "proxqn"}, default="auto"
        Iteration method; see :class:`mnist_logreg.solvers.fit.PathFitter` for all of these.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    Cs_ : ndarray of shape (n_Cs,)
    coef_path_ : ndarray of shape (n_Cs, n_classes, n_features)
    intercept_path_ : ndarray of shape (n_Cs, n_classes)
    n_iter_ : ndarray of shape (n_Cs,)
    converged_ : ndarray of shape (n_Cs,), bool
    n_features_in_ : int

    Notes
    -----
    * ``sample_weight`` is not supported: ``fit(X, y, sample_weight=w)`` raises ``TypeError``
      (``sample_weight=None`` is accepted and changes nothing). The solver minimises the
      unweighted mean log-loss.
    * ``X`` must be dense: sparse matrices are refused (scikit-learn's "dense data is required").
    * ``X`` may be float64 or float32 (other dtypes are converted to float64); the fitted weights
      and the probabilities are float64 whatever the input's dtype.
    """

    def __init__(self, Cs=(0.001, 0.01, 0.1, 1.0, 10.0), l1_ratio=0.0, penalty="elasticnet", tol=1e-5,
                 max_iter=5000, memory=10, mixed_precision=None, blas_threads=None, solver="auto"):
        self.Cs = Cs
        self.l1_ratio = l1_ratio
        self.penalty = penalty
        self.tol = tol
        self.max_iter = max_iter
        self.memory = memory
        self.mixed_precision = mixed_precision
        self.blas_threads = blas_threads
        self.solver = solver

    def fit(self, X, y, **params):
        """Fit every C on ``X`` (n_samples, n_features) and ``y`` (n_samples,).

        No other argument is taken: ``sample_weight`` is refused with a ``TypeError`` unless it is ``None``.
        """
        _refuse_fit_params(self, params)
        Cs = [float(C) for C in np.atleast_1d(self.Cs)]
        if not Cs:
            raise ValueError("Cs: received an empty list; allowed one or more numbers > 0")
        self.classes_, results = _fit_codes(self, X, y, Cs)
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
