"""The ``group`` penalty end to end on real digits: certified rows, the optimum, pixels growing with C."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_logreg.cli import main
from mnist_logreg.data import load_dataset
from mnist_logreg.engines.numpy import NumpyEngine
from mnist_logreg.grid import make_grid
from mnist_logreg.objective import objective
from mnist_logreg.split import split_dataset
from reference import GroupProblem


@pytest.fixture(scope="module")
def group_path(t10k_dir):
    """``--penalties group --l1-ratios 1`` on the 1500/1000 t10k split, 13 values of C, tol 1e-6."""
    split = split_dataset(load_dataset(f"idx:{t10k_dir}"), 1500, 1000, seed=42)
    X, y = split.X_train, split.y_train_codes
    rows = make_grid("group", "1e-3:1e1:13", l1_ratios="1")
    fits = dict(NumpyEngine(tol=1e-6).fit_path(X, y, split.n_classes, rows))
    return X, y, split.n_classes, rows, [fits[i] for i in range(len(rows))]


def test_every_row_is_certified_and_bounded_by_an_independent_duality_gap(group_path):
    """The engine's own certificate holds, and the duality gap computed here (tests/reference.py,
    independently of the package) bounds each row's objective to 1e-5 of the minimum (the gap of
    a dual point built from a row certified at KKT 1e-6 is ~1.5e-6 at worst here; it bounds
    F - F*, which the reference test below checks against 1e-6 directly)."""
    X, y, k, rows, fits = group_path
    for row, fit in zip(rows, fits):
        assert fit.converged, row
        F = objective(X, y, fit.coef, fit.intercept, l1_ratio=1.0, C=row.C, penalty="group")
        lower = GroupProblem(X, y, k, 1.0 / (row.C * len(y))).dual(fit.coef, fit.intercept)
        assert lower <= F <= lower + 1e-5 * F, row


def test_rows_match_a_plain_proximal_gradient_reference(group_path):
    """A FISTA reference written in the test, warm-started along its own path, run to a duality gap
    of 1e-9, for the C values it reaches in reasonable time (C <= 0.0215: tens of seconds; the
    larger C need tens of thousands of its iterations, so there the gap above is the bound)."""
    X, y, k, rows, fits = group_path
    W, b = np.zeros((k, X.shape[1])), np.zeros(k)
    for row, fit in list(zip(rows, fits))[:5]:
        problem = GroupProblem(X, y, k, 1.0 / (row.C * len(y)))
        W, b, F_ref, D_ref = problem.solve(W, b, gap=1e-9)
        F = objective(X, y, fit.coef, fit.intercept, l1_ratio=1.0, C=row.C, penalty="group")
        assert F <= F_ref * (1 + 1e-6), row
        assert F >= D_ref  # nobody beats the dual bound
        assert np.array_equal(W.any(axis=0), fit.coef.any(axis=0)), row  # the same pixels selected


def test_selected_pixels_grow_with_C(group_path):
    """Exact monotonicity is not a theorem for the group lasso (a pixel can leave as C grows), so
    this checks the trend: never fewer pixels at larger C on this grid, from none to hundreds."""
    _, _, _, rows, fits = group_path
    pixels = [int(fit.coef.any(axis=0).sum()) for fit in fits]
    assert [r.C for r in rows] == sorted(r.C for r in rows)
    assert pixels[0] == 0 and pixels[-1] > 200
    assert all(a <= b for a, b in zip(pixels, pixels[1:])), pixels
    for fit in fits:  # a pixel is in the model for every class or for none
        used = fit.coef.any(axis=0)
        assert (fit.coef[:, used] != 0).all()


def test_sklearn_engine_refuses_group_before_any_fit(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["run", "--dataset", "digits", "--engine", "sklearn", "--penalties", "group", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "group" in err and "sklearn" in err
    assert not out.exists()  # nothing written, nothing fitted
