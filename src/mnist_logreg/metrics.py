"""Scores of one fitted row: ROC AUC (one-vs-rest, macro), accuracy, log-loss, sparsity, objective
and its certificate (the relative duality gap, a proven bound of the distance to the optimum).

Everything is computed from the coefficients in float64, the same way for every engine. Scoring
runs in every worker process, so it needs NumPy alone: accuracy, log-loss and the rank statistic of
the AUC are a line each here, where importing scikit-learn's metrics (or SciPy's ``stats`` for its
ranks) would cost each worker a second and a half of start-up (:mod:`.plan.warmup`); the tests hold
them to scikit-learn's ``accuracy_score``, ``log_loss`` and ``roc_auc_score``.
"""

from __future__ import annotations

import numpy as np

from .engines.base import FitResult
from .plan.grid import GridPoint
from .objective import linear_scores, objective_from_scores
from .solvers.datafit import softmax
from .solvers.gap import certified_gap

__all__ = ["RESULT_COLUMNS", "accuracy", "log_loss", "predict_proba", "roc_auc_ovr", "score_fit"]

#: Columns of results.csv, in order.
RESULT_COLUMNS = [
    "penalty", "l1_ratio", "C",
    "roc_auc_train", "roc_auc_test", "accuracy_train", "accuracy_test", "log_loss_test",
    "nonzero_fraction", "objective", "gap", "n_iter", "converged", "fit_seconds",
]


def predict_proba(X: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """Class probabilities ``softmax(X @ coef.T + intercept)``, shape (n_samples, n_classes)."""
    return softmax(linear_scores(X, coef, intercept))


def accuracy(y: np.ndarray, proba: np.ndarray) -> float:
    """Share of samples whose most probable class is ``y`` (scikit-learn's ``accuracy_score`` of the argmax)."""
    return float(np.mean(np.asarray(proba).argmax(axis=1) == np.asarray(y)))


def log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    """Mean negative log-probability of the true class, probabilities clipped to ``[eps, 1 - eps]``
    (``eps`` of float64), as scikit-learn's ``log_loss(y, proba, labels=range(k))`` for rows that sum to one."""
    eps = np.finfo(np.float64).eps
    picked = np.asarray(proba, dtype=np.float64)[np.arange(len(y)), np.asarray(y)]
    return float(-np.mean(np.log(np.clip(picked, eps, 1.0 - eps))))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of each column of ``values`` (n, m), tied values sharing their mean rank."""
    n, m = values.shape
    ranks = np.empty((n, m))
    starts = np.empty(n, dtype=bool)
    starts[0] = True
    for j in range(m):
        order = np.argsort(values[:, j])  # any order within a run of ties: they share its mean rank
        ordered = values[order, j]
        np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
        first = np.flatnonzero(starts)  # where each run of ties starts ...
        last = np.append(first[1:], n)  # ... and ends (exclusive): its positions are first+1 .. last, 1-based
        ranks[order, j] = np.repeat((first + 1 + last) / 2.0, last - first)
    return ranks


def roc_auc_ovr(y: np.ndarray, proba: np.ndarray) -> float:
    r"""One-vs-rest macro ROC AUC for class codes ``y`` in ``0..k-1``.

    Equal to ``roc_auc_score(y, proba, multi_class="ovr", average="macro")`` when every class
    occurs in ``y``; otherwise the mean is taken over the classes that occur (an absent class has
    no positives, so its AUC is undefined).

    Each class's AUC is its Mann-Whitney statistic, from the ranks of its column (ties share
    their mean rank, which counts a tied positive-negative pair as a half, as the trapezoids of
    the ROC curve do):

    .. math::

        \mathrm{AUC}_c = \frac{\sum_{i: y_i = c} r_{ic} - n_c (n_c + 1) / 2}{n_c (n - n_c)}.

    One rank transform per column, where scikit-learn builds a ROC curve per class: much faster
    on 10 classes, which matters as every row of a sweep is scored twice (BENCHMARKS.md);
    the tests hold it to scikit-learn's ``roc_auc_score``.
    """
    y = np.asarray(y)
    k = proba.shape[1]
    member = y[:, None] == np.arange(k)
    positives = member.sum(axis=0)
    scored = (positives > 0) & (positives < len(y))
    if not scored.any():
        return float("nan")
    ranks = _average_ranks(proba[:, scored])
    n_pos = positives[scored].astype(np.float64)
    auc = (np.sum(ranks * member[:, scored], axis=0) - n_pos * (n_pos + 1) / 2) / (n_pos * (len(y) - n_pos))
    return float(auc.mean())


def score_fit(row: GridPoint, fit: FitResult, X_train, y_train, X_test, y_test) -> dict:
    """The results.csv record of one row.

    Parameters
    ----------
    row : GridPoint
    fit : FitResult
    X_train, X_test : ndarray of shape (n, n_features)
    y_train, y_test : ndarray of shape (n,)
        Class codes in ``0..n_classes-1``.

    Returns
    -------
    dict with the keys of :data:`RESULT_COLUMNS`
    """
    X_train = np.asarray(X_train, dtype=np.float64)
    # One pass over the training set serves the probabilities, the objective and its certificate.
    Z_train = linear_scores(X_train, fit.coef, fit.intercept)
    value = objective_from_scores(Z_train, y_train, fit.coef, l1_ratio=row.l1_ratio, C=row.C, penalty=row.penalty)
    p_train = softmax(Z_train)
    p_test = predict_proba(X_test, fit.coef, fit.intercept)
    return {
        "penalty": row.penalty,
        "l1_ratio": float(row.l1_ratio),
        "C": float(row.C),
        "roc_auc_train": roc_auc_ovr(y_train, p_train),
        "roc_auc_test": roc_auc_ovr(y_test, p_test),
        "accuracy_train": accuracy(y_train, p_train),
        "accuracy_test": accuracy(y_test, p_test),
        "log_loss_test": log_loss(y_test, p_test),
        "nonzero_fraction": row.spec.nonzero_fraction(fit.coef),
        "objective": value,
        "gap": certified_gap(X_train, y_train, fit.coef, fit.intercept, Z_train, value, l1_ratio=row.l1_ratio,
                             C=row.C, penalty=row.penalty, dual=fit.dual),
        "n_iter": int(fit.n_iter),
        "converged": bool(fit.converged),
        "fit_seconds": float(fit.fit_seconds),
    }
