"""The seed notebook's exercise on the 10,000 real MNIST test digits, end to end through the CLI."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from mnist_logreg.cli import main
from mnist_logreg.data import load_dataset
from mnist_logreg.objective import objective
from mnist_logreg.data.split import split_dataset


@pytest.fixture(scope="module")
def notebook_run(t10k_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("notebook") / "run"
    assert main(["run", "--dataset", f"idx:{t10k_dir}", "--out", str(out), "--quiet"]) == 0
    return out


def test_fifty_rows_and_the_notebooks_findings(notebook_run):
    table = pd.read_csv(notebook_run / "results.csv")
    assert len(table) == 50 and table.converged.all()
    strongest_l1 = table[(table.penalty == "l1") & np.isclose(table.C, 1e-3)].iloc[0]
    assert strongest_l1.roc_auc_test == 0.5 and strongest_l1.nonzero_fraction == 0.0
    assert table.roc_auc_test.max() >= 0.985
    with np.load(notebook_run / "path.npz") as path:
        assert not path["coef"][table.index[(table.penalty == "l1") & np.isclose(table.C, 1e-3)][0]].any()


def test_objective_column_matches_a_recomputation_from_path_npz(notebook_run, t10k_dir):
    table = pd.read_csv(notebook_run / "results.csv")
    split = split_dataset(load_dataset(f"idx:{t10k_dir}"), 1500, 1000, seed=42)
    with np.load(notebook_run / "path.npz") as path:
        for i, row in table.iterrows():
            value = objective(split.X_train, split.y_train_codes, path["coef"][i], path["intercept"][i],
                              l1_ratio=row.l1_ratio, C=row.C)
            assert abs(value - row.objective) <= 1e-6


def test_report_embeds_figures_and_loads_nothing(notebook_run):
    html = (notebook_run / "report.html").read_text()
    images = re.findall(r'<img[^>]+src="([^"]+)"', html)
    assert len(images) >= 7 and all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r'(src|href)="(https?:)?//', html) and "url(http" not in html
    run = json.loads((notebook_run / "run.json").read_text())
    assert run["status"] == "complete" and run["timings"]["report_s"] > 0
    assert run["dataset"]["n_samples"] == 10_000
