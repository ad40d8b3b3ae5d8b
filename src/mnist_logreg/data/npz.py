"""``npz:FILE``: arrays from an ``.npz`` archive, each checked from its header before it is read.

An ``.npz`` is a zip of ``.npy`` members. Each member's ``.npy`` header declares a dtype and a shape;
before numpy allocates anything, the declared size is checked against what the member can hold
(its stored size, and for a deflated member at most :data:`~mnist_logreg.limits.DEFLATE_MAX_RATIO`
times its compressed size) and against the memory cap (see :mod:`mnist_logreg.limits`). Object
arrays (pickle) are refused; numbers, booleans and strings are stored without pickle. Only a
regular file is opened: a named pipe or a device would block or never end.
"""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import numpy as np

from ..errors import DataError, UsageError
from ..limits import check_declared_bytes

__all__ = ["LAYOUTS", "read_npz", "npy_declared_bytes", "check_regular_file"]

LAYOUTS = (("X", "y"), ("X_train", "y_train", "X_test", "y_test"))
_ALLOWED = "X, y (+ image_shape) or X_train, y_train, X_test, y_test (+ image_shape)"
_WRITTEN_BY = "an .npz written by numpy.savez or numpy.savez_compressed"


def _one_line(text) -> str:
    return " ".join(str(text).split())


def check_regular_file(path: Path, option: str, allowed: str) -> None:
    """A path named on the command line must be an existing regular file (UsageError otherwise)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise UsageError(f"{option}: file {path} does not exist; allowed {allowed}") from None
    except OSError as error:
        raise UsageError(f"{option}: {path} cannot be used ({error.strerror or error}); allowed {allowed}") from None
    if stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{option}: {path} is a folder; allowed {allowed} (for a folder of IDX files use idx:DIR)")
    if not stat.S_ISREG(info.st_mode):
        kind = "a named pipe (FIFO)" if stat.S_ISFIFO(info.st_mode) else "not a regular file (device or socket)"
        raise UsageError(f"{option}: {path} is {kind}; allowed {allowed}, which is read whole and must be a "
                         "regular file")


def npy_declared_bytes(stream) -> tuple[int, np.dtype, tuple[int, ...]]:
    """Read an ``.npy`` header from ``stream`` and return the data bytes it declares.

    Returns
    -------
    nbytes : int
    dtype : numpy dtype
    shape : tuple of int

    Raises
    ------
    ValueError
        Not an ``.npy`` header (numpy's own message).
    """
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        raise ValueError(f".npy format version {version[0]}.{version[1]}; allowed 1.0 or 2.0")
    count = 1
    for n in shape:
        count *= int(n)
    return count * dtype.itemsize, dtype, tuple(int(n) for n in shape)


def _check_members(path: Path, archive: zipfile.ZipFile) -> None:
    """Every ``.npy`` member's header against what the member can hold and the memory cap."""
    for info in archive.infolist():
        if not info.filename.endswith(".npy"):
            continue
        name = info.filename[:-4]
        with archive.open(info) as member:
            try:
                declared, dtype, shape = npy_declared_bytes(member)
            except ValueError as error:
                raise DataError(f"{path}: array {name!r} has no valid .npy header ({_one_line(error)}); allowed "
                                f"{_WRITTEN_BY}") from None
        if dtype.hasobject:
            raise DataError(f"{path}: array {name!r} holds objects that need pickle; allowed numeric, boolean or "
                            "string arrays (pickle is never loaded)")
        where = f"{path}: array {name!r} of shape {shape} ({dtype})"
        compressed = info.compress_size if info.compress_type != zipfile.ZIP_STORED else None
        check_declared_bytes(declared, where, compressed=compressed, stored=info.file_size)


def read_npz(path: Path, option: str = "--dataset") -> tuple[dict[str, np.ndarray], tuple[str, ...], object]:
    """The arrays of one of the two layouts, and ``image_shape`` when present.

    Parameters
    ----------
    path : Path
    option : str
        The option that named the file, for messages.

    Returns
    -------
    arrays : dict of ndarray
    layout : tuple of str
        Which of :data:`LAYOUTS` the file holds.
    image_shape : ndarray or None

    Raises
    ------
    UsageError
        The path is missing, a folder, a FIFO or a device.
    DataError
        Not an npz, the wrong arrays, object arrays, a header that declares more than the file or
        memory can hold, or any read error.
    """
    allowed = "npz:FILE with an existing .npz file"
    check_regular_file(path, option, allowed)
    try:
        with open(path, "rb") as stream:
            magic = stream.read(6)
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror or error}); allowed a readable .npz file") from None
    if magic == b"\x93NUMPY":
        raise DataError(f"{path}: is a single .npy array, not an .npz archive; allowed an .npz with arrays {_ALLOWED}")
    if not magic.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        raise DataError(f"{path}: is not an .npz (zip) archive (starts with {magic!r}); allowed {_WRITTEN_BY}")
    try:
        with zipfile.ZipFile(path) as archive:
            _check_members(path, archive)
        with np.load(path, allow_pickle=False) as archive:  # a zip archive: always an NpzFile
            keys = set(archive.files)
            layout = next((names for names in LAYOUTS if set(names) <= keys), None)
            if layout is None or all(set(names) <= keys for names in LAYOUTS):
                problem = "arrays of both layouts" if layout else "not the expected arrays"
                raise DataError(f"{path}: has {problem} (it holds {sorted(keys)}); allowed {_ALLOWED}")
            arrays = {name: archive[name] for name in layout}
            shape = archive["image_shape"] if "image_shape" in keys else None
    except (DataError, UsageError):
        raise
    except ValueError as error:
        if "pickle" in str(error):
            raise DataError(f"{path}: holds object arrays that need pickle; allowed numeric, boolean or string "
                            "arrays (pickle is never loaded)") from None
        raise DataError(f"{path}: not a readable .npz archive ({_one_line(error)}); allowed {_WRITTEN_BY}") from None
    except MemoryError:
        raise DataError(f"{path}: its arrays do not fit in memory; allowed data that fits in memory") from None
    except (OSError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError,
            KeyError) as error:
        raise DataError(f"{path}: cannot be read as .npz ({type(error).__name__}: {_one_line(error)}); allowed "
                        f"{_WRITTEN_BY}") from None
    return arrays, layout, shape
