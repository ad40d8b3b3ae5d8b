"""OpenML data sets through :func:`sklearn.datasets.fetch_openml`, cached as checked ``.npz``.

The download goes to a temporary folder inside the data home, is parsed, and only the arrays are
kept (pixels as uint8 when they are whole numbers in 0..255). Whether OpenML is reachable is decided
by the exception: network failures (``URLError``, ``HTTPError``, timeouts, other ``OSError``, a
truncated stream) raise :class:`OpenMLUnavailable` so the caller can fall back; an answer from
OpenML that the data set does not exist is a :class:`~mnist_logreg.errors.DataError`.
"""

from __future__ import annotations

import re
import tempfile
import urllib.error
import warnings
import zlib
from pathlib import Path

import numpy as np
import scipy.sparse

from ..errors import DataError, DataSourceWarning
from .cache import CacheStatus, NpzCache, home_problem
from .validate import integer_labels

__all__ = ["OpenMLUnavailable", "OpenMLEntry", "cache_key", "download_openml", "load_openml"]

#: Exceptions that mean "OpenML could not be reached or the transfer broke", not "bad request".
NETWORK_ERRORS = (OSError, TimeoutError, EOFError, zlib.error, ConnectionError)


class OpenMLUnavailable(Exception):
    """OpenML could not be reached; the message says why (exception type and text)."""


class OpenMLEntry:
    """One OpenML data set: by name or numeric id, with the ``--dataset`` value that fetches it.

    Parameters
    ----------
    ref : str or int
        Name (``"mnist_784"``) or data id (``554``).
    fetch_spec : str
        The ``--dataset`` value to quote in messages (``"mnist"``, ``"openml:554"``).
    """

    def __init__(self, ref, fetch_spec: str):
        text = str(ref).strip()
        self.data_id = int(text) if text.isdigit() else None
        self.name = None if self.data_id is not None else text
        self.fetch_spec = fetch_spec

    @property
    def key(self) -> str:
        return cache_key(self.data_id if self.data_id is not None else self.name)


def cache_key(ref) -> str:
    """File-name-safe cache key: ``openml-554`` or ``openml-name-<sanitised name>``."""
    text = str(ref).strip()
    if text.isdigit():
        return f"openml-{int(text)}"
    return "openml-name-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", text).lower()


def fetch_openml(**kwargs):
    """:func:`sklearn.datasets.fetch_openml`, imported on first use: it brings pandas and most of
    scikit-learn, which a run that reads local files (and its option checks) does not need."""
    from sklearn.datasets import fetch_openml as fetch

    return fetch(**kwargs)


def _describe(error: BaseException) -> str:
    """``URLError: Name or service not known`` rather than ``<urlopen error [Errno -2] ...>``."""
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason} from {error.url}"
    if isinstance(error, urllib.error.URLError):
        reason = error.reason
        text = getattr(reason, "strerror", None) or str(reason)
        return f"URLError: {text}"
    return f"{type(error).__name__}: {error}"


def _as_pixels(X) -> np.ndarray:
    """Dense array; uint8 when every value is a whole number in 0..255 (MNIST comes as floats)."""
    if scipy.sparse.issparse(X):
        X = X.toarray()
    X = np.asarray(X)
    if X.dtype.kind == "O":
        try:
            X = X.astype(np.float64)
        except (TypeError, ValueError):
            raise DataError("OpenML data: features are not all numeric; allowed image data sets with "
                            "numeric pixels") from None
    if X.dtype.kind in "iuf" and X.size and np.isfinite(X).all():
        if X.min() >= 0 and X.max() <= 255 and (X == np.round(X)).all():
            return X.astype(np.uint8)
    return X


def download_openml(entry: OpenMLEntry, download_root: Path) -> dict[str, np.ndarray]:
    """Fetch one data set into a temporary folder under ``download_root`` and parse it.

    Returns
    -------
    dict with ``X`` (n_samples, n_features), ``y`` (n_samples,), ``source`` (0-d str array)

    Raises
    ------
    OpenMLUnavailable
        Network or transfer failure.
    DataError
        OpenML answered but the data set does not exist or has no usable target.
    """
    download_root.mkdir(parents=True, exist_ok=True)
    kwargs = {"data_id": entry.data_id} if entry.data_id is not None else {"name": entry.name}
    with tempfile.TemporaryDirectory(dir=download_root, prefix=".download-") as temp, \
            warnings.catch_warnings():
        # sklearn warns once per retry; the caller reports the outcome in one line instead.
        warnings.filterwarnings("ignore", message="A network error occurred", category=UserWarning)
        try:
            bunch = fetch_openml(**kwargs, data_home=temp, as_frame=False, n_retries=2, delay=1.0)
        except NETWORK_ERRORS as error:
            raise OpenMLUnavailable(_describe(error)) from error
        except ValueError as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise DataError(f"openml:{entry.data_id or entry.name}: OpenML refused it ({first_line}); allowed "
                            "the name or numeric id of an OpenML data set with a target column") from None
    if bunch.target is None:
        raise DataError(f"openml:{entry.data_id or entry.name}: the data set has no default target; allowed "
                        "data sets with one target (label) column")
    details = getattr(bunch, "details", None) or {}
    name, data_id = details.get("name", entry.name or ""), details.get("id", entry.data_id)
    y = integer_labels(np.asarray(bunch.target))  # int64 or str, never object
    source = f"OpenML {name} (data_id {data_id}, version {details.get('version', '?')})"
    return {"X": _as_pixels(bunch.data), "y": y, "source": np.array(source)}


def load_openml(entry: OpenMLEntry, home: Path) -> tuple[dict[str, np.ndarray], CacheStatus, str]:
    """Arrays for ``entry`` from the cache, downloading (and caching) them when needed.

    Returns
    -------
    arrays : dict of ndarray
        ``X``, ``y`` and ``source``.
    status : CacheStatus
        What the cache held before this call (``hit``, ``missing`` or ``corrupt``).
    where : str
        The cache file, for the data set's ``source``.

    Raises
    ------
    OpenMLUnavailable
        Nothing usable cached and OpenML cannot be reached.
    DataError
        The cache cannot be written, or a corrupt cache file was removed and OpenML cannot be reached to fetch it again (the message
        names the command that fixes it), or OpenML does not know the data set.
    """
    problem = home_problem(home)
    if problem is not None:
        # An unusable data home must not stop a download (or the offline fallback): say so, skip the cache.
        warnings.warn(f"MNIST_LOGREG_HOME: the data cache {home} {problem}; it is not used (allowed a writable "
                      "folder): downloading without caching", DataSourceWarning, stacklevel=4)
        with tempfile.TemporaryDirectory(prefix="mnist-logreg-") as temp:
            arrays = download_openml(entry, Path(temp))
        return arrays, CacheStatus("missing", problem), f"{home} (not cached: {problem})"
    cache = NpzCache(home)
    arrays, status = cache.load(entry.key)
    path = cache.path(entry.key)
    if arrays is not None:
        return arrays, status, str(path)
    try:
        arrays = download_openml(entry, home)
    except OpenMLUnavailable as error:
        if status.corrupt:
            raise DataError(f"removed corrupt cache {path} ({status.reason}) and OpenML cannot be reached "
                            f"({error}); reconnect and rerun `mnist-logreg datasets --fetch "
                            f"{entry.fetch_spec}`") from None
        raise
    try:
        cache.save(entry.key, arrays)
    except OSError as error:
        raise DataError(f"cache {path}: cannot be written ({error.strerror or error}); allowed a writable data "
                        "home with room for it: free space or set MNIST_LOGREG_HOME to another folder") from None
    return arrays, status, str(path)
