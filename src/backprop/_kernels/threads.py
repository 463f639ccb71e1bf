"""Image layers' work split over threads: each thread takes a contiguous range of images and
runs every step on it (serial kernels, single-threaded matrix products).

Why not numba's ``parallel=True`` and OpenBLAS's own threads.  A convolution alternates
kernels and matrix products.  With two thread pools (numba's and OpenBLAS's) every operation
wakes its pool's threads and, on a 2-core machine, finds the other pool's threads still
spinning after their last operation; on a busy machine every wake-up also waits for the
scheduler.  Split over threads of our own, each with single-threaded BLAS, a convolution's
products and im2col ran about twice as fast as the same work alternating between the two
pools.  So the image layers wake threads once per layer and pass, through :func:`split`, and
hand each thread a range of images to work through in cache-sized chunks, and a network
that holds such layers runs its other products on one BLAS thread too (:func:`single_blas`):
OpenBLAS's idle threads spin, and would take the cores the image layers' threads need
(``benchmarks/bench_conv.py`` measures the layers).

:func:`count` is the number of threads used: numba's setting (``numba.set_num_threads``,
by default the number of cores; 1 without numba).  Inside :func:`split` the BLAS libraries
loaded when it first ran (NumPy's among them) are limited to one thread (threadpoolctl), and
restored afterwards.  NumPy's matrix products and the kernels (compiled with
``nogil=True``) release the GIL, so the threads run at once.  A forked child process starts
with no pool (its parent's threads do not exist there) and makes its own.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from threadpoolctl import ThreadpoolController

__all__ = ["count", "split", "single_blas"]

T = TypeVar("T")

_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_controller: Any = None
_lock = threading.Lock()


def _forget_pool() -> None:
    """In a forked child: the parent's worker threads are not there, so make new ones."""
    global _pool, _pool_size, _lock
    _pool, _pool_size, _lock = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def count() -> int:
    """How many threads :func:`split` uses (numba's setting; 1 without numba)."""
    try:
        import numba  # optional: without it every caller takes its NumPy path anyway
    except ImportError:  # pragma: no cover - exercised only without numba
        return 1
    return numba.get_num_threads()


def _workers(n: int) -> tuple[ThreadPoolExecutor, Any]:
    """A pool of at least ``n`` worker threads (none made for ``n = 0``) and the threadpoolctl
    controller, made once."""
    global _pool, _pool_size, _controller
    with _lock:
        if n and (_pool is None or _pool_size < n):
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="backprop-images")
            _pool_size = n
        if _controller is None:
            _controller = ThreadpoolController()  # finds the BLAS libraries loaded now
        return _pool, _controller


@contextlib.contextmanager
def single_blas() -> Iterator[None]:
    """Within the block BLAS runs on one thread.  A network with image layers runs its passes
    so (see ``backprop.nn.propagation``): OpenBLAS's worker threads spin for a while after
    each product, and a spinning thread takes the core that an image layer's own threads (or
    its serial kernels) need next."""
    _, controller = _workers(0)
    with controller.limit(limits=1, user_api="blas"):
        yield


def split(m: int, work: Callable[[int, int, int], T]) -> list[T]:
    """``work(lo, hi, part)`` for ``min(count(), m)`` contiguous ranges ``[lo, hi)`` of ``range(m)``
    (``part`` numbers them from 0), run at once on as many threads, the calling thread taking
    the first range; the results in order.  BLAS runs single-threaded meanwhile.  An exception
    in any range is raised here once every range has finished."""
    n = min(count(), m)
    if n <= 1:
        return [work(0, m, 0)]
    pool, controller = _workers(n - 1)
    bounds = [m * i // n for i in range(n + 1)]
    with controller.limit(limits=1, user_api="blas"):
        futures = [pool.submit(work, bounds[i], bounds[i + 1], i) for i in range(1, n)]
        try:
            first = work(bounds[0], bounds[1], 0)
        finally:
            rest = [f.exception() for f in futures]  # waits for every range
        for error in rest:
            if error is not None:
                raise error
        return [first, *(f.result() for f in futures)]
