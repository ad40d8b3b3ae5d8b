import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

from mnist_logreg.engines.base import FitResult
from mnist_logreg.plan.grid import GridPoint
from mnist_logreg import metrics
from mnist_logreg.metrics import RESULT_COLUMNS, predict_proba, roc_auc_ovr, score_fit
from mnist_logreg.data import load_dataset
from mnist_logreg.data.split import split_dataset


@pytest.fixture(scope="module")
def digits_fit():
    split = split_dataset(load_dataset("digits"), 400, 300, seed=0)
    model = LogisticRegression(C=0.5, l1_ratio=0.0, max_iter=500).fit(split.X_train, split.y_train_codes)
    return split, model


def test_probabilities_and_auc_match_scikit_learn(digits_fit):
    split, model = digits_fit
    proba = predict_proba(split.X_test, model.coef_, model.intercept_)
    assert np.allclose(proba, model.predict_proba(split.X_test))
    expected = roc_auc_score(split.y_test_codes, model.predict_proba(split.X_test), multi_class="ovr")
    assert roc_auc_ovr(split.y_test_codes, proba) == pytest.approx(expected)


def test_all_zero_weights_give_auc_one_half():
    y = np.array([0, 1, 2, 0, 1, 2])
    proba = np.full((6, 3), 1 / 3)
    assert roc_auc_ovr(y, proba) == 0.5


def test_auc_skips_classes_absent_from_y():
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(4), size=40)
    y = rng.integers(0, 3, size=40)  # class 3 never occurs
    per_class = [roc_auc_score(y == c, proba[:, c]) for c in range(3)]
    assert roc_auc_ovr(y, proba) == pytest.approx(np.mean(per_class))


@pytest.mark.parametrize("k, n, decimals", [(10, 500, 2), (10, 300, None), (3, 50, 1), (2, 80, 1)])
def test_auc_equals_scikit_learn_with_and_without_ties(k, n, decimals):
    """Rounded probabilities tie often (a tied positive-negative pair counts a half); two classes too."""
    rng = np.random.default_rng(k * n)
    proba = rng.dirichlet(np.ones(k) * 0.5, size=n)
    if decimals is not None:
        proba = np.round(proba, decimals)
        proba[:, -1] = 1 - proba[:, :-1].sum(axis=1)
    y = rng.integers(0, k, size=n)
    per_class = [roc_auc_score(y == c, proba[:, c]) for c in range(k)]
    assert roc_auc_ovr(y, proba) == pytest.approx(np.mean(per_class), rel=1e-12)
    if k > 2 and decimals is None:
        assert roc_auc_ovr(y, proba) == pytest.approx(roc_auc_score(y, proba, multi_class="ovr"), rel=1e-12)


@pytest.mark.parametrize("k, n, confident", [(10, 400, False), (3, 60, True), (2, 50, True)])
def test_accuracy_and_log_loss_equal_scikit_learn(k, n, confident):
    """Including probabilities of exactly 0 and 1 (clipped to [eps, 1 - eps], as scikit-learn does) and
    a class that never occurs in y."""
    rng = np.random.default_rng(k + n)
    proba = rng.dirichlet(np.ones(k), size=n)
    if confident:  # one-hot rows, some of them wrong: log-losses of -log(eps)
        proba = np.eye(k)[rng.integers(0, k, size=n)]
    y = rng.integers(0, k - 1, size=n)  # the last class is absent
    assert metrics.accuracy(y, proba) == pytest.approx(accuracy_score(y, proba.argmax(axis=1)), rel=1e-15)
    assert metrics.log_loss(y, proba) == pytest.approx(log_loss(y, proba, labels=np.arange(k)), rel=1e-12)


def test_auc_of_one_class_only_is_undefined():
    assert np.isnan(roc_auc_ovr(np.zeros(5, dtype=int), np.full((5, 3), 1 / 3)))


def test_score_fit_record(digits_fit):
    split, model = digits_fit
    fit = FitResult(coef=model.coef_, intercept=model.intercept_, n_iter=7, converged=True, fit_seconds=0.25)
    record = score_fit(GridPoint("l2", 0.0, 0.5), fit, split.X_train, split.y_train_codes, split.X_test,
                       split.y_test_codes)
    assert list(record) == RESULT_COLUMNS
    assert record["accuracy_test"] == pytest.approx(model.score(split.X_test, split.y_test_codes))
    assert record["log_loss_test"] == pytest.approx(log_loss(split.y_test_codes, model.predict_proba(split.X_test)))
    n = len(split.y_train)
    # Independent recomputation of the objective: mean log-loss + |W|^2 / (2 C n).
    loss = log_loss(split.y_train_codes, model.predict_proba(split.X_train))
    assert record["objective"] == pytest.approx(loss + np.sum(model.coef_ ** 2) / (2 * 0.5 * n), rel=1e-10)
    assert record["nonzero_fraction"] == pytest.approx(np.mean(model.coef_ != 0))


@pytest.mark.parametrize("used", [0, 3, 40, 64])
def test_scores_of_sparse_and_dense_weights_are_the_product(used):
    """Whatever share of pixels the weights use (none, a few: only those columns are read; most: the
    other orientation of the product), the scores are ``X coef^T + intercept`` as NumPy's einsum
    computes it in float64, on a non-contiguous X too."""
    from mnist_logreg.objective import linear_scores

    rng = np.random.default_rng(used)
    X = rng.random((300, 128))[:, ::2]  # 64 columns, not contiguous
    coef = np.zeros((5, 64))
    columns = rng.choice(64, size=used, replace=False)
    coef[:, columns] = rng.standard_normal((5, used))
    intercept = rng.standard_normal(5)
    Z = linear_scores(X, coef, intercept)
    assert Z.shape == (300, 5) and Z.flags.c_contiguous
    np.testing.assert_allclose(Z, np.einsum("ij,cj->ic", X, coef) + intercept, rtol=1e-12, atol=1e-12)
