"""Hyperparameter searches on a Dask cluster: the BLAS threads of its workers.

The estimators need nothing special to run on Dask: they pickle (with their networks) and
``GridSearchCV``, ``RandomizedSearchCV`` and ``cross_val_score`` send them to the workers
through joblib's Dask backend::

    import joblib
    from dask.distributed import Client
    from sklearn.model_selection import GridSearchCV
    from backprop.sklearn import BackpropClassifier, limit_blas_threads

    client = Client("tcp://scheduler:8786")        # or Client(LocalCluster(...))
    limit_blas_threads(client)                      # workers x threads x BLAS <= cores
    search = GridSearchCV(BackpropClassifier(max_iter=50, random_state=0),
                          {"hidden_layer_sizes": [(32,), (64,)], "alpha": [1e-4, 1e-2]},
                          n_jobs=-1)
    with joblib.parallel_backend("dask"):
        search.fit(X, y)

What remains is the cores.  Each fit runs its matrix products in the BLAS library (OpenBLAS,
MKL), which starts its own threads; a worker running several fits at once, or several workers
on one machine, would each start as many threads as the machine has cores, and the threads
would fight for them.  Dask's nanny starts workers with one BLAS thread each (its
``distributed.nanny.pre-spawn-environ``): safe, but a machine with 16 cores and two
single-threaded workers then uses 2.  :func:`limit_blas_threads` sets, in every worker, the
number of BLAS threads to the machine's cores divided by the task threads of all the workers on
that machine (at least 1), with threadpoolctl, so that workers x threads x BLAS threads never
exceeds the cores and uses them when it can.
"""

from __future__ import annotations

import os
from collections import defaultdict
from typing import Any

import threadpoolctl

from backprop._utils import optional_import

__all__ = ["limit_blas_threads", "blas_threads_for"]


def blas_threads_for(workers: dict[str, dict[str, Any]], cores: dict[str, int]
                     ) -> dict[str, int]:
    """BLAS threads per worker: for each worker (address -> ``{"host": ..., "nthreads": ...}``,
    as ``Client.scheduler_info()["workers"]`` lists them), its machine's ``cores`` divided by
    the task threads of all the workers on that machine, at least 1."""
    per_host: dict[str, int] = defaultdict(int)
    for info in workers.values():
        per_host[info["host"]] += int(info["nthreads"])
    return {addr: max(1, cores[info["host"]] // max(1, per_host[info["host"]]))
            for addr, info in workers.items()}


def _cores() -> int:
    """The cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _set_blas_threads(threads: dict[str, int], dask_worker: Any = None) -> int:
    """Run in a worker: limit its BLAS thread pools (process-wide) to its entry of
    ``threads``; returns the limit set."""
    n = threads[dask_worker.address]
    threadpoolctl.threadpool_limits(limits=n, user_api="blas")
    return n


def limit_blas_threads(client: Any) -> dict[str, int]:
    """Set the BLAS threads of every worker of ``client``'s cluster so that, on each machine,
    workers x task threads x BLAS threads is at most its cores (and at least one BLAS thread
    per task thread); returns the threads set, by worker address.

    Workers that join later keep their own setting: call it again after scaling the cluster.
    """
    optional_import("distributed")
    workers = client.scheduler_info(n_workers=-1)["workers"]
    cores = client.run(_cores)
    hosts = {info["host"]: cores[addr] for addr, info in workers.items() if addr in cores}
    threads = blas_threads_for({a: w for a, w in workers.items() if w["host"] in hosts}, hosts)
    return client.run(_set_blas_threads, threads)
