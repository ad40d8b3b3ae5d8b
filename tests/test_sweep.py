import os

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from mnist_logreg.data import load_dataset
from mnist_logreg.engines import get_engine
from mnist_logreg.engines.numpy import NumpyEngine
from mnist_logreg.errors import DataError
from mnist_logreg.plan.grid import make_grid
from mnist_logreg.objective import objective
from mnist_logreg.solvers.gap import certified_gap
from mnist_logreg.plan.executors import LocalExecutor
from mnist_logreg.plan.tasks import plan_tasks
from mnist_logreg.data.split import split_dataset
from mnist_logreg.io.store import RunFolder
from mnist_logreg.plan.sweep import check_memory, run_sweep

VARIABLE = ["fit_seconds"]  # wall times differ between runs; everything else must not


@pytest.fixture(scope="module")
def split():
    return split_dataset(load_dataset("digits"), 300, 200, seed=0)


class CountingEngine(NumpyEngine):
    """The numpy engine, counting the rows it is asked to fit (in this process only)."""

    fitted: list = []

    def fit_path(self, X, y, n_classes, rows, warm_start=None):
        CountingEngine.fitted.extend(rows)
        yield from super().fit_path(X, y, n_classes, rows, warm_start)


def test_table_has_one_row_per_grid_point_in_grid_order(split, tmp_path):
    rows = make_grid("l1,l2", "0.01,1")
    folder = RunFolder.prepare(tmp_path / "run")
    result = run_sweep(split, rows, get_engine("sklearn"), folder=folder, seed=7)
    assert list(result.table.columns[:4]) == ["repeat", "penalty", "l1_ratio", "C"]
    assert result.table[["repeat", "penalty", "C"]].values.tolist() == [
        [7, "l1", 0.01], [7, "l1", 1.0], [7, "l2", 0.01], [7, "l2", 1.0]]
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


def test_plan_has_one_task_per_path_fold_and_repeat():
    rows = make_grid("l1,l2,elasticnet", "0.1,1,10", l1_ratios="0.3,0.7")
    tasks = plan_tasks(rows, [42, 43], cv=3)
    # 4 paths (l1, l2, two elastic-net ratios) x (3 folds + the main fit) x 2 repeats
    assert len(tasks) == 32 and len({t.key for t in tasks}) == 32
    assert all(len(t.positions) == 3 and len({r.penalty for r in t.rows}) == 1 for t in tasks)
    assert sorted(t.positions for t in tasks if t.repeat == 42 and t.fold is None) == [
        (0, 1, 2), (3, 4, 5), (6, 7, 8), (9, 10, 11)]
    # An engine fitting rows independently gets one task per row; one fitting many rows, one per split part.
    assert len(plan_tasks(rows, [42], cv=None, unit="row")) == 12
    assert len(plan_tasks(rows, [42], cv=3, unit="grid")) == 4


def test_long_sparse_paths_are_two_tasks_with_the_weakest_c_values_first():
    rows = make_grid("l1,l2,elasticnet,group", "1e-3:1e1:12")
    tasks = plan_tasks(rows, [42], cv=None)
    # Every row in exactly one task, each task one penalty.
    assert sorted(i for t in tasks for i in t.positions) == list(range(len(rows)))
    assert all(len({(r.penalty, r.l1_ratio) for r in t.rows}) == 1 for t in tasks)
    by_penalty = {}
    for t in tasks:
        by_penalty.setdefault(t.rows[0].penalty, []).append(t)
    assert len(by_penalty["l2"]) == 1 and len(by_penalty["l2"][0].rows) == 12  # smooth: one path, one task
    for name in ("l1", "elasticnet", "group"):
        weak, strong = by_penalty[name]
        assert len(weak.rows) == 4 and len(strong.rows) == 8  # the weakest third, rounded up
        assert min(r.C for r in weak.rows) > max(r.C for r in strong.rows)
    # The weak segments (the longest tasks) come before every other task.
    assert [t.rows[0].penalty for t in tasks[:3]] == ["l1", "elasticnet", "group"]
    assert all(len(t.rows) == 4 for t in tasks[:3])
    # Short paths stay whole, and C given in any order splits by C, not by position.
    assert len(plan_tasks(make_grid("l1", "1e-3:1e1:8"), [42], cv=None)) == 1
    descending = make_grid("l1", ",".join(str(c) for c in np.logspace(1, -3, 9)))
    weak = plan_tasks(descending, [42], cv=None)[0]
    assert sorted(r.C for r in weak.rows) == sorted(r.C for r in descending)[-3:]


