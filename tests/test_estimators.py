"""The scikit-learn estimators over the numpy engine: API checks, labels, path, persistence."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from mnist_logreg.engines.numpy import NumpyEngine
from mnist_logreg.estimators import MultinomialLogisticPath, MultinomialLogisticRegression
from mnist_logreg.objective import objective


@parametrize_with_checks([MultinomialLogisticRegression(), MultinomialLogisticRegression(C=0.5, l1_ratio=0.5)])
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16.0, y[:600]


def test_string_labels_round_trip(digits):
    X, y = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    model = MultinomialLogisticRegression(C=0.1).fit(X, names[y])
    assert list(model.classes_) == sorted(names)
    predicted = model.predict(X)
    assert predicted.dtype.kind == "U" and set(predicted) <= set(names)
    assert np.mean(predicted == names[y]) > 0.9
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0)


def test_matches_sklearn_lbfgs_objective(digits):
    X, y = digits
    # tol is a relative duality gap: 1e-8 of an objective of ~0.5 bounds the distance to the optimum by 5e-9.
    ours = MultinomialLogisticRegression(C=0.3, tol=1e-8).fit(X, y)
    theirs = LogisticRegression(C=0.3, solver="lbfgs", tol=1e-10, max_iter=10_000).fit(X, y)
    f_ours = objective(X, y, ours.coef_, ours.intercept_, l1_ratio=0.0, C=0.3)
    f_theirs = objective(X, y, theirs.coef_, theirs.intercept_, l1_ratio=0.0, C=0.3)
    assert f_ours <= f_theirs + 1e-8
    assert f_ours == pytest.approx(f_theirs, rel=1e-6)
    assert np.mean(ours.predict(X) == theirs.predict(X)) > 0.99


def test_path_equals_single_fits(digits):
    X, y = digits
    Cs = [1.0, 0.01, 0.1]  # any order: results keep it
    path = MultinomialLogisticPath(Cs=Cs, l1_ratio=1.0, tol=1e-6).fit(X, y)
    assert path.coef_path_.shape == (3, 10, X.shape[1])
    assert path.intercept_path_.shape == (3, 10)
    assert path.converged_.all() and path.n_iter_.shape == (3,)
    for i, C in enumerate(Cs):
        single = MultinomialLogisticRegression(C=C, l1_ratio=1.0, tol=1e-6).fit(X, y)
        f_path = objective(X, y, path.coef_path_[i], path.intercept_path_[i], l1_ratio=1.0, C=C)
        f_single = objective(X, y, single.coef_, single.intercept_, l1_ratio=1.0, C=C)
        assert f_path == pytest.approx(f_single, rel=1e-5)
    assert path.predict_path(X).shape == (3, X.shape[0])


def test_binary_decision_function_is_one_column(digits):
    X, y = digits
    keep = y < 2
    model = MultinomialLogisticRegression().fit(X[keep], np.where(y[keep] == 1, "b", "a"))
    scores = model.decision_function(X[keep])
    assert scores.shape == (keep.sum(),)
    np.testing.assert_array_equal(model.predict(X[keep]), np.where(scores > 0, "b", "a"))


@pytest.mark.parametrize("params, name", [({"C": 0}, "C"), ({"C": -1.0}, "C"), ({"l1_ratio": 1.5}, "l1_ratio"),
                                          ({"tol": 0}, "tol"), ({"max_iter": 0}, "max_iter"),
                                          ({"memory": 0}, "memory"), ({"blas_threads": 0}, "blas_threads"),
                                          ({"mixed_precision": "yes"}, "mixed_precision"),
                                          ({"solver": "lbfgs"}, "solver")])
def test_bad_parameters_name_themselves(digits, params, name):
    X, y = digits
    value = next(iter(params.values()))
    with pytest.raises(ValueError, match=rf"^{name}: received {value!r}; allowed "):
        MultinomialLogisticRegression(**params).fit(X, y)


@pytest.mark.parametrize("estimator", [MultinomialLogisticRegression(C=1e200), MultinomialLogisticRegression(C=1e17),
                                       MultinomialLogisticPath(Cs=[1.0, 1e100])])
def test_a_C_too_large_for_float64_is_refused_before_fitting(digits, estimator):
    """QA: C=1e200 raised ZeroDivisionError inside the solver and C=1e100 ran for hours; the penalty
    1/(C n) is then meaningless in float64. No penalty stays C=inf."""
    X, y = digits
    with pytest.raises(ValueError, match=r"^C: received 1e\+(200|17|100); allowed a number in \(0, 1e\+06\], "
                                         r"or inf for no penalty$"):
        estimator.fit(X, y)


def test_no_penalty_is_still_c_inf_and_the_bound_is_allowed(digits):
    X, y = digits
    path = MultinomialLogisticPath(Cs=[1e6, np.inf]).fit(X, y)
    assert path.Cs_.tolist() == [1e6, np.inf]
    assert np.isfinite(path.coef_path_).all()


@pytest.mark.parametrize("name", ["l1", "l2", "none"])
def test_the_command_lines_penalty_names_are_refused_saying_how_to_get_them(digits, name):
    """QA 11: the CLI's l1/l2/none are settings of penalty='elasticnet'; the refusal says which."""
    X, y = digits
    with pytest.raises(ValueError, match=rf"^penalty: received {name!r}; allowed elasticnet, group") as refused:
        MultinomialLogisticRegression(penalty=name).fit(X, y)
    hint = str(refused.value)
    assert "l1 is penalty='elasticnet', l1_ratio=1" in hint and "l2 is l1_ratio=0" in hint
    assert "no penalty is C=inf" in hint


