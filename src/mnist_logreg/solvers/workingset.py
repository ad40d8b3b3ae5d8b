r"""Working sets for the L1 path: iterate on the columns that can be non-zero, certify on all of them.

Under an L1 penalty most weights of a solution are zero, and a column ``j`` of X whose weights
``W_{:j}`` are all zero does not change the scores ``Z = X W^T + b``. OWL-QN restricted to a set
``S`` of columns therefore minimises exactly the original objective over the weights
``{W : W_{:j} = 0,\ j \notin S}``, and each of its matrix products reads ``|S|`` columns instead
of ``d``. The restricted solution ``W_S`` is optimal for the full problem iff every left-out weight
satisfies its KKT condition at zero,

.. math::

    |\nabla_{cj} f(W)| \le \lambda_{1,cj} + \varepsilon \qquad (j \notin S),

which one full gradient (one pass over X) checks; the scores are the same on ``S`` and on all
columns because the left-out weights are zero. Columns that violate it join ``S`` and the
restricted problem is solved again from the current point, until no column outside ``S`` violates
its condition (at most ``d`` rounds, in practice one to three).

The first ``S`` holds the columns with a non-zero weight at the start point and those whose
gradient there is within ``MARGIN`` of the penalty (``|g_{cj}| \ge (1 - \text{MARGIN})
\lambda_{1,cj}`` for some class). ``MARGIN = 0`` (only the violators) measured best:
a margin makes the sets larger and the iterations more (BENCHMARKS.md, "Solver figures"), and a wider margin (the
"strong rule") makes them several times larger than the support. ``S`` is a function of
the start point only, so a row started from the same point is solved the same way, bit for bit.
"""

from __future__ import annotations

import numpy as np

from .owlqn import OWLQNResult, minimize_owlqn
from .problem import Problem

__all__ = ["minimize_working_set"]

#: Columns whose largest gradient is at least ``(1 - MARGIN) * lambda_1`` start in the working set.
MARGIN = 0.0
#: Below this share of the columns a restricted copy is worth making.
MAX_SHARE = 0.8


def minimize_working_set(problem: Problem, x0: np.ndarray, *, kkt_tol: float, max_iter: int,
                         memory: int = 10) -> OWLQNResult:
    """Minimise ``f + l1 |W|_1`` by OWL-QN on working sets of columns (see the module docstring).

    Parameters
    ----------
    problem : Problem
        The full problem; its penalty separable with ``l1 = penalty.strength > 0`` (without it
        there is no sparsity to exploit).
    x0 : ndarray of shape (k*d + k,)
        Start point; not modified.
    kkt_tol : float
        Absolute KKT tolerance on every weight, restricted iterations and final check alike.
    max_iter : int
        OWL-QN iterations over all rounds.
    memory : int, default=10

    Returns
    -------
    OWLQNResult
        ``kkt`` is the largest KKT violation over all weights; ``gap`` is NaN.
    """
    k, d = problem.n_classes, problem.n_features
    n_coef, l1 = problem.n_coef, problem.penalty.strength
    x = np.array(x0, dtype=np.float64)
    grad = problem.value_grad(problem.scores(x), x)[1]
    W, G = x[:n_coef].reshape(k, d), grad[:n_coef].reshape(k, d)
    inside = (W != 0).any(axis=0) | (np.abs(G) >= (1.0 - MARGIN) * l1).any(axis=0)
    n_iter = 0
    while True:
        columns = np.flatnonzero(inside)
        if len(columns) > MAX_SHARE * d:
            # Nearly everything is in: iterate on X itself.
            result = minimize_owlqn(problem, x, tol=0.0, kkt_tol=kkt_tol, max_iter=max_iter - n_iter,
                                    memory=memory, criterion="kkt", report_gap=False)
            result.n_iter += n_iter
            return result
        sub = problem.restricted(columns)
        W = x[:n_coef].reshape(k, d)
        x_sub = sub.pack(W[:, columns], x[n_coef:])
        result = minimize_owlqn(sub, x_sub, tol=0.0, kkt_tol=kkt_tol,
                                max_iter=max_iter - n_iter, memory=memory, criterion="kkt", report_gap=False)
        n_iter += result.n_iter
        W_sub, b = sub.unpack(result.x)
        W = np.zeros((k, d))
        W[:, columns] = W_sub
        x = problem.pack(W, b)
        # KKT on all columns: left-out weights are zero, so their violation is (|g| - lambda_1)_+.
        grad = problem.value_grad(problem.scores(x), x)[1]
        G = grad[:n_coef].reshape(k, d)
        outside_violation = np.where(inside, 0.0, np.maximum(np.abs(G) - l1, 0.0))
        violators = (outside_violation > kkt_tol).any(axis=0)
        if not violators.any() or n_iter >= max_iter or not result.converged:
            kkt = problem.kkt(x, grad)
            F = result.value
            return OWLQNResult(x, n_iter, result.converged and kkt <= kkt_tol, kkt, np.nan, F)
        # Add the violators and the columns near their threshold.
        inside |= violators | (np.abs(G) >= (1.0 - MARGIN) * l1).any(axis=0)
