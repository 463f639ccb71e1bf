"""Convolutional training speed, side by side: our ``fit`` against PyTorch and against the
matrix products alone (the GEMM floor), on Fashion-MNIST.

The workload (net A): Conv(1->32, 3x3, pad 1)-ReLU-MaxPool2 -> Conv(32->64, 3x3, pad 1)-ReLU-
MaxPool2 -> Flatten -> Dense(3136->128)-ReLU -> Dense(128->10), softmax + cross-entropy,
Adam(lr=1e-3), batch 128, float32, 2 threads (BLAS, numba and torch alike).  Net B (A with
batch normalisation after each convolution and after the dense-128) runs too when this build
has ``bp.BatchNorm`` and ``bp.Activation``.

An epoch is 60,000 images; to keep a run short each contender trains on the first
``--batches`` batches and the time is scaled to 60,000 images.  Contenders run round-robin
(ours, floor, torch NCHW, torch channels_last, ours, ...) with a pause of ``--settle``
seconds before each (BLAS and OpenMP threads spin for a while after their last operation and
slow down whoever runs next), so that a change in the machine's load hits all of them alike;
the numbers reported are medians over ``--rounds`` rounds, ratios are taken within a round.

Contenders
  ours          ``net.fit(X, y, epochs=1, batch_size=128, optimizer=Adam(1e-3), shuffle=False)``
                on the subset (the public API; the optimizer's state carries over)
  floor         the matrix products of every training step and nothing else, with NumPy's BLAS
                into preallocated arrays, in the shapes our layers use them: per convolution
                ``cols @ W`` (forward), ``cols^T @ dz`` (weight gradient) and, but for the first
                layer, ``dz @ W^T`` (input gradient); per dense layer the same three
  torch         PyTorch (if installed), the plain loop: forward, ``cross_entropy``, backward,
                ``Adam.step``, in the default NCHW memory format
  torch_cl      the same with model and batches in ``channels_last`` memory format

Also printed: ``predict`` of the 10,000 test images against torch's eval-mode forward pass
(``no_grad``, batches of 1,000), each layer's share of our training step (``--breakdown``), and
in a fresh process the peak resident memory of our training against the data's size.

Threads: ``--threads`` sets BLAS's, numba's and torch's.  Our image layers run their work on
that many threads of their own and keep BLAS on one thread during a network's passes (see
``backprop._kernels.threads``).

Usage
  python benchmarks/bench_conv.py                     # about 5 minutes on 2 busy cores
  python benchmarks/bench_conv.py --batches 20 --rounds 3 --no-memory   # a quick look
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_limits

import backprop as bp
from backprop.nn import propagation
from backprop.nn.workspace import Workspace

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _fashion  # noqa: E402

EPOCH = 60000


def net_a(seed: int = 0) -> bp.Network:
    return bp.Network([
        bp.Conv2D(1, 32, 3, padding=1, activation="relu", seed=seed),
        bp.MaxPool2D(2),
        bp.Conv2D(32, 64, 3, padding=1, activation="relu", seed=seed + 1),
        bp.MaxPool2D(2),
        bp.Flatten(),
        bp.Dense(3136, 128, "relu", seed=seed + 2),
        bp.Dense(128, 10, "softmax", seed=seed + 3),
    ], "categorical_crossentropy", input_shape=(1, 28, 28))


def net_b(seed: int = 0) -> bp.Network | None:
    """Net A with batch normalisation, when this build has it."""
    if not (hasattr(bp, "BatchNorm") and hasattr(bp, "Activation")):
        return None
    return bp.Network([
        bp.Conv2D(1, 32, 3, padding=1, seed=seed), bp.BatchNorm(32), bp.Activation("relu"),
        bp.MaxPool2D(2),
        bp.Conv2D(32, 64, 3, padding=1, seed=seed + 1), bp.BatchNorm(64),
        bp.Activation("relu"), bp.MaxPool2D(2),
        bp.Flatten(),
        bp.Dense(3136, 128, "linear", seed=seed + 2), bp.BatchNorm(128), bp.Activation("relu"),
        bp.Dense(128, 10, "softmax", seed=seed + 3),
    ], "categorical_crossentropy", input_shape=(1, 28, 28))


def torch_net(kind: str):
    import torch.nn as tnn

    def block(c_in: int, c_out: int) -> list:
        layers = [tnn.Conv2d(c_in, c_out, 3, padding=1)]
        if kind == "B":
            layers.append(tnn.BatchNorm2d(c_out))
        return layers + [tnn.ReLU(), tnn.MaxPool2d(2)]

    head = [tnn.Linear(3136, 128)] + ([tnn.BatchNorm1d(128)] if kind == "B" else [])
    return tnn.Sequential(*block(1, 32), *block(32, 64), tnn.Flatten(), *head, tnn.ReLU(),
                          tnn.Linear(128, 10))


class Floor:
    """The training step's matrix products alone, into preallocated arrays."""

    def __init__(self, batch: int, rng: np.random.Generator) -> None:
        f32 = np.float32

        def r(*shape: int) -> np.ndarray:
            return rng.random(shape, dtype=f32)

        m = batch
        # (rows, k, n) of each layer's forward product; its weight gradient is (k, rows) @
        # (rows, n), its input gradient (rows, n) @ (n, k)
        self.layers = []
        for rows, k, n, need_dx in [(m * 784, 9, 32, False), (m * 196, 288, 64, True),
                                    (m, 3136, 128, True), (m, 128, 10, True)]:
            self.layers.append((r(rows, k), r(k, n), np.empty((rows, n), f32), r(rows, n),
                                np.empty((k, n), f32),
                                np.empty((rows, k), f32) if need_dx else None))

    def step(self) -> None:
        for a, w, z, dz, dw, dx in self.layers:
            np.matmul(a, w, out=z)
            np.matmul(a.T, dz, out=dw)
            if dx is not None:
                np.matmul(dz, w.T, out=dx)