def test_a_split_path_is_certified_row_for_row_against_the_whole_path(split):
    """The weak segment starts from zero weights instead of the path's previous solution: a different
    start, the same answers, each within its own certificate of the path solved whole."""
    rows = make_grid("l1", "1e-2:1e1:9")
    assert len(plan_tasks(rows, [42], cv=None)) == 2
    with LocalExecutor(1) as one:
        segmented = run_sweep(split, rows, get_engine("numpy"), executor=one)
    with LocalExecutor(2) as two:
        in_workers = run_sweep(split, rows, get_engine("numpy"), executor=two)
    pd.testing.assert_frame_equal(segmented.table.drop(columns=VARIABLE), in_workers.table.drop(columns=VARIABLE),
                                  rtol=1e-9)
    whole = list(get_engine("numpy").fit_path(split.X_train, split.y_train_codes, split.n_classes, rows))
    assert len(whole) == len(rows)
    X, y = split.X_train, split.y_train_codes
    for i, fit in whole:
        row = rows[i]
        ours = objective(X, y, segmented.coef[i], segmented.intercept[i], l1_ratio=row.l1_ratio, C=row.C)
        theirs = objective(X, y, fit.coef, fit.intercept, l1_ratio=row.l1_ratio, C=row.C)
        Z = np.asarray(X, dtype=np.float64) @ fit.coef.T + fit.intercept
        their_gap = certified_gap(X, y, fit.coef, fit.intercept, Z, theirs, l1_ratio=row.l1_ratio, C=row.C)
        gaps = max(segmented.table.gap[i], their_gap)
        assert segmented.table.converged[i] and fit.converged and gaps <= 1e-5
        assert abs(ours - theirs) <= gaps * max(ours, theirs) + 1e-12, (row, ours, theirs, gaps)


def test_interrupted_sweep_keeps_finished_tasks_and_resume_equals_fresh(split, tmp_path):
    rows = make_grid("l1,l2", "0.01,0.1,1")
    folder = RunFolder.prepare(tmp_path / "run")
    calls = []

    def stop_after_two_tasks(n):
        calls.append(n)
        if len(calls) == 2:
            raise KeyboardInterrupt  # as Ctrl-C arriving while the driver waits

    with pytest.raises(KeyboardInterrupt):
        run_sweep(split, rows, get_engine("numpy"), cv=2, folder=folder, progress=stop_after_two_tasks)
    # Folds run first: two finished tasks are both folds of the l1 path, so no row is complete yet...
    assert len(pd.read_csv(tmp_path / "run" / "results.csv")) == 0
    assert len(list((tmp_path / "run" / ".partial").glob("*.npz"))) == 2
    CountingEngine.fitted = []
    resumed = run_sweep(split, rows, CountingEngine(), cv=2, folder=RunFolder(tmp_path / "run"))
    # ...and the resumed run fits only the 4 tasks not checkpointed: 4 x 3 rows.
    assert len(CountingEngine.fitted) == 12
    fresh = run_sweep(split, rows, get_engine("numpy"), cv=2)
    pd.testing.assert_frame_equal(resumed.table.drop(columns=VARIABLE), fresh.table.drop(columns=VARIABLE))
    assert np.array_equal(resumed.coef, fresh.coef)


def test_cross_validation_scores_each_fold_like_scikit_learn(split):
    rows = make_grid("l2", "0.1,1")
    result = run_sweep(split, rows, get_engine("sklearn"), cv=3, seed=5)
    X, y = split.X_train, split.y_train_codes
    for i, row in enumerate(rows):
        # Independent: scikit-learn's own folds, estimator and metric.
        scores = []
        for fit, val in StratifiedKFold(3, shuffle=True, random_state=5).split(X, y):
            model = LogisticRegression(C=row.C, l1_ratio=0.0, solver="saga", tol=5e-3, max_iter=10_000,
                                       random_state=0).fit(X[fit], y[fit])
            scores.append(roc_auc_score(y[val], model.predict_proba(X[val]), multi_class="ovr"))
        assert result.table.roc_auc_cv[i] == pytest.approx(np.mean(scores), rel=1e-9)
        assert result.table.roc_auc_cv_std[i] == pytest.approx(np.std(scores), rel=1e-9, abs=1e-12)


