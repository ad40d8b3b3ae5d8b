"""Solvers for the multinomial objective of :mod:`mnist_logreg.objective`.

:mod:`.datafit` holds the smooth part (mean log-loss, its gradient, scores reused across a line
search), :mod:`.owlqn` the orthant-wise limited-memory quasi-Newton method that adds the L1 term
and certifies convergence by the KKT violation or :mod:`.gap` the duality gap, :mod:`.scaling` the
centred reparametrisation the iterations run on, :mod:`.workingset` the L1 iterations on the columns
that can be non-zero, :mod:`.proxqn` the proximal quasi-Newton method on the feature metric of
:mod:`.metric` (its model minimised by the compiled coordinate descent of :mod:`._cd`) for problems
with many samples per feature, and :mod:`.path` the regularisation path over C.
"""

from .datafit import SoftmaxDatafit
from .owlqn import OWLQNResult, minimize_owlqn
from .path import PathSolution, prepare_problem, solve_path, use_metric
from .proxqn import minimize_proxqn

__all__ = ["SoftmaxDatafit", "OWLQNResult", "minimize_owlqn", "minimize_proxqn", "PathSolution", "prepare_problem",
           "solve_path", "use_metric"]
