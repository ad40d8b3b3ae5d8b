"""The secant start of a path's next C (solvers.extrapolate), against solutions solved independently."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from mnist_logreg.solvers import Problem, SoftmaxDatafit
from mnist_logreg.solvers.extrapolate import extrapolated_start
from mnist_logreg.solvers.path import solve_path
from mnist_logreg.solvers.penalties import PenaltySpec


@pytest.fixture(scope="module")
def datafit():
    X, y = load_digits(return_X_y=True)
    X = X[:300] / 16.0
    return SoftmaxDatafit(X[:, X.any(axis=0)], y[:300], 10)


def solved(datafit, name, C):
    """The row at C solved alone from zero weights to a relative duality gap of 1e-10 (no secant)."""
    spec = PenaltySpec(name, 1.0 if name == "l1" else 0.0)
    ((_, solution),) = solve_path(datafit.X, datafit.y, 10, [C], spec, tol=1e-10, criterion="gap")
    assert solution.converged
    problem = Problem(datafit, spec.at(C, datafit.n_samples))
    return problem, datafit.pack(solution.coef, solution.intercept)


@pytest.mark.parametrize("name, Cs, share", [("l2", (0.1, 0.2, 0.4), 0.5), ("l2", (1.0, 3.0, 5.0), 0.5),
                                             ("l1", (0.5, 1.0, 2.0), 0.8)])
def test_secant_start_is_closer_to_the_next_solution(datafit, name, Cs, share):
    """The secant predicts much of the step: it starts nearer the next C's solution, in distance
    (at most ``share`` of the last solution's) and in objective, than the last solution does. Less
    so under L1, where weights entering the support between the two C are not predicted."""
    (_, x0), (_, x1), (problem, x2) = (solved(datafit, name, C) for C in Cs)
    start = extrapolated_start(problem, (x0, Cs[0]), (x1, Cs[1]), Cs[2])
    assert np.linalg.norm(start - x2) < share * np.linalg.norm(x1 - x2)
    F = lambda x: problem.objective(problem.scores(x), x)  # noqa: E731
    assert F(start) - F(x2) < F(x1) - F(x2)


def test_l1_start_keeps_the_support_and_signs_of_the_last_solution(datafit):
    (_, x0), (_, x1), (problem, _) = (solved(datafit, "l1", C) for C in (0.5, 1.0, 2.0))
    start = extrapolated_start(problem, (x0, 0.5), (x1, 1.0), 2.0)
    n = problem.n_coef
    assert not np.array_equal(start, x1)  # the prediction was taken
    assert np.all(start[:n][x1[:n] == 0] == 0)
    moved = start[:n] != 0
    assert np.all(np.sign(start[:n][moved]) == np.sign(x1[:n][moved]))


def test_a_worse_prediction_or_a_grid_out_of_order_keeps_the_last_solution(datafit):
    (_, x1), (problem, _) = (solved(datafit, "l2", C) for C in (1.0, 2.0))
    far = x1 + np.random.default_rng(0).normal(scale=5.0, size=x1.size)  # a "solution" that is nowhere near
    assert extrapolated_start(problem, (far, 0.5), (x1, 1.0), 2.0) is x1
    assert extrapolated_start(problem, (x1 + 0.1, 1.0), (x1, 1.0), 2.0) is x1  # equal C: no secant
    assert extrapolated_start(problem, (x1 + 0.1, 2.0), (x1, 1.0), 3.0) is x1  # not increasing
