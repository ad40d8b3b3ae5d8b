"""Workers started before the driver's imports: when the command starts them, and that the sweep uses them."""

from __future__ import annotations

import joblib
import pytest

from mnist_logreg.config import RunConfig
from mnist_logreg.plan.executors import LocalExecutor, make_executor
from mnist_logreg.plan.warmup import early_jobs, warm_up

CORES = max(1, joblib.cpu_count())
TWO = min(2, CORES) if CORES > 1 else None  # --jobs 2 starts two workers, or none on one core


@pytest.mark.parametrize("options, expected", [
    (dict(jobs=2), TWO),
    (dict(jobs=-1), CORES if CORES > 1 else None),
    (dict(jobs=1), None),  # nothing in workers
    (dict(jobs=2, scheduler="local:2"), None),  # the cluster's workers, not local ones
    (dict(jobs=2, penalties="l2"), None),  # one path is one task, which runs in the driver
    (dict(jobs=2, penalties="l1"), TWO),  # ... but a long sparse path is two (plan.grid.path_tasks)
    (dict(jobs=2, penalties="l1", C="1e-3:1e1:8"), None),  # ... unless it is short
    (dict(jobs=2, penalties="l2", repeats=2), TWO),
    (dict(jobs=1000), CORES if CORES > 1 else None),  # never more workers than cores  # ... but two repeats are two tasks
    (dict(penalties="l1,l2", C="1e-3:1e1:25"), CORES if CORES > 1 else None),  # the notebook grid, default --jobs
    (dict(penalties="l1,l2", C="1", train_size=300), None),  # a small plan stays in the driver
    (dict(penalties="l1,l2", C="1e-3:1e1:25", train_size=0.5), None),  # its size is not known before loading
])
def test_early_jobs_says_when_the_command_starts_workers(options, expected):
    assert early_jobs(RunConfig(**options)) == expected


def test_more_jobs_than_cores_start_one_worker_per_core_and_say_so():
    """--jobs 1000 on a 2-core machine once started 1,000 processes and exhausted the memory."""
    executor = make_executor(1000)
    assert executor.jobs == CORES
    if CORES > 1:
        assert executor.describe() == f"tasks in {CORES} worker processes (--jobs 1000: at most one per core)"
    assert executor.info()["jobs_asked"] == 1000
    assert make_executor(-1).describe() in ("tasks in this process", f"tasks in {CORES} worker processes")


def test_early_jobs_reads_the_options_as_the_command_line_gives_them():
    """``mnist-logreg run`` hands ``--train-size`` over as text ("1500"): the notebook grid must still
    start its workers before the driver's imports, and a fraction must still not."""
    from mnist_logreg.cli import build_parser, config_from_args

    def config(*argv):
        args = build_parser().parse_args(["run", "--penalties", "l1,l2", "--C", "1e-3:1e1:25", *argv])
        args.argv = []
        return config_from_args(args)[0]

    cores = CORES if CORES > 1 else None
    assert early_jobs(config()) == cores
    assert early_jobs(config("--train-size", "1500")) == cores
    assert early_jobs(config("--train-size", "0.5")) is None
    assert early_jobs(config("--train-size", "20", "--C", "1")) is None  # small: stays in the driver


def test_early_workers_are_never_more_than_the_executor_uses():
    """Wherever ``early_jobs`` starts workers for the default ``--jobs``, the executor, knowing the data's
    shape (here the smallest it allows for: 8 x 8 pixels and 10 classes), uses local workers too."""
    for C, train_size in [("1e-3:1e1:25", 1500), ("0.1,1", 5000), ("1e-3:1e1:7", 400)]:
        config = RunConfig(penalties="l1,l2", C=C, train_size=train_size)
        jobs = early_jobs(config)
        if jobs is None:
            continue
        n_rows = 2 * len(C.split(",")) if ":" not in C else 2 * int(C.rsplit(":", 1)[1])
        executor = make_executor(None, None, work=n_rows * train_size * 64 * 10)
        assert executor.jobs == jobs


def test_the_executor_joins_the_early_warm_up():
    early = warm_up(2)
    assert warm_up(2) is early  # one waiting warm-up per number of workers
    with LocalExecutor(2) as executor:
        executor.start()
        assert executor._warming is early
    assert executor.started_pids == early.join()
    assert len(early.pids) >= 1
    # Taken once: the next executor warms the pool of its own moment.
    with LocalExecutor(2) as later:
        later.start()
        assert later._warming is not early


