"""Through the command: repeats equal separate seeds, an interrupted run resumes to the same table,
and --scheduler without Dask is refused in one line."""

import json
import signal
import subprocess
import sys
import time
from importlib.util import find_spec

import numpy as np
import pandas as pd
import pytest

from mnist_logreg.cli import main

VARIABLE = ["fit_seconds"]
SMALL = ["run", "--dataset", "digits", "--train-size", "300", "--test-size", "200", "--C", "0.1,1",
         "--no-report", "--quiet", "--jobs", "1"]


def table(folder):
    return pd.read_csv(folder / "results.csv").drop(columns=VARIABLE)


def test_repeats_equal_runs_with_consecutive_seeds(tmp_path):
    assert main([*SMALL, "--repeats", "3", "--seed", "42", "--out", str(tmp_path / "repeats")]) == 0
    for seed in (42, 43, 44):
        assert main([*SMALL, "--seed", str(seed), "--out", str(tmp_path / f"seed{seed}")]) == 0
    separate = pd.concat([table(tmp_path / f"seed{seed}") for seed in (42, 43, 44)], ignore_index=True)
    repeats = table(tmp_path / "repeats")
    assert repeats.repeat.tolist() == [42] * 4 + [43] * 4 + [44] * 4
    pd.testing.assert_frame_equal(repeats, separate, rtol=1e-9)
    # Selection by the mean over the three splits, computed here from the three separate runs.
    by_row = np.array([table(tmp_path / f"seed{seed}").roc_auc_test.to_numpy() for seed in (42, 43, 44)])
    best = json.loads((tmp_path / "repeats" / "best.json").read_text())
    chosen = int(np.argmax(by_row.mean(axis=0)))
    assert best["row"] == chosen and best["repeats"] == 3
    assert best["select_mean"] == pytest.approx(by_row[:, chosen].mean(), rel=1e-12)
    assert best["select_std"] == pytest.approx(by_row[:, chosen].std(), rel=1e-9)


def test_sigterm_keeps_finished_tasks_and_resume_on_a_cluster_equals_an_uninterrupted_run(tmp_path):
    options = ["run", "--dataset", "digits", "--train-size", "1000", "--test-size", "300", "--C", "1e-3:1e1:9",
               "--select-by", "roc_auc_cv", "--cv", "4", "--no-report", "--quiet", "--jobs", "2"]
    out = tmp_path / "stopped"
    process = subprocess.Popen([sys.executable, "-m", "mnist_logreg", *options, "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(3000):  # until the first task is checkpointed
            if list((out / ".partial").glob("*.npz")) if (out / ".partial").is_dir() else []:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "--resume" in stderr
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "interrupted"
    kept = len(list((out / ".partial").glob("*.npz")))
    assert 1 <= kept < 10  # 2 paths x (4 folds + main fit): some finished, not all
    # The rest of the plan runs on a Dask cluster when there is one, else locally: the same table either way.
    finish = ["--scheduler", "local:2"] if find_spec("distributed") else ["--jobs", "1"]
    assert main([*options, *finish, "--resume", "--out", str(out)]) == 0
    assert main([*options[:-2], "--jobs", "1", "--out", str(tmp_path / "fresh")]) == 0
    pd.testing.assert_frame_equal(table(out), table(tmp_path / "fresh"), rtol=1e-9)
    assert json.loads((out / "run.json").read_text())["status"] == "complete"


def test_scheduler_without_dask_is_refused_in_one_line(monkeypatch, capsys):
    import mnist_logreg.choices as choices

    monkeypatch.setattr(choices, "find_spec", lambda name: None)
    assert main([*SMALL, "--scheduler", "local:2"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--scheduler" in err and "pip install 'mnist-logreg[dask]'" in err


@pytest.mark.parametrize("value", ["local:0", "not an address", "local:two"])
def test_bad_scheduler_is_refused(value, capsys):
    assert main([*SMALL, "--scheduler", value]) == 2
    assert "--scheduler" in capsys.readouterr().err
