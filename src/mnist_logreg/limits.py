"""How much memory a sweep or a data file may claim, and the caps that bound both.

Two numbers bound what the package allocates:

* the **memory available**: ``MemAvailable`` from ``/proc/meminfo``, capped by the environment
  variable ``MNIST_LOGREG_MAX_MEMORY`` (a whole number of bytes > 0, e.g. ``4000000000`` or ``4e9``).
  A sweep planned above it is refused up front, and so is a data file whose header declares more
  bytes than that;
* the **DEFLATE ratio**: a deflate stream cannot expand by more than about 1032:1, so a compressed
  file (``.gz``, a member of a zip) whose header declares more than ``1032 x`` its compressed size is
  lying about its content and is refused from the header, before anything is decompressed.

Light: only the standard library.
"""

from __future__ import annotations

import math
import os

from .errors import DataError, UsageError

__all__ = ["MEMORY_VARIABLE", "DEFLATE_MAX_RATIO", "memory_cap", "available_bytes", "check_memory",
           "check_declared_bytes", "format_bytes"]

MEMORY_VARIABLE = "MNIST_LOGREG_MAX_MEMORY"
#: The largest expansion of a deflate stream (258-byte matches coded in about two bits each: 1032:1).
DEFLATE_MAX_RATIO = 1032


def format_bytes(n: float) -> str:
    """``1536`` -> ``"1.5 KiB"``; exact bytes below 1 KiB."""
    if n < 1024:
        return f"{int(n)} byte" + ("" if int(n) == 1 else "s")
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        n /= 1024
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}"
    raise AssertionError("unreachable")


def memory_cap() -> int | None:
    """``$MNIST_LOGREG_MAX_MEMORY`` in bytes, ``None`` when unset or empty.

    Raises
    ------
    UsageError
        Not a whole, finite number of bytes > 0 (``inf``, ``-5``, ``1.5``, ``lots``).
    """
    text = os.environ.get(MEMORY_VARIABLE, "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 1 and value == int(value)):
        raise UsageError(f"{MEMORY_VARIABLE}: received {text!r}; allowed a whole number of bytes >= 1, "
                         "e.g. 4000000000 or 4e9 (or unset it)")
    return int(value)


def _system_available_bytes() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def available_bytes() -> int | None:
    """Memory the package may plan to use: MemAvailable, capped by ``$MNIST_LOGREG_MAX_MEMORY``."""
    cap, system = memory_cap(), _system_available_bytes()
    if cap is None:
        return system
    return cap if system is None else min(cap, system)


def _limit_words(available: int) -> str:
    cap = memory_cap()
    if cap is not None and cap <= available:
        return f"{MEMORY_VARIABLE}={os.environ[MEMORY_VARIABLE].strip()} allows {format_bytes(cap)}"
    return f"{format_bytes(available)} is available"


def check_memory(needed: int, available: int | None = None, where: str = "this sweep") -> None:
    """Refuse a plan whose estimate exceeds the available memory, with what to change.

    Parameters
    ----------
    needed : int
        Estimated bytes.
    available : int, optional
        Default :func:`available_bytes`.
    where : str
        What needs the memory, for the message (``"this sweep"``, ``"--jobs 4 (tasks running at once)"``).
    """
    available = available_bytes() if available is None else available
    if available is not None and needed > available:
        raise DataError(f"memory: {where} needs about {format_bytes(needed)} but {_limit_words(available)}; "
                        "allowed at most that — try --dtype float32, a smaller --train-size, fewer --jobs, fewer "
                        f"--C values or no --cv (or raise {MEMORY_VARIABLE})")


def check_declared_bytes(declared: int, where: str, *, compressed: int | None = None,
                         stored: int | None = None) -> None:
    """Refuse a file whose header declares more data than it can hold or than memory allows.

    Parameters
    ----------
    declared : int
        Bytes of data the header promises.
    where : str
        Names the file in the message.
    compressed : int, optional
        Size of the deflate stream holding the data: at most ``DEFLATE_MAX_RATIO`` times as much
        can come out of it.
    stored : int, optional
        Size of uncompressed storage holding the data (the data cannot exceed it).

    Raises
    ------
    DataError
    """
    if compressed is not None and declared > DEFLATE_MAX_RATIO * max(compressed, 1):
        raise DataError(f"{where}: the header declares {format_bytes(declared)} of data but {format_bytes(compressed)} "
                        f"of compressed data can hold at most {format_bytes(DEFLATE_MAX_RATIO * max(compressed, 1))}; "
                        "allowed a header that matches the content (corrupt or malicious file?)")
    if stored is not None and declared > stored:
        raise DataError(f"{where}: the header declares {format_bytes(declared)} of data but the file holds "
                        f"{format_bytes(stored)}; allowed a header that matches the content (truncated or corrupt?)")
    available = available_bytes()
    if available is not None and declared > available:
        raise DataError(f"{where}: the header declares {format_bytes(declared)} of data but {_limit_words(available)}; "
                        f"allowed data that fits in memory (or raise {MEMORY_VARIABLE})")
