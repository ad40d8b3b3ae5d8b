import warnings

import numpy as np
import pytest

from mnist_logreg.data import load_dataset
from mnist_logreg.data.dataset import Dataset
from mnist_logreg.errors import DataError, DataSourceWarning, UsageError
from mnist_logreg.data.split import split_dataset


def _toy(n_per_class=20, k=3, dtype=np.uint8):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(n_per_class * k, 4)).astype(dtype)
    y = np.repeat(np.arange(k), n_per_class)
    return Dataset(X=X, y=y, image_shape=(2, 2), name="toy", source="test")


def test_exact_sizes_and_stratified_classes():
    split = split_dataset(load_dataset("digits"), 500, 300, seed=1)
    assert split.X_train.shape == (500, 64) and split.X_test.shape == (300, 64)
    train_counts = np.bincount(split.y_train_codes) / 500
    test_counts = np.bincount(split.y_test_codes) / 300
    assert np.abs(train_counts - test_counts).max() < 0.02


def test_fractions_of_the_whole_data_set():
    split = split_dataset(_toy(), 0.5, 0.25)
    assert len(split.y_train) == 30 and len(split.y_test) == 15


def test_same_seed_same_split_other_seed_other_split():
    ds = load_dataset("digits")
    a, b, c = (split_dataset(ds, 200, 100, seed=s) for s in (3, 3, 4))
    assert np.array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.X_train, c.X_train)


@pytest.mark.parametrize("scale,expected_max", [("auto", 1.0), ("255", 1.0), ("none", 255.0)])
def test_integer_pixels_scaling(scale, expected_max):
    ds = _toy()
    ds.X[0, 0] = 255
    split = split_dataset(ds, 30, 30, scale=scale)
    assert max(split.X_train.max(), split.X_test.max()) == pytest.approx(expected_max)


def test_auto_leaves_floats_alone_and_dtype_is_honoured():
    ds = _toy(dtype=np.float64)
    with pytest.warns(DataSourceWarning, match=r"^toy: float pixels range up to 255; .* pass --scale 255"):
        split = split_dataset(ds, 30, 30, dtype="float32")
    assert split.X_train.dtype == np.float32 and split.factor == 1.0
    assert np.allclose(np.sort(split.X_train.ravel()), np.sort(split.X_train_raw.ravel()))


def test_floats_in_0_1_or_scaled_on_purpose_are_not_warned_about():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        unit = _toy(dtype=np.float64)
        unit.X /= 255.0
        split_dataset(unit, 30, 30)
        for scale in ("none", "255"):
            split_dataset(_toy(dtype=np.float64), 30, 30, scale=scale)


def test_presplit_arrays_are_used_as_given():
    ds = _toy()
    ds.X_test, ds.y_test = ds.X[:6].copy(), ds.y[:6].copy()
    split = split_dataset(ds, 1500, 1000)
    assert len(split.y_train) == 60 and len(split.y_test) == 6


def test_too_large_sizes_name_the_options_and_the_limit():
    with pytest.raises(UsageError, match=r"--train-size/--test-size: 50 \+ 20 = 70 .* has 60"):
        split_dataset(_toy(), 50, 20)


def test_single_class_and_rare_class_are_data_errors():
    ds = _toy()
    ds.y[:] = 0
    with pytest.raises(DataError, match="at least 2 classes"):
        split_dataset(ds, 10, 10)
    ds = _toy()
    ds.y[0] = 7
    with pytest.raises(DataError, match="class 7 has 1 sample"):
        split_dataset(ds, 20, 20)


@pytest.mark.parametrize("option,value", [("train_size", "0"), ("test_size", "-3"), ("train_size", "abc"),
                                          ("test_size", "1.5")])
def test_bad_sizes(option, value):
    with pytest.raises(UsageError, match=option.replace("_", "-")):
        split_dataset(_toy(), **{"train_size": 10, "test_size": 10, option: value})


def test_bad_scale_and_dtype():
    with pytest.raises(UsageError, match="--scale"):
        split_dataset(_toy(), 10, 10, scale="max")
    with pytest.raises(UsageError, match="--dtype"):
        split_dataset(_toy(), 10, 10, dtype="float16")
