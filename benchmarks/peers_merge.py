"""Put side by side the solvers of several ``benchmarks/peers.py --json`` runs of the same case.

For a case whose solvers could not all run in one sitting (e.g. the 60,000-image fit: saga and
Cyanure take minutes and do not depend on our code, so they can run before ours lands). The arrays
are the same in every run (the same deterministic split), every objective was scored by the same
float64 ``objective``; what differs is the machine's load between runs, so the printout gives each
file's commit and the caller records when each ran.

Usage::

    .venv/bin/python benchmarks/peers_merge.py b-peers.json b-ours.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

WITHIN = 1e-5
#: Rounding allowance of the "gap < distance" count (as in peers.py): gaps and distances agreeing to ~2e-16 are not below.
ROUNDING = 4 * np.finfo(float).eps


def merge(paths: list[Path]) -> dict:
    """case -> {"grid": rows, "solvers": {name: (file's commit, summary)}}; the first file naming a solver wins."""
    cases: dict = {}
    for path in paths:
        record = json.loads(path.read_text())
        for case in record["cases"]:
            entry = cases.setdefault(case["case"], {"description": case["description"], "grid": case["grid"],
                                                     "solvers": {}})
            if case["grid"] != entry["grid"]:
                raise SystemExit(f"{path}: case {case['case']} has another grid than the first file's")
            for name, summary in case["solvers"].items():
                entry["solvers"].setdefault(name, (f"{path.name} @ {record['commit']}", summary))
    return cases


def report(name: str, case: dict) -> None:
    solvers = case["solvers"]
    n = len(case["grid"])
    F = {s: np.array([np.nan if r is None else r["objective"] for r in v["rows"]]) for s, (_, v) in solvers.items()}
    gap = {s: np.array([np.nan if r is None or r["gap"] is None else r["gap"] for r in v["rows"]])
           for s, (_, v) in solvers.items()}
    best = np.nanmin(np.vstack(list(F.values())), axis=0)
    print(f"== case {name}: {case['description']} ({n} rows)")
    for i, row in enumerate(case["grid"]):
        cells = "  ".join(f"{s} {F[s][i]:.8f} ({(F[s][i] - best[i]) / best[i]:.1e})" for s in solvers if not np.isnan(F[s][i]))
        print(f"   {row['penalty']} C={row['C']:.3g}: {cells}")
    walls = {s: v["wall_s"] for s, (_, v) in solvers.items()}
    for s, (source, v) in solvers.items():
        fitted = ~np.isnan(F[s])
        dist = (F[s] - best) / best
        has_gap = ~np.isnan(gap[s])
        below = int(np.sum(gap[s][has_gap] + ROUNDING < ((F[s] - best) / F[s])[has_gap]))
        ratios = ", ".join(f"{walls[s] / walls[b]:.1f}x {b}" for b in ("ours", "command") if b in walls and b != s)
        print(f"   {s:<10} {walls[s]:9.2f} s{' (' + ratios + ')' if ratios else ''}; rows {int(fitted.sum())}/{n}, "
              f"within {WITHIN:g} of best {int(np.sum(dist[fitted] <= WITHIN))}, max distance "
              f"{np.max(dist[fitted]):.2e}; gap < distance on {below} of {int(has_gap.sum())} rows  [{source}]")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="--json files of benchmarks/peers.py")
    args = parser.parse_args(argv)
    for name, case in merge(args.files).items():
        report(name, case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