#: What a worker or the command's option checks must not import: most of a fresh process's start.
HEAVY = ("sklearn", "pandas", "matplotlib", "scipy.stats")


def run_fresh(code: str) -> tuple[list[str], list[str]]:
    """Run ``code`` in a fresh interpreter, as a worker or the command starts: the lines it printed,
    and which of ``HEAVY`` it imported."""
    import json
    import subprocess
    import sys

    report = f"\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", code + report], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    *lines, imported = out.stdout.splitlines()
    return lines, json.loads(imported)


def test_a_worker_runs_a_default_task_without_importing_scikit_learn():
    """What makes a worker's start cheap: the task code, the numpy engine and the scoring of a path need
    NumPy, SciPy's linear algebra and Numba, not scikit-learn (its import, with SciPy's stats and
    pandas, is most of a fresh process's start). Checked in a fresh interpreter, as a worker is."""
    code = """
import numpy as np
from mnist_logreg.plan.warmup import import_task_code
import_task_code()
from mnist_logreg.engines.numpy import NumpyEngine
from mnist_logreg.plan.grid import make_grid
from mnist_logreg.plan.tasks import SplitData, plan_tasks, run_task
rng = np.random.default_rng(0)
X, y = rng.random((120, 16)), np.arange(120) % 3
data = SplitData(repeat=0, X_train=X[:80], y_train=y[:80], X_test=X[80:], y_test=y[80:], n_classes=3, folds=[],
                 standardize=False)
(task,) = plan_tasks(make_grid("l1", "0.1,1"), [0], None, "path")
result = run_task(task, data, NumpyEngine())
assert len(result.records) == 2, result
"""
    assert run_fresh(code) == ([], [])


def test_the_command_checks_its_options_before_importing_scikit_learn(tmp_path):
    """The early workers only help if the driver reaches them before its heavy imports: every option
    check of ``mnist-logreg run`` (a local data folder, sizes, scale, dtype, selection, refit) runs on
    the standard library and NumPy, and a wrong option is refused the same way. Checked in a fresh
    interpreter, as the command starts."""
    (tmp_path / "data").mkdir()
    code = f"""
from mnist_logreg.cli import build_parser, config_from_args
from mnist_logreg.errors import UsageError
from mnist_logreg.plan.warmup import early_jobs

def config(*argv):
    args = build_parser().parse_args(["run", "--out", {str(tmp_path / "out")!r}, *argv])
    args.argv = []
    return config_from_args(args)

good, given = config("--dataset", "mnist-5k", "--train-size", "1500", "--test-size", "0.2", "--scale", "255",
                     "--dtype", "float32", "--select-by", "roc_auc_cv", "--refit", "train")
good.validate(given)
early_jobs(good)
try:
    bad, given = config("--dataset", "idx:{tmp_path / 'data'}", "--scale", "256")
    bad.validate(given)
except UsageError as error:
    print("refused:", str(error).split(":")[0])
"""
    assert run_fresh(code) == (["refused: --scale"], [])


@pytest.mark.skipif(CORES < 2, reason="workers start only on more than one core")
def test_warmed_up_workers_leave_ctrl_c_to_the_driver(tmp_path):
    """A terminal's Ctrl-C reaches the workers too; they must not die of it with a traceback each
    (the driver reports the interrupt in one line and stops them itself)."""
    import subprocess
    import sys
    import textwrap

    script = tmp_path / "warm.py"
    script.write_text(textwrap.dedent("""
        import os, signal, time
        import joblib
        from mnist_logreg.plan.warmup import warm_up
        pids = warm_up(2).join()
        assert len(pids) >= 1, pids
        for pid in pids:
            os.kill(pid, signal.SIGINT)
        time.sleep(1.0)
        alive = [pid for pid in pids if os.path.exists(f"/proc/{pid}")]
        served = set(joblib.Parallel(n_jobs=2, backend="loky")(joblib.delayed(os.getpid)() for _ in range(8)))
        print(len(pids), len(alive), len(served - pids))
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "KeyboardInterrupt" not in done.stderr, done.stderr
    started, alive, strangers = map(int, done.stdout.split())
    assert alive == started and strangers == 0  # the same workers, still serving (none replaced)
