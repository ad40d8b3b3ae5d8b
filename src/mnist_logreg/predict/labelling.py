"""Labelling picture files with a saved pipeline: inputs expanded, each file framed, bad files reported."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path
from numbers import Integral
from typing import Callable, Sequence, Union

import numpy as np

from ..io.atomic import plain
from ..errors import DataError, MnistLogregError
from .images import read_image

__all__ = ["IMAGE_SUFFIXES", "Prediction", "expand_inputs", "label_images", "predict_images"]

#: File names a folder is searched for (the content still decides the format).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".npy")
_GLOB = set("*?[")
#: One input, or several: a single path is one input, never a sequence of characters.
Inputs = Union[str, os.PathLike, Sequence]


@dataclass
class Prediction:
    """One input's outcome: a label and its top probabilities, or the one-line error.

    Attributes
    ----------
    file : str
    label : object or None
    probabilities : dict
        ``{label: probability}`` of the top classes, most probable first (labels as text).
    framed : ndarray of shape image_shape, or None
        The picture as the model saw it, after framing (raw units of the training images).
    error : str or None
    """

    file: str
    label: object = None
    probabilities: dict = field(default_factory=dict)
    framed: np.ndarray | None = None
    error: str | None = None

    def as_dict(self) -> dict:
        """``{"file", "label", "probabilities", "error"}``, ready for JSON."""
        return {"file": self.file, "label": self.label, "probabilities": self.probabilities, "error": self.error}


def expand_inputs(inputs: Inputs) -> list[tuple[str, str | None]]:
    """Files, folders and glob patterns, as ``(file, error)`` pairs in the order given.

    ``inputs`` is one str or Path, or a sequence of them. A folder stands for its files whose names
    end in :data:`IMAGE_SUFFIXES` (sorted, not recursive), leaving out hidden names (starting with
    ``.``, such as macOS's ``._IMG.jpg`` resource forks) as :mod:`glob` does; a file named
    explicitly is read whatever its name. A pattern that names no existing file is expanded with
    :mod:`glob`. A folder or pattern with no image gives one pair carrying the error.
    """
    out = []
    for item in _as_list(inputs):
        text = str(item)
        path = Path(text)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES
                           and not p.name.startswith(".") and not p.is_dir())
            if not files:
                out.append((text, f"folder {text}: holds no .png, .jpg, .jpeg or .npy files; allowed a folder of images"))
            out.extend((str(p), None) for p in files)
        elif not path.exists() and _GLOB & set(text):
            files = sorted(p for p in glob.glob(text) if not Path(p).is_dir())
            if not files:
                out.append((text, f"pattern {text}: matches no file; allowed files, folders or patterns of images"))
            out.extend((p, None) for p in files)
        else:
            out.append((text, None))
    return out


def _as_list(inputs: Inputs) -> list:
    if isinstance(inputs, (str, os.PathLike)):
        return [inputs]
    if isinstance(inputs, bytes):
        raise TypeError(f"inputs: received bytes {inputs[:40]!r}; allowed a str or Path, or a list of them")
    return list(inputs)


def _framing(model):
    """The model's ``framing`` step; TypeError naming what ``model`` is when it has none."""
    from .framing import ImageFraming

    steps = getattr(model, "named_steps", None)
    step = steps.get("framing") if hasattr(steps, "get") else None
    if isinstance(step, ImageFraming) and hasattr(model, "predict_proba"):
        return step
    if steps is None:
        received = f"a {type(model).__name__}"
    else:
        received = f"a {type(model).__name__} with steps " + ", ".join(
            f"{name}={type(value).__name__}" for name, value in steps.items())
    raise TypeError(f"model: received {received}; allowed a pipeline whose first step is framing=ImageFraming, "
                    "as `mnist-logreg run` writes (ml.load_model) and ml.refit_best returns")


def _check_top(top) -> int:
    if isinstance(top, bool) or not isinstance(top, Integral) or top < 1:
        raise ValueError(f"top: received {top!r}; allowed a whole number >= 1 (at most the model's classes are "
                         "reported)")
    return int(top)


def label_images(model, inputs: Inputs, top: int = 3, *, progress: Callable[[int], None] | None = None,
                 keep_framed: bool | int = False, frame: bool = True) -> list[Prediction]:
    """Label every image among ``inputs``; a bad file gives a :class:`Prediction` with ``error`` set.

    Parameters
    ----------
    model : Pipeline
        As returned by :func:`~mnist_logreg.io.modelfile.load_model` or
        :func:`~mnist_logreg.refit_best`: its first step is ``framing``.
    inputs : str, Path, or sequence of them
        Files, folders or glob patterns (see :func:`expand_inputs`); one str or Path is one input.
    top : int
        How many classes to report per image, at least 1 (more than the model's classes reports them all).
    progress : callable or None
        Called with 1 after each file.
    keep_framed : bool or int
        Keep each framed picture (for a contact sheet): ``True`` for every picture, a whole number
        for at most that many (the first labelled ones, in input order), so a sheet of a few costs
        no memory per further picture.
    frame : bool, default=True
        Put each picture's ink into the training frame (:meth:`.ImageFraming.frame`); ``False``
        takes pictures of exactly the training shape as they are (:meth:`.ImageFraming.as_is`).

    Returns
    -------
    list of Prediction, in input order

    Raises
    ------
    TypeError
        ``model`` has no ``framing`` step (a bare estimator, or a pipeline built by hand).
    ValueError
        ``top`` is not a whole number >= 1.
    """
    framing = _framing(model)
    classes = model.classes_
    top = min(_check_top(top), len(classes))
    keep = float("inf") if keep_framed is True else int(keep_framed or 0)
    results, rows, where = [], [], []
    for file, error in expand_inputs(inputs):
        result = Prediction(file=file, error=error)
        if error is None:
            try:
                grey = read_image(file)
                framed = framing.frame(grey, name=file) if frame else framing.as_is(grey, name=file)
            except MnistLogregError as failure:
                result.error = " ".join(str(failure).split())
            else:
                rows.append(framed.ravel())
                where.append(len(results))
                if len(where) <= keep:
                    result.framed = framed
        results.append(result)
        if progress is not None:
            progress(1)
    if rows:
        proba = model.predict_proba(np.stack(rows))
        for i, p in zip(where, proba):
            order = np.argsort(-p, kind="stable")[:top]
            results[i].label = plain(classes[order[0]])
            results[i].probabilities = {str(plain(classes[j])): float(p[j]) for j in order}
    return results


def predict_images(model, paths: Inputs, top: int = 3) -> list[dict]:
    """Label and top-``top`` probabilities for each image file; DataError on the first bad one.

    ``paths`` is one str or Path, or a sequence of them (files, folders or glob patterns); ``model``
    and ``top`` are as in :func:`label_images`.

    Returns
    -------
    list of dict
        ``{"file", "label", "probabilities"}``, probabilities as ``{label: p}`` for the top classes,
        most probable first.
    """
    out = []
    for result in label_images(model, paths, top):
        if result.error:
            raise DataError(result.error)
        out.append({"file": result.file, "label": result.label, "probabilities": result.probabilities})
    return out
