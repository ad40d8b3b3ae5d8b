"""Checking a loaded model is the pipeline `mnist-logreg run` writes, with sane settings, before use.

skops only builds types it trusts, but scikit-learn's own estimators are all trusted, so a file
could hold a ``PixelScaler`` followed by an ``SVC``, or our own steps with settings that make
``predict`` allocate without bound (an ``image_shape`` of 40000 x 40000 in a 77 KB file). Every
step's exact type and every setting ``predict`` relies on are checked here, each against a bound,
without allocating anything the size of the settings.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ..errors import ModelFileError
from ..estimators import MultinomialLogisticRegression
from ..predict.framing import ANCHORS, BOX_RULES, ImageFraming
from ..preprocessing import DTYPES, PixelScaler

__all__ = ["MAX_IMAGE_SIDE", "MAX_FEATURES", "MAX_CLASSES", "check_pipeline"]

#: Bounds on what a model may ask ``predict`` to build: 4096 pixels a side, 2**20 pixels, 10,000 classes.
MAX_IMAGE_SIDE = 4096
MAX_FEATURES = 2**20
MAX_CLASSES = 10_000
CLASSIFIERS = (MultinomialLogisticRegression, LogisticRegression)
_ALLOWED = "allowed only models written by `mnist-logreg run`"


class _Bad(Exception):
    """A failed check: the message names the step and the setting."""


def _number(value, name: str, *, low=None, high=None, positive=False) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (Real, np.floating, np.integer)):
        raise _Bad(f"{name} is {type(value).__name__} {value!r:.40}; allowed a number")
    value = float(value)
    if not math.isfinite(value) or (positive and value <= 0) or (low is not None and value < low) or \
            (high is not None and value > high):
        bounds = "> 0" if positive else f"in [{low}, {high}]"
        raise _Bad(f"{name} is {value!r}; allowed a finite number {bounds}")
    return value


def _shape(value, name: str) -> tuple[int, int]:
    if not isinstance(value, (tuple, list)) or len(value) != 2 or not all(
            isinstance(s, (Integral, np.integer)) and not isinstance(s, bool) for s in value):
        raise _Bad(f"{name} is {value!r:.60}; allowed (height, width), two whole numbers")
    h, w = int(value[0]), int(value[1])
    if not (1 <= h <= MAX_IMAGE_SIDE and 1 <= w <= MAX_IMAGE_SIDE and h * w <= MAX_FEATURES):
        raise _Bad(f"{name} is ({h}, {w}); allowed sides in [1, {MAX_IMAGE_SIDE}] and at most {MAX_FEATURES:,} pixels")
    return h, w


def _array(value, name: str, shape: tuple, kinds: str = "f") -> np.ndarray:
    if not isinstance(value, np.ndarray) or value.dtype.kind not in kinds or value.shape != shape:
        got = f"array {value.shape} {value.dtype}" if isinstance(value, np.ndarray) else type(value).__name__
        raise _Bad(f"{name} is {got}; allowed an array of shape {shape}")
    if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
        raise _Bad(f"{name} holds NaN or infinite values; allowed finite numbers")
    return value


def _check_framing(step: ImageFraming) -> tuple[int, int]:
    h, w = _shape(step.image_shape, "framing.image_shape")
    if getattr(step, "n_features_in_", None) != h * w:
        raise _Bad(f"framing.n_features_in_ is {getattr(step, 'n_features_in_', None)!r}; allowed {h * w} (= {h} x {w})")
    background = _number(step.background_, "framing.background_")
    ink = _number(step.ink_, "framing.ink_")
    if ink == background:
        raise _Bad(f"framing.ink_ equals framing.background_ ({ink}); allowed different levels")
    _number(step.ink_quantile_, "framing.ink_quantile_", low=1e-6, high=1.0)
    if step.box_rule_ not in BOX_RULES or step.anchor_ not in ANCHORS:
        raise _Bad(f"framing rules are {step.box_rule_!r}, {step.anchor_!r}; allowed {BOX_RULES} and {ANCHORS}")
    _number(step.box_long_, "framing.box_long_", low=1.0, high=max(h, w))
    box = step.box_shape_
    if not isinstance(box, (tuple, list)) or len(box) != 2:
        raise _Bad(f"framing.box_shape_ is {box!r:.60}; allowed two numbers")
    _number(box[0], "framing.box_shape_[0]", low=1.0, high=h)
    _number(box[1], "framing.box_shape_[1]", low=1.0, high=w)
    centre = step.centre_
    if not isinstance(centre, (tuple, list)) or len(centre) != 2:
        raise _Bad(f"framing.centre_ is {centre!r:.60}; allowed (row, column)")
    _number(centre[0], "framing.centre_[0]", low=0.0, high=h - 1.0)
    _number(centre[1], "framing.centre_[1]", low=0.0, high=w - 1.0)
    stroke = getattr(step, "stroke_", None)  # absent in files written before strokes were measured
    if stroke is not None and not (isinstance(stroke, (float, np.floating)) and math.isnan(stroke)):
        _number(stroke, "framing.stroke_", low=1e-6, high=1.0)
    return h, w


def _check_scaler(step: PixelScaler, shape: tuple[int, int]) -> None:
    if _shape(step.image_shape, "pixels.image_shape") != shape:
        raise _Bad(f"pixels.image_shape is {tuple(step.image_shape)}; allowed the framing's {shape}")
    _number(step.factor, "pixels.factor", positive=True)
    _number(step.pixel_max, "pixels.pixel_max", positive=True)
    if step.dtype not in DTYPES:
        raise _Bad(f"pixels.dtype is {step.dtype!r:.40}; allowed {', '.join(DTYPES)}")
    if getattr(step, "n_features_in_", None) != shape[0] * shape[1]:
        raise _Bad(f"pixels.n_features_in_ is {getattr(step, 'n_features_in_', None)!r}; allowed {shape[0] * shape[1]}")


def _check_standardize(step: StandardScaler, n: int) -> None:
    if getattr(step, "n_features_in_", None) != n:
        raise _Bad(f"standardize.n_features_in_ is {getattr(step, 'n_features_in_', None)!r}; allowed {n}")
    if step.with_mean:
        _array(getattr(step, "mean_", None), "standardize.mean_", (n,))
    if step.with_std:
        scale = _array(getattr(step, "scale_", None), "standardize.scale_", (n,))
        if np.any(scale <= 0):
            raise _Bad("standardize.scale_ holds values <= 0; allowed positive scales")


def _check_classifier(step, n: int) -> None:
    classes = getattr(step, "classes_", None)
    if not isinstance(classes, np.ndarray) or classes.ndim != 1 or classes.dtype.kind not in "iuUSbO":
        raise _Bad(f"logreg.classes_ is {type(classes).__name__}; allowed a 1-D array of labels")
    if not 2 <= len(classes) <= MAX_CLASSES:
        raise _Bad(f"logreg.classes_ has {len(classes)} labels; allowed 2 to {MAX_CLASSES}")
    if classes.dtype.kind == "O" and not all(isinstance(c, (str, int, np.integer)) for c in classes):
        raise _Bad("logreg.classes_ holds objects other than text and whole numbers; allowed labels")
    if len(set(classes.tolist())) != len(classes):
        raise _Bad("logreg.classes_ repeats a label; allowed distinct labels")
    k = 1 if len(classes) == 2 and isinstance(step, LogisticRegression) else len(classes)
    if getattr(step, "n_features_in_", None) != n:
        raise _Bad(f"logreg.n_features_in_ is {getattr(step, 'n_features_in_', None)!r}; allowed {n}")
    _array(getattr(step, "coef_", None), "logreg.coef_", (k, n))
    _array(getattr(step, "intercept_", None), "logreg.intercept_", (k,))


def check_pipeline(model, path) -> Pipeline:
    """``model`` if it is exactly framing -> pixels -> (standardize) -> logreg with sane settings.

    Raises
    ------
    ModelFileError
        Naming the file, the step and the setting that is not allowed.
    """
    if type(model) is not Pipeline:
        raise ModelFileError(f"model file {path}: holds a {type(model).__name__}, not an mnist-logreg pipeline; {_ALLOWED}")
    steps = model.steps
    names = [s[0] if isinstance(s, tuple) and len(s) == 2 else None for s in steps] \
        if isinstance(steps, list) else []
    layout = [("framing", ImageFraming), ("pixels", PixelScaler)] + \
        ([("standardize", StandardScaler)] if "standardize" in names else [])
    found = [(name, type(step)) for name, step in steps] if None not in names and names else []
    expected_names = [n for n, _ in layout] + ["logreg"]
    if found and found[0] == ("pixels", PixelScaler) and found[-1][1] in CLASSIFIERS:
        raise ModelFileError(f"model file {path}: written by an older mnist-logreg (no framing step); "
                             "rerun `mnist-logreg run` to write a model that predict can use")
    if names != expected_names or found[:-1] != layout or found[-1][1] not in CLASSIFIERS:
        got = ", ".join(f"{n}={t.__name__}" for n, t in found) or "(malformed steps)"
        want = " -> ".join(f"{n}={t.__name__}" for n, t in layout) + " -> logreg=" + \
            " or ".join(c.__name__ for c in CLASSIFIERS)
        raise ModelFileError(f"model file {path}: not an mnist-logreg pipeline (steps {got}); allowed {want}")
    if model.memory is not None:
        raise ModelFileError(f"model file {path}: pipeline memory is {model.memory!r:.60}; allowed None")
    try:
        shape = _check_framing(model.named_steps["framing"])
        _check_scaler(model.named_steps["pixels"], shape)
        n = shape[0] * shape[1]
        if "standardize" in model.named_steps:
            _check_standardize(model.named_steps["standardize"], n)
        _check_classifier(model.named_steps["logreg"], n)
    except _Bad as bad:
        raise ModelFileError(f"model file {path}: {bad}; {_ALLOWED}") from None
    except AttributeError as missing:
        raise ModelFileError(f"model file {path}: a step is not fitted ({missing}); {_ALLOWED}") from None
    return model
