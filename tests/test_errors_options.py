"""Issue 13, options, environment and paths: refused before any data is loaded or any folder is made.

Each case runs the installed command; a refusal is exit 2, one line naming the option (or variable),
what was received and what is allowed, and leaves no output folder behind.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cli_helpers import QUICK, assert_one_line_error, run_cli

# A data set that would fail to load: a refusal that names an option proves the option was checked first.
NOWHERE = ["--dataset", "npz:/nonexistent/never-loaded.npz"]


@pytest.mark.parametrize("option,value,needles", [
    ("--seed", "-1", ["--seed", "-1", "4294967295"]),
    ("--seed", str(2**40), ["--seed", str(2**40)]),
    ("--seed", "2**40", ["--seed", "2**40"]),
    ("--train-size", "inf", ["--train-size", "inf"]),
    ("--train-size", "nan", ["--train-size", "nan"]),
    ("--test-size", "-inf", ["--test-size", "-inf"]),
    ("--train-size", "1e400", ["--train-size", "1e400"]),
    ("--tol", "inf", ["--tol", "inf"]),
    ("--tol", "nan", ["--tol", "nan"]),
    ("--max-iter", "0", ["--max-iter", "0"]),
    ("--jobs", "0", ["--jobs", "0"]),
    ("--jobs", "-2", ["--jobs", "-2"]),
    ("--cv", "-3", ["--cv", "-3"]),
])
def test_out_of_range_numbers_are_usage_errors(tmp_path, option, value, needles):
    result = run_cli("run", *NOWHERE, f"{option}={value}", "--out", tmp_path / "never")
    assert_one_line_error(result, 2, *needles)
    assert not (tmp_path / "never").exists()


@pytest.mark.parametrize("args, needles", [
    (["--C", "1e200"], ["--C", "1e200", "(0, 1e+06]", "--penalties none"]),
    (["--C", "1e-3:1e100:5"], ["--C", "1e100", "(0, 1e+06]"]),
    (["--C", "0.1,1,1"], ["--C", "0.1,1,1", "C = 1 twice", "at most once"]),
    (["--C", "1,1.0"], ["--C", "1,1.0", "C = 1 twice", "at most once"]),
    (["--penalties", "elasticnet", "--l1-ratios", "0,0,1"], ["--l1-ratios", "0,0,1", "l1_ratio = 0 twice", "at most once"]),
])
def test_huge_or_repeated_grid_values_are_refused_before_loading(tmp_path, args, needles):
    """QA: --C 1e200 ended in an internal ZeroDivisionError (1e100: a refit running for hours), and a C or
    l1-ratio given twice made duplicate rows; both refused like --penalties l1,l1."""
    result = run_cli("run", *NOWHERE, *args, "--out", tmp_path / "never")
    assert_one_line_error(result, 2, *needles)
    assert not (tmp_path / "never").exists()


def test_more_folds_than_training_images_is_refused_before_loading(tmp_path):
    result = run_cli("run", *NOWHERE, "--select-by", "roc_auc_cv", "--cv", "10000", "--out", tmp_path / "never")
    assert_one_line_error(result, 2, "--cv", "10000", "1500")
    assert not (tmp_path / "never").exists()


def test_more_folds_than_a_class_has_is_refused_before_the_folder_exists(tmp_path):
    """Only the data can tell (about 30 digits per class in 300): still no folder, and the fix then runs."""
    out = tmp_path / "run"
    args = ["--dataset", "digits", "--train-size", "300", "--test-size", "200", *QUICK, "--select-by", "roc_auc_cv"]
    assert_one_line_error(run_cli("run", *args, "--cv", "100", "--out", out), 2, "--cv", "100")
    assert not out.exists()
    fixed = run_cli("run", *args, "--cv", "3", "--out", out)
    assert fixed.returncode == 0, fixed.stderr


def test_fractions_summing_above_one(tmp_path):
    result = run_cli("run", *NOWHERE, "--train-size", "0.7", "--test-size", "0.5", "--out", tmp_path / "never")
    assert_one_line_error(result, 2, "--train-size", "--test-size", "1.2")


def test_l1_ratios_without_a_mixing_penalty_is_refused(tmp_path):
    """Decided: refused (exit 2), not ignored; even the default value, when given explicitly."""
    for value in ("0.3", "0.5"):
        result = run_cli("run", *NOWHERE, "--penalties", "l1,l2", "--l1-ratios", value, "--out", tmp_path / "never")
        assert_one_line_error(result, 2, "--l1-ratios", value, "elasticnet")
    # With elasticnet it is what the ratios are for: the next complaint is the data, not the option.
    result = run_cli("run", *NOWHERE, "--penalties", "l1,elasticnet", "--l1-ratios", "0.3")
    assert_one_line_error(result, 2, "never-loaded.npz")


# -- --out -----------------------------------------------------------------------------------------
def test_empty_out_is_refused(tmp_path):
    result = run_cli("run", *NOWHERE, "--out", "", cwd=tmp_path)
    assert_one_line_error(result, 2, "--out", "''")
    assert list(tmp_path.iterdir()) == []


def test_out_a_symlink_loop(tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    assert_one_line_error(run_cli("run", *NOWHERE, "--out", loop), 2, "--out", str(loop), "loop")
    nested = tmp_path / "a"
    nested.symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(nested)
    assert_one_line_error(run_cli("run", *NOWHERE, "--out", nested / "run"), 2, "--out", "loops")


def test_out_a_dangling_link(tmp_path):
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "gone")
    assert_one_line_error(run_cli("run", *NOWHERE, "--out", link), 2, "--out", "link", "does not exist")
    assert not (tmp_path / "gone").exists()


def test_out_under_a_file(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    for out in (tmp_path / "notes.txt" / "run", tmp_path / "notes.txt" / "a" / "b"):
        assert_one_line_error(run_cli("run", *NOWHERE, "--out", out), 2, "--out", "notes.txt")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_out_a_file(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    assert_one_line_error(run_cli("run", *NOWHERE, "--out", tmp_path / "notes.txt"), 2, "--out", "notes.txt")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_default_runs_folder_that_is_a_file(tmp_path):
    (tmp_path / "runs").write_text("not a folder")
    assert_one_line_error(run_cli("run", *NOWHERE, cwd=tmp_path), 2, "--out", "runs")


def _in_mount_namespace(script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run ``script`` in a private mount namespace (mounts vanish with it); skip where not permitted."""
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("needs unshare -m (root with CAP_SYS_ADMIN) to mount a test file system")
    return subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)


