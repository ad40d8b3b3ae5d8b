"""Solvers for the multinomial objective of :mod:`mnist_logreg.objective`.

:mod:`.datafit` holds the mean log-loss (value, gradient, scores reused across a line search) and the one
softmax of the package, :mod:`.penalties` the penalties as objects (value, proximal step, subdifferential
distance, conjugate, centred form), :mod:`.problem` a datafit paired with one row's penalty, :mod:`.owlqn`
the orthant-wise limited-memory quasi-Newton method for separable penalties, :mod:`.gap` the duality gap,
:mod:`.centring` the centred copy the iterations run on, :mod:`.workingset` the L1 iterations on the columns
that can be non-zero, :mod:`.proxqn` the proximal quasi-Newton method on the Gram preconditioner of
:mod:`.preconditioner` (its model minimised by the compiled coordinate descent of :mod:`._cd`), :mod:`.path`
the regularisation path over C (its shared preparation in :mod:`.prepare`, each C's strategy in
:mod:`.rows`), and :mod:`.fit` the front door the engine and the estimators share.

The certifying tail of a penalised separable row is :mod:`.newton`, orthant-wise Newton-CG on X itself
(Hessian products in :mod:`.hessian`, conjugate gradients in :mod:`.cg`), its conjugate gradients
preconditioned where affordable by the factored exact Hessian of the free set (:mod:`.freeset`, formed class
pair by class pair in :mod:`.pairs`); :mod:`.nullspace` handles the directions along which the log-loss is
flat, :mod:`.extrapolate` the secant start of each C, and :mod:`.columns` the column copies of X.

Names are loaded on first use, so importing :mod:`.penalties` (as the grid does) loads no solver.
"""

from importlib import import_module

__all__ = ["SoftmaxDatafit", "Problem", "OWLQNResult", "minimize_owlqn", "minimize_proxqn", "PathSolution",
           "PathFitter", "prepare_problem", "solve_path", "use_preconditioner"]

_HOMES = {"SoftmaxDatafit": "datafit", "Problem": "problem", "OWLQNResult": "owlqn", "minimize_owlqn": "owlqn",
          "minimize_proxqn": "proxqn", "PathSolution": "path", "prepare_problem": "prepare", "solve_path": "path",
          "use_preconditioner": "prepare", "PathFitter": "fit"}


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
