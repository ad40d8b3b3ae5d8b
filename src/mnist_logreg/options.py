"""What a ``RunConfig`` field needs to become a command-line option, and the checks options share.

A field of :class:`~mnist_logreg.config.RunConfig` declared with :func:`option` carries its flag,
help, group, text parser and value check in its metadata; ``mnist-logreg run`` builds its options
from those fields and :meth:`RunConfig.validate` runs the checks. Adding an option is adding a field.

Parsers turn command-line text into a value and raise :class:`argparse.ArgumentTypeError` (argparse
then names the option). Checks take the value (from the command line or the Python API) and raise
:class:`~mnist_logreg.errors.UsageError` naming the option, what was received and what is allowed.
Kept light: only the standard library is imported here.
"""

from __future__ import annotations

import argparse
import math
import numbers
from dataclasses import MISSING, Field, dataclass, field
from typing import Any, Callable

from .errors import UsageError

__all__ = ["Option", "option", "option_of", "whole_number", "positive_number", "parse_whole", "parse_number",
           "check_whole", "check_positive_number", "SEED_MAX"]

#: numpy's and scikit-learn's ``random_state`` take integers in ``[0, 2**32 - 1]``.
SEED_MAX = 2**32 - 1


@dataclass(frozen=True)
class Option:
    """How one ``RunConfig`` field appears on the command line.

    Attributes
    ----------
    flags : tuple of str
        ``("--seed",)``; the first one names the option in messages.
    help : str
        Help text; the default is appended by the command line.
    group : str
        The ``--help`` section: ``data``, ``grid``, ``fitting``, ``selection and refit``, ``output``.
    parse : callable or None
        Text -> value for argparse (``None``: keep the text).
    check : callable or None
        ``check(value, flag)`` raising :class:`UsageError`; run by ``RunConfig.validate``.
    action : str or None
        An argparse action for flags without a value (``store_true``, ``store_false``).
    metavar : str or None
    """

    flags: tuple[str, ...]
    help: str
    group: str
    parse: Callable[[str], Any] | None = None
    check: Callable[[Any, str], None] | None = None
    action: str | None = None
    metavar: str | None = None

    @property
    def flag(self) -> str:
        return self.flags[0]


def option(default, *flags: str, help: str, group: str, parse=None, check=None, action=None,
           metavar=None) -> Any:
    """A dataclass field whose metadata makes it a command-line option (see :class:`Option`)."""
    spec = Option(flags=tuple(flags), help=help, group=group, parse=parse, check=check, action=action,
                  metavar=metavar)
    return field(default=default, metadata={"option": spec})


def option_of(f: Field) -> Option | None:
    """The :class:`Option` of a dataclass field, or ``None`` for a field that is not an option."""
    return f.metadata.get("option")


def field_default(f: Field):
    return None if f.default is MISSING else f.default


# -- parsers (command-line text -> value) ---------------------------------------------------------
def parse_whole(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"received {text!r}; allowed a whole number") from None


def parse_number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"received {text!r}; allowed a number") from None


# -- checks (value -> UsageError) -----------------------------------------------------------------
def _is_whole(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_whole(value, flag: str, minimum: int | None = None, maximum: int | None = None,
                allowed: str | None = None) -> None:
    """``value`` must be an integer in ``[minimum, maximum]``."""
    low_ok = minimum is None or (_is_whole(value) and value >= minimum)
    high_ok = maximum is None or (_is_whole(value) and value <= maximum)
    if not (_is_whole(value) and low_ok and high_ok):
        if allowed is None:
            bounds = [f">= {minimum}" if minimum is not None else "", f"<= {maximum}" if maximum is not None else ""]
            allowed = "a whole number " + " and ".join(b for b in bounds if b)
        raise UsageError(f"{flag}: received {value!r}; allowed {allowed.strip()}")


def whole_number(minimum: int | None = None, maximum: int | None = None, allowed: str | None = None,
                 optional: bool = False) -> Callable[[Any, str], None]:
    """A check for an integer option in ``[minimum, maximum]`` (``None`` passes when ``optional``)."""
    def check(value, flag):
        if optional and value is None:
            return
        check_whole(value, flag, minimum, maximum, allowed)
    return check


def check_positive_number(value, flag: str) -> None:
    """``value`` must be a finite real number > 0."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    if not ok:
        raise UsageError(f"{flag}: received {value!r}; allowed a finite number > 0")


def positive_number(optional: bool = False) -> Callable[[Any, str], None]:
    def check(value, flag):
        if optional and value is None:
            return
        check_positive_number(value, flag)
    return check


def one_of(choices, parse: Callable[[Any], Any] | None = None) -> Callable[[Any, str], None]:
    """A check that runs an existing parser (which raises its own UsageError) or tests membership."""
    def check(value, flag):
        if parse is not None:
            parse(value)
        elif value not in choices:
            raise UsageError(f"{flag}: received {value!r}; allowed {', '.join(map(str, choices))}")
    return check


def flag_value(value) -> bool:
    """Checks for on/off options: a bool (the API must not pass ``"no"`` and get ``True``)."""
    return isinstance(value, bool)


def check_flag(value, flag: str) -> None:
    if not flag_value(value):
        raise UsageError(f"{flag}: received {value!r}; allowed True or False")
