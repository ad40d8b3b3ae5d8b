"""examples/classic-exercise.ipynb runs top to bottom in a fresh kernel and shows tables and figures."""

import json
import sys
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "classic-exercise.ipynb"


@pytest.fixture
def kernel_name(tmp_path, monkeypatch):
    """A kernel spec that runs this interpreter (the project's venv), whatever kernels the machine has."""
    pytest.importorskip("ipykernel", reason="the test extra installs ipykernel")
    spec = tmp_path / "jupyter" / "kernels" / "mnist-logreg-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "mnist-logreg (test)", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return "mnist-logreg-test"


def test_the_notebook_runs_and_shows_tables_and_figures(kernel_name, tmp_path):
    nbformat = pytest.importorskip("nbformat", reason="the test extra installs nbformat")
    nbclient = pytest.importorskip("nbclient", reason="the test extra installs nbclient")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, kernel_name=kernel_name, timeout=600,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any failure
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    kinds = [kind for o in outputs for kind in o.get("data", {})]
    assert kinds.count("image/png") >= 6, kinds
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert sum("<table" in h for h in html) >= 5
    assert any("SweepResult" in h for h in html) and any("RunOutcome" in h for h in html)
    assert not [o for o in outputs if o.get("output_type") == "error" or o.get("name") == "stderr"
                and ("Traceback" in o.get("text", "") or "\x1b[" in o.get("text", ""))]
    # Short cells with prose between them.
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(len(c.source.splitlines()) <= 15 for c in code)
    assert sum(c.cell_type == "markdown" for c in notebook.cells) >= len(code) // 2
