"""Tasks on a Dask cluster: ``--scheduler tcp://host:8786``, or ``--scheduler local:N``.

``local:N`` starts a :class:`distributed.LocalCluster` of N single-threaded worker processes on
loopback (127.0.0.1, ports chosen by the system, no dashboard) for the length of the sweep. An
address connects to a cluster someone else runs (``dask scheduler`` / ``dask worker``,
Kubernetes, an HPC job queue); its workers need this package installed.

Each split's arrays are scattered to every worker once (``broadcast=True``): tasks refer to
them, so no task carries arrays, and a worker that dies takes no only copy with it. The
scheduler reruns the tasks a lost worker held on the others. Whatever BLAS threads a worker's
nanny set up (``OMP_NUM_THREADS``: its threads), each task computes with the plan's count, so a
cluster's rows equal those of ``--jobs 1``.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from typing import Iterator

from distributed import Client, LocalCluster, as_completed, get_task_stream

from ..engines.base import Engine
from ..errors import UsageError
from .tasks import SplitData, Task, TaskResult, run_task
from .warmup import resolve_jobs

__all__ = ["DaskExecutor", "CONNECT_TIMEOUT_S"]

#: Seconds to wait for a scheduler address to answer (Dask's own default is 30 s); a scheduler that
#: is up answers in well under a second, even across a network.
CONNECT_TIMEOUT_S = 10.0


def _connect(address: str) -> Client:
    """A client of the scheduler at ``address``; a UsageError naming ``--scheduler`` if none answers."""
    try:
        return Client(address, timeout=CONNECT_TIMEOUT_S)
    except OSError as error:  # Dask's "Timed out trying to connect ...", DNS failures, refused connections
        why = " ".join(str(error).split()) or type(error).__name__
        raise UsageError(f"--scheduler: no Dask scheduler answered at {address} ({why}); allowed the address of a "
                         "running scheduler (started with `dask scheduler`), or local:N for N worker processes on "
                         "this machine") from None


class DaskExecutor:
    """Run tasks on a Dask cluster.

    Parameters
    ----------
    address : str
        ``local:N`` or a scheduler address.
    """

    def __init__(self, address: str):
        self.address = address
        self.client: Client | None = None
        self._cluster = None
        self._prefix = f"mnist-logreg-{uuid.uuid4().hex[:8]}"
        self._stream: list[dict] = []
        self._workers: Counter = Counter()
        self._capped = ""  # what describe() adds when local:N asked for more workers than cores

    def start(self) -> None:
        """Connect to the scheduler (for ``local:N``, start the cluster first); idempotent."""
        if self.client is not None:
            return
        local = re.fullmatch(r"local:(\d+)", self.address.strip())
        if local:
            # At most one single-threaded worker per core, as for --jobs (.warmup.resolve_jobs): more only
            # add processes. Loopback only, every port chosen by the system; the dashboard too
            # (``dashboard_address=None`` does not turn it off: it takes the fixed port 8787).
            asked = int(local.group(1))
            n_workers = resolve_jobs(asked)
            self._capped = f"; {self.address.strip()}: at most one per core" if n_workers < asked else ""
            self._cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                         host="127.0.0.1", scheduler_port=0, dashboard_address="127.0.0.1:0")
            self.client = Client(self._cluster)
        else:
            self.client = _connect(self.address.strip())

    def __enter__(self) -> "DaskExecutor":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def share(self, data: SplitData):
        """Scatter the split to every worker once; tasks receive the future."""
        return self.client.scatter(data, broadcast=True, hash=False)

    def run(self, tasks: list[Task], shared: dict, engine: Engine) -> Iterator[TaskResult]:
        engine_future = self.client.scatter(engine, broadcast=True, hash=False)
        with get_task_stream(self.client) as stream:
            futures = [self.client.submit(run_task, t, shared[t.repeat], engine_future,
                                          key=f"{self._prefix}-{t.key}", pure=False) for t in tasks]
            try:
                # This client's loop, not the default client's: a notebook's own Client, made later, is the default.
                for future in as_completed(futures, loop=self.client.loop):
                    result = future.result()
                    self._workers[result.worker] += 1
                    yield result
            finally:
                # Cancel what is still pending (nothing after a complete run).
                self.client.cancel([f for f in futures if not f.done()])
        self._stream.extend(r for r in stream.data if str(r.get("key", "")).startswith(self._prefix))

    def describe(self) -> str:
        workers = self.client.scheduler_info().get("workers", {})
        return f"tasks on the Dask cluster at {self.client.scheduler.address} ({len(workers)} workers{self._capped})"

    def check_memory(self, task_bytes: int, split_bytes: int) -> None:
        """Refuse when one worker's share does not fit its memory limit: a task per worker
        thread plus the split scattered to it. The driver's own memory is checked apart.

        A ``local:N`` cluster's workers share this machine, so their shares together must also fit
        what this process may plan to use (MemAvailable, capped by ``MNIST_LOGREG_MAX_MEMORY``);
        a remote cluster's workers are held to their own ``--memory-limit`` only.
        """
        from .sweep import check_memory

        workers = self.client.scheduler_info().get("workers", {})
        shares = {address: worker.get("nthreads", 1) * task_bytes + split_bytes for address, worker in workers.items()}
        for address, worker in workers.items():
            limit = worker.get("memory_limit")
            if limit:  # 0: the worker has no limit of its own
                check_memory(shares[address], available=limit, where=f"the tasks of Dask worker {address}")
        if self._cluster is not None:
            check_memory(sum(shares.values()), where=f"--scheduler {self.address} (its workers' tasks at once)")

    def info(self) -> dict:
        """What the scheduler says it ran: task counts per worker, from its task stream."""
        ran = Counter(str(r.get("worker")) for r in self._stream)
        return {"executor": "dask", "scheduler": self.address,
                "workers": len(self.client.scheduler_info().get("workers", {})),
                "tasks_run": sum(ran.values()), "tasks_by_worker": dict(ran)}
