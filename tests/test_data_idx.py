"""IDX reader and writer, and ``idx:DIR`` folders: real MNIST digits and hand-made broken files."""

from __future__ import annotations

import gzip
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnist_logreg.data import load_dataset, read_idx, write_idx
from mnist_logreg.data.idx import IDX_TYPES
from mnist_logreg.errors import DataError, UsageError


def idx_bytes(array: np.ndarray, code: int) -> bytes:
    """An IDX file written by hand (independently of write_idx): magic, big-endian dims, data."""
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(IDX_TYPES[code]).tobytes()


def write_pair(folder: Path, prefix: str, images: np.ndarray, labels: np.ndarray, gz: bool = True) -> None:
    suffix = ".gz" if gz else ""
    write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images.astype(np.uint8))
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels.astype(np.uint8))


# --- the real digits -------------------------------------------------------------------------------

def test_real_t10k_files(t10k_dir):
    images = read_idx(t10k_dir / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(t10k_dir / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10_000,) and set(np.unique(labels)) == set(range(10))
    assert labels[0] == 7
    # The first test digit is a 7: ink in the upper bar and down the middle, blank corners.
    assert images[0].max() == 255 and images[0, :5].sum() == 0


def test_load_idx_folder_real(t10k_dir):
    ds = load_dataset(f"idx:{t10k_dir}")
    assert ds.X.shape == (10_000, 784) and ds.X.dtype == np.uint8
    assert ds.image_shape == (28, 28)
    assert ds.y[0] == 7 and ds.y.dtype == np.int64
    assert not ds.presplit and ds.name == f"idx:{t10k_dir}"
    assert "t10k-images-idx3-ubyte.gz" in ds.source


def test_train_and_t10k_concatenated_ungzipped(tmp_path):
    rng = np.random.default_rng(0)
    train, test = rng.integers(0, 256, (6, 4, 3)), rng.integers(0, 256, (3, 4, 3))
    write_pair(tmp_path, "train", train, np.arange(6) % 2, gz=False)
    write_pair(tmp_path, "t10k", test, np.array([1, 0, 1]), gz=True)
    ds = load_dataset(f"idx:{tmp_path}")
    assert ds.X.shape == (9, 12) and ds.image_shape == (4, 3)
    np.testing.assert_array_equal(ds.X[:6], train.reshape(6, -1))
    np.testing.assert_array_equal(ds.X[6:], test.reshape(3, -1))
    np.testing.assert_array_equal(ds.y, [0, 1, 0, 1, 0, 1, 1, 0, 1])


def test_dotted_file_names_are_found(tmp_path):
    (tmp_path / "t10k-images.idx3-ubyte").write_bytes(idx_bytes(np.zeros((2, 2, 2)), 0x08))
    (tmp_path / "t10k-labels.idx1-ubyte").write_bytes(idx_bytes(np.array([0, 1]), 0x08))
    assert load_dataset(f"idx:{tmp_path}").X.shape == (2, 4)


# --- writer round trip ----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("name", ["a-idx3-ubyte", "a-idx3-ubyte.gz"])
def test_write_read_round_trip(tmp_path, dtype, name):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    path = write_idx(tmp_path / name, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, array)
    raw = gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()
    code = {np.dtype(v.newbyteorder("=")): k for k, v in IDX_TYPES.items()}[np.dtype(dtype)]
    assert raw == idx_bytes(array, code)
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temp file left behind


def test_write_idx_refuses_other_dtypes(tmp_path):
    with pytest.raises(UsageError, match="allowed uint8, int8"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))


# --- broken files ---------------------------------------------------------------------------------

def test_wrong_magic(tmp_path):
    data = bytearray(idx_bytes(np.zeros((2, 2, 2)), 0x08))
    data[0] = 1
    (tmp_path / "f").write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"wrong IDX magic number 01 00 08 03"):
        read_idx(tmp_path / "f")


def test_unknown_type_code(tmp_path):
    (tmp_path / "f").write_bytes(bytes([0, 0, 0x0A, 1, 0, 0, 0, 1, 7]))
    with pytest.raises(DataError, match="wrong IDX magic"):
        read_idx(tmp_path / "f")


@pytest.mark.parametrize("change", [-1, +1])
def test_header_disagrees_with_size(tmp_path, change):
    data = idx_bytes(np.zeros((3, 2, 2)), 0x08)
    data = data[:change] if change < 0 else data + b"\x00"
    (tmp_path / "f").write_bytes(data)
    with pytest.raises(DataError, match=r"header says shape \(3, 2, 2\) of uint8 \(28 bytes.*file has 2[79] bytes"):
        read_idx(tmp_path / "f")


