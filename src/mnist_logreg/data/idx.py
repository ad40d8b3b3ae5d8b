"""IDX files, the format MNIST and Fashion-MNIST are distributed in.

An IDX file is a 4-byte magic number ``0, 0, type, ndim``, then ``ndim`` big-endian uint32 sizes,
then the values in C order, big-endian. The reader trusts nothing: the magic, the dimensions and the
file size must agree exactly, and a gzip stream must be complete. Nothing is allocated before the
header is checked against what the file can hold (a gzip file inflates to at most 1032 times its
size) and against the memory cap (``MNIST_LOGREG_MAX_MEMORY``, see :mod:`mnist_logreg.limits`); the
data is then streamed into an array of the declared size, so a small file that claims a billion
images is refused at once and never decompressed.

Paths named directly on the command line (``--dataset idx:DIR``) that do not exist are usage
errors (exit 2); files that exist but cannot be read or parsed are data errors (exit 1).
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import zlib
from pathlib import Path

import numpy as np

from ..io.atomic import write_bytes
from ..errors import DataError, UsageError
from ..limits import check_declared_bytes

__all__ = ["IDX_TYPES", "read_idx", "parse_idx", "check_idx_folder", "write_idx", "find_idx_pairs", "read_idx_dir"]

#: IDX type code -> numpy dtype (big-endian as stored).
IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in IDX_TYPES.items()}
_ALLOWED = "uint8, int8, int16, int32, float32, float64"


#: Bytes read per step while filling the array the header promised.
_CHUNK = 1 << 20


def _header(stream, where: str) -> tuple[int, tuple[int, ...], int]:
    """Magic and dimensions from the start of ``stream``: ``(type code, dims, header bytes)``."""
    magic = stream.read(4)
    if len(magic) < 4:
        raise DataError(f"{where}: {len(magic)} bytes is too short for an IDX header; allowed a file "
                        "starting with the 4-byte magic number 0, 0, type, ndim")
    zero1, zero2, code, ndim = magic
    if zero1 or zero2 or code not in IDX_TYPES or ndim == 0:
        types = ", ".join(f"0x{c:02X}" for c in IDX_TYPES)
        raise DataError(f"{where}: wrong IDX magic number {magic.hex(' ')}; allowed 00 00 TYPE NDIM "
                        f"with TYPE one of {types} and NDIM >= 1")
    sizes = stream.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise DataError(f"{where}: header declares {ndim} dimensions, needing {4 + 4 * ndim} bytes, but the "
                        f"file has {4 + len(sizes)}; allowed a complete header")
    dims = tuple(int.from_bytes(sizes[4 * i:4 + 4 * i], "big") for i in range(ndim))
    return code, dims, 4 + 4 * ndim


def _read_stream(stream, where: str, size: int, compressed: bool) -> np.ndarray:
    """Check the header against what the file can hold, then read exactly what it declares.

    Nothing is allocated before the header passes: a gzip file cannot inflate to more than
    ``DEFLATE_MAX_RATIO`` times its size, a plain file holds its size, and both must fit in memory
    (:func:`~mnist_logreg.limits.check_declared_bytes`). The data is then read into an array of the
    declared size, step by step, so a stream that ends early or runs on is found as it is read.
    """
    code, dims, header = _header(stream, where)
    dtype = IDX_TYPES[code]
    declared = dtype.itemsize * int(np.prod(dims, dtype=object))
    shape = f"shape {dims} of {dtype.newbyteorder('=').name}"
    if compressed:
        check_declared_bytes(declared, f"{where}: {shape}", compressed=size)
    elif header + declared != size:
        raise DataError(f"{where}: header says {shape} ({header + declared} bytes with the header) but the file "
                        f"has {size} bytes; allowed a file whose size matches its header (truncated or wrong file?)")
    else:
        check_declared_bytes(declared, f"{where}: {shape}")
    data = np.empty(declared, dtype=np.uint8)
    view, filled = memoryview(data), 0
    while filled < declared:
        got = stream.readinto(view[filled:filled + _CHUNK])
        if not got:
            raise DataError(f"{where}: header says {shape} ({declared} data bytes) but the data ends after "
                            f"{filled}; allowed a file whose size matches its header (truncated or wrong file?)")
        filled += got
    if stream.read(1):
        raise DataError(f"{where}: header says {shape} ({declared} data bytes) but more data follows; allowed a "
                        "file whose size matches its header (wrong file?)")
    return data.view(dtype).reshape(dims).astype(dtype.newbyteorder("="), copy=False)


def read_idx(path) -> np.ndarray:
    """Read an IDX file (gzipped when the name ends in ``.gz``), bounded by what the file can hold.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    ndarray
        Shape and type from the header (uint8, int8, int16, int32, float32 or float64), native
        byte order.

    Raises
    ------
    DataError
        Missing, unreadable or non-regular file, truncated gzip, wrong magic number, a header that
        disagrees with the content, or one that declares more than the file or memory can hold.
    """
    path = Path(path)
    where = str(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise DataError(f"{path}: is not a regular file; allowed an IDX file")
        with open(path, "rb") as raw:
            if path.suffix == ".gz":
                with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                    return _read_stream(stream, where, info.st_size, compressed=True)
            return _read_stream(raw, where, info.st_size, compressed=False)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found; allowed an existing IDX file") from None
    except EOFError:
        raise DataError(f"{path}: the gzip stream ends early (truncated or partial download); "
                        "allowed a complete .gz file") from None
    except (gzip.BadGzipFile, zlib.error) as error:
        raise DataError(f"{path}: not a valid gzip file ({error}); allowed a gzip-compressed IDX "
                        "file, or drop the .gz suffix for an uncompressed one") from None
    except MemoryError:
        raise DataError(f"{path}: its data do not fit in memory; allowed data that fits in memory") from None
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror or error}); allowed a readable "
                        "IDX file") from None


def parse_idx(data: bytes, where: str) -> np.ndarray:
    """Parse the bytes of a whole (decompressed) IDX file; see :func:`read_idx`.

    Returns
    -------
    ndarray of shape given by the header, in native byte order.
    """
    return _read_stream(io.BytesIO(data), where, len(data), compressed=False)


def write_idx(path, array) -> Path:
    """Write ``array`` as an IDX file, gzip-compressed when the name ends in ``.gz``.

    The file appears atomically: it is written next to its destination and renamed into place.

    Parameters
    ----------
    path : str or path-like
    array : array-like with at least one dimension
        dtype uint8, int8, int16, int32, float32 or float64.

    Returns
    -------
    Path
    """
    path = Path(path)
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _CODES:
        raise UsageError(f"write_idx: received dtype {array.dtype}; allowed {_ALLOWED}")
    if array.ndim < 1 or array.ndim > 255 or any(n >= 2**32 for n in array.shape):
        raise UsageError(f"write_idx: received an array of shape {array.shape}; allowed 1 to 255 "
                         "dimensions, each below 2**32")
    header = bytes([0, 0, _CODES[native], array.ndim])
    header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    payload = header + np.ascontiguousarray(array, dtype=native.newbyteorder(">")).tobytes()
    if path.suffix == ".gz":
        payload = gzip.compress(payload, mtime=0)
    write_bytes(path, payload)
    return path


def _find(folder: Path, prefix: str, kind: str) -> Path | None:
    """``train-images-idx3-ubyte`` and the spellings seen in the wild (``.gz``, ``.`` for ``-``)."""
    rank = "3" if kind == "images" else "1"
    for sep in ("-", "."):
        for suffix in ("", ".gz"):
            candidate = folder / f"{prefix}-{kind}{sep}idx{rank}-ubyte{suffix}"
            if candidate.is_file():
                return candidate
    return None


def find_idx_pairs(folder: Path) -> list[tuple[str, Path, Path]]:
    """The (part, images, labels) file pairs in ``folder``, train first.

    Raises
    ------
    DataError
        An images file without its labels (or the reverse), or no pair at all.
    """
    pairs = []
    for prefix in ("train", "t10k"):
        images, labels = _find(folder, prefix, "images"), _find(folder, prefix, "labels")
        if images is None and labels is None:
            continue
        if images is None or labels is None:
            have, missing = (images, "labels") if labels is None else (labels, "images")
            rank = "3" if missing == "images" else "1"
            raise DataError(f"{folder}: found {have.name} but no {prefix}-{missing}-idx{rank}-ubyte[.gz]; "
                            "allowed complete images/labels pairs")
        pairs.append((prefix, images, labels))
    if not pairs:
        listed = sorted(p.name for p in folder.iterdir())[:8]
        raise DataError(f"{folder}: no IDX pairs found (it holds {listed}); allowed "
                        "train-images-idx3-ubyte + train-labels-idx1-ubyte and/or t10k-images-idx3-ubyte + "
                        "t10k-labels-idx1-ubyte, each optionally .gz")
    return pairs


def check_idx_folder(folder: Path, option: str = "--dataset") -> None:
    """``idx:DIR`` must name an existing, readable folder (UsageError naming ``option`` otherwise)."""
    if not folder.exists():
        raise UsageError(f"{option}: folder {folder} does not exist; allowed idx:DIR with an existing "
                         "folder of IDX files")
    if not folder.is_dir():
        raise UsageError(f"{option}: {folder} is a file, not a folder; allowed idx:DIR with a folder of "
                         "IDX files")
    if not os.access(folder, os.R_OK | os.X_OK):
        raise UsageError(f"{option}: folder {folder} cannot be read (permission denied); allowed a readable "
                         "folder of IDX files")


def read_idx_dir(folder, option: str = "--dataset") -> tuple[np.ndarray, np.ndarray, tuple[int, int], list[str]]:
    """Read every images/labels pair in a folder and join them, train then t10k.

    Parameters
    ----------
    folder : str or path-like
    option : str
        The option that named the folder, for messages.

    Returns
    -------
    X : ndarray of shape (n_samples, height * width)
    y : ndarray of shape (n_samples,)
    image_shape : tuple of int
    files : list of str
        The file names used, for the data set's ``source``.
    """
    folder = Path(folder).expanduser()
    check_idx_folder(folder, option)
    images_parts, labels_parts, shape, files = [], [], None, []
    for _, images_path, labels_path in find_idx_pairs(folder):
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.ndim != 3 or images.size == 0:
            raise DataError(f"{images_path}: holds an array of shape {images.shape}; allowed 3-D images "
                            "(count, height, width), at least one image of at least one pixel")
        if labels.ndim != 1:
            raise DataError(f"{labels_path}: holds an array of shape {labels.shape}; allowed 1-D labels")
        if len(images) != len(labels):
            raise DataError(f"{images_path.name} has {len(images)} images but {labels_path.name} has "
                            f"{len(labels)} labels; allowed the same count in both")
        if shape is not None and images.shape[1:] != shape:
            raise DataError(f"{images_path}: images of {images.shape[1:]} but the train images are "
                            f"{shape}; allowed one image size for the whole folder")
        shape = images.shape[1:]
        images_parts.append(images.reshape(len(images), -1))
        labels_parts.append(labels)
        files += [images_path.name, labels_path.name]
    # One pair (a test-only folder): its arrays are already fresh; concatenating would copy them.
    join = (lambda parts: parts[0]) if len(images_parts) == 1 else np.concatenate
    return join(images_parts), join(labels_parts), tuple(int(n) for n in shape), files
