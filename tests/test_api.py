"""The Python API as the README shows it, on real data."""

from pathlib import Path

import numpy as np
import pandas as pd

import mnist_logreg as ml

REPO = Path(__file__).resolve().parents[1]


def test_readme_workflow_in_a_few_lines():
    ds = ml.load_dataset("digits")
    split = ml.split_dataset(ds, 500, 300, seed=42)
    sweep = ml.run_sweep(split, ml.make_grid("l1,l2", "1e-2:1e1:4"), ml.get_engine("numpy"))
    assert isinstance(sweep.table, pd.DataFrame) and len(sweep.table) == 8
    best = ml.select_best(sweep.table)
    model, info = ml.refit_best(sweep.rows[best], ds, split, engine=ml.get_engine("numpy"))
    assert info["accuracy_test"] > 0.9
    assert np.mean(model.predict(split.X_test_raw) == split.y_test) == info["accuracy_test"]
    figure = ml.figures.weight_images(ml.pixel_space_weights(model), split.image_shape, split.classes)
    assert len([ax for ax in figure.axes if ax.images]) == 10


def test_run_experiment_writes_everything(tmp_path):
    outcome = ml.run_experiment(ml.RunConfig(dataset="digits", C="0.1,1", train_size=400, test_size=300,
                                             out=str(tmp_path / "run")))
    assert outcome.folder == tmp_path / "run" and (outcome.folder / "report.html").is_file()
    assert outcome.best["roc_auc_test"] == outcome.table.roc_auc_test.max()


def test_version_is_the_installed_distributions_and_the_projects():
    import tomllib
    from importlib import metadata

    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert ml.__version__ == metadata.version("mnist-logreg") == declared


def test_every_name_the_readme_uses_is_exported_and_resolves():
    """The README's ``ml.NAME`` calls are in dir(ml); every public name resolves to a real object."""
    import re

    readme = (REPO / "README.md").read_text()
    used = set(re.findall(r"\bml\.([A-Za-z_]\w*)", readme))
    assert {"load_dataset", "run_sweep", "run_experiment", "RunConfig", "figures"} <= used
    assert used <= set(dir(ml)), used - set(dir(ml))
    for name in dir(ml):
        value = getattr(ml, name)
        assert value is not None, name
        if name not in ("figures", "__version__"):
            assert getattr(value, "__name__", name) == name, (name, value)
    assert "_EXPORTS" not in dir(ml) and "import_module" not in dir(ml)
