"""run_experiment around the sweep: what run.json says when later steps fail, and resuming them."""

import json

import pandas as pd
import pytest
from mnist_logreg.report import build as reporting
from mnist_logreg.solvers.fit import PathFitter
from mnist_logreg.workflow import RunConfig, run_experiment


def config(out, **changes):
    return RunConfig(dataset="digits", C="0.1,1", train_size=300, test_size=200, out=str(out), **changes)


def test_a_failure_after_the_sweep_is_recorded_and_resume_does_not_refit(tmp_path, monkeypatch):
    out = tmp_path / "run"

    def broken_report(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(reporting, "build_report", broken_report)
    with pytest.raises(OSError):
        run_experiment(config(out))
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "failed" and "disk full" in run["error"]
    assert len(pd.read_csv(out / "results.csv")) == 4

    monkeypatch.undo()
    calls = []
    original = PathFitter.fit  # the solver layer under both the engine and the refit estimator

    def counting(self, X, y, n_classes, paths, starts=None):
        calls.append(sum(len(Cs) for _, Cs in paths))
        yield from original(self, X, y, n_classes, paths, starts)

    monkeypatch.setattr(PathFitter, "fit", counting)
    outcome = run_experiment(config(out, resume=True))
    assert calls == [1] and (out / "report.html").is_file()  # the refit of the chosen row only
    assert "l1, l2" in (out / "report.html").read_text()  # the protocol's penalties, joined once
    assert json.loads((out / "run.json").read_text())["status"] == "complete"
    assert not (out / ".partial").exists() and len(outcome.table) == 4
