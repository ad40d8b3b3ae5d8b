"""What the command says: what an interrupted run kept, --resume without --out, the environment
variables checked by every command, the datasets listing's paths, and smaller wording.

A refusal is what a user meets at the command line: exit 2, one line naming what was wrong, what
was received and what is allowed, no traceback.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from mnist_logreg.workflow import Interrupted, RunConfig, run_experiment

from cli_helpers import QUICK, assert_one_line_error, run_cli

DIGITS = ["--dataset", "digits", "--train-size", "300", "--test-size", "200"]


# -- (4) an interrupted cross-validated run counts the fits it keeps -------------------------------
def test_interrupt_with_cv_counts_the_fits_kept_for_resume(tmp_path):
    out = tmp_path / "run"
    config = RunConfig(dataset="digits", C="0.01,0.1,1", penalties="l1,l2", train_size=300, test_size=200,
                       select_by="roc_auc_cv", cv=2, jobs=1, report=False, out=str(out))
    calls = []

    def progress(total):
        def advance(n):
            calls.append(n)
            if len(calls) == 2:
                raise KeyboardInterrupt  # as Ctrl-C while the driver waits: the folds finish first

        return advance

    with pytest.raises(Interrupted) as stopped:
        run_experiment(config, progress=progress)
    message = str(stopped.value)
    kept = sum(calls)  # fits of the two checkpointed tasks (both folds: no row is complete yet)
    assert len(list((out / ".partial").glob("*.npz"))) == 2
    assert "0 of 6 rows complete" in message
    assert f"{kept} of 18 fits" in message and "kept for --resume" in message, message
    assert "--resume --out" in message
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"


# -- (5) --resume names the folder to finish ------------------------------------------------------
def test_resume_without_out_asks_for_the_interrupted_runs_folder(tmp_path):
    result = run_cli("run", *DIGITS, *QUICK, "--resume", cwd=tmp_path)
    line = assert_one_line_error(result, 2, "--resume", "--out DIR")
    assert "runs/" not in line and "--force" not in line
    assert not (tmp_path / "runs").exists()


# -- (6) the environment variables, checked by every command --------------------------------------
@pytest.mark.parametrize("value", ["abc", "0", "-5"])
@pytest.mark.parametrize("command", [["datasets", "--fetch", "digits"], ["datasets", "--fetch", "mnist-5k"],
                                     ["datasets"], ["predict", "never-read.skops", "never-read.png"]])
def test_a_bad_max_memory_is_refused_by_every_command(tmp_path, command, value):
    result = run_cli(*command, env={"MNIST_LOGREG_MAX_MEMORY": value}, cwd=tmp_path)
    assert_one_line_error(result, 2, "MNIST_LOGREG_MAX_MEMORY", repr(value), "allowed")


def test_a_home_that_is_a_file_is_named_by_the_datasets_listing(tmp_path):
    home = tmp_path / "afile"
    home.write_text("")
    result = run_cli("datasets", env={"MNIST_LOGREG_HOME": str(home)})
    assert result.returncode == 0, result.stderr
    said = " ".join(result.stderr.split())
    assert "MNIST_LOGREG_HOME" in said and str(home) in said and "not a folder" in said
    assert "Traceback" not in result.stderr


# -- (7) the datasets listing never cuts a path -----------------------------------------------------
LONG_HOME = "a-data-home-with-a-name-long-enough-to-need-more-than-one-line-of-a-narrow-table"


def test_datasets_piped_prints_every_path_whole_on_its_own_line(tmp_path):
    home = tmp_path / LONG_HOME
    result = run_cli("datasets", env={"MNIST_LOGREG_HOME": str(home)})
    assert result.returncode == 0, result.stderr
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert str(home / "datasets") in lines  # the openml:NAME_OR_ID cache folder, whole
    assert any(line.startswith(str(home / "datasets")) and line.endswith(".npz") for line in lines)
    assert "…" not in result.stdout


def test_datasets_in_a_narrow_terminal_folds_the_paths_instead_of_cutting_them(tmp_path, monkeypatch):
    from argparse import Namespace

    from rich.console import Console

    from mnist_logreg.cli import cmd_datasets

    home = tmp_path / LONG_HOME
    monkeypatch.setenv("MNIST_LOGREG_HOME", str(home))
    out = Console(force_terminal=True, width=80, record=True, color_system=None)
    assert cmd_datasets(Namespace(fetch=None), out, Console(stderr=True)) == 0
    text = out.export_text()
    assert "…" not in text
    # The location column's cells, read top to bottom, hold each path whole.
    cells = "".join(line.split("│")[-2].strip() for line in text.splitlines() if line.count("│") == 5)
    assert str(home / "datasets") in cells


# -- (8) smaller wording --------------------------------------------------------------------------
@pytest.mark.parametrize("args,command", [(["run", "--bogus"], "run"), (["datasets", "extra"], "datasets"),
                                          (["predict", "m.skops", "x.png", "--bogus"], "predict")])
def test_an_unknown_argument_points_to_its_subcommands_help(args, command):
    line = assert_one_line_error(run_cli(*args), 2, args[-1])
    assert line.startswith(f"mnist-logreg {command}: error: unrecognized arguments")
    assert line.endswith(f"(see mnist-logreg {command} --help)")


def test_refit_none_summary_says_no_refit_and_what_the_sweep_fitted_on(tmp_path):
    from dataclasses import replace

    from rich.console import Console

    from test_report import RESULTS, make_record

    record = make_record(folder=tmp_path)
    record.refit = replace(record.refit, on="none", n_samples=1000)
    out = Console(record=True, width=200)
    with out.capture() as captured:
        record.print_summary(RESULTS, out, Console(stderr=True, width=200), quiet=True)
    said = captured.get()
    assert "refit on none" not in said
    assert "no refit: the sweep's fit of the chosen row, trained on 1000 images: accuracy 0.9375" in said


@pytest.mark.parametrize("label,shown", [(0.0, "(0.0)"), (3, "(3)"), ("nine", "('nine')")])
def test_one_class_error_prints_the_plain_label(label, shown):
    from mnist_logreg.estimators import MultinomialLogisticRegression

    X = np.random.default_rng(0).random((6, 3))
    with pytest.raises(ValueError) as refused:
        MultinomialLogisticRegression().fit(X, np.full(6, label))
    assert f"found 1 class {shown}" in str(refused.value) and "np." not in str(refused.value)


@pytest.mark.parametrize("command", ["run", "predict", "datasets"])
def test_every_commands_help_names_the_environment_and_the_exit_codes(command):
    result = run_cli(command, "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for needed in ("MNIST_LOGREG_HOME", "MNIST_LOGREG_MAX_MEMORY", "2 a bad option", "130 interrupted"):
        assert needed in text, (needed, text[-400:])
