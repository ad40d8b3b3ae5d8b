"""Issue 13, run folders: --force loses nothing, failed runs say so in run.json, --resume copes.

Every case runs the installed command on small data (scikit-learn's 8x8 digits, one l2 row).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from cli_helpers import QUICK, assert_one_line_error, run_cli, snapshot

DIGITS = ["--dataset", "digits", "--train-size", "300", "--test-size", "200"]
RUN = [*DIGITS, *QUICK]
WITH_REPORT = [*DIGITS, "--engine", "sklearn", "--penalties", "l2", "--C", "0.1,1", "--quiet"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A complete run with its report, copied fresh by each test that changes it."""
    out = tmp_path_factory.mktemp("finished") / "run"
    result = run_cli("run", *WITH_REPORT, "--out", out)
    assert result.returncode == 0, result.stderr
    return out


def _copy(finished: Path, tmp_path: Path) -> Path:
    import shutil

    out = tmp_path / "run"
    shutil.copytree(finished, out, symlinks=True)
    return out


def test_force_with_a_failing_check_loses_nothing(finished, tmp_path):
    out = _copy(finished, tmp_path)
    (out / "figures" / "my-notes.png").write_bytes(b"mine")
    before = snapshot(out)
    # --cv 40 on ~30 digits per class is found only once the data is split: after --force was accepted.
    result = run_cli("run", *RUN, "--select-by", "roc_auc_cv", "--cv", "40", "--out", out, "--force")
    assert_one_line_error(result, 2, "--cv", "40")
    assert snapshot(out) == before


def test_force_replaces_only_our_files_and_only_once_written(finished, tmp_path):
    out = _copy(finished, tmp_path)
    (out / "figures" / "my-notes.png").write_bytes(b"mine")
    (out / "notes.txt").write_text("mine")
    old_results = (out / "results.csv").read_text()
    result = run_cli("run", *RUN, "--out", out, "--force")
    assert result.returncode == 0, result.stderr
    assert (out / "figures" / "my-notes.png").read_bytes() == b"mine"
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "results.csv").read_text() != old_results and len(pd.read_csv(out / "results.csv")) == 1
    assert json.loads((out / "run.json").read_text())["status"] == "complete"
    # The old report described the old results: --no-report removes it; nothing is left staged.
    assert not (out / "report.html").exists()
    assert not (out / ".incoming").exists() and not (out / ".partial").exists()


def test_force_without_the_report_removes_the_old_runs_figures_only(finished, tmp_path):
    """QA 6: --force --no-report left the old run's figures/*.png beside the new results."""
    from mnist_logreg.io.store import FIGURE_FILES

    assert sorted(p.name for p in (finished / "figures").iterdir()) == sorted(FIGURE_FILES)
    out = _copy(finished, tmp_path)
    (out / "figures" / "my-notes.png").write_bytes(b"mine")
    result = run_cli("run", *RUN, "--out", out, "--force")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (out / "figures").iterdir()) == ["my-notes.png"]
    assert (out / "figures" / "my-notes.png").read_bytes() == b"mine"
    # Without a file of the user's, the emptied folder goes too.
    bare = tmp_path / "bare"
    import shutil

    shutil.copytree(finished, bare, symlinks=True)
    result = run_cli("run", *RUN, "--out", bare, "--force")
    assert result.returncode == 0, result.stderr
    assert not (bare / "figures").exists() and not (bare / "report.html").exists()


def test_our_figure_names_are_the_reports():
    from mnist_logreg.io.store import FIGURE_FILES
    from mnist_logreg.report.writer import FIGURE_SECTIONS

    assert sorted(FIGURE_FILES) == sorted(f"{name}.png" for name in FIGURE_SECTIONS)


def test_force_with_the_report_leaves_the_new_report(finished, tmp_path):
    out = _copy(finished, tmp_path)
    old_report = (out / "report.html").read_bytes()
    result = run_cli("run", *DIGITS, "--engine", "sklearn", "--penalties", "l1", "--C", "1", "--quiet",
                     "--out", out, "--force")
    assert result.returncode == 0, result.stderr
    report = (out / "report.html").read_bytes()
    assert report != old_report and b'value="l1"' in report and b'value="l2"' not in report


