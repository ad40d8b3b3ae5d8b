"""mnist-logreg: multinomial logistic regression over a grid of penalties x C on MNIST-like images.

The notebook workflow in a few lines::

    import mnist_logreg as ml
    ds = ml.load_dataset("mnist")
    split = ml.split_dataset(ds, 1500, 1000, seed=42)
    sweep = ml.run_sweep(split, ml.make_grid("l1,l2", "1e-3:1e1:25"), ml.get_engine("numpy"))
    best = ml.select_best(sweep.table)               # sweep.table is a pandas DataFrame
    model, info = ml.refit_best(sweep.rows[best], ds, split, engine=ml.get_engine("numpy"))

or everything at once, files and report included: ``ml.run_experiment(ml.RunConfig(dataset="digits"))``.
Names are imported on first use, so ``import mnist_logreg`` stays quick. No export shares its name
with a submodule: importing the submodule would rebind the package attribute to the module (the
objective function is ``mnist_logreg.objective.objective``).
"""

from __future__ import annotations

from importlib import import_module, metadata

try:
    __version__ = metadata.version("mnist-logreg")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

_EXPORTS = {
    "load_dataset": "data", "list_sources": "data", "read_idx": "data", "Dataset": "data.dataset",
    "split_dataset": "data.split", "Split": "data.split",
    "make_grid": "plan.grid", "GridPoint": "plan.grid", "parse_C": "plan.grid",
    "get_engine": "engines", "ENGINES": "engines", "Engine": "engines", "FitResult": "engines",
    "run_sweep": "plan.sweep", "SweepResult": "plan.sweep", "make_executor": "plan.executors",
    "score_fit": "metrics", "roc_auc_ovr": "metrics",
    "select_best": "select", "refit_best": "select", "pixel_space_weights": "select",
    "run_experiment": "workflow", "RunConfig": "config", "RunOutcome": "workflow",
    "load_model": "io.modelfile", "save_model": "io.modelfile",
    "predict_images": "predict", "label_images": "predict", "read_image": "predict", "ImageFraming": "predict",
    "write_report": "report", "render_report": "report",
    "MultinomialLogisticRegression": "estimators", "MultinomialLogisticPath": "estimators",
    "MnistLogregError": "errors", "UsageError": "errors", "DataError": "errors",
}
__all__ = sorted(_EXPORTS) + ["figures", "__version__"]


def __getattr__(name: str):
    if name == "figures":
        return import_module(".report.figures", __name__)
    if name in _EXPORTS:
        value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mnist_logreg' has no attribute {name!r}")


def __dir__():
    return __all__