def test_out_on_a_read_only_file_system(tmp_path):
    from cli_helpers import EXE

    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "keep.txt").write_text("mine")
    script = (f"mount --bind {ro} {ro} && mount -o remount,bind,ro {ro} && "
              f"{EXE} run {' '.join(NOWHERE)} --out {ro}/run; echo rc=$? >&2; "
              f"{EXE} run {' '.join(NOWHERE)} --out {ro} --force")
    result = _in_mount_namespace(script, tmp_path)
    lines = result.stderr.splitlines()
    assert "rc=2" in lines and "internal error" not in result.stderr and "Traceback" not in result.stderr
    first, second = [line for line in lines if line.startswith("mnist-logreg")]
    assert "--out" in first and "read-only" in first
    assert "--out" in second and "read-only" in second
    assert result.returncode == 2
    assert (ro / "keep.txt").read_text() == "mine"


# -- environment -----------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["inf", "-5", "0", "lots", "1.5", "nan"])
def test_max_memory_malformed_names_the_variable(tmp_path, value):
    result = run_cli("run", *NOWHERE, "--out", tmp_path / "never", env={"MNIST_LOGREG_MAX_MEMORY": value})
    assert_one_line_error(result, 2, "MNIST_LOGREG_MAX_MEMORY", repr(value))


def test_max_memory_too_small_names_the_variable_and_the_bytes(tmp_path):
    result = run_cli("run", "--dataset", "digits", "--train-size", "300", "--test-size", "200", *QUICK,
                     "--out", tmp_path / "never", env={"MNIST_LOGREG_MAX_MEMORY": "1"})
    line = assert_one_line_error(result, 1, "MNIST_LOGREG_MAX_MEMORY=1", "1 byte")
    assert "0.0 GiB" not in line
    assert not (tmp_path / "never").exists()


def test_data_home_a_file_warns_and_still_falls_back_offline(tmp_path):
    """MNIST_LOGREG_HOME names a file: the cache is skipped with a warning naming the variable, and
    offline mnist still falls back to the 5,000 bundled digits (here OpenML is unreachable)."""
    home = tmp_path / "home"
    home.write_text("a file")
    out = tmp_path / "run"
    result = run_cli("run", "--penalties", "l2", "--C", "0.1", "--engine", "sklearn", "--no-report", "--quiet",
                     "--out", out, env={"MNIST_LOGREG_HOME": str(home), "no_proxy": "*",
                                        "https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"})
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert any("MNIST_LOGREG_HOME" in line and str(home) in line for line in warnings), result.stderr
    assert any("5,000" in line for line in warnings), result.stderr
    assert home.read_text() == "a file"
    assert (out / "results.csv").is_file()


def test_datasets_fetch_names_its_own_option(tmp_path):
    assert_one_line_error(run_cli("datasets", "--fetch", "bogus"), 2, "--fetch", "'bogus'")
    assert_one_line_error(run_cli("datasets", "--fetch", ""), 2, "--fetch", "''")
    assert_one_line_error(run_cli("datasets", "--fetch", "npz:"), 2, "--fetch")
    assert_one_line_error(run_cli("datasets", "--fetch", f"idx:{tmp_path / 'none'}"), 2, "--fetch", "none")


def test_datasets_fetch_with_data_home_a_file_names_the_variable(tmp_path):
    home = tmp_path / "home"
    home.write_text("a file")
    result = run_cli("datasets", "--fetch", "mnist", env={"MNIST_LOGREG_HOME": str(home)})
    assert_one_line_error(result, 2, "MNIST_LOGREG_HOME", str(home))
    assert home.read_text() == "a file"


@pytest.mark.parametrize("select_by", [[], ["--select-by", "roc_auc_test"]])
def test_cv_without_cross_validation_is_refused_not_ignored(tmp_path, select_by):
    """QA 8: --cv 7 with roc_auc_test ran no fold and still recorded "cv": 7; refused like --l1-ratios."""
    result = run_cli("run", *NOWHERE, "--cv", "7", *select_by, "--out", tmp_path / "never")
    assert_one_line_error(result, 2, "--cv", "7", "roc_auc_test", "allowed only with --select-by roc_auc_cv")
    assert not (tmp_path / "never").exists()


def test_cv_without_cross_validation_is_refused_in_python_too():
    from mnist_logreg.config import RunConfig
    from mnist_logreg.errors import UsageError

    with pytest.raises(UsageError, match="^--cv: received 7 but --select-by is roc_auc_test"):
        RunConfig(dataset="digits", cv=7).validate()
    RunConfig(dataset="digits", cv=7, select_by="roc_auc_cv", out=None).validate()  # used: accepted
    RunConfig(dataset="digits").validate()  # the default 5 folds are not "given"
