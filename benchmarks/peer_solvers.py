r"""The solvers that ``benchmarks/peers.py`` compares, behind one small interface.

Each solver walks the grid's regularisation paths (rows grouped by ``(penalty, l1_ratio)``, C
ascending) and returns one :class:`Solution` per row, or ``None`` for a row it cannot fit (lbfgs has
no L1 term) or did not reach within the time budget. Solutions are returned in the multinomial
layout of :mod:`mnist_logreg.objective` (``coef`` of shape (k, d), ``intercept`` (k,)) so that the
driver scores all of them with the same float64 :func:`~mnist_logreg.objective.objective`.

Cyanure's penalty convention: it minimises

.. math::

    \frac1n \sum_i \ell(W^\top x_i + b, y_i) + \lambda_1 \lVert W\rVert_1 + \frac{\lambda_2}{2}\lVert W\rVert_2^2

(``penalty="l2"`` puts :math:`\lambda_1/2 \lVert W\rVert^2`; the intercept is not penalised), so our
:math:`F` with ``C`` and ``l1_ratio`` :math:`\rho` is Cyanure's problem with :math:`\lambda = 1/(C n)`
and :math:`\lambda_1 = \rho\lambda`, :math:`\lambda_2 = (1-\rho)\lambda` for the elastic net,
:math:`\lambda_1 = \lambda` for pure L1 or pure L2. :func:`check_cyanure_mapping` verifies it: the
primal value Cyanure reports for its own iterate must equal our ``objective`` at that iterate.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning

from mnist_logreg.engines import get_engine
from mnist_logreg.engines.sklearn import timed_fit
from mnist_logreg.plan.grid import GridPoint, group_rows
from mnist_logreg.objective import objective, penalty_strength

__all__ = ["Solution", "Solver", "Command", "SOLVERS", "make_solver", "check_cyanure_mapping", "cyanure_penalty"]


@dataclass
class Solution:
    """One row's fit by one solver.

    Attributes
    ----------
    coef : ndarray of shape (k, d), float64
    intercept : ndarray of shape (k,), float64
    seconds : float
        Wall time of this row's own solve (warm-started from the previous C of its path).
    n_iter : int
        The solver's own unit (epochs, quasi-Newton steps, passes).
    converged : bool
        The solver's own stopping criterion was met.
    gap : float or None
        The row's ``gap`` (provable bound of ``(F - F*) / F``) where the solver reports one.
    """

    coef: np.ndarray
    intercept: np.ndarray
    seconds: float
    n_iter: int
    converged: bool
    gap: float | None = None


class Solver:
    """A named way of fitting every row of a grid; subclasses implement :meth:`solve_path`.

    Parameters
    ----------
    name : str
        Column name in the printed table.
    description : str
        The configuration, printed once per run.
    """

    name = ""
    description = ""

    def fit(self, X, y, k, rows: Sequence[GridPoint], budget: float = np.inf) -> list[Solution | None]:
        """Fit every row; rows still pending once ``budget`` seconds have been spent are ``None``.

        The budget is checked between rows (a single fit is never interrupted).
        """
        out: list[Solution | None] = [None] * len(rows)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for i, solution in self.solve_path(X, y, k, rows):
                out[i] = solution
                if time.perf_counter() - start > budget:
                    break
        return out

    def solve_path(self, X, y, k, rows):
        """Yield ``(position, Solution)`` per row it fits (any order)."""
        raise NotImplementedError


class OurEngine(Solver):
    """``mnist_logreg``'s engine as the sweep builds it (``get_engine(name, **options)``)."""

    def __init__(self, name: str = "ours", engine: str = "numpy", **options):
        self.name = name
        self.engine = get_engine(engine, **options)
        self.description = f"mnist_logreg {engine} engine, options {self.engine.options()}"

    def solve_path(self, X, y, k, rows):
        for i, result in self.engine.fit_path(X, y, k, rows):
            gap = getattr(result, "gap", None)
            yield i, Solution(coef=np.asarray(result.coef, np.float64), intercept=np.asarray(result.intercept, np.float64),
                              seconds=result.fit_seconds, n_iter=int(result.n_iter), converged=bool(result.converged),
                              gap=None if gap is None else float(gap))


