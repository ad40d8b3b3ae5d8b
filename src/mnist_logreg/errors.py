"""Error types that the command line turns into one line and an exit code.

Every error the product raises on purpose derives from :class:`MnistLogregError`. Its message is
the whole line a user sees: it names the parameter or file, what was received and what is allowed.
"""

from __future__ import annotations

__all__ = ["one_line_os_error", "MnistLogregError", "UsageError", "DataError", "ModelFileError", "ResumeError", "DataSourceWarning"]


class MnistLogregError(Exception):
    """Base class: a message meant for the user, and the process exit code that goes with it."""

    exit_code = 1


class UsageError(MnistLogregError, ValueError):
    """An option or argument has a value that is not allowed (exit code 2)."""

    exit_code = 2


class DataError(MnistLogregError, ValueError):
    """Input data is missing, unreadable, malformed or unusable (exit code 1)."""

    exit_code = 1


class ModelFileError(MnistLogregError):
    """A model file is missing, unreadable or not one this package wrote (exit code 1)."""

    exit_code = 1


class ResumeError(MnistLogregError):
    """An output folder cannot be resumed with these options or this data (exit code 2)."""

    exit_code = 2


class DataSourceWarning(UserWarning):
    """The data came from somewhere other than asked (e.g. the offline 5,000-image fallback).

    The command line prints it as one line; the message says what was used and how to get the
    data that was asked for.
    """


def one_line_os_error(error: OSError) -> str:
    """An operating-system error as the one line a user sees: the file, what happened, what to do.

    Used for the errors no check could foresee (a disk that fills up mid-run, a folder that turns
    read-only): every such error still names the file it concerns.
    """
    import errno

    where = error.filename if error.filename is not None else "a file"
    if error.filename2 is not None:
        where = f"{where} -> {error.filename2}"
    advice = {
        errno.ENOSPC: "the disk is full: free space or choose another --out",
        errno.EDQUOT: "the disk quota is exhausted: free space or choose another --out",
        errno.EROFS: "the file system is read-only: choose another --out",
        errno.EACCES: "permission denied: choose a location you can write",
        errno.EPERM: "operation not permitted: choose a location you can write",
    }.get(error.errno, "allowed a readable input and a writable --out")
    reason = error.strerror or type(error).__name__
    return f"{where}: {reason}; {advice}"