def test_standardized_sweep_equals_a_sweep_on_standardized_data(split):
    rows = make_grid("l1", "0.1,1")
    scaler = StandardScaler().fit(split.X_train)
    by_hand = split_dataset(load_dataset("digits"), 300, 200, seed=0)
    by_hand.X_train, by_hand.X_test = scaler.transform(split.X_train), scaler.transform(split.X_test)
    ours = run_sweep(split, rows, get_engine("numpy"), standardize=True).table
    theirs = run_sweep(by_hand, rows, get_engine("numpy")).table
    pd.testing.assert_frame_equal(ours.drop(columns=VARIABLE), theirs.drop(columns=VARIABLE), rtol=1e-9)


def test_memory_estimate_above_available_is_refused_with_advice():
    with pytest.raises(DataError, match="float32"):
        check_memory(10 * 2**30, available=2**30)
    check_memory(2**20, available=2**30)


def test_memory_is_planned_per_task_running_at_once(monkeypatch):
    monkeypatch.setenv("MNIST_LOGREG_MAX_MEMORY", str(100 * 2**20))
    monkeypatch.setattr(joblib, "cpu_count", lambda *args, **kwargs: 8)  # room for three workers
    # Two processes x 40 MiB per task + a 10 MiB shared split fit in 100 MiB, whatever the plan's length...
    LocalExecutor(2).check_memory(40 * 2**20, 10 * 2**20)
    # ...three do not.
    with pytest.raises(DataError, match="--jobs 3"):
        LocalExecutor(3).check_memory(40 * 2**20, 10 * 2**20)


@pytest.mark.parametrize("engine_name", ["sklearn", "numpy"])
def test_same_table_in_this_process_and_in_two_worker_processes(split, engine_name):
    rows = make_grid("l1,l2", "0.05,0.5")
    with LocalExecutor(1) as one:
        first = run_sweep(split, rows, get_engine(engine_name), cv=2, executor=one)
    with LocalExecutor(2) as two:
        second = run_sweep(split, rows, get_engine(engine_name), cv=2, executor=two)
    pd.testing.assert_frame_equal(first.table.drop(columns=VARIABLE), second.table.drop(columns=VARIABLE),
                                  rtol=1e-9)
    assert np.array_equal(first.coef, second.coef)
    # The tasks really ran in two other processes, and the in-process run in this one.
    pids = {int(worker.rsplit(":", 1)[1]) for worker in second.executor["tasks_by_worker"]}
    assert len(pids) == 2 and os.getpid() not in pids
    assert sum(second.executor["tasks_by_worker"].values()) == len(plan_tasks(rows, [42], 2, get_engine(engine_name).task_unit))
    assert [int(w.rsplit(":", 1)[1]) for w in first.executor["tasks_by_worker"]] == [os.getpid()]


def test_workers_started_early_are_the_ones_that_run_the_tasks(split):
    # A pool started again for the tasks (other joblib arguments than start()'s) would pay the
    # workers' start-up twice and lose the head start.
    rows = make_grid("l1,l2", "0.05,0.5")
    with LocalExecutor(2) as executor:
        executor.start()
        result = run_sweep(split, rows, get_engine("numpy"), cv=2, executor=executor)
    pids = {int(worker.rsplit(":", 1)[1]) for worker in result.executor["tasks_by_worker"]}
    # (A warm pool may answer both warm-up calls from one worker, so overlap is what is certain.)
    assert executor.started_pids and pids & executor.started_pids


def test_real_digits_give_the_same_table_in_this_process_and_in_two_workers(t10k_dir):
    # At MNIST size the BLAS splits products over threads (2 by default in this process, 1 in a
    # worker) and rounds differently; objectives drifted ~1e-3 apart before every task computed
    # with the plan's thread count. Tiny data (one-thread passes) cannot show this.
    split = split_dataset(load_dataset(f"idx:{t10k_dir}"), 1500, 500, seed=42)
    rows = make_grid("l1,l2", "0.01,0.1")
    with LocalExecutor(1) as one:
        first = run_sweep(split, rows, get_engine("numpy"), executor=one)
    with LocalExecutor(2) as two:
        second = run_sweep(split, rows, get_engine("numpy"), executor=two)
    assert len(second.executor["tasks_by_worker"]) == 2
    pd.testing.assert_frame_equal(first.table.drop(columns=VARIABLE), second.table.drop(columns=VARIABLE),
                                  rtol=1e-9)
    assert np.allclose(first.coef, second.coef, rtol=1e-9, atol=0)
