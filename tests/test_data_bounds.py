"""Issue 13, readers: what a file can make us allocate is bounded by what it can hold.

Bomb cases run the installed command in a fresh helper process that reports the peak memory
(``ru_maxrss``) of its one child, which must stay under 1 GB.
"""

from __future__ import annotations

import gzip
import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import GIB, QUICK, assert_one_line_error, run_cli, run_measured, toy_images

from mnist_logreg.data import write_idx


def _idx_header(code: int, dims) -> bytes:
    return bytes([0, 0, code, len(dims)]) + b"".join(int(n).to_bytes(4, "big") for n in dims)


def _gzip_stream(header: bytes, n_zero_bytes: int) -> bytes:
    """gzip of ``header`` then ``n_zero_bytes`` zeros, compressed as it is generated."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as stream:
        stream.write(header)
        chunk = bytes(1 << 20)
        for _ in range(n_zero_bytes >> 20):
            stream.write(chunk)
    return out.getvalue()


def _labels(folder: Path, n: int):
    write_idx(folder / "train-labels-idx1-ubyte", (np.arange(n) % 3).astype(np.uint8))


def test_gzip_idx_claiming_a_billion_images_is_refused_from_its_header(tmp_path):
    """A ~1.5 MB .gz whose header claims 10**9 images of 28x28 (784 GB): refused before inflating."""
    folder = tmp_path / "idx"
    folder.mkdir()
    bomb = _gzip_stream(_idx_header(0x08, (10**9, 28, 28)), 1500 << 20)
    assert len(bomb) < 2_000_000
    (folder / "train-images-idx3-ubyte.gz").write_bytes(bomb)
    _labels(folder, 10)
    result, peak = run_measured("run", "--dataset", f"idx:{folder}", *QUICK, "--out", tmp_path / "run")
    assert_one_line_error(result, 1, "train-images-idx3-ubyte.gz", "header declares")
    assert peak < GIB, peak
    assert not (tmp_path / "run").exists()


def test_gzip_idx_that_inflates_past_its_header_is_refused_while_reading(tmp_path):
    """The header is modest (10 images) but the stream runs on for 1.5 GB: found after 7,841 bytes."""
    folder = tmp_path / "idx"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(_gzip_stream(_idx_header(0x08, (10, 28, 28)), 1500 << 20))
    _labels(folder, 10)
    result, peak = run_measured("run", "--dataset", f"idx:{folder}", *QUICK)
    assert_one_line_error(result, 1, "train-images-idx3-ubyte.gz", "more data follows")
    assert peak < GIB, peak


def test_plain_idx_header_bigger_than_the_file(tmp_path):
    folder = tmp_path / "idx"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte").write_bytes(_idx_header(0x0E, (2**31, 2**31, 2)) + bytes(64))
    _labels(folder, 10)
    result, peak = run_measured("run", "--dataset", f"idx:{folder}", *QUICK)
    assert_one_line_error(result, 1, "train-images-idx3-ubyte", "header says")
    assert peak < GIB, peak


def test_idx_with_zero_images(tmp_path):
    folder = tmp_path / "idx"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte").write_bytes(_idx_header(0x08, (0, 28, 28)))
    (folder / "train-labels-idx1-ubyte").write_bytes(_idx_header(0x08, (0,)))
    assert_one_line_error(run_cli("run", "--dataset", f"idx:{folder}", *QUICK), 1, "train-images-idx3-ubyte",
                          "(0, 28, 28)")


def test_idx_with_zero_width_images(tmp_path):
    folder = tmp_path / "idx"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte").write_bytes(_idx_header(0x08, (5, 0, 7)))
    _labels(folder, 5)
    assert_one_line_error(run_cli("run", "--dataset", f"idx:{folder}", *QUICK), 1, "train-images-idx3-ubyte")


def _npz_with_header(path: Path, shape, dtype="<f8", data: bytes = b"", compress=zipfile.ZIP_DEFLATED):
    header = {"descr": dtype, "fortran_order": False, "shape": tuple(shape)}
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    with zipfile.ZipFile(path, "w", compression=compress) as archive:
        archive.writestr("X.npy", buffer.getvalue() + data)
        y = io.BytesIO()
        np.save(y, np.arange(4) % 2)
        archive.writestr("y.npy", y.getvalue())


@pytest.mark.parametrize("compress", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_npz_whose_header_claims_terabytes(tmp_path, compress):
    path = tmp_path / "huge.npz"
    _npz_with_header(path, (10**6, 10**6), data=bytes(4096), compress=compress)
    result, peak = run_measured("run", "--dataset", f"npz:{path}", *QUICK)
    assert_one_line_error(result, 1, "huge.npz", "'X'", "header declares")
    assert peak < GIB, peak


def test_npz_whose_header_fits_memory_but_not_the_member(tmp_path):
    """A 400 MB claim in a 4 KB member: less than memory, more than the member can hold."""
    path = tmp_path / "liar.npz"
    _npz_with_header(path, (50_000, 1000), data=bytes(4096), compress=zipfile.ZIP_STORED)
    result, peak = run_measured("run", "--dataset", f"npz:{path}", *QUICK)
    assert_one_line_error(result, 1, "liar.npz", "'X'")
    assert peak < GIB, peak


def test_npz_header_above_the_memory_cap_names_the_variable(tmp_path):
    X, y = toy_images(n=600, d=256)
    np.savez_compressed(tmp_path / "ok.npz", X=X, y=y)
    result = run_cli("run", "--dataset", f"npz:{tmp_path / 'ok.npz'}", *QUICK,
                     env={"MNIST_LOGREG_MAX_MEMORY": "100000"})
    assert_one_line_error(result, 1, "ok.npz", "MNIST_LOGREG_MAX_MEMORY=100000")


def test_a_single_npy_claiming_terabytes_given_as_npz(tmp_path):
    path = tmp_path / "huge.npy"
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": (10**7, 10**6)})
    path.write_bytes(buffer.getvalue())
    result, peak = run_measured("run", "--dataset", f"npz:{path}", *QUICK)
    assert_one_line_error(result, 1, "huge.npy", ".npy")
    assert peak < GIB, peak


@pytest.mark.parametrize("shape", [np.array(["28", "28"]), np.array([b"4", b"4"]), np.array([True, True]),
                                   np.array([4.5, 3.5]), np.array([[4, 4]]), np.array([-4, -4]),
                                   np.array([2**40, 2**40]), np.array([4.0, np.nan])])
def test_npz_image_shape_not_two_whole_numbers(tmp_path, shape):
    X, y = toy_images()
    np.savez(tmp_path / "shape.npz", X=X, y=y, image_shape=shape)
    result = run_cli("run", "--dataset", f"npz:{tmp_path / 'shape.npz'}", *QUICK, "--train-size", "30",
                     "--test-size", "30")
    if shape.shape == (1, 2) and shape.dtype.kind == "i" and (shape > 0).all() and shape.prod() == 16:
        assert result.returncode == 0, result.stderr  # [[4, 4]] is still two whole numbers
        return
    assert_one_line_error(result, 1, "shape.npz", "image_shape")


@pytest.mark.parametrize("dtype,value", [(np.uint16, 256), (np.int32, 65535), (np.int16, -1)])
def test_integer_pixels_outside_8_bit_are_not_taken_silently(tmp_path, dtype, value):
    X, y = toy_images()
    X = X.astype(dtype)
    X[3, 2] = value
    np.savez(tmp_path / "wide.npz", X=X, y=y)
    line = assert_one_line_error(run_cli("run", "--dataset", f"npz:{tmp_path / 'wide.npz'}", *QUICK), 1,
                                 "wide.npz", str(value), "--scale none")
    assert "0..255" in line
    # Asked for explicitly, the same data are used as they are.
    ok = run_cli("run", "--dataset", f"npz:{tmp_path / 'wide.npz'}", *QUICK, "--scale", "none",
                 "--train-size", "30", "--test-size", "30")
    assert ok.returncode == 0, ok.stderr


def test_npz_on_a_named_pipe_is_refused_not_hung(tmp_path):
    fifo = tmp_path / "data.npz"
    os.mkfifo(fifo)
    result = run_cli("run", "--dataset", f"npz:{fifo}", *QUICK, "--out", tmp_path / "run", timeout=60)
    assert_one_line_error(result, 2, "--dataset", "data.npz", "named pipe")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_npz_on_a_device_is_refused(device):
    if not Path(device).exists():
        pytest.skip(f"{device} absent")
    assert_one_line_error(run_cli("run", "--dataset", f"npz:{device}", *QUICK, timeout=60), 2, "--dataset", device)


def test_idx_folder_named_pipe_is_skipped_not_hung(tmp_path):
    """A FIFO named like an IDX file is not a file: the folder then has no complete pair."""
    folder = tmp_path / "idx"
    folder.mkdir()
    os.mkfifo(folder / "train-images-idx3-ubyte")
    _labels(folder, 10)
    assert_one_line_error(run_cli("run", "--dataset", f"idx:{folder}", *QUICK, timeout=60), 1, "idx")


def test_truncated_and_corrupt_npz_name_the_file(tmp_path):
    X, y = toy_images()
    np.savez_compressed(tmp_path / "good.npz", X=X, y=y)
    data = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    assert_one_line_error(run_cli("run", "--dataset", f"npz:{tmp_path / 'cut.npz'}", *QUICK), 1, "cut.npz")
    flipped = bytearray(data)
    flipped[len(flipped) // 3] ^= 0xFF
    (tmp_path / "flip.npz").write_bytes(bytes(flipped))
    assert_one_line_error(run_cli("run", "--dataset", f"npz:{tmp_path / 'flip.npz'}", *QUICK), 1, "flip.npz")


def test_unreadable_idx_file_names_it(tmp_path):
    """A file we may not read (as root, made unreadable by being a folder in its place)."""
    folder = tmp_path / "idx"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b" + b"\x00" * 30)
    _labels(folder, 10)
    assert_one_line_error(run_cli("run", "--dataset", f"idx:{folder}", *QUICK), 1, "train-images-idx3-ubyte.gz")
