"""Data-parallel training on MPI, measured: time per epoch on N = 1 and 2 processes, the
Allreduce's share of each step, the same figures for PyTorch DDP (gloo) when torch is
installed, and the scaling model of docs/cluster.md with this machine's compute per step.

Every process runs its BLAS (and torch) on one thread, so that N processes use N cores.  The
network is the Fashion-MNIST MLP 784-256-128-10 (ReLU, softmax, Adam), trained on the first
``--rows`` training images (random pixels when Fashion-MNIST is not installed: only the speed
matters here) with a global batch of ``--batch-size`` rows.  The first epoch warms up (kernels,
caches) and is not counted.  Nothing is asserted; numbers on a shared 2-core VM are noisy.

    python benchmarks/bench_distributed.py [--rows 20000] [--epochs 3] [--batch-size 128]
        [--rounds 2] [--bandwidth-gbit 10] [--latency-us 50] [--no-torch]

The Allreduce time per step is the time spent in the call: the transfer, and the wait for the
slower process (two processes never finish their half of a batch at the same instant).  The
microbenchmark below it times the call alone, after a barrier.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = [784, 256, 128, 10]
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def data(rows: int) -> tuple[np.ndarray, np.ndarray]:
    sys.path.insert(0, HERE)
    from _fashion import find_files, load

    if find_files() is not None:
        X, y, _, _ = load()
        return X[:rows], y[:rows]
    rng = np.random.default_rng(0)
    return rng.random((rows, 784), dtype=np.float32), rng.integers(0, 10, rows)


def n_parameters() -> int:
    return sum(a * b + b for a, b in zip(SIZES, SIZES[1:]))


def median_ms(fn, reps: int = 50) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * float(np.median(times))


# --------------------------------------------------------------------------- backprop, MPI
def backprop_worker(args: argparse.Namespace) -> None:
    """Run under mpiexec: train, time the epochs and the Allreduce calls; process 0 prints
    one JSON line."""
    from mpi4py import MPI

    import backprop as bp
    from backprop.train.processes import Processes

    comm = MPI.COMM_WORLD
    rank, n = comm.Get_rank(), comm.Get_size()
    X, y = data(args.rows)
    lo, hi = args.rows * rank // n, args.rows * (rank + 1) // n
    spent = [0.0]
    original = Processes.allreduce_in_place

    def timed(self, buffer):
        t = time.perf_counter()
        try:
            return original(self, buffer)
        finally:
            spent[0] += time.perf_counter() - t

    Processes.allreduce_in_place = timed
    epochs: list[tuple[float, float]] = []

    class Clock(bp.Callback):
        def on_train_begin(self, network):
            self.t, self.a = time.perf_counter(), 0.0

        def on_epoch_end(self, epoch, logs, history):
            now = time.perf_counter()
            epochs.append((now - self.t, spent[0] - self.a))
            self.t, self.a = now, spent[0]

    net = bp.mlp(SIZES, activation="relu", output="softmax", seed=0)
    net.fit(X[lo:hi], y[lo:hi], epochs=args.epochs + 1, batch_size=args.batch_size, seed=0,
            verbose=0, callbacks=[Clock()], comm=comm if n > 1 else None)
    Processes.allreduce_in_place = original
    procs = Processes(comm)
    micro = {}
    for size in (n_parameters(), 1 << 20):
        buf = np.ones(size, dtype=np.float32)
        comm.Barrier()
        micro[size] = median_ms(lambda buf=buf: procs.allreduce_in_place(buf))
    if rank == 0:
        steps = math.ceil(args.rows / args.batch_size)
        counted = epochs[1:]
        print(json.dumps({"n": n, "epoch_s": float(np.median([e for e, _ in counted])),
                          "allreduce_ms": 1e3 * float(np.median([a for _, a in counted])) / steps,
                          "steps": steps, "micro_ms": {str(k): v for k, v in micro.items()}}))


def run_backprop(n: int, args: argparse.Namespace) -> dict:
    sys.path.insert(0, os.path.join(HERE, "..", "tests"))
    from helpers import mpiexec

    env = {**os.environ, **ONE_THREAD}
    cmd = mpiexec(n, sys.executable, os.path.abspath(__file__), "--worker",
                  "--rows", str(args.rows), "--epochs", str(args.epochs),
                  "--batch-size", str(args.batch_size))
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# --------------------------------------------------------------------------- PyTorch DDP
def torch_mlp():
    import torch.nn as tnn

    return tnn.Sequential(tnn.Linear(784, 256), tnn.ReLU(), tnn.Linear(256, 128), tnn.ReLU(),
                          tnn.Linear(128, 10))


def torch_worker(rank: int, n: int, port: int, args: argparse.Namespace, out: dict) -> None:
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    torch.manual_seed(0)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=n)
    X, y = data(args.rows)
    X, y = torch.from_numpy(np.ascontiguousarray(X)), torch.from_numpy(y.astype(np.int64))
    model = torch_mlp()
    if n > 1:
        model = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(0)
    times = []
    for _ in range(args.epochs + 1):
        t = time.perf_counter()
        order = torch.randperm(args.rows, generator=gen)  # the same on every process
        for start in range(0, args.rows, args.batch_size):
            rows = order[start:start + args.batch_size]
            mine = rows[rank::n]  # this process's part of the global batch
            opt.zero_grad()
            loss_fn(model(X[mine]), y[mine]).backward()
            opt.step()
        times.append(time.perf_counter() - t)
    micro = {}
    for size in (n_parameters(), 1 << 20):
        buf = torch.ones(size)
        dist.barrier()
        micro[str(size)] = median_ms(lambda buf=buf: dist.all_reduce(buf))
    if rank == 0:
        out.update({"n": n, "epoch_s": float(np.median(times[1:])), "micro_ms": micro})
    dist.destroy_process_group()


def run_torch(n: int, args: argparse.Namespace) -> dict | None:
    try:
        import torch.multiprocessing as mp
    except ImportError:
        return None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    manager = mp.Manager()
    out = manager.dict()
    mp.spawn(torch_worker, args=(n, port, args, out), nprocs=n, join=True)
    return dict(out)


def torch_cnn_step_ms(batch: int) -> float | None:
    """Forward, backward and Adam step of the convolution issue's net A on one thread."""
    try:
        import torch
        import torch.nn as tnn
    except ImportError:
        return None
    torch.set_num_threads(1)
    net = tnn.Sequential(tnn.Conv2d(1, 32, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                         tnn.Conv2d(32, 64, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                         tnn.Flatten(), tnn.Linear(3136, 128), tnn.ReLU(), tnn.Linear(128, 10))
    opt = torch.optim.Adam(net.parameters())
    X, y = torch.rand(batch, 1, 28, 28), torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad()
        tnn.functional.cross_entropy(net(X), y).backward()
        opt.step()

    step()
    return median_ms(step, reps=10)


# --------------------------------------------------------------------------- the model
def allreduce_model_ms(params: int, machines: int, gbit: float, latency_us: float) -> float:
    """Rabenseifner's Allreduce (reduce-scatter, then allgather, by recursive halving and
    doubling) of ``params`` float32: 2 log2(M) latencies and 2 (M-1)/M of the buffer over the
    link."""
    if machines == 1:
        return 0.0
    size = 4 * params
    return 1e3 * (2 * math.log2(machines) * latency_us * 1e-6
                  + 2 * (machines - 1) / machines * size / (gbit * 1e9 / 8))


def scaling_table(name: str, params: int, compute_ms: float, args: argparse.Namespace) -> None:
    print(f"\n{name}: {params:,} parameters ({4 * params / 1e6:.2f} MB of float32 gradients), "
          f"compute {compute_ms:.1f} ms per step of {args.batch_size} rows on one core")
    print(f"  {'machines':>8}  {'rows/machine':>12}  {'compute ms':>10}  {'allreduce ms':>12}  "
          f"{'step ms':>8}  {'speed-up':>8}  {'efficiency':>10}")
    for m in (1, 4, 16, 64):
        comp = compute_ms / m
        ar = allreduce_model_ms(params, m, args.bandwidth_gbit, args.latency_us)
        step = comp + ar
        print(f"  {m:>8}  {args.batch_size / m:>12.1f}  {comp:>10.2f}  {ar:>12.2f}  {step:>8.2f}"
              f"  {compute_ms / step:>8.2f}  {compute_ms / step / m:>9.0%}")
    # compute per machine falls as 1/M while the Allreduce tends to 2 x size / bandwidth
    floor = allreduce_model_ms(params, 1 << 20, args.bandwidth_gbit, 0.0)
    print(f"  the Allreduce tends to {floor:.2f} ms per step: the speed-up can never pass "
          f"{compute_ms / floor:.1f}x at this batch size; half efficiency at about "
          f"{max(1.0, compute_ms / floor):.0f} machines")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--bandwidth-gbit", type=float, default=10.0)
    parser.add_argument("--latency-us", type=float, default=50.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        backprop_worker(args)
        return
    for k, v in ONE_THREAD.items():
        os.environ[k] = v
    print(f"MLP {'-'.join(map(str, SIZES))} ({n_parameters():,} parameters), {args.rows:,} rows,"
          f" global batch {args.batch_size}, {args.epochs} timed epochs (median), one BLAS "
          f"thread per process, {os.cpu_count()} CPUs")
    load = os.getloadavg()[0]
    # N = 1 and N = 2 alternate, round after round; the medians over rounds are shown
    runs: dict[int, list[dict]] = {1: [], 2: []}
    for _ in range(args.rounds):
        for n in (1, 2):
            runs[n].append(run_backprop(n, args))
    ours = {n: {**r[0], "epoch_s": float(np.median([x["epoch_s"] for x in r])),
                "allreduce_ms": float(np.median([x["allreduce_ms"] for x in r]))}
            for n, r in runs.items()}
    theirs = {} if args.no_torch else {n: run_torch(n, args) for n in (1, 2)}
    print(f"(load average {load:.1f} before, {os.getloadavg()[0]:.1f} after, on "
          f"{os.cpu_count()} CPUs: other jobs on the machine slow the two-process runs most)")
    steps = ours[1]["steps"]
    print(f"\n{'':34}{'N=1':>10}{'N=2':>10}{'N=2 vs N=1':>12}")
    e1, e2 = ours[1]["epoch_s"], ours[2]["epoch_s"]
    print(f"{'backprop (MPI) epoch, s':34}{e1:>10.3f}{e2:>10.3f}{e1 / e2:>11.2f}x")
    ar = ours[2]["allreduce_ms"]
    print(f"{'  Allreduce in the step, ms':34}{'-':>10}{ar:>10.3f}")
    print(f"{'  the rest of the step, ms':34}{1e3 * e1 / steps:>10.3f}"
          f"{1e3 * e2 / steps - ar:>10.3f}")
    if theirs.get(1):
        t1, t2 = theirs[1]["epoch_s"], theirs[2]["epoch_s"]
        print(f"{'PyTorch (DDP, gloo) epoch, s':34}{t1:>10.3f}{t2:>10.3f}{t1 / t2:>11.2f}x")
    print("\nAllreduce alone (median of 50, after a barrier), 2 processes on this machine:")
    for key in ours[2]["micro_ms"]:
        line = f"  {int(key):>9,} float32: MPI (mpi4py + MPICH) {ours[2]['micro_ms'][key]:.3f} ms"
        if theirs.get(2):
            line += f", gloo {theirs[2]['micro_ms'][key]:.3f} ms"
        print(line)
    print(f"\nScaling model (docs/cluster.md): M machines, one process each, a global batch of "
          f"{args.batch_size} rows split among them, {args.bandwidth_gbit:g} Gbit/s links, "
          f"{args.latency_us:g} us latency; compute measured here on one core")
    scaling_table("Fashion-MNIST MLP", n_parameters(), 1e3 * e1 / steps, args)
    cnn = torch_cnn_step_ms(args.batch_size)
    if cnn is not None:
        scaling_table("Fashion-MNIST CNN (the convolution issue's net A; compute measured with "
                      "PyTorch)", 320 + 18496 + 401536 + 1290, cnn, args)


if __name__ == "__main__":
    main()