def _paths(rows: Sequence[GridPoint]):
    """Each path's positions, C ascending (strongest regularisation first, as warm starts want)."""
    for (penalty, l1_ratio), positions in group_rows(rows).items():
        yield penalty, l1_ratio, sorted(positions, key=lambda i: rows[i].C)


class Lbfgs(Solver):
    """scikit-learn's lbfgs (L2 and no penalty only), one estimator per path with ``warm_start=True``."""

    name = "lbfgs"

    def __init__(self, tol: float = 1e-4, max_iter: int = 10_000):
        self.tol, self.max_iter = tol, max_iter
        self.description = (f"sklearn LogisticRegression(solver='lbfgs', tol={tol:g} (its default), max_iter={max_iter}, "
                            "warm_start=True along each path); L2 and none only")

    def solve_path(self, X, y, k, rows):
        from sklearn.linear_model import LogisticRegression

        for penalty, l1_ratio, positions in _paths(rows):
            if l1_ratio != 0.0:
                continue  # lbfgs has no L1 term
            model = LogisticRegression(solver="lbfgs", l1_ratio=0.0, tol=self.tol, max_iter=self.max_iter, warm_start=True)
            for i in positions:
                model.set_params(C=rows[i].C)
                seconds, converged = timed_fit(model, X, y)
                yield i, Solution(coef=model.coef_.astype(np.float64), intercept=model.intercept_.astype(np.float64),
                                  seconds=seconds, n_iter=int(np.max(model.n_iter_)), converged=converged)


class Command(Solver):
    """The installed ``mnist-logreg run`` at its defaults on the same split (no refit, no report).

    Its solutions are read back from path.npz (scored by the driver like every other solver's), its
    wall time is the ``sweep_s`` of run.json, and each row's ``gap`` comes from results.csv when the
    column is there.

    Parameters
    ----------
    dataset_args : list of str
        ``--dataset``, sizes and seed that make the driver's split.
    """

    name = "command"

    def __init__(self, dataset_args: list[str]):
        self.dataset_args = dataset_args
        self.description = "mnist-logreg run at its defaults, --refit none --no-report; wall = run.json sweep_s"
        self.sweep_s = None

    def solve_path(self, X, y, k, rows):
        import tempfile

        from command import run_cli  # benchmarks/command.py: runs the command, reads what it wrote

        Cs = ",".join(repr(float(c)) for c in sorted({r.C for r in rows}))
        penalties = ",".join(dict.fromkeys(r.penalty for r in rows))
        ratios = ",".join(dict.fromkeys(repr(float(r.l1_ratio)) for r in rows if r.penalty == "elasticnet"))
        with tempfile.TemporaryDirectory(prefix="mnist-logreg-peers-") as tmp:
            run = run_cli([*self.dataset_args, "--penalties", penalties, "--C", Cs,
                           *(["--l1-ratios", ratios] if ratios else []), "--refit", "none", "--no-report"],
                          Path(tmp) / "run")
        self.sweep_s = run.timings["sweep_s"]
        for j, r in enumerate(run.results.itertuples()):
            i = next(i for i, row in enumerate(rows) if row.penalty == r.penalty and np.isclose(row.l1_ratio, r.l1_ratio)
                     and np.isclose(row.C, r.C, rtol=1e-12))
            gap = getattr(r, "gap", None)
            yield i, Solution(coef=run.coef[j].astype(np.float64), intercept=run.intercept[j].astype(np.float64),
                              seconds=float(r.fit_seconds), n_iter=int(r.n_iter), converged=bool(r.converged),
                              gap=None if gap is None or pd.isna(gap) else float(gap))


def cyanure_penalty(row: GridPoint, n_samples: int) -> dict:
    """Cyanure's ``penalty``, ``lambda_1``, ``lambda_2`` for our row: ``lambda = 1 / (C n)``."""
    lam = penalty_strength(row.C, n_samples)
    if row.penalty == "none" or lam == 0.0:
        return {"penalty": "none", "lambda_1": 0.0, "lambda_2": 0.0}
    if row.l1_ratio == 1.0:
        return {"penalty": "l1", "lambda_1": lam, "lambda_2": 0.0}
    if row.l1_ratio == 0.0:
        return {"penalty": "l2", "lambda_1": lam, "lambda_2": 0.0}
    return {"penalty": "elasticnet", "lambda_1": row.l1_ratio * lam, "lambda_2": (1.0 - row.l1_ratio) * lam}


