import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from mnist_logreg.data import load_dataset
from mnist_logreg.engines import get_engine
from mnist_logreg.engines.numpy import NumpyEngine
from mnist_logreg.errors import UsageError
from mnist_logreg.plan.grid import GridPoint, make_grid
from mnist_logreg.select import pixel_space_weights, refit_best, select_best, selection_spread
from mnist_logreg.data.split import split_dataset
from mnist_logreg.plan.sweep import run_sweep


@pytest.fixture(scope="module")
def digits():
    ds = load_dataset("digits")
    return ds, split_dataset(ds, 400, 300, seed=0)


def test_select_best_takes_the_highest_and_the_earliest_on_ties():
    table = pd.DataFrame({"C": [0.1, 1.0, 10.0, 100.0], "roc_auc_test": [0.9, 0.95, 0.95, np.nan],
                          "roc_auc_cv": [0.97, 0.9, 0.9, 0.8]})
    assert select_best(table, "roc_auc_test") == 1
    assert select_best(table, "roc_auc_cv") == 0


def test_select_best_uses_the_mean_over_repeats():
    # Two repeats of three grid rows. Repeat 43 alone would pick C=10; the mean picks C=1.
    table = pd.DataFrame({"repeat": [42, 42, 42, 43, 43, 43], "penalty": ["l2"] * 6, "l1_ratio": [0.0] * 6,
                          "C": [0.1, 1.0, 10.0] * 2, "roc_auc_test": [0.80, 0.90, 0.70, 0.80, 0.86, 0.99]})
    assert select_best(table, "roc_auc_test") == 1
    assert selection_spread(table, "roc_auc_test", 1) == {"select_mean": pytest.approx(0.88),
                                                          "select_std": pytest.approx(0.02), "repeats": 2}


def test_select_by_unknown_or_missing_column():
    table = pd.DataFrame({"roc_auc_test": [0.9]})
    with pytest.raises(UsageError, match="allowed roc_auc_test, roc_auc_cv"):
        select_best(table, "accuracy")
    with pytest.raises(UsageError, match="--cv"):
        select_best(table, "roc_auc_cv")


@pytest.mark.parametrize("on,n", [("all", 1797), ("train", 400)])
def test_refit_pipeline_takes_raw_pixels(digits, on, n):
    ds, split = digits
    pipeline, info = refit_best(GridPoint("l2", 0.0, 1.0), ds, split, engine=get_engine("sklearn"), on=on)
    assert isinstance(pipeline, Pipeline) and info["n_samples"] == n
    # Accuracy recomputed by hand from the weights, on the split's scaled test pixels.
    model = pipeline[-1]
    scores = split.X_test @ model.coef_.T + model.intercept_
    assert info["accuracy_test"] == pytest.approx(np.mean(model.classes_[scores.argmax(axis=1)] == split.y_test))
    assert info["accuracy_test"] > 0.9


class SpyEngine(NumpyEngine):
    """The numpy engine, remembering the options of every object that fits a row."""

    seen: list = []

    def fit_path(self, X, y, n_classes, rows, warm_start=None):
        SpyEngine.seen.append(self.options())
        yield from super().fit_path(X, y, n_classes, rows, warm_start)


def test_refit_fits_with_the_engine_object_and_all_its_options(digits):
    ds, split = digits
    SpyEngine.seen = []
    engine = SpyEngine(tol=1e-6, memory=3, mixed_precision=False, blas_threads=1, solver="owlqn")
    pipeline, info = refit_best(GridPoint("l1", 1.0, 0.5), ds, split, engine=engine, on="train")
    assert SpyEngine.seen == [{"tol": 1e-6, "max_iter": 5000, "memory": 3, "mixed_precision": False,
                               "blas_threads": 1, "solver": "owlqn"}]
    assert pipeline[-1].converged_ and 0 < np.count_nonzero(pipeline[-1].coef_) < 640


def test_refit_none_keeps_the_sweep_solution(digits):
    ds, split = digits
    rows = make_grid("l2", "0.5")
    sweep = run_sweep(split, rows, get_engine("sklearn"))
    pipeline, info = refit_best(rows[0], ds, split, engine=get_engine("sklearn"), on="none",
                                sweep_fit=(sweep.coef[0], sweep.intercept[0], 3))
    assert np.array_equal(pipeline[-1].coef_, sweep.coef[0])
    assert info["n_samples"] == 400


def test_standardized_weights_are_shown_per_pixel(digits):
    ds, split = digits
    pipeline, _ = refit_best(GridPoint("l2", 0.0, 1.0), ds, split, engine=get_engine("sklearn"), on="train",
                             standardize=True)
    W = pixel_space_weights(pipeline)
    scaler = pipeline.named_steps["standardize"]
    # Scores from pixel-space weights equal the pipeline's own decision function (up to a per-class shift).
    X = split.X_test
    scores = X @ W.T
    decision = pipeline.decision_function(split.X_test_raw)
    assert np.allclose((scores - decision).std(axis=0), 0, atol=1e-8)
    assert W.shape == (10, 64) and scaler.scale_.shape == (64,)