def test_truncated_gzip(tmp_path):
    compressed = gzip.compress(idx_bytes(np.arange(600).reshape(6, 10, 10) % 256, 0x08))
    (tmp_path / "f.gz").write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(DataError, match="gzip stream ends early"):
        read_idx(tmp_path / "f.gz")


def test_not_gzip_but_named_gz(tmp_path):
    (tmp_path / "f.gz").write_bytes(idx_bytes(np.zeros(3), 0x08))
    with pytest.raises(DataError, match="not a valid gzip file"):
        read_idx(tmp_path / "f.gz")


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_idx(tmp_path / "nope")


def test_count_mismatch(tmp_path):
    write_pair(tmp_path, "train", np.zeros((5, 2, 2)), np.zeros(4))
    with pytest.raises(DataError, match="has 5 images but train-labels-idx1-ubyte.gz has 4 labels"):
        load_dataset(f"idx:{tmp_path}")


def test_images_without_labels(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((2, 2, 2), dtype=np.uint8))
    with pytest.raises(DataError, match="found t10k-images-idx3-ubyte but no t10k-labels"):
        load_dataset(f"idx:{tmp_path}")


def test_folder_without_idx_files(tmp_path):
    (tmp_path / "readme.txt").write_text("hi")
    with pytest.raises(DataError, match=r"no IDX pairs found \(it holds \['readme.txt'\]\)"):
        load_dataset(f"idx:{tmp_path}")


def test_missing_folder_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="--dataset: folder .*nope does not exist"):
        load_dataset(f"idx:{tmp_path / 'nope'}")


def test_images_of_two_sizes(tmp_path):
    write_pair(tmp_path, "train", np.zeros((2, 2, 2)), np.zeros(2))
    write_pair(tmp_path, "t10k", np.zeros((2, 3, 3)), np.zeros(2))
    with pytest.raises(DataError, match="one image size"):
        load_dataset(f"idx:{tmp_path}")


def test_images_file_must_be_3d(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((2, 4), dtype=np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(2, dtype=np.uint8))
    with pytest.raises(DataError, match=r"shape \(2, 4\); allowed 3-D"):
        load_dataset(f"idx:{tmp_path}")


def test_float_idx_with_nan_is_reported(tmp_path):
    images = np.zeros((3, 2, 2), dtype=np.float32)
    images[1, 1, 0] = np.nan
    write_idx(tmp_path / "train-images-idx3-ubyte", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.array([0, 1, 0], dtype=np.uint8))
    with pytest.raises(DataError, match=r"1 NaN and 0 infinite values in 1 rows \(first at row 1, column 2\)"):
        load_dataset(f"idx:{tmp_path}")


# --- property: arbitrary bytes parse correctly or raise DataError ---------------------------------

_SCRATCH = Path(tempfile.mkdtemp(prefix="idx-hypothesis-"))


def _check_read(data: bytes, gz: bool) -> None:
    path = _SCRATCH / ("f.gz" if gz else "f")
    path.write_bytes(data)
    try:
        array = read_idx(path)
    except DataError:
        return
    raw = gzip.decompress(data) if gz else data
    code, ndim = raw[2], raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    assert raw[:2] == b"\x00\x00" and code in IDX_TYPES
    assert array.shape == dims and array.dtype == IDX_TYPES[code].newbyteorder("=")
    assert array.astype(IDX_TYPES[code]).tobytes() == raw[4 + 4 * ndim:]


@st.composite
def idx_like(draw):
    """Mostly plausible IDX files: a valid or near-valid header, then a payload of some length."""
    code = draw(st.sampled_from([*IDX_TYPES, 0x00, 0x0A, 0xFF]))
    dims = draw(st.lists(st.integers(0, 6), min_size=0, max_size=4))
    head = bytes([0, 0, code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)
    size = IDX_TYPES[code].itemsize * int(np.prod(dims)) if code in IDX_TYPES else 0
    length = draw(st.one_of(st.just(size), st.integers(0, size + 8)))
    payload = draw(st.binary(min_size=length, max_size=length))
    data = head + payload
    cut = draw(st.one_of(st.none(), st.integers(0, len(data))))
    return data if cut is None else data[:cut]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(st.binary(max_size=64), idx_like()), gz=st.booleans(), compress=st.booleans())
def test_read_idx_arbitrary_bytes(data, gz, compress):
    if gz and compress:
        data = gzip.compress(data)
    _check_read(data, gz)


def teardown_module():
    shutil.rmtree(_SCRATCH, ignore_errors=True)
