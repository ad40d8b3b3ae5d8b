"""The data home: downloaded data sets kept as compressed ``.npz`` with a verified checksum.

Every cached array file ``KEY.npz`` has a sidecar ``KEY.npz.sha256`` in ``sha256sum`` format
(``sha256sum -c`` checks it by hand). The sidecar is written after the npz, both atomically
(temporary file in the same folder, then :func:`os.replace`), so an npz without a sidecar is a write
that did not finish. A file that fails its checksum or does not open is removed, and the caller
fetches it again. Each file is read (or written) once: the bytes that are hashed are the bytes that
are loaded.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path

import numpy as np

from ..io.atomic import write_bytes, write_text

__all__ = ["data_home", "home_problem", "resolve_home", "NpzCache", "CacheStatus"]

CACHE_SUBDIR = "datasets"


def data_home() -> Path:
    """Where downloaded data sets are cached: ``$MNIST_LOGREG_HOME``, else ``~/.cache/mnist-logreg``.

    The folder is not created here; it is created on the first write.
    """
    configured = os.environ.get("MNIST_LOGREG_HOME")
    if configured:
        return Path(configured).expanduser()
    return Path("~/.cache/mnist-logreg").expanduser()


def home_problem(home: Path) -> str | None:
    """Why ``home`` cannot hold the cache (a file, under a file, a dangling link, read-only), or ``None``."""
    from ..validation import path_problem

    return path_problem(Path(home))


def resolve_home(home=None) -> Path:
    """``home`` when given, else :func:`data_home`."""
    return Path(home).expanduser() if home is not None else data_home()


class CacheStatus:
    """What :meth:`NpzCache.load` found: ``hit``, ``missing`` or ``corrupt`` (with the reason)."""

    def __init__(self, state: str, reason: str = ""):
        self.state = state
        self.reason = reason

    @property
    def corrupt(self) -> bool:
        return self.state == "corrupt"

    def __repr__(self) -> str:
        return f"CacheStatus({self.state!r}, {self.reason!r})"


class NpzCache:
    """Compressed arrays under ``HOME/datasets/KEY.npz``, checked against ``KEY.npz.sha256``.

    Parameters
    ----------
    home : path-like
        The data home (see :func:`data_home`).
    """

    def __init__(self, home):
        self.home = Path(home)
        self.folder = self.home / CACHE_SUBDIR

    def path(self, key: str) -> Path:
        """The npz file for ``key``."""
        return self.folder / f"{key}.npz"

    def checksum_path(self, key: str) -> Path:
        return self.folder / f"{key}.npz.sha256"

    def exists(self, key: str) -> bool:
        """Both the npz and its checksum are there (not verified; see :meth:`load`)."""
        return self.path(key).is_file() and self.checksum_path(key).is_file()

    def keys(self) -> list[str]:
        """Keys with a complete (npz + checksum) entry."""
        if not self.folder.is_dir():
            return []
        return sorted(p.name[:-len(".npz.sha256")] for p in self.folder.glob("*.npz.sha256")
                      if (self.folder / p.name[:-len(".sha256")]).is_file())

    def remove(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)
        self.checksum_path(key).unlink(missing_ok=True)

    def save(self, key: str, arrays: dict[str, np.ndarray]) -> Path:
        """Store ``arrays`` under ``key``: npz first, then its checksum, each atomically.

        Arrays must not need pickle (no object dtype): store strings as ``str`` arrays.
        """
        path = self.path(key)
        # A stale checksum must never vouch for the new npz: drop it before the swap. A crash
        # between the two writes leaves an npz without checksum, which load() treats as partial.
        self.checksum_path(key).unlink(missing_ok=True)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        data = buffer.getvalue()
        write_bytes(path, data)
        write_text(self.checksum_path(key), f"{hashlib.sha256(data).hexdigest()}  {path.name}\n")
        return path

    def load(self, key: str) -> tuple[dict[str, np.ndarray] | None, CacheStatus]:
        """The arrays stored under ``key`` after checking them, or ``None`` and why not.

        A corrupt or partial entry (no checksum, checksum mismatch, unreadable archive) is removed
        before returning, so the next write starts clean.
        """
        path, checksum_path = self.path(key), self.checksum_path(key)
        if not path.is_file():
            checksum_path.unlink(missing_ok=True)
            return None, CacheStatus("missing")
        try:
            data = path.read_bytes()
        except OSError as error:
            data, reason = None, f"cannot be read ({error})"
        else:
            reason = self._verify(data, checksum_path)
        if reason is None:
            try:
                with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                    return {name: archive[name] for name in archive.files}, CacheStatus("hit")
            except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zipfile.LargeZipFile) as error:
                reason = f"cannot be opened ({type(error).__name__}: {error})"
        self.remove(key)
        return None, CacheStatus("corrupt", reason)

    @staticmethod
    def _verify(data: bytes, checksum_path: Path) -> str | None:
        """``None`` when the npz bytes match their recorded sha256, else the reason in words."""
        try:
            recorded = checksum_path.read_text().split()
        except FileNotFoundError:
            return "has no checksum file (an interrupted write)"
        except (OSError, UnicodeDecodeError) as error:
            return f"has an unreadable checksum file ({error})"
        if not recorded or len(recorded[0]) != 64:
            return "has a malformed checksum file"
        actual = hashlib.sha256(data).hexdigest()
        if actual != recorded[0].lower():
            return f"fails its checksum (sha256 {actual[:12]}... != recorded {recorded[0][:12]}...)"
        return None
