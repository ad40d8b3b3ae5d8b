"""The typed run record: run.json's keys, the command's summary, and the ranking both share."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from mnist_logreg.io.record import Choice, RunRecord, Timings, top_rows

from test_report import CV, RESULTS, make_record


def test_run_json_keeps_the_keys_users_read(tmp_path):
    record = make_record()
    record.folder = tmp_path
    path = record.write()
    run = json.loads(path.read_text())
    assert path == tmp_path / "run.json"
    assert run["status"] == "complete"
    assert run["command"] == "mnist-logreg run --dataset digits --penalties l1,l2,none"
    assert run["seed"] == 0 and run["options"]["seed"] == 0
    assert run["options"]["penalties"] == "l1,l2,none" and run["options"]["train_size"] == "600"
    assert run["options"]["refit"] == "train" and run["options"]["report"] is True
    assert run["engine"] == {"name": "sklearn", "options": {"tol": 0.001}}
    assert run["dataset"]["source"] == "sklearn.datasets.load_digits"
    assert run["dataset"]["image_shape"] == [8, 8] and run["dataset"]["sha256"] == "0" * 64
    assert run["dataset"]["notes"] == ["8x8 images, 0..16"]
    assert run["split"] == {"n_train": 600, "n_test": 400, "classes": list(range(10)), "scale_factor": 0.0625}
    assert run["grid"] == {"n_rows": 13}
    assert run["versions"] == {"numpy": "2.0.0", "pandas": "2.2.0"}
    assert run["timings"] == {"load_s": 0.01, "sweep_s": 1.5, "refit_s": 0.1}
    # The chosen row: its position in results.csv, every column, and the rule that chose it.
    assert run["best"]["row"] == 9 and run["best"]["penalty"] == "l2" and run["best"]["C"] == 0.630957
    assert run["best"]["roc_auc_test"] == 0.9921 and run["best"]["select_by"] == "roc_auc_test"
    assert run["refit"]["accuracy"] == 0.9375 and run["refit"]["on"] == "train"


def test_a_running_record_has_no_result_keys_and_a_failure_is_one_line():
    record = make_record(status="running", best=None, refit=None)
    run = record.to_json()
    assert run["status"] == "running"
    assert not {"best", "refit", "finished", "error", "unconverged_rows"} & set(run)
    record.mark("failed", error=OSError("disk\n  full"))
    run = record.to_json()
    assert run["status"] == "failed" and run["error"] == "disk full" and "finished" not in run
    record.mark("complete", unconverged_rows=0)
    assert record.to_json()["unconverged_rows"] == 0 and record.finished


def test_timings_measure_even_when_the_step_fails():
    timings = Timings()
    with pytest.raises(RuntimeError):
        with timings.measure("sweep_s"):
            raise RuntimeError("stopped")
    assert timings.sweep_s is not None and timings.sweep_s >= 0
    assert list(timings.to_json()) == ["sweep_s"]
    with pytest.raises(ValueError, match="unknown step"):
        with timings.measure("lunch_s"):
            pass


def test_top_rows_follow_the_selection_score():
    results = RESULTS.assign(roc_auc_cv=CV)
    assert list(top_rows(results, "roc_auc_test", 3).index) == [9, 10, 4]
    assert list(top_rows(results, "roc_auc_cv", 3).index) == [4, 10, 9]
    with_nan = results.assign(roc_auc_cv=[np.nan] + CV[1:])
    assert top_rows(with_nan, "roc_auc_cv", 13).index[-1] == 0
    with pytest.raises(ValueError, match="roc_auc_cv"):
        top_rows(RESULTS, "roc_auc_cv")


def _summary(record: RunRecord, results: pd.DataFrame, quiet: bool = False) -> tuple[str, str]:
    out, err = Console(record=True, width=200), Console(record=True, width=200, stderr=True)
    with out.capture() as o, err.capture() as e:
        record.print_summary(results, out, err, quiet=quiet)
    return o.get(), e.get()


def test_summary_names_the_choice_the_refit_and_the_unconverged_rows(tmp_path):
    record = make_record(folder=tmp_path)
    record.unconverged_rows = 1
    out, err = _summary(record, RESULTS)
    assert "top 10 of 13 rows by test ROC AUC" in out
    assert "best: penalty=l2 l1_ratio=0 C=0.631 roc_auc_test=0.9921 (chosen by roc_auc_test)" in out
    assert "refit on train (600 images): accuracy 0.9375 on the held-out test set" in out
    assert f"results: {tmp_path}" in out and "report:" not in out
    assert "1 of 13 rows did not converge" in err
    quiet, _ = _summary(record, RESULTS, quiet=True)
    assert "top 10" not in quiet and "best: penalty=l2" in quiet


def test_summary_under_cv_ranks_and_reports_by_cv():
    results = RESULTS.assign(roc_auc_cv=CV, roc_auc_cv_std=0.002)
    out, _ = _summary(make_record(results, "roc_auc_cv"), results)
    assert "top 10 of 13 rows by CV ROC AUC" in out
    assert "best: penalty=l1 l1_ratio=1 C=2.512 roc_auc_cv=0.9931 roc_auc_test=0.9912 (chosen by roc_auc_cv)" in out
    lines = [line for line in out.splitlines() if line.strip().startswith(("l1 ", "l2 ", "none "))]
    assert lines[0].split()[:3] == ["l1", "1", "2.51"] and "99.31%" in lines[0]
    assert lines[1].split()[:3] == ["l2", "0", "2.51"]


def test_choice_of_a_row_reads_its_columns():
    choice = Choice.of(RESULTS, 4, "roc_auc_test")
    assert (choice.penalty, choice.l1_ratio, choice.C) == ("l1", 1.0, 2.51189)
    assert choice.score("roc_auc_test") == 0.9912 and choice.score("roc_auc_cv") is None
    assert choice.to_json()["row"] == 4 and choice.to_json()["converged"] is True


def test_under_repeats_the_top_rows_are_grid_points_ranked_by_their_means():
    two = pd.concat([RESULTS.assign(repeat=42), RESULTS.assign(repeat=43)], ignore_index=True)
    # The second split moves l1 at C=2.5 (rows 4 and 17) above l2 at C=0.63 (rows 9 and 22) on average.
    two.loc[17, "roc_auc_test"] = 0.9990
    two.loc[22, "converged"] = False
    top = top_rows(two, "roc_auc_test", 3)
    assert list(top.index) == [4, 9, 10]  # the positions of the first repeat, as best.json names them
    assert top.loc[4, "roc_auc_test"] == pytest.approx((0.9912 + 0.9990) / 2)
    assert not top.loc[9, "converged"]
    out, _ = _summary(make_record(two), two)
    assert "top 10 of 13 rows by test ROC AUC (means over 2 splits)" in out
