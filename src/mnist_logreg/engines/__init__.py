"""Engines by name. Each is imported only when asked for, so optional dependencies stay optional."""

from __future__ import annotations

import inspect
from importlib import import_module

from ..errors import UsageError
from .base import Engine, FitResult

__all__ = ["ENGINES", "DEFAULT_ENGINE", "get_engine", "Engine", "FitResult"]

#: name -> "module:class"
ENGINES = {
    "numpy": "mnist_logreg.engines.numpy:NumpyEngine",
    "sklearn": "mnist_logreg.engines.sklearn:SklearnEngine",
}
DEFAULT_ENGINE = "numpy"


def get_engine(name: str, **options) -> Engine:
    """Instantiate the engine called ``name`` with its options (``tol``, ``max_iter``, ``n_jobs``...).

    Options an engine does not take are dropped, so callers can pass the union.
    """
    if name not in ENGINES:
        raise UsageError(f"--engine: unknown engine {name!r}; allowed {', '.join(ENGINES)}")
    module_name, class_name = ENGINES[name].split(":")
    cls = getattr(import_module(module_name), class_name)
    accepted = inspect.signature(cls.__init__).parameters
    return cls(**{k: v for k, v in options.items() if k in accepted and v is not None})
