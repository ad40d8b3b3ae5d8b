"""Issue 4's battery: each bad input gets a non-zero exit, one line, no traceback, and files intact.

Every case runs the installed ``mnist-logreg`` command in a subprocess, the way a user meets it.
"""

import json
import pickle
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio

from mnist_logreg.data import write_idx

from cli_helpers import EXE, QUICK, assert_one_line_error, run_cli, toy_images


@pytest.fixture
def idx_dir(tmp_path):
    X, y = toy_images()
    folder = tmp_path / "idx"
    folder.mkdir()
    write_idx(folder / "train-images-idx3-ubyte", X.reshape(-1, 4, 4))
    write_idx(folder / "train-labels-idx1-ubyte", y.astype(np.uint8))
    return folder


# -- data ----------------------------------------------------------------------------------------
def test_missing_folder(tmp_path):
    assert_one_line_error(run_cli("run", "--dataset", f"idx:{tmp_path / 'nowhere'}", *QUICK), None, "nowhere")
    # A run that fails before fitting leaves no empty runs/<time> folder behind.
    assert not Path("runs").exists()


def test_idx_wrong_magic(idx_dir):
    path = idx_dir / "train-images-idx3-ubyte"
    data = bytearray(path.read_bytes())
    data[2] = 0x42
    path.write_bytes(bytes(data))
    assert_one_line_error(run_cli("run", "--dataset", f"idx:{idx_dir}", *QUICK), 1, "train-images-idx3-ubyte")


def test_idx_header_disagrees_with_size(idx_dir):
    path = idx_dir / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-5])
    assert_one_line_error(run_cli("run", "--dataset", f"idx:{idx_dir}", *QUICK), 1, "train-images-idx3-ubyte")


def test_idx_count_mismatch(idx_dir):
    write_idx(idx_dir / "train-labels-idx1-ubyte", np.zeros(59, dtype=np.uint8))
    line = assert_one_line_error(run_cli("run", "--dataset", f"idx:{idx_dir}", *QUICK), 1)
    assert "60" in line and "59" in line


def test_npz_without_expected_arrays(tmp_path):
    np.savez(tmp_path / "bad.npz", images=np.zeros((4, 4)))
    line = assert_one_line_error(run_cli("run", "--dataset", f"npz:{tmp_path / 'bad.npz'}", *QUICK), 1, "images")
    assert "X" in line


def test_nan_values_are_counted_and_located(tmp_path):
    X, y = toy_images()
    X = X.astype(float)
    X[5, 3] = np.nan
    X[7, 0] = np.inf
    np.savez(tmp_path / "nan.npz", X=X, y=y)
    line = assert_one_line_error(run_cli("run", "--dataset", f"npz:{tmp_path / 'nan.npz'}", *QUICK), 1)
    assert "1 NaN" in line and "1 infinite" in line and "row 5" in line


def test_fewer_than_two_classes(tmp_path):
    X, _ = toy_images()
    np.savez(tmp_path / "one.npz", X=X, y=np.zeros(len(X), dtype=int))
    assert_one_line_error(run_cli("run", "--dataset", f"npz:{tmp_path / 'one.npz'}", "--train-size", "30",
                                  "--test-size", "20", *QUICK), 1, "2 classes")


def test_class_with_too_few_samples(tmp_path):
    X, y = toy_images()
    y[0] = 9
    np.savez(tmp_path / "rare.npz", X=X, y=y)
    assert_one_line_error(run_cli("run", "--dataset", f"npz:{tmp_path / 'rare.npz'}", "--train-size", "30",
                                  "--test-size", "20", *QUICK), 1, "class 9")


def test_train_and_test_of_different_widths(tmp_path):
    X, y = toy_images()
    np.savez(tmp_path / "widths.npz", X_train=X, y_train=y, X_test=X[:, :9], y_test=y)
    assert_one_line_error(run_cli("run", "--dataset", f"npz:{tmp_path / 'widths.npz'}", *QUICK), 1, "X_test")


def test_sizes_larger_than_the_data(idx_dir):
    assert_one_line_error(run_cli("run", "--dataset", f"idx:{idx_dir}", "--train-size", "50", "--test-size", "20",
                                  *QUICK), 2, "--train-size", "60")


def test_memory_estimate_above_what_is_available(idx_dir):
    result = run_cli("run", "--dataset", f"idx:{idx_dir}", "--train-size", "30", "--test-size", "20", *QUICK,
                     env={"MNIST_LOGREG_MAX_MEMORY": "1000"})
    assert_one_line_error(result, 1, "memory", "float32")


