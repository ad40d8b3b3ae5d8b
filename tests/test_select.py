import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from mnist_logreg.data import load_dataset
from mnist_logreg.engines import get_engine
from mnist_logreg.errors import UsageError
from mnist_logreg.grid import GridPoint, make_grid
from mnist_logreg.select import pixel_space_weights, refit_best, select_best
from mnist_logreg.split import split_dataset
from mnist_logreg.sweep import run_sweep


@pytest.fixture(scope="module")
def digits():
    ds = load_dataset("digits")
    return ds, split_dataset(ds, 400, 300, seed=0)


def test_select_best_takes_the_highest_and_the_earliest_on_ties():
    table = pd.DataFrame({"roc_auc_test": [0.9, 0.95, 0.95, np.nan], "roc_auc_cv": [0.97, 0.9, 0.9, 0.8]})
    assert select_best(table, "roc_auc_test") == 1
    assert select_best(table, "roc_auc_cv") == 0


def test_select_by_unknown_or_missing_column():
    table = pd.DataFrame({"roc_auc_test": [0.9]})
    with pytest.raises(UsageError, match="allowed roc_auc_test, roc_auc_cv"):
        select_best(table, "accuracy")
    with pytest.raises(UsageError, match="--cv"):
        select_best(table, "roc_auc_cv")


@pytest.mark.parametrize("on,n", [("all", 1797), ("train", 400)])
def test_refit_pipeline_takes_raw_pixels(digits, on, n):
    ds, split = digits
    pipeline, info = refit_best(GridPoint("l2", 0.0, 1.0), ds, split, engine="sklearn", engine_options={}, on=on)
    assert isinstance(pipeline, Pipeline) and info["n_samples"] == n
    assert info["accuracy_test"] == pytest.approx(np.mean(pipeline.predict(split.X_test_raw) == split.y_test))
    assert info["accuracy_test"] > 0.9


def test_refit_none_keeps_the_sweep_solution(digits):
    ds, split = digits
    rows = make_grid("l2", "0.5")
    sweep = run_sweep(split, rows, get_engine("sklearn"))
    pipeline, info = refit_best(rows[0], ds, split, engine="sklearn", engine_options={}, on="none",
                                sweep_fit=(sweep.coef[0], sweep.intercept[0], 3))
    assert np.array_equal(pipeline[-1].coef_, sweep.coef[0])
    assert info["accuracy_test"] == pytest.approx(sweep.table.accuracy_test[0])


def test_standardized_weights_are_shown_per_pixel(digits):
    ds, split = digits
    pipeline, _ = refit_best(GridPoint("l2", 0.0, 1.0), ds, split, engine="sklearn", engine_options={},
                             on="train", standardize=True)
    W = pixel_space_weights(pipeline)
    scaler = pipeline.named_steps["standardize"]
    # Scores from pixel-space weights equal the pipeline's own decision function (up to a per-class shift).
    X = split.X_test
    scores = X @ W.T
    decision = pipeline.decision_function(split.X_test_raw)
    assert np.allclose((scores - decision).std(axis=0), 0, atol=1e-8)
    assert W.shape == (10, 64) and scaler.scale_.shape == (64,)
