"""Error types that the command line turns into one line and an exit code.

Every error the product raises on purpose derives from :class:`MnistLogregError`. Its message is
the whole line a user sees: it names the parameter or file, what was received and what is allowed.
"""

from __future__ import annotations

__all__ = ["MnistLogregError", "UsageError", "DataError", "ModelFileError", "ResumeError", "DataSourceWarning"]


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
