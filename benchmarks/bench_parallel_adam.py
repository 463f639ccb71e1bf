"""Would a second thread make the Adam update cheaper inside ``fit``?  (measured: no)

In isolation, Adam's kernel split over two threads (numba ``parallel=True``, two chunks) runs
about twice as fast.  Inside ``fit`` the second core is OpenBLAS's: between matrix products its
idle worker thread keeps spinning, and a second element-wise thread then competes with it.  This
script measures both: the kernel alone, serial against parallel, and whole epochs of ``fit`` on
the training workload (784-256-128-10, Adam 1e-3, batch 128, Fashion-MNIST) with the serial
kernel and with the parallel one swapped in, interleaved.  Each numba threading layer runs in a
fresh process (a thread pool, once started, stays for the life of the process).

Usage
  python benchmarks/bench_parallel_adam.py              # workqueue, omp, omp passive; 3 rounds
  python benchmarks/bench_parallel_adam.py --layers workqueue --rounds 5
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

SIZES = [784, 256, 128, 10]


def child(rounds: int) -> None:
    """In this process: the kernel alone, then fit epochs, serial and parallel interleaved."""
    import numba

    import backprop as bp
    from backprop import _kernels

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import _fashion

    serial_kernel = _kernels.get("adam")
    inner = numba.njit(nogil=True, error_model="numpy", inline="always")(_kernels.KERNELS["adam"])

    @numba.njit(parallel=True, nogil=True, error_model="numpy")
    def parallel_kernel(p, g, m, v, v_max, amsgrad, c):  # two chunks for large parameters
        n = p.size
        if n < 65536:
            return inner(p, g, m, v, v_max, amsgrad, c)
        half = (n + 1) // 2
        ok = np.ones(2, np.bool_)
        for k in numba.prange(2):
            lo, hi = k * half, min(n, (k + 1) * half)
            ok[k] = inner(p[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi],
                          v_max[lo:hi] if amsgrad else v_max, amsgrad, c)
        return ok.all()

    kernels = {"serial": serial_kernel, "parallel": parallel_kernel}
    rng = np.random.default_rng(0)
    n = 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10
    p, g = rng.standard_normal(n, np.float32), rng.standard_normal(n, np.float32) * 1e-3
    m, v = np.zeros(n, np.float32), np.zeros(n, np.float32)
    amsgrad, c = bp.Adam()._kernel_consts(np.dtype(np.float32), 5)
    print(f"  threading layer: {os.environ.get('NUMBA_THREADING_LAYER', 'default')}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}")
    for name, kernel in kernels.items():
        kernel(p, g, m, v, m, amsgrad, c)
        times = []
        for _ in range(200):
            start = time.perf_counter()
            kernel(p, g, m, v, m, amsgrad, c)
            times.append(time.perf_counter() - start)
        print(f"  Adam kernel alone, {name:8s}: {np.median(times) * 1e6:6.0f} us per step")

    X, y, _, _ = _fashion.load()
    compiled = _kernels.registry._compile()  # the table get() reads
    times = {name: [] for name in kernels}
    for r in range(rounds + 1):  # round 0: warm-up
        for name, kernel in kernels.items():
            compiled["adam"] = kernel
            net = bp.mlp(SIZES, activation="relu", output="softmax", seed=0)
            time.sleep(0.2)
            start = time.perf_counter()
            net.fit(X, y, epochs=1, batch_size=128, optimizer=bp.Adam(lr=1e-3), seed=0,
                    verbose=0)
            if r:
                times[name].append(time.perf_counter() - start)
    compiled["adam"] = serial_kernel
    for name, values in times.items():
        print(f"  fit epoch, {name:8s} Adam: median {np.median(values):.3f} s   "
              + " ".join(f"{v:.3f}" for v in values))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--layers", default="workqueue,omp,omp:passive",
                   help="numba threading layers to try, one fresh process each (omp:passive: "
                        "with OMP_WAIT_POLICY=PASSIVE)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.rounds)
        return 0
    for layer in args.layers.split(","):
        name, _, policy = layer.strip().partition(":")
        env = dict(os.environ, NUMBA_THREADING_LAYER=name)
        if policy:  # e.g. omp:passive, OpenMP threads that sleep instead of spinning
            env["OMP_WAIT_POLICY"] = policy.upper()
        subprocess.run([sys.executable, os.path.abspath(__file__), "--child", "--rounds",
                        str(args.rounds)], env=env, check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
