"""Running the installed ``mnist-logreg`` command the way a user meets it, and checking its error line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

EXE = shutil.which("mnist-logreg", path=str(Path(sys.executable).parent)) or "mnist-logreg"
#: A fit that takes a second: one l2 row on scikit-learn's engine, no report.
#: One gibibyte: the peak memory the bomb cases must stay under.
GIB = 2**30
QUICK = ["--engine", "sklearn", "--penalties", "l2", "--C", "1", "--no-report", "--quiet"]


def run_cli(*args, env=None, timeout=300, cwd=None):
    """``mnist-logreg ARGS`` in a subprocess; ``env`` adds to (or, with value None, removes from) os.environ."""
    environment = {**os.environ}
    for key, value in (env or {}).items():
        if value is None:
            environment.pop(key, None)
        else:
            environment[key] = value
    return subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env=environment, cwd=cwd)



def run_measured(*args, timeout=400):
    """``mnist-logreg ARGS`` in a child of a fresh Python; returns (CompletedProcess, the child's peak RSS in bytes)."""
    probe = ("import json, resource, subprocess, sys\n"
             "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
             "print(json.dumps({'rc': r.returncode, 'stdout': r.stdout, 'stderr': r.stderr,\n"
             "                  'peak_kib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))\n")
    done = subprocess.run([sys.executable, "-c", probe, EXE, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)
    report = json.loads(done.stdout)
    return subprocess.CompletedProcess(args, report["rc"], report["stdout"], report["stderr"]), report["peak_kib"] * 1024

def assert_one_line_error(result, code=None, *needles):
    """A failed run: exit code ``code``, stderr one line naming each needle, no traceback, no internal error."""
    assert result.returncode != 0, result.stdout
    if code is not None:
        assert result.returncode == code, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    assert lines[0].startswith("mnist-logreg")
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def toy_images(n=60, k=3, d=16, seed=0):
    """``n`` random 4x4 uint8 images in ``k`` balanced classes."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(k), n // k)
    X = rng.integers(0, 256, size=(n, d)).astype(np.uint8)
    return X, y


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path -> bytes), to prove nothing was lost or changed."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
