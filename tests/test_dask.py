"""The sweep on Dask: a LocalCluster, a cluster started with the `dask` command, a worker lost mid-sweep.

Every cluster listens on loopback only, on ports the system chooses, and is torn down by the test.
"""

import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import joblib
import pytest

distributed = pytest.importorskip("distributed", reason="Dask's distributed is not installed (mnist-logreg[dask])")

from mnist_logreg.cli import main  # noqa: E402
from mnist_logreg.data import load_dataset  # noqa: E402
from mnist_logreg.engines import get_engine  # noqa: E402
from mnist_logreg.errors import DataError  # noqa: E402
from mnist_logreg.plan.grid import make_grid  # noqa: E402
from mnist_logreg.plan.executors import LocalExecutor, make_executor  # noqa: E402
from mnist_logreg.plan.tasks import plan_tasks  # noqa: E402
from mnist_logreg.data.split import split_dataset  # noqa: E402
from mnist_logreg.plan.sweep import run_sweep  # noqa: E402

VARIABLE = ["fit_seconds"]
ROWS = make_grid("l1,l2", "0.05,0.5,5")
CV = 2


@pytest.fixture(scope="module")
def split():
    return split_dataset(load_dataset("digits"), 300, 200, seed=0)


@pytest.fixture(scope="module")
def reference(split):
    with LocalExecutor(1) as executor:
        return run_sweep(split, ROWS, get_engine("numpy"), cv=CV, executor=executor)


# Real digits at a size where the BLAS splits its products over threads (1500 x 784): tables made
# with a thread count that depends on where a task runs differ there by ~1e-3, not on the 8x8 digits.
REAL_ROWS = make_grid("l1,l2", "0.01,0.1")
REAL_OPTIONS = ["--train-size", "1500", "--test-size", "500", "--penalties", "l1,l2", "--C", "0.01,0.1"]


@pytest.fixture(scope="module")
def real_split(t10k_dir):
    return split_dataset(load_dataset(f"idx:{t10k_dir}"), 1500, 500, seed=42)


@pytest.fixture(scope="module")
def real_reference(real_split):
    with LocalExecutor(1) as executor:
        return run_sweep(real_split, REAL_ROWS, get_engine("numpy"), cv=CV, executor=executor)


def assert_same(result, reference):
    pd.testing.assert_frame_equal(result.table.drop(columns=VARIABLE), reference.table.drop(columns=VARIABLE),
                                  rtol=1e-9)
    assert np.allclose(result.coef, reference.coef, rtol=1e-9, atol=0)


def test_local_cluster_gives_the_same_table_and_the_scheduler_ran_every_task(split, reference):
    with make_executor(scheduler="local:2") as executor:
        result = run_sweep(split, ROWS, get_engine("numpy"), cv=CV, executor=executor)
        # Loopback and ports of the system's choosing, the dashboard's too (not the fixed 8787).
        assert executor.client.scheduler.address.startswith("tcp://127.0.0.1:")
        assert executor.client.dashboard_link.startswith("http://127.0.0.1:")
        assert ":8787/" not in executor.client.dashboard_link
    assert_same(result, reference)
    n_tasks = len(plan_tasks(ROWS, [42], CV))
    # The scheduler's task stream: every task ran once, on its two workers (loopback addresses).
    assert result.executor["tasks_run"] == n_tasks == 6
    assert len(result.executor["tasks_by_worker"]) == 2
    assert all(w.startswith("tcp://127.0.0.1:") for w in result.executor["tasks_by_worker"])


def test_another_client_in_the_process_does_not_take_the_sweep(split, reference):
    # A notebook often holds a Client of its own; created after the executor's, it is Dask's default
    # client, and the sweep must still wait on its futures in its own client's event loop.
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0") as cluster, \
            make_executor(scheduler=cluster.scheduler_address) as executor, \
            distributed.Client(cluster) as other:
        assert distributed.default_client() is other
        result = run_sweep(split, ROWS, get_engine("numpy"), cv=CV, executor=executor)
    assert_same(result, reference)


def test_worker_lost_mid_sweep_loses_no_row(real_split, real_reference):
    # One client in this process, the executor's, as under `--scheduler ADDR` (a second client of the
    # test's own once made a future's wait meet an event of the other client's loop).
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0") as cluster, \
            make_executor(scheduler=cluster.scheduler_address) as executor:
        pids = sorted(executor.client.run(os.getpid).values())
        killed = []

        def kill_one_worker(n):
            if not killed:  # after the first finished task, while the others are running or pending
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])

        result = run_sweep(real_split, REAL_ROWS, get_engine("numpy"), cv=CV, executor=executor,
                           progress=kill_one_worker)
        assert killed and pids[0] not in executor.client.run(os.getpid).values()
    assert_same(result, real_reference)


