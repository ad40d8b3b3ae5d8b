"""Saving and loading the refit pipeline with skops: never pickle, only types we trust."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import skops.io as sio
from sklearn.pipeline import Pipeline

from .atomic import write_bytes
from .errors import ModelFileError
from .preprocessing import PixelScaler

__all__ = ["TRUSTED_TYPES", "save_model", "load_model"]

#: Types of this package that a model file may hold, beyond what skops trusts by default
#: (scikit-learn estimators, numpy arrays and builtins).
TRUSTED_TYPES = [
    "mnist_logreg.preprocessing.PixelScaler",
    "mnist_logreg.estimators.MultinomialLogisticRegression",
]


def save_model(pipeline: Pipeline, path) -> Path:
    """Write ``pipeline`` to ``path`` in skops format, atomically."""
    return write_bytes(path, sio.dumps(pipeline))


def load_model(path) -> Pipeline:
    """Load a pipeline written by :func:`save_model`.

    Raises
    ------
    ModelFileError
        If the file is missing or unreadable, is not a skops file, holds a type outside scikit-learn,
        numpy and :data:`TRUSTED_TYPES`, or is not a pipeline that starts with our pixel scaler.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {path}: not found; allowed a model.skops written by `mnist-logreg run`")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ModelFileError(f"model file {path}: cannot be read ({error.strerror})") from None
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ModelFileError(f"model file {path}: not a skops file (pickle and other formats are never loaded); "
                             "allowed a model.skops written by `mnist-logreg run`")
    try:
        untrusted = set(sio.get_untrusted_types(data=data))
    except Exception as error:  # skops raises many types on malformed archives
        raise ModelFileError(f"model file {path}: unreadable skops archive ({type(error).__name__})") from None
    foreign = sorted(untrusted - set(TRUSTED_TYPES))
    if foreign:
        raise ModelFileError(f"model file {path}: holds types mnist-logreg does not trust ({', '.join(foreign[:5])}); "
                             "allowed only models written by `mnist-logreg run`")
    try:
        model = sio.loads(data, trusted=sorted(untrusted))
    except Exception as error:
        raise ModelFileError(f"model file {path}: cannot be loaded ({type(error).__name__}: {error})") from None
    if not (isinstance(model, Pipeline) and isinstance(model[0], PixelScaler)):
        raise ModelFileError(f"model file {path}: holds a {type(model).__name__}, not an mnist-logreg pipeline; "
                             "allowed only models written by `mnist-logreg run`")
    return model
