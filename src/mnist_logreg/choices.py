"""The allowed values of ``mnist-logreg run``'s enumerated options, and their checks.

Kept light (the standard library only; NumPy on demand) so that the command validates its options
before it imports scikit-learn, SciPy and pandas: a wrong option is reported at once, and the
worker processes a valid run needs start while the driver imports (:mod:`.plan.warmup`). The
modules that use these values (:mod:`.preprocessing`, :mod:`.select`, :mod:`.data.split`,
:mod:`.plan.executors`) take them from here.
"""

from __future__ import annotations

import math
import re
from importlib.util import find_spec

from .errors import UsageError

__all__ = ["SCALES", "DTYPES", "SELECT_BY", "REFIT_ON", "DASK_HINT", "check_scale", "check_dtype",
           "check_select_by", "check_refit", "check_scheduler", "parse_size"]

SCALES = ("auto", "255", "none")
DTYPES = ("float64", "float32")
SELECT_BY = ("roc_auc_test", "roc_auc_cv")
REFIT_ON = ("all", "train", "none")
#: The one line that says how to get the optional Dask support.
DASK_HINT = "pip install 'mnist-logreg[dask]'"


def check_scale(scale) -> str:
    """``scale`` as text if it is one of ``SCALES``; UsageError otherwise."""
    if str(scale) not in SCALES:
        raise UsageError(f"--scale: received {scale!r}; allowed {', '.join(SCALES)}")
    return str(scale)


def check_dtype(dtype):
    """Validate ``--dtype``; the NumPy dtype."""
    import numpy as np

    name = str(np.dtype(dtype).name) if not isinstance(dtype, str) else dtype
    if name not in DTYPES:
        raise UsageError(f"--dtype: received {name!r}; allowed {', '.join(DTYPES)}")
    return np.dtype(name)


def check_select_by(select_by: str) -> None:
    """UsageError unless ``select_by`` is one of ``SELECT_BY``."""
    if select_by not in SELECT_BY:
        raise UsageError(f"--select-by: received {select_by!r}; allowed {', '.join(SELECT_BY)}")


def check_refit(on: str) -> None:
    """UsageError unless ``on`` is one of ``REFIT_ON``."""
    if on not in REFIT_ON:
        raise UsageError(f"--refit: received {on!r}; allowed {', '.join(REFIT_ON)}")


def check_scheduler(address: str | None) -> None:
    """UsageError unless ``address`` is ``None``, ``local:N`` or a scheduler address, and Dask is installed."""
    if address is None:
        return
    text = str(address).strip()
    local = re.fullmatch(r"local:(\d+)", text)
    if local is None and not re.fullmatch(r"(\w+://)?[\w.\-\[\]:]+:\d+", text):
        raise UsageError(f"--scheduler: received {address!r}; allowed local:N (N worker processes on this machine) "
                         "or a Dask scheduler address such as tcp://scheduler-host:8786")
    if local is not None and int(local.group(1)) < 1:
        raise UsageError(f"--scheduler: received {address!r}; allowed local:N with N >= 1")
    if find_spec("distributed") is None:
        raise UsageError(f"--scheduler: needs Dask's distributed package, which is not installed; "
                         f"install it with: {DASK_HINT}")


def parse_size(value, option: str) -> int | float:
    """``--train-size``/``--test-size``: a count (int >= 1) or a fraction in (0, 1)."""
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        raise UsageError(f"{option}: received {text!r}; allowed a count (e.g. 1500) or a fraction in (0, 1)") from None
    if 0 < number < 1:
        return number
    if math.isfinite(number) and number >= 1 and number == int(number):
        return int(number)
    raise UsageError(f"{option}: received {text!r}; allowed a count >= 1 or a fraction in (0, 1)")
