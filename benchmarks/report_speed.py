"""Report time (run.json's ``report_s``) of two source trees, back to back, on the notebook grid.

The notebook grid: the 1500/1000 split (seed 42) of the real MNIST test digits, ``l1,l2`` x 25 C
(1e-3..1e1). The sweep is done once, by ``mnist-logreg run`` (``--run DIR``, a finished run folder
of that grid); each timed run is then the whole ``run_experiment`` of a tree with its sweep replaced
by that folder's results.csv and path.npz and ``--refit none``, so what differs between runs is
the report step, measured by the workflow itself as ``report_s``. Trees are chosen with
``PYTHONPATH=<tree>/src`` in a fresh process each, alternating, so both use this environment's
packages and a noisy machine hits both alike. Prints every run, then the median and minimum per tree.

Usage::

    mnist-logreg run --dataset idx:$T10K --out /tmp/grid --refit none      # the sweep, once
    git archive <before-commit> src | tar -x -C /tmp/before
    .venv/bin/python benchmarks/report_speed.py --run /tmp/grid --tree before=/tmp/before/src \\
        --tree after=src --rounds 3
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


def child(run: Path, out: Path) -> None:
    """In the tree under test: run_experiment with the sweep read back from ``run``."""
    import dataclasses

    import numpy as np
    import pandas as pd

    from mnist_logreg import workflow
    try:
        from mnist_logreg.plan.sweep import SweepResult
    except ImportError:  # trees before the package layout of commit 9421587 (e.g. 49ffcb8)
        from mnist_logreg.sweep import SweepResult

    table = pd.read_csv(run / "results.csv")
    with np.load(run / "path.npz") as path:
        coef, intercept = path["coef"], path["intercept"]
    names = {f.name for f in dataclasses.fields(SweepResult)}

    def saved_sweep(splits, rows, *args, **kwargs):
        frame = table if "repeats" in names else table.drop(columns=["repeat"], errors="ignore")
        extra = {"repeats": [int(frame["repeat"].iloc[0])]} if "repeats" in names else {}
        return SweepResult(table=frame, coef=coef, intercept=intercept, rows=list(rows), **extra)

    workflow.run_sweep = saved_sweep
    config = workflow.RunConfig(dataset=f"idx:{T10K}", train_size=1500, test_size=1000, seed=42,
                                penalties="l1,l2", C="1e-3:1e1:25", refit="none", out=str(out))
    workflow.run_experiment(config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="a finished run folder of the notebook grid")
    parser.add_argument("--tree", action="append", default=[], help="NAME=PATH to a src/ folder")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.run, args.child)
        return
    trees = dict(item.split("=", 1) for item in args.tree)
    seen: dict[str, list[float]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name, src in trees.items():
                out = Path(tmp) / f"{name}-{r}"
                env = dict(os.environ, PYTHONPATH=str(Path(src).resolve()))
                subprocess.run([sys.executable, __file__, "--run", str(args.run), "--child", str(out)], env=env,
                               check=True)
                report_s = json.loads((out / "run.json").read_text())["timings"]["report_s"]
                seen[name].append(report_s)
                print(f"round {r + 1} {name:>8}: report_s {report_s:.2f}", flush=True)
    for name, values in seen.items():
        print(f"{name:>8}: median report_s {statistics.median(values):.2f}, min {min(values):.2f} "
              f"over {len(values)} runs")


if __name__ == "__main__":
    main()
