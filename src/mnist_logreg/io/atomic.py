"""Atomic file writes: a temporary file in the same folder, fsynced, then renamed over the target.

A reader (or a run interrupted half-way through a write) sees either the old file or the new one,
never a partial one.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import IO, Iterator

import numpy as np

__all__ = ["atomic_open", "naming", "write_text", "write_bytes", "write_json", "save_npz", "plain"]


def _create_temporary(folder: Path, name: str) -> tuple[int, Path]:
    """A new, uniquely named file next to the target, created with mode 0666 like ``open(path, "w")``.

    The kernel applies the process umask to that mode, so the file gets the permissions a plain
    ``open`` would give it, without reading (or changing) the umask. ``O_EXCL`` never reuses a name.
    """
    for _ in range(100):
        tmp = folder / f".{name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"{folder}: no free temporary name for {name}")


@contextlib.contextmanager
def naming(path: str | os.PathLike) -> Iterator[None]:
    """Re-raise an ``OSError`` that names no file as one that names ``path``.

    A write that fills the disk fails on an open file descriptor, so its error carries no file name,
    and the user's one line would say "a file: No space left on device"."""
    try:
        yield
    except OSError as error:
        if error.filename is not None or error.errno is None:
            raise
        raise OSError(error.errno, error.strerror, str(path)) from error


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file next to ``path``; on success it replaces ``path`` in one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temporary(path.parent, path.name)
    try:
        with naming(path), os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path, text: str) -> Path:
    with atomic_open(path, "w") as handle:
        handle.write(text)
    return Path(path)


def write_bytes(path, data: bytes) -> Path:
    with atomic_open(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def plain(value):
    """A numpy scalar as the Python scalar it holds; anything else unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def _json_default(value):
    if isinstance(value, np.generic):
        return plain(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_json(path, obj) -> Path:
    """Write ``obj`` as indented JSON (numpy scalars and arrays converted)."""
    return write_text(path, json.dumps(obj, indent=2, default=_json_default, allow_nan=True) + "\n")


def save_npz(path, compressed: bool = True, **arrays) -> Path:
    """``np.savez_compressed`` (or ``np.savez``) to ``path`` atomically."""
    with atomic_open(path, "wb") as handle:
        (np.savez_compressed if compressed else np.savez)(handle, **arrays)
    return Path(path)