def timed(fn: Callable[[], None]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def breakdown(net: bp.Network, X: np.ndarray, y: np.ndarray, reps: int) -> list[str]:
    """Each layer's forward and backward time (median over ``reps`` steps) in the workspace
    path that ``fit`` takes."""
    ws = Workspace()
    times: dict[str, list[float]] = {}
    onehot = np.eye(10, dtype=np.float32)[y]
    with propagation.threads_for(net.layers):  # the threading fit's passes run in
        _steps(net, X, onehot, ws, times, reps)
    total = sum(float(np.median(v)) for v in times.values())
    return [f"  {k:<34} {np.median(v) * 1e3:7.2f} ms  {np.median(v) / total:6.1%}"
            for k, v in times.items()] + [f"  {'step':<34} {total * 1e3:7.2f} ms"]


def _steps(net: bp.Network, X: np.ndarray, onehot: np.ndarray, ws: Workspace,
           times: dict[str, list[float]], reps: int) -> None:
    for _ in range(reps):
        a, caches = X, []
        for i, layer in enumerate(net.layers):
            t = time.perf_counter()
            a, cache = layer._forward(a, True, ws) if layer.workspace_path else layer.forward(
                a, True)
            times.setdefault(f"{i} {type(layer).__name__} forward", []).append(
                time.perf_counter() - t)
            caches.append(cache)
        da = (a - onehot) / len(onehot)
        last = len(net.layers) - 1
        t = time.perf_counter()
        da, _ = net.layers[last]._backward_from_dz(da, caches[last], ws, True)
        times.setdefault(f"{last} Dense backward (from dz)", []).append(time.perf_counter() - t)
        for i in range(last - 1, -1, -1):
            layer = net.layers[i]
            t = time.perf_counter()
            if layer.workspace_path:
                da, _ = layer._backward(da, caches[i], ws, i > 0, da_owned=True)
            else:
                da, _ = layer.backward(da, caches[i])
            times.setdefault(f"{i} {type(layer).__name__} backward", []).append(
                time.perf_counter() - t)


def vm_kib(field: str) -> int:
    """A field of /proc/self/status in KiB (VmRSS: resident now, VmHWM: its peak)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


def memory_child(args: argparse.Namespace) -> int:
    """In a fresh process: resident size before the data, the data's size, and the peak
    while training on its first batches (the kernels compiled beforehand)."""
    n = args.batches * args.batch_size
    warm = np.random.default_rng(0).random((256, 1, 28, 28), dtype=np.float32)
    with threadpool_limits(args.threads, user_api="blas"):
        net_a().fit(warm, np.arange(256) % 10, epochs=1, batch_size=128, verbose=0)
    del warm
    gc.collect()
    before = vm_kib("VmRSS")
    X, y, _, _ = _fashion.load(args.data_dir)
    X = X.reshape(-1, 1, 28, 28)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak (VmHWM) to the current size
    with threadpool_limits(args.threads, user_api="blas"):
        net_a().fit(X[:n], y[:n], epochs=1, batch_size=args.batch_size, verbose=0)
    peak = vm_kib("VmHWM")
    data = X.nbytes + y.nbytes
    print(f"{before / 1024:.0f} {data / 2**20:.0f} {peak / 1024:.0f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batches", type=int, default=40, help="batches per timed run")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--settle", type=float, default=0.2)
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--no-memory", action="store_true")
    p.add_argument("--no-breakdown", action="store_true")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.memory_child:
        return memory_child(args)

    import numba
    numba.set_num_threads(args.threads)
    torch = None
    if not args.no_torch:
        try:
            import torch
            torch.set_num_threads(args.threads)
        except ImportError:
            print("(torch is not installed: pip install torch==2.13.0 for its columns)")
    X_all, y_all, X_test, y_test = _fashion.load(args.data_dir)
    X_all, X_test = X_all.reshape(-1, 1, 28, 28), X_test.reshape(-1, 1, 28, 28)
    n = args.batches * args.batch_size
    X, y = X_all[:n], y_all[:n]
    scale = EPOCH / n
    one, five, _ = os.getloadavg()
    print(f"bench_conv: net A, batch {args.batch_size}, float32, Adam 1e-3, {args.threads} "
          f"threads; {args.batches} batches per run, scaled to {EPOCH} images; "
          f"{args.rounds} rounds; load average {one:.2f} {five:.2f} on {os.cpu_count()} CPUs")
    limits = threadpool_limits(args.threads, user_api="blas")
    try:
        results = run_rounds(args, torch, X, y, scale)
        report(results, args)
        predict_section(args, torch, X_test)
        if not args.no_breakdown:
            print("\nour training step, layer by layer (median of 10 steps):")
            print("\n".join(breakdown(net_a(), X[:args.batch_size], y[:args.batch_size], 10)))
    finally:
        limits.unregister() if hasattr(limits, "unregister") else None
    if not args.no_memory:
        out = subprocess.run([sys.executable, __file__, "--memory-child", "--batches",
                              str(args.batches), "--threads", str(args.threads)]
                             + (["--data-dir", args.data_dir] if args.data_dir else []),
                             capture_output=True, text=True, check=True).stdout.split()
        before, data, peak = map(float, out[-3:])
        print(f"\nmemory (fresh process, net A, {args.batches} batches): peak RSS {peak:.0f} "
              f"MiB = {before:.0f} before loading + data {data:.0f} + {peak - before - data:.0f} "
              f"MiB for training (goal: <= 500 over the data)")
    one, five, _ = os.getloadavg()
    print(f"load average after: {one:.2f} {five:.2f}")
    return 0


def run_rounds(args: argparse.Namespace, torch, X: np.ndarray, y: np.ndarray, scale: float
               ) -> dict[str, list[float]]:
    nets = {"A": net_a()}
    b = net_b()
    if b is not None:
        nets["B"] = b
    opts = {k: bp.Adam(lr=1e-3) for k in nets}
    floor = Floor(args.batch_size, np.random.default_rng(0))
    contenders: dict[str, Callable[[], None]] = {}
    for k, net in nets.items():
        def ours(net=net, opt=opts[k]) -> None:
            net.fit(X, y, epochs=1, batch_size=args.batch_size, optimizer=opt, shuffle=False,
                    verbose=0)
        contenders[f"ours {k}"] = ours
    contenders["floor A"] = lambda: [floor.step() for _ in range(args.batches)]
    if torch is not None:
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        for k in nets:
            for fmt in ("nchw", "channels_last"):
                model = torch_net(k)
                if fmt == "channels_last":
                    model = model.to(memory_format=torch.channels_last)
                opt = torch.optim.Adam(model.parameters(), lr=1e-3)

                def step(model=model, opt=opt, fmt=fmt) -> None:
                    for i in range(0, Xt.shape[0], args.batch_size):
                        xb = Xt[i:i + args.batch_size]
                        if fmt == "channels_last":
                            xb = xb.contiguous(memory_format=torch.channels_last)
                        opt.zero_grad()
                        loss = torch.nn.functional.cross_entropy(model(xb),
                                                                 yt[i:i + args.batch_size])
                        loss.backward()
                        opt.step()
                contenders[f"torch {k} {fmt}"] = step
    for fn in contenders.values():  # warm-up: numba compiles, torch allocates
        fn()
    results: dict[str, list[float]] = {k: [] for k in contenders}
    for r in range(args.rounds):
        line = []
        for name, fn in contenders.items():
            time.sleep(args.settle)
            t = timed(fn) * scale
            results[name].append(t)
            line.append(f"{name} {t:.1f}")
        print(f"round {r + 1}: " + ", ".join(line) + "  (s/epoch)", flush=True)
    return results


def report(results: dict[str, list[float]], args: argparse.Namespace) -> None:
    med = {k: float(np.median(v)) for k, v in results.items()}
    print(f"\n{'s/epoch (median)':<28}{'net A':>8}{'net B':>8}")
    for what in ("ours", "torch {} nchw", "torch {} channels_last", "floor"):
        cells = []
        for k in ("A", "B"):
            key = f"{what} {k}" if "{}" not in what else what.format(k)
            cells.append(f"{med[key]:8.1f}" if key in med else f"{'-':>8}")
        print(f"{what.replace(' {}', ''):<28}" + "".join(cells))

    def ratio(a: str, b: str) -> str:
        if a not in results or b not in results:
            return "-"
        per_round = [x / y for x, y in zip(results[a], results[b])]
        return f"{np.median(per_round):.2f} (rounds {min(per_round):.2f}-{max(per_round):.2f})"

    print("\nratios, median over rounds of the per-round ratio:")
    for k in ("A", "B"):
        if f"ours {k}" not in results:
            print(f"  net {k}: not in this build (needs BatchNorm and Activation)")
            continue
        print(f"  net {k}: torch NCHW / ours {ratio(f'torch {k} nchw', f'ours {k}')}   "
              f"torch channels_last / ours {ratio(f'torch {k} channels_last', f'ours {k}')}")
    print(f"  net A: ours / GEMM floor {ratio('ours A', 'floor A')}  (goal <= 1.5, stretch "
          f"1.25)")


def predict_section(args: argparse.Namespace, torch, X_test: np.ndarray) -> None:
    net = net_a()
    times: dict[str, list[float]] = {"ours": []}
    net.predict(X_test[:256])
    model = None
    if torch is not None:
        model = torch_net("A").eval()
        times["torch"] = []
        Xt = torch.from_numpy(X_test)

        def torch_predict() -> None:
            with torch.no_grad():
                for i in range(0, Xt.shape[0], 1000):
                    model(Xt[i:i + 1000])
        torch_predict()
    for _ in range(args.rounds):
        time.sleep(args.settle)
        times["ours"].append(timed(lambda: net.predict(X_test)))
        if model is not None:
            time.sleep(args.settle)
            times["torch"].append(timed(torch_predict))
    line = f"\npredict of {X_test.shape[0]} test images (median): ours " \
           f"{np.median(times['ours']):.2f} s"
    if model is not None:
        line += (f", torch eval forward {np.median(times['torch']):.2f} s, torch / ours "
                 f"{np.median(np.array(times['torch']) / np.array(times['ours'])):.2f}")
    print(line)


if __name__ == "__main__":
    sys.exit(main())