def _cyanure_estimator(**params):
    from cyanure.estimators import LogisticRegression

    logging.getLogger("Cyanure").setLevel(logging.WARNING)  # it logs the multinomial switch at INFO on every fit
    return LogisticRegression(fit_intercept=True, multi_class="multinomial", verbose=False, **params)


def _cyanure_solution(model, seconds: float) -> Solution:
    info = model.optimization_info_
    epochs = float(info[0, 0][info[0, 0] != 0][-1]) if np.any(info[0, 0]) else 0.0
    return Solution(coef=np.asarray(model.coef_, np.float64).T.copy(),
                    intercept=np.asarray(model.intercept_, np.float64).ravel(),
                    seconds=seconds, n_iter=int(epochs), converged=epochs < model.max_iter)


class Cyanure(Solver):
    """Cyanure's multinomial logistic regression at its defaults, one estimator per path, ``warm_start=True``.

    Parameters
    ----------
    options : dict
        Overrides of Cyanure's defaults (``tol``, ``max_iter``, ``solver``...); none in the benchmark.
    """

    name = "cyanure"

    def __init__(self, name: str = "cyanure", **options):
        self.name = name
        self.options = options
        defaults = "its defaults: tol 1e-3 (relative duality gap), max_iter 500, solver auto, all cores"
        self.description = (f"cyanure LogisticRegression(multi_class='multinomial', warm_start=True along each path, "
                            f"lambda = 1/(C n); {options or defaults})")

    def solve_path(self, X, y, k, rows):
        n = X.shape[0]
        for penalty, l1_ratio, positions in _paths(rows):
            model = None
            for i in positions:
                params = cyanure_penalty(rows[i], n)
                if model is None:
                    model = _cyanure_estimator(warm_start=True, **self.options, **params)
                else:
                    model.set_params(**params)
                start = time.perf_counter()
                model.fit(X, y)
                yield i, _cyanure_solution(model, time.perf_counter() - start)


def check_cyanure_mapping(X, y, rows: Sequence[GridPoint], rtol: float = 1e-9) -> list[str]:
    """Verify ``lambda = 1/(C n)``: for each row, Cyanure's own primal value at its iterate equals our
    float64 objective there. Returns one line per row; raises AssertionError on a mismatch."""
    lines = []
    for row in rows:
        model = _cyanure_estimator(max_iter=50, **cyanure_penalty(row, X.shape[0]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
        solution = _cyanure_solution(model, 0.0)
        info = model.optimization_info_[0]
        theirs = float(info[1, info[0] != 0][-1])  # rows of info: epoch, primal, dual, relative gap, ..., seconds
        ours = objective(X, y, solution.coef, solution.intercept, l1_ratio=row.l1_ratio, C=row.C)
        assert abs(theirs - ours) <= rtol * abs(ours), (
            f"Cyanure's lambda mapping is wrong for {row}: its primal {theirs!r} != our objective {ours!r}")
        lines.append(f"{row.penalty} l1_ratio={row.l1_ratio:g} C={row.C:g}: Cyanure primal {theirs:.12f}, "
                     f"our objective {ours:.12f}, relative difference {abs(theirs - ours) / ours:.1e}")
    return lines


#: name -> factory(reference_tol) ; "reference" is our engine run far past its defaults.
SOLVERS: dict[str, Callable[..., Solver]] = {
    "ours": lambda ref_tol: OurEngine("ours"),
    "saga": lambda ref_tol: OurEngine("saga", engine="sklearn"),
    "lbfgs": lambda ref_tol: Lbfgs(),
    "cyanure": lambda ref_tol: Cyanure(),
    "reference": lambda ref_tol: OurEngine("reference", tol=ref_tol, max_iter=200_000, mixed_precision=False),
}


def make_solver(name: str, ref_tol: float = 1e-8, dataset_args: list[str] | None = None) -> Solver | None:
    """The solver called ``name`` (a key of :data:`SOLVERS`, or ``"command"``: ``None`` without ``dataset_args``)."""
    if name == "command":
        return Command(dataset_args) if dataset_args else None
    return SOLVERS[name](ref_tol)
