"""QA findings 12: the data readers' messages say what is allowed, and grey images with a channel axis load."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from mnist_logreg.data import load_dataset, read_idx
from mnist_logreg.errors import DataError

from cli_helpers import QUICK, assert_one_line_error, run_cli


def _images(n=60, side=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, side, side), dtype=np.uint8), np.arange(n) % 3


def test_object_labels_are_refused_naming_what_is_allowed(tmp_path):
    X, y = _images()
    np.savez(tmp_path / "o.npz", X=X, y=np.array([str(v) for v in y], dtype=object))
    with pytest.raises(DataError, match="need pickle") as refused:
        load_dataset(f"npz:{tmp_path / 'o.npz'}")
    # String labels load (without pickle): the message must not say "numeric arrays only".
    assert "string" in str(refused.value) and "numeric arrays only" not in str(refused.value)
    np.savez(tmp_path / "s.npz", X=X, y=np.array(["a", "b", "c"])[y])
    assert sorted(set(load_dataset(f"npz:{tmp_path / 's.npz'}").y)) == ["a", "b", "c"]


def test_idx_header_error_has_one_colon(tmp_path):
    file = tmp_path / "train-images-idx3-ubyte.gz"
    file.write_bytes(gzip.compress(bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big")
                                                                    for n in (10000, 100000, 100000))))
    with pytest.raises(DataError, match="header declares") as refused:
        read_idx(file)
    assert "::" not in str(refused.value), str(refused.value)
    assert "shape (10000, 100000, 100000) of uint8: the header declares" in str(refused.value)


@pytest.mark.parametrize("layout", ["last", "first"])
def test_grey_images_with_a_channel_axis_load_as_images(tmp_path, layout):
    X, y = _images()
    channelled = X[..., None] if layout == "last" else X[:, None]
    np.savez(tmp_path / "c.npz", X=channelled, y=y)
    ds = load_dataset(f"npz:{tmp_path / 'c.npz'}")
    assert ds.image_shape == (4, 4)
    np.testing.assert_array_equal(ds.X, X.reshape(len(X), -1))


def test_colour_images_are_refused_with_one_line(tmp_path):
    X, y = _images()
    np.savez(tmp_path / "rgb.npz", X=np.repeat(X[..., None], 3, axis=3), y=y)
    result = run_cli("run", "--dataset", f"npz:{tmp_path / 'rgb.npz'}", "--train-size", "30", "--test-size", "20",
                     *QUICK, "--out", tmp_path / "never")
    assert_one_line_error(result, 1, "(60, 4, 4, 3)", "channel", "(n_samples, height, width, 1)")
    assert not (tmp_path / "never").exists()
