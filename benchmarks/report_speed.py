"""Report time (run.json's ``report_s``) of two source trees, back to back, on the notebook grid.

Each round runs ``python -m mnist_logreg run`` once per tree, alternating, on the 1500/1000 split
of the real MNIST test digits with ``l1,l2`` x 25 C (the notebook grid; ``--refit none`` so the
refit, which the report does not depend on, is not timed in vain), and reads ``report_s`` from the
run's run.json. A tree is chosen with ``PYTHONPATH=<tree>/src``, so both use this environment's
packages. Prints every run and the median and minimum per tree.

Usage::

    .venv/bin/python benchmarks/report_speed.py --tree before=/tmp/old/src --tree after=src --rounds 3

(``/tmp/old`` made with ``git archive <commit> src | tar -x -C /tmp/old``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

T10K = Path(os.environ.get("MNIST_LOGREG_T10K", Path(__file__).resolve().parents[2] / "shared" / "data"
                           / "mnist-t10k"))
ARGS = ["run", "--train-size", "1500", "--test-size", "1000", "--penalties", "l1,l2", "--C", "1e-3:1e1:25",
        "--refit", "none", "--quiet"]


def run_once(src: Path, out: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src.resolve()))
    command = [sys.executable, "-m", "mnist_logreg", *ARGS, "--dataset", f"idx:{T10K}", "--out", str(out)]
    subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    return json.loads((out / "run.json").read_text())["timings"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", required=True, help="NAME=PATH to a src/ folder")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    trees = dict(item.split("=", 1) for item in args.tree)
    seen: dict[str, list[float]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name, src in trees.items():
                timings = run_once(Path(src), Path(tmp) / f"{name}-{r}")
                seen[name].append(timings["report_s"])
                print(f"round {r + 1} {name:>8}: report_s {timings['report_s']:.2f} "
                      f"(sweep_s {timings['sweep_s']:.2f})", flush=True)
    for name, values in seen.items():
        print(f"{name:>8}: median report_s {statistics.median(values):.2f}, min {min(values):.2f} "
              f"over {len(values)} runs")


if __name__ == "__main__":
    main()