def _start(args, log):
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def test_cluster_started_with_the_dask_command_gives_the_same_table(tmp_path, t10k_dir):
    dask = shutil.which("dask", path=os.path.dirname(sys.executable))
    if dask is None:
        pytest.skip("the dask command is not installed next to this Python")
    scheduler_file = tmp_path / "scheduler.json"
    log = open(tmp_path / "cluster.log", "w")
    processes = [_start([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                         "--scheduler-file", str(scheduler_file)], log)]
    try:
        for _ in range(600):
            if scheduler_file.exists() and scheduler_file.stat().st_size:
                break
            time.sleep(0.1)
        address = distributed.utils.json_load_robust(str(scheduler_file))["address"]
        assert address.startswith("tcp://127.0.0.1:")
        processes.append(_start([dask, "worker", address, "--nworkers", "2", "--host", "127.0.0.1",
                                 "--no-dashboard"], log))
        with distributed.Client(address) as client:
            client.wait_for_workers(2, timeout=120)
        options = ["run", "--dataset", f"idx:{t10k_dir}", *REAL_OPTIONS, "--select-by", "roc_auc_cv", "--cv", "2", "--no-report", "--quiet"]
        assert main([*options, "--jobs", "1", "--out", str(tmp_path / "one")]) == 0
        assert main([*options, "--scheduler", address, "--out", str(tmp_path / "cluster")]) == 0
    finally:
        for process in reversed(processes):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)
        log.close()
    one = pd.read_csv(tmp_path / "one" / "results.csv").drop(columns=VARIABLE)
    cluster = pd.read_csv(tmp_path / "cluster" / "results.csv").drop(columns=VARIABLE)
    pd.testing.assert_frame_equal(cluster, one, rtol=1e-9)
    import json

    run = json.loads((tmp_path / "cluster" / "run.json").read_text())
    assert run["executor"]["executor"] == "dask" and run["executor"]["tasks_run"] == 6
    assert len(run["executor"]["tasks_by_worker"]) == 2


def test_memory_cap_holds_for_the_workers_of_a_local_cluster_together(monkeypatch):
    # local:2 puts both workers on this machine: two tasks of 40 MiB plus a 10 MiB copy of the
    # split each (100 MiB) fit a 100 MiB cap; three workers (150 MiB) do not.
    monkeypatch.setenv("MNIST_LOGREG_MAX_MEMORY", str(100 * 2**20))
    monkeypatch.setattr(joblib, "cpu_count", lambda *args, **kwargs: 8)  # room for three workers
    with make_executor(scheduler="local:2") as executor:
        executor.check_memory(40 * 2**20, 10 * 2**20)
    with make_executor(scheduler="local:3") as executor:
        with pytest.raises(DataError, match="--scheduler local:3.*MNIST_LOGREG_MAX_MEMORY"):
            executor.check_memory(40 * 2**20, 10 * 2**20)


def test_a_local_cluster_starts_at_most_one_worker_per_core():
    cores = max(1, joblib.cpu_count())
    with make_executor(scheduler="local:64") as executor:
        assert len(executor.client.scheduler_info()["workers"]) == min(64, cores)
        if cores < 64:
            assert executor.describe().endswith(f"({cores} workers; local:64: at most one per core)")


def _closed_loopback_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends: nothing listens there


def test_an_unreachable_scheduler_is_one_line_naming_the_option_and_address(tmp_path, monkeypatch, capsys):
    """QA 3: not "a file: OSError ... a writable --out" after 30 s, but --scheduler, the address, and what to do."""
    import mnist_logreg.plan.dask as dask_plan

    monkeypatch.setattr(dask_plan, "CONNECT_TIMEOUT_S", 2.0)
    address = f"tcp://127.0.0.1:{_closed_loopback_port()}"
    started = time.monotonic()
    code = main(["run", "--dataset", "digits", "--train-size", "300", "--test-size", "200", "--engine", "sklearn",
                 "--penalties", "l2", "--C", "1", "--no-report", "--quiet", "--scheduler", address,
                 "--out", str(tmp_path / "never")])
    assert time.monotonic() - started < 30
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, lines
    line = lines[0]
    assert line.startswith(f"mnist-logreg: error: --scheduler: no Dask scheduler answered at {address}"), line
    assert "local:N" in line and "--out" not in line and "Traceback" not in line, line
    assert not (tmp_path / "never").exists()