# -- options -------------------------------------------------------------------------------------
@pytest.mark.parametrize("option,value,needle", [
    ("--C", "0", "--C"), ("--C", "-1:1:3", "-1"), ("--penalties", "lasso", "--penalties"),
    ("--engine", "cuda9", "--engine"), ("--dataset", "cifar", "--dataset"), ("--dtype", "float16", "--dtype"),
    ("--select-by", "accuracy", "--select-by"), ("--refit", "twice", "--refit"), ("--cv", "1", "--cv"),
    ("--train-size", "abc", "--train-size"), ("--scale", "max", "--scale"), ("--l1-ratios", "2", "--l1-ratios"),
    ("--jobs", "x", "--jobs"),
])
def test_bad_option_values_are_usage_errors(tmp_path, option, value, needle):
    result = run_cli("run", f"{option}={value}", "--out", tmp_path / "never")
    assert_one_line_error(result, 2, needle, value.split(":")[0])
    assert not (tmp_path / "never").exists()


def test_unknown_option_is_one_line():
    assert_one_line_error(run_cli("run", "--colour", "red"), 2, "--colour")


def test_force_and_resume_together(tmp_path):
    assert_one_line_error(run_cli("run", "--force", "--resume", "--out", tmp_path), 2, "--force", "--resume")


def test_non_empty_out_is_refused_and_left_untouched(tmp_path):
    (tmp_path / "results.csv").write_text("last week's results\n")
    (tmp_path / "notes.txt").write_text("mine")
    result = run_cli("run", "--dataset", "digits", *QUICK, "--out", tmp_path)
    assert_one_line_error(result, 2, "--out", "--force")
    assert (tmp_path / "results.csv").read_text() == "last week's results\n"
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_force_keeps_old_results_when_the_new_data_is_bad(tmp_path):
    (tmp_path / "results.csv").write_text("last week's results\n")
    result = run_cli("run", "--dataset", f"npz:{tmp_path / 'missing.npz'}", *QUICK, "--out", tmp_path, "--force")
    assert_one_line_error(result, 2, "missing.npz")
    assert (tmp_path / "results.csv").read_text() == "last week's results\n"


def test_force_replaces_our_outputs_and_keeps_other_files(tmp_path):
    (tmp_path / "results.csv").write_text("old\n")
    (tmp_path / "notes.txt").write_text("mine")
    result = run_cli("run", "--dataset", "digits", *QUICK, "--train-size", "300", "--test-size", "200",
                     "--out", tmp_path, "--force")
    assert result.returncode == 0, result.stderr
    assert pd.read_csv(tmp_path / "results.csv").shape[0] == 1
    assert (tmp_path / "notes.txt").read_text() == "mine"


# -- predict -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "run"
    result = run_cli("run", "--dataset", "digits", *QUICK, "--train-size", "300", "--test-size", "200",
                     "--out", out)
    assert result.returncode == 0, result.stderr
    return out / "model.skops"


def test_predict_refuses_pickle(tmp_path, model_file):
    path = tmp_path / "model.skops"
    path.write_bytes(pickle.dumps({"a": 1}))
    assert_one_line_error(run_cli("predict", path, model_file), 1, "pickle")


class Foreign:
    pass


def test_predict_refuses_skops_with_foreign_types(tmp_path, model_file):
    path = tmp_path / "foreign.skops"
    sio.dump({"model": Foreign()}, path)
    assert_one_line_error(run_cli("predict", path, model_file), 1, "does not trust")


def test_predict_refuses_a_skops_file_that_is_not_our_pipeline(tmp_path, model_file):
    from sklearn.linear_model import LogisticRegression

    path = tmp_path / "plain.skops"
    sio.dump(LogisticRegression(), path)
    assert_one_line_error(run_cli("predict", path, model_file), 1, "not an mnist-logreg pipeline")


def test_predict_refuses_missing_model_and_broken_zip(tmp_path, model_file):
    assert_one_line_error(run_cli("predict", tmp_path / "none.skops", model_file), 1, "not found")
    with zipfile.ZipFile(tmp_path / "junk.skops", "w") as archive:
        archive.writestr("schema.json", "{not json")
    assert_one_line_error(run_cli("predict", tmp_path / "junk.skops", model_file), 1, "junk.skops")


def test_predict_refuses_unreadable_and_unusable_images(tmp_path, model_file):
    (tmp_path / "fake.png").write_bytes(b"not a png at all")
    assert_one_line_error(run_cli("predict", model_file, tmp_path / "fake.png"), 1, "fake.png")
    np.save(tmp_path / "tiny.npy", np.ones((1, 1)))
    assert_one_line_error(run_cli("predict", model_file, tmp_path / "tiny.npy"), 1, "(1, 1)")
    (tmp_path / "model.txt").write_text("x")
    assert_one_line_error(run_cli("predict", model_file, tmp_path / "model.txt"), 1, ".txt")
    assert_one_line_error(run_cli("predict", model_file, tmp_path / "missing.png"), 1, "missing.png")


# -- interruption and resume ---------------------------------------------------------------------
SWEEP = ["--dataset", "digits", "--engine", "sklearn", "--penalties", "l1,l2", "--C", "1e-2:1e1:12",
         "--train-size", "600", "--test-size", "300", "--no-report", "--quiet", "--jobs", "1"]