def test_force_interrupted_keeps_the_previous_results_and_resumes(finished, tmp_path):
    """A --force run stopped mid-sweep: the old results stay whole; --resume finishes the new run."""
    import signal
    import time

    from cli_helpers import EXE

    out = _copy(finished, tmp_path)
    before = snapshot(out)
    sweep = [*DIGITS, "--engine", "sklearn", "--penalties", "l1,l2", "--C", "1e-2:1e1:12", "--no-report", "--quiet",
             "--jobs", "1"]
    # SIGINT at its default in the command, even where the suite runs in the background (see test_errors).
    process = subprocess.Popen([EXE, "run", *sweep, "--out", str(out), "--force"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    staged = out / ".incoming" / "results.csv"
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
        if staged.exists() and len(staged.read_text().splitlines()) > 2:
            break
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    if process.returncode == 0:
        pytest.skip("the sweep finished before it could be interrupted")
    assert process.returncode == 130, stderr
    assert {k: v for k, v in snapshot(out).items() if not k.startswith(".incoming")} == before
    resumed = run_cli("run", *sweep, "--out", out, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert len(pd.read_csv(out / "results.csv")) == 24
    assert json.loads((out / "run.json").read_text())["status"] == "complete"


def test_force_never_writes_through_a_figures_link(finished, tmp_path):
    out = _copy(finished, tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious.png").write_bytes(b"mine")
    import shutil

    shutil.rmtree(out / "figures")
    (out / "figures").symlink_to(elsewhere)
    before = snapshot(out)
    result = run_cli("run", *WITH_REPORT, "--out", out, "--force")
    assert_one_line_error(result, 2, "--out", "figures", "symbolic link")
    assert snapshot(out) == before
    assert sorted(p.name for p in elsewhere.iterdir()) == ["precious.png"]


def test_resume_on_a_finished_run_refits_nothing(finished, tmp_path):
    out = _copy(finished, tmp_path)
    before = snapshot(out)
    result = run_cli("run", *WITH_REPORT, "--out", out, "--resume")
    assert result.returncode == 0, result.stderr
    said = " ".join(result.stdout.split())
    assert "already complete" in said and "nothing was refitted" in said
    assert snapshot(out) == before


def test_resume_with_a_corrupt_run_json(finished, tmp_path):
    out = _copy(finished, tmp_path)
    for content in ("{not json", "[1, 2]", "\xff\xfe"):
        (out / "run.json").write_text(content, encoding="latin-1")
        result = run_cli("run", *WITH_REPORT, "--out", out, "--resume")
        assert_one_line_error(result, 2, "--resume", "run.json")


def test_truncated_checkpoint_is_refitted_on_resume(tmp_path):
    """An interrupted run whose checkpoint was cut short: --resume refits that task and completes."""
    out = tmp_path / "run"
    result = run_cli("run", *RUN, "--out", out)
    assert result.returncode == 0, result.stderr
    run = json.loads((out / "run.json").read_text())
    run["status"] = "interrupted"
    (out / "run.json").write_text(json.dumps(run))
    partial = out / ".partial"
    partial.mkdir()
    # Every task key the plan could use is unknown here; a truncated zip under any name is what a
    # killed writer leaves, and reading it must not be fatal.
    (partial / "main-00000.npz").write_bytes(b"PK\x03\x04truncated")
    for existing in list(partial.iterdir()):
        existing.write_bytes(existing.read_bytes()[:20])
    resumed = run_cli("run", *RUN, "--out", out, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((out / "run.json").read_text())["status"] == "complete"


def test_two_runs_in_the_same_second_never_share_a_folder(tmp_path):
    """The default runs/<UTC time> is claimed exclusively: with the next two minutes' names taken,
    the run gets a name of its own and leaves the others untouched."""
    runs = tmp_path / "runs"
    now = datetime.now(timezone.utc)
    taken = {(now + timedelta(seconds=s)).strftime("%Y%m%dT%H%M%SZ") for s in range(-2, 120)}
    for name in taken:
        (runs / name).mkdir(parents=True)
        (runs / name / "run.json").write_text("theirs")
    result = run_cli("run", *RUN, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    new = [p for p in runs.iterdir() if p.name not in taken]
    assert len(new) == 1 and new[0].name.split("-")[0] in taken
    assert (new[0] / "results.csv").is_file()
    assert all((runs / name / "run.json").read_text() == "theirs" for name in taken)
    assert all(sorted(p.name for p in (runs / name).iterdir()) == ["run.json"] for name in taken)


# -- disk full ---------------------------------------------------------------------------------
_FILL_AFTER = """
import errno, os, sys
import mnist_logreg.io.atomic as atomic
real = atomic.atomic_open
count = {"n": 0}
def full(path, mode="w"):
    count["n"] += 1
    if count["n"] > int(os.environ["FAIL_AFTER"]):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    return real(path, mode)
atomic.atomic_open = full
from mnist_logreg.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("fail_after", [1, 3, 4])
def test_disk_full_is_one_line_and_run_json_says_failed(tmp_path, fail_after):
    """Writes fail with ENOSPC after the first N atomic writes (run.json is the first): one line
    naming the file, exit 1, and run.json never left "running"."""
    out = tmp_path / "run"
    script = tmp_path / "full.py"
    script.write_text(_FILL_AFTER)
    result = subprocess.run([sys.executable, str(script), "run", *RUN, "--out", str(out)], capture_output=True,
                            text=True, timeout=300, env={**__import__("os").environ, "FAIL_AFTER": str(fail_after)})
    assert_one_line_error(result, 1, "No space left on device", "disk is full", str(out))
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "failed" and "No space left" in run["error"]


def test_disk_really_full_on_a_tiny_file_system(tmp_path):
    """The same on a real 300 KiB tmpfs (a private mount namespace; skipped where not permitted)."""
    from cli_helpers import EXE

    if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode != 0:
        pytest.skip("needs unshare -m (root with CAP_SYS_ADMIN) to mount a tiny file system")
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    script = textwrap.dedent(f"""
        mount -t tmpfs -o size=300k tmpfs {tiny} || exit 99
        {EXE} run {' '.join(RUN[:-2])} --C 1e-2:1e1:30 --quiet --out {tiny}/run
        echo "rc=$?" >&2
        cat {tiny}/run/run.json > {tmp_path}/run.json
    """)
    result = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=300)
    if result.returncode == 99:
        pytest.skip("tmpfs cannot be mounted here")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1] == "rc=1", result.stderr
    assert len(lines) == 2 and "No space left on device" in lines[0] and "Traceback" not in result.stderr
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["status"] == "failed"
