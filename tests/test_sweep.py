import numpy as np
import pandas as pd
import pytest

from mnist_logreg.data import load_dataset
from mnist_logreg.engines import get_engine
from mnist_logreg.engines.base import Engine
from mnist_logreg.errors import DataError
from mnist_logreg.grid import make_grid
from mnist_logreg.metrics import RESULT_COLUMNS
from mnist_logreg.objective import objective
from mnist_logreg.split import split_dataset
from mnist_logreg.store import RunFolder
from mnist_logreg.sweep import check_memory, path_predecessors, run_sweep


@pytest.fixture(scope="module")
def split():
    return split_dataset(load_dataset("digits"), 300, 200, seed=0)


class StopAfter(Engine):
    """Wraps an engine and raises KeyboardInterrupt after ``n`` rows, like Ctrl-C mid-sweep."""

    name = "stop-after"

    def __init__(self, inner, n):
        self.inner, self.n, self.calls = inner, n, []

    def fit_path(self, X, y, n_classes, rows, warm_start=None):
        self.calls.append((list(rows), warm_start))
        for count, item in enumerate(self.inner.fit_path(X, y, n_classes, rows, warm_start=warm_start)):
            if count == self.n:
                raise KeyboardInterrupt
            yield item

    def estimator(self, row):
        return self.inner.estimator(row)


def test_table_has_one_row_per_grid_point_in_grid_order(split, tmp_path):
    rows = make_grid("l1,l2", "0.01,1")
    folder = RunFolder.prepare(tmp_path / "run")
    result = run_sweep(split, rows, get_engine("sklearn"), folder=folder)
    assert list(result.table.columns) == RESULT_COLUMNS
    assert result.table[["penalty", "C"]].values.tolist() == [[r.penalty, r.C] for r in rows]
    on_disk = pd.read_csv(tmp_path / "run" / "results.csv")
    pd.testing.assert_frame_equal(on_disk, result.table, check_dtype=False)
    with np.load(tmp_path / "run" / "path.npz") as path:
        assert path["coef"].shape == (4, 10, 64)
        assert path["classes"].tolist() == list(range(10))
        # The objective column is recomputable from path.npz.
        for i, row in enumerate(rows):
            value = objective(split.X_train, split.y_train_codes, path["coef"][i], path["intercept"][i],
                              l1_ratio=row.l1_ratio, C=row.C)
            assert value == pytest.approx(result.table.objective[i], abs=1e-9)
    folder.drop_checkpoints()
    assert not (tmp_path / "run" / ".partial").exists()


def test_predecessors_follow_C_within_each_path():
    rows = make_grid("l1,l2", "1,0.1,10")
    assert path_predecessors(rows) == [1, None, 0, 4, None, 3]


@pytest.mark.parametrize("engine_name", ["sklearn", "numpy"])
def test_interrupted_sweep_keeps_finished_rows_and_resume_completes_it(split, tmp_path, engine_name):
    rows = make_grid("l1,l2", "0.01,0.1,1")
    folder = RunFolder.prepare(tmp_path / "run")
    with pytest.raises(KeyboardInterrupt):
        run_sweep(split, rows, StopAfter(get_engine(engine_name), 4), folder=folder)
    kept = pd.read_csv(tmp_path / "run" / "results.csv")
    assert len(kept) == 4
    engine = StopAfter(get_engine(engine_name), 99)
    resumed = run_sweep(split, rows, engine, folder=RunFolder(tmp_path / "run"))
    assert len(engine.calls[0][0]) == 2  # only the missing rows were fitted
    # The row after the last finished l2 row is warm-started from that row's saved solution.
    assert engine.calls[0][1] is not None and 0 in engine.calls[0][1]
    fresh = run_sweep(split, rows, get_engine(engine_name))
    columns = [c for c in RESULT_COLUMNS if c != "fit_seconds"]
    pd.testing.assert_frame_equal(resumed.table[columns], fresh.table[columns])


def test_cross_validation_adds_columns(split):
    result = run_sweep(split, make_grid("l2", "0.1,1"), get_engine("sklearn"), cv=3)
    assert {"roc_auc_cv", "roc_auc_cv_std"} <= set(result.table.columns)
    assert result.table.roc_auc_cv.between(0.5, 1).all()


def test_standardized_sweep_records_its_scaler(split):
    result = run_sweep(split, make_grid("l2", "1"), get_engine("sklearn"), standardize=True)
    assert result.scaler is not None and result.scaler.mean_.shape == (64,)


def test_memory_estimate_above_available_is_refused_with_advice():
    with pytest.raises(DataError, match="float32"):
        check_memory(10 * 2**30, available=2**30)
    check_memory(2**20, available=2**30)


@pytest.mark.parametrize("engine_name", ["sklearn", "numpy"])
def test_same_table_whatever_the_number_of_jobs(split, engine_name):
    rows = make_grid("l1,l2", "0.05,0.5")
    one = run_sweep(split, rows, get_engine(engine_name, n_jobs=1, random_state=3)).table
    two = run_sweep(split, rows, get_engine(engine_name, n_jobs=2, random_state=3)).table
    pd.testing.assert_frame_equal(one.drop(columns="fit_seconds"), two.drop(columns="fit_seconds"))