def _wait_for_rows(path: Path, n: int, process, limit=240):
    start = time.time()
    while time.time() - start < limit and process.poll() is None:
        if path.exists() and len(path.read_text().splitlines()) > n:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_keeps_rows_and_resume_equals_a_fresh_run(tmp_path, sig):
    out = tmp_path / "run"
    # A shell that starts the test suite in the background (``make test &``) ignores SIGINT, and a
    # child inherits that: give the command the disposition of a terminal's foreground job.
    process = subprocess.Popen([EXE, "run", *SWEEP, "--out", str(out)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert _wait_for_rows(out / "results.csv", 3, process), "sweep never reached 3 rows"
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "--resume" in stderr
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "interrupted"
    kept = pd.read_csv(out / "results.csv")
    assert 3 <= len(kept) < 24

    changed = run_cli("run", *SWEEP, "--seed", "7", "--out", out, "--resume")
    assert_one_line_error(changed, 2, "seed")
    resumed = run_cli("run", *SWEEP, "--out", out, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    fresh = run_cli("run", *SWEEP, "--out", tmp_path / "fresh")
    assert fresh.returncode == 0, fresh.stderr
    a = pd.read_csv(out / "results.csv").drop(columns="fit_seconds")
    b = pd.read_csv(tmp_path / "fresh" / "results.csv").drop(columns="fit_seconds")
    pd.testing.assert_frame_equal(a, b)
    assert json.loads((out / "run.json").read_text())["status"] == "complete"
    # The rows kept before the interruption were not refitted: a refit would time itself anew.
    key = ["penalty", "l1_ratio", "C"]
    after = pd.read_csv(out / "results.csv").merge(kept[key + ["fit_seconds"]], on=key, suffixes=("", "_kept"))
    assert len(after) == len(kept)
    assert (after.fit_seconds == after.fit_seconds_kept).all()


def test_ctrl_c_reaches_workers_and_still_prints_one_line(tmp_path):
    """A terminal's Ctrl-C goes to the whole process group, worker processes included: the command
    still says one line, exits 130, keeps its rows and leaves no worker behind."""
    import os

    out = tmp_path / "run"
    sweep = ["--dataset", "digits", "--penalties", "l1,l2,elasticnet", "--l1-ratios", "0.5", "--C", "1e-2:1e2:30",
             "--train-size", "1000", "--test-size", "500", "--no-report", "--quiet", "--jobs", "2"]
    process = subprocess.Popen([EXE, "run", *sweep, "--out", str(out)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert _wait_for_rows(out / "results.csv", 1, process), "sweep never reached a row"
    workers = subprocess.run(["pgrep", "-s", str(process.pid)], capture_output=True, text=True).stdout.split()
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    if process.returncode == 0:
        pytest.skip("the sweep finished before it could be interrupted")
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert stderr.strip().splitlines()[-1].startswith("mnist-logreg: interrupted:"), stderr
    assert len(workers) > 1  # the command and its workers were in the group
    deadline = time.time() + 30
    while time.time() < deadline and any(Path(f"/proc/{pid}").exists() for pid in workers):
        time.sleep(0.2)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "a worker outlived the command"


def test_sigterm_after_the_sweep_stops_the_refit_like_ctrl_c(tmp_path):
    """SIGTERM while the best row is refitted: exit 130, run.json "interrupted", no worker left
    (the default action once killed the driver alone, leaving run.json "running")."""
    out = tmp_path / "run"
    sweep = ["--dataset", "mnist-5k", "--train-size", "1500", "--test-size", "500", "--C", "1e-2:1e1:9",
             "--jobs", "2", "--quiet"]
    process = subprocess.Popen([EXE, "run", *sweep, "--out", str(out)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert _wait_for_rows(out / "results.csv", 18, process), "sweep never finished"
    workers = subprocess.run(["pgrep", "-s", str(process.pid)], capture_output=True, text=True).stdout.split()
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    if process.returncode == 0:
        pytest.skip("the run finished before it could be stopped")
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "--resume" in stderr, stderr
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"
    deadline = time.time() + 30
    while time.time() < deadline and any(Path(f"/proc/{pid}").exists() for pid in workers):
        time.sleep(0.2)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "a worker outlived the command"


def test_resume_refuses_other_data(tmp_path, idx_dir):
    out = tmp_path / "run"
    args = ["--dataset", f"idx:{idx_dir}", "--train-size", "30", "--test-size", "20", *QUICK, "--out", out]
    assert run_cli("run", *args).returncode == 0
    X, y = toy_images(seed=1)
    write_idx(idx_dir / "train-images-idx3-ubyte", X.reshape(-1, 4, 4))
    assert_one_line_error(run_cli("run", *args, "--resume"), 2, "sha256")