@pytest.mark.parametrize("options", [{"memory": 0}, {"tol": -1.0}, {"max_iter": 0}, {"blas_threads": 0},
                                     {"memory": "x"}, {"tol": True}])
def test_the_engine_refuses_options_no_fit_could_run_with_when_built(options):
    name, value = next(iter(options.items()))
    with pytest.raises(ValueError, match=rf"^{name}: received {value!r}; allowed "):
        NumpyEngine(**options)


def test_unconverged_fit_warns(digits):
    X, y = digits
    with pytest.warns(ConvergenceWarning):
        model = MultinomialLogisticRegression(C=10.0, max_iter=1).fit(X, y)
    assert model.converged_ is False and model.n_iter_ == 1


def test_skops_round_trip_in_pipeline(digits, tmp_path):
    sio = pytest.importorskip("skops.io")
    X, y = digits
    labels = np.array(list("abcdefghij"))[y]
    pipe = make_pipeline(StandardScaler(), MultinomialLogisticRegression(C=0.1, l1_ratio=0.5)).fit(X, labels)
    path = tmp_path / "model.skops"
    sio.dump(pipe, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert all(t.startswith("mnist_logreg.") for t in untrusted), untrusted
    loaded = sio.load(path, trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), pipe.predict_proba(X))

    fitted = MultinomialLogisticPath(Cs=[0.1, 1.0]).fit(X, y)
    sio.dump(fitted, tmp_path / "path.skops")
    again = sio.load(tmp_path / "path.skops", trusted=sio.get_untrusted_types(file=tmp_path / "path.skops"))
    np.testing.assert_array_equal(again.coef_path_, fitted.coef_path_)


@pytest.mark.parametrize("estimator", [MultinomialLogisticRegression(C=0.1), MultinomialLogisticPath(Cs=[0.1])])
def test_sample_weight_is_refused_by_name_and_none_is_accepted(digits, estimator):
    """Weighting is not supported: scikit-learn's tools pass sample_weight by name, and the refusal must
    say that (not a bare "unexpected keyword"); the signature stays X, y so that scikit-learn does
    not believe the estimator weights samples."""
    from sklearn.utils.validation import has_fit_parameter

    X, y = digits
    assert not has_fit_parameter(estimator, "sample_weight")
    name = type(estimator).__name__
    with pytest.raises(TypeError, match=f"sample_weight is not supported by {name}"):
        estimator.fit(X, y, sample_weight=np.ones(len(y)))
    with pytest.raises(TypeError, match=f"sample_weight is not supported by {name}"):
        make_pipeline(StandardScaler(), estimator).fit(X, y, **{f"{name.lower()}__sample_weight": np.ones(len(y))})
    estimator.fit(X, y, sample_weight=None)
    assert estimator.classes_.tolist() == list(range(10))
