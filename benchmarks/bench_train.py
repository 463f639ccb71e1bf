"""Training speed, side by side: our ``fit`` against the GEMM-only floor, PyTorch and
scikit-learn on Fashion-MNIST.

The workload: a 784-256-128-10 MLP (ReLU, softmax + cross-entropy), Adam(lr=1e-3), batch 128,
float32, the 60,000 training images.  Everything runs in this one process with the same BLAS
threads, and whole epochs are interleaved round-robin (ours, floor, torch, sklearn, ours, floor,
...) so that a change in the machine's load hits every contender alike; the numbers reported
are medians, and ratios are taken within each round.  Before each contender's epoch the
process sleeps for ``--settle`` seconds (0.2, untimed): OpenBLAS's worker threads spin for a
while after a matrix product, and PyTorch's OpenMP threads after an operation, and a
contender started while the other's threads still spin runs up to 2.5x slower (measured:
torch's forward pass right after a NumPy one 56 ms, after a pause 22 ms).

Contenders
  floor    the eight matrix products of every training step and nothing else (three forward,
           three weight gradients, two input gradients) with NumPy's BLAS, on consecutive
           slices of the data, into preallocated outputs: what no NumPy MLP can beat
  ours     ``net.fit(X, y, epochs=R + 1, batch_size=128, optimizer=Adam(lr=1e-3), verbose=0,
           callbacks=[clock])``, the public API: one run, whose epochs are timed by a callback
           that also runs the other contenders' epochs between ours (and outside our timing).
           The first epoch of every contender is an untimed warm-up (numba compiles the
           kernels then).  The per-call cost of ``fit`` (checking the 60,000 x 784 input) is
           reported apart
  torch    PyTorch (if installed: ``pip install torch==2.13.0``), the plain loop: randperm,
           index, forward, ``cross_entropy``, ``backward``, ``Adam.step``; threads set to the
           BLAS thread count
  sklearn  ``MLPClassifier(solver="adam", alpha=0, batch_size=128).partial_fit``, one epoch
           per call

Sections (``--sections``, comma-separated; default all)
  main     the workload above: per-round times and ratios ours/floor, torch/ours, sklearn/ours
  scaling  batch sizes 32/128/512 x hidden widths 64/256/1024 (784-w-w/2-10): ours/floor and
           torch/ours
  rows     epoch time at 15k, 30k and 60k rows: the cost per row must stay flat
  drift    one ``fit`` of 20 epochs: epoch 3 against epoch 20 (a floor epoch runs between our
           epochs, in a callback, to tell a slowdown of ours from one of the machine), and the
           test accuracy reached
  float64  the workload in float64 against its own float64 floor
  predict  ``net.predict`` on the 10,000 test images against torch's forward pass
  memory   in a fresh process: peak resident memory of a 2-epoch ``fit`` on the 60,000 images
           over the process's size before the data was loaded, against the data's own size

Usage
  python benchmarks/bench_train.py                  # everything, a few minutes on 2 cores
  python benchmarks/bench_train.py --quick          # a smoke run, well under a minute
  python benchmarks/bench_train.py --sections main --rounds 9
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

import backprop as bp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _fashion  # noqa: E402

MIB = 2**20
SECTIONS = ("main", "scaling", "rows", "drift", "float64", "predict", "memory")


# ----------------------------------------------------------------------------- contenders
class Floor:
    """The eight matrix products of each step of ``sizes``, on consecutive batches."""

    name = "floor"

    def __init__(self, X: np.ndarray, sizes: list[int], batch: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        dt = X.dtype
        self.X, self.batch = X, batch
        self.W = [(rng.standard_normal((a, b)) * np.sqrt(2 / a)).astype(dt)
                  for a, b in zip(sizes, sizes[1:])]
        self.z = [np.empty((batch, b), dt) for b in sizes[1:]]
        self.dW = [np.empty_like(W) for W in self.W]
        self.da = [np.empty((batch, a), dt) for a in sizes[:-1]]

    def epoch(self) -> None:
        """One pass over the rows: per batch 3 forward products, 3 dW, 2 dA."""
        X, W, L = self.X, self.W, len(self.W)
        for start in range(0, X.shape[0], self.batch):
            a0 = X[start:start + self.batch]
            k = a0.shape[0]
            acts = [a0]
            for layer in range(L):
                acts.append(np.matmul(acts[-1], W[layer], out=self.z[layer][:k]))
            d = acts[-1]  # stands in for dz: same shape, same cost
            for layer in range(L - 1, -1, -1):
                np.matmul(acts[layer].T, d, out=self.dW[layer])
                if layer > 0:
                    d = np.matmul(d, W[layer].T, out=self.da[layer][:k])


SETTLE_S = 0.2  # set from --settle


def settle() -> None:
    """Let the thread pools of the previous contender stop spinning (see the docstring)."""
    if SETTLE_S > 0:
        time.sleep(SETTLE_S)


class EpochClock(bp.Callback):
    """Times each epoch of a fit; runs ``between`` (timed apart) after each one."""

    def __init__(self, between: Callable[[], None]) -> None:
        self.between = between
        self.epoch_s: list[float] = []
        self.between_s: list[float] = []
        self._t = 0.0

    def on_train_begin(self, network: bp.Network) -> None:
        self._t = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict, history: bp.History) -> None:
        now = time.perf_counter()
        self.epoch_s.append(now - self._t)
        self.between()
        self.between_s.append(time.perf_counter() - now)
        settle()
        self._t = time.perf_counter()


def interleaved(X: np.ndarray, y: np.ndarray, sizes: list[int], batch: int, others: list[str],
                rounds: int, seed: int = 0) -> tuple[dict[str, list[float]], bp.Network]:
    """Seconds per epoch of ours and of each of ``others`` over ``rounds`` rounds, whole epochs
    interleaved (ours, then each other contender, then ours ...), after a warm-up round."""
    contenders = make_contenders(others, X, y, sizes, batch)
    times: dict[str, list[float]] = {"ours": [], **{c.name: [] for c in contenders}}

    def between() -> None:
        for c in contenders:
            settle()
            start = time.perf_counter()
            c.epoch()
            times[c.name].append(time.perf_counter() - start)

    clock = EpochClock(between)
    net = bp.mlp(sizes, activation="relu", output="softmax", dtype=X.dtype, seed=seed)
    net.fit(X, y, epochs=rounds + 1, batch_size=batch, optimizer=bp.Adam(lr=1e-3), seed=seed,
            verbose=0, callbacks=[clock])
    times["ours"] = clock.epoch_s
    return {k: v[1:] for k, v in times.items()}, net


class Torch:
    """PyTorch's plain training loop."""

    name = "torch"

    def __init__(self, X: np.ndarray, y: np.ndarray, sizes: list[int], batch: int,
                 seed: int = 0) -> None:
        import torch

        self.torch = torch
        torch.manual_seed(seed)
        dt = torch.float64 if X.dtype == np.float64 else torch.float32
        layers: list[Any] = []
        for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
            layers.append(torch.nn.Linear(a, b, dtype=dt))
            if i < len(sizes) - 2:
                layers.append(torch.nn.ReLU())
        self.model = torch.nn.Sequential(*layers)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.X, self.y = torch.from_numpy(X), torch.from_numpy(y)
        self.batch = batch
        self.gen = torch.Generator().manual_seed(seed)

    def epoch(self) -> None:
        """randperm, then per batch: index, forward, loss, backward, step."""
        torch = self.torch
        n = self.X.shape[0]
        perm = torch.randperm(n, generator=self.gen)
        for start in range(0, n, self.batch):
            idx = perm[start:start + self.batch]
            loss = torch.nn.functional.cross_entropy(self.model(self.X[idx]), self.y[idx])
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()

    def forward(self, X: Any) -> Any:
        """The forward pass (logits), no autograd."""
        with self.torch.inference_mode():
            return self.model(X)


class Sklearn:
    """scikit-learn's MLPClassifier, one ``partial_fit`` epoch per call."""

    name = "sklearn"

    def __init__(self, X: np.ndarray, y: np.ndarray, sizes: list[int], batch: int,
                 seed: int = 0) -> None:
        from sklearn.neural_network import MLPClassifier

        self.X, self.y = X, y
        self.clf = MLPClassifier(hidden_layer_sizes=tuple(sizes[1:-1]), activation="relu",
                                 solver="adam", alpha=0.0, batch_size=batch,
                                 learning_rate_init=1e-3, shuffle=True, random_state=seed)
        self.classes = np.arange(sizes[-1])

    def epoch(self) -> None:
        """``partial_fit``: one epoch."""
        self.clf.partial_fit(self.X, self.y, classes=self.classes)


# ----------------------------------------------------------------------------- helpers
def have_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def median(values: list[float]) -> float:
    return float(np.median(values))


def ratios(num: list[float], den: list[float]) -> list[float]:
    return [a / b for a, b in zip(num, den)]


def fmt_list(values: list[float], digits: int = 2) -> str:
    return " ".join(f"{v:.{digits}f}" for v in values)


def blas_line() -> str:
    infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    if not infos:
        return "BLAS: unknown (threadpoolctl found none)"
    return "; ".join(
        f"BLAS: {i.get('internal_api')} {i.get('version')}, kernel {i.get('architecture')}, "
        f"{i.get('num_threads')} threads ({os.path.basename(i.get('filepath', ''))})"
        for i in infos)


def blas_threads() -> int:
    infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return int(infos[0]["num_threads"]) if infos else os.cpu_count() or 1


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def section(title: str) -> None:
    print(f"\n=== {title} " + "=" * max(0, 74 - len(title)), flush=True)


def make_contenders(kinds: list[str], X: np.ndarray, y: np.ndarray, sizes: list[int],
                    batch: int) -> list[Any]:
    classes = {"torch": Torch, "sklearn": Sklearn}
    return [Floor(X, sizes, batch) if kind == "floor" else classes[kind](X, y, sizes, batch)
            for kind in kinds]


def test_accuracy(net: bp.Network, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(net.predict(X).argmax(axis=1) == y))


# ----------------------------------------------------------------------------- sections
def run_main(args: argparse.Namespace, data: tuple, results: dict) -> None:
    section("main: 784-256-128-10, Adam 1e-3, batch 128, float32, "
            f"{args.rows} rows, {args.rounds} rounds")
    X, y, Xt, yt = data
    X, y = X[:args.rows], y[:args.rows]
    others = ["floor"] + (["torch"] if args.torch else []) + (["sklearn"] if args.sklearn else [])
    t, net = interleaved(X, y, [784, 256, 128, 10], 128, others, args.rounds)
    print("seconds per epoch, by round (after one untimed warm-up round):")
    for name, values in t.items():
        print(f"  {name:8s} {fmt_list(values, 3)}   median {median(values):.3f}")
    r_of = ratios(t["ours"], t["floor"])
    print(f"  ours/floor    per round {fmt_list(r_of)}   median {median(r_of):.2f}")
    res = {"floor": median(t["floor"]), "ours": median(t["ours"]), "ours_floor": median(r_of)}
    if "torch" in t:
        r_to = ratios(t["torch"], t["ours"])
        print(f"  torch/ours    per round {fmt_list(r_to)}   median {median(r_to):.2f}")
        res.update(torch=median(t["torch"]), torch_ours=median(r_to))
    if "sklearn" in t:
        r_so = ratios(t["sklearn"], t["ours"])
        print(f"  sklearn/ours  per round {fmt_list(r_so)}   median {median(r_so):.2f}")
        res.update(sklearn=median(t["sklearn"]), sklearn_ours=median(r_so))
    acc = test_accuracy(net, Xt, yt)
    print(f"  ours after {args.rounds + 1} epochs: test accuracy {acc:.4f}")
    start = time.perf_counter()
    net.fit(X, y, epochs=0, verbose=0)
    print(f"  fit's per-call cost (input checks, set-up; once per call, not per epoch): "
          f"{(time.perf_counter() - start) * 1e3:.0f} ms")
    results["main"] = res


def run_scaling(args: argparse.Namespace, data: tuple, results: dict) -> None:
    rows = args.scaling_rows
    section(f"scaling: batch x hidden width, {rows} rows, {args.scaling_rounds} rounds each")
    X, y = data[0][:rows], data[1][:rows]
    header = f"{'batch':>5} {'widths':>14} {'floor s':>8} {'ours s':>8} {'ours/floor':>10}"
    if args.torch:
        header += f" {'torch s':>8} {'torch/ours':>10}"
    print(header)
    table = []
    for batch in (32, 128, 512):
        for width in (64, 256, 1024):
            sizes = [784, width, width // 2, 10]
            others = ["floor"] + (["torch"] if args.torch else [])
            t, _ = interleaved(X, y, sizes, batch, others, args.scaling_rounds)
            row = {"batch": batch, "width": width, "floor": median(t["floor"]),
                   "ours": median(t["ours"]),
                   "ours_floor": median(ratios(t["ours"], t["floor"]))}
            line = (f"{batch:>5} {'-'.join(map(str, sizes)):>14} {row['floor']:>8.3f} "
                    f"{row['ours']:>8.3f} {row['ours_floor']:>10.2f}")
            if args.torch:
                row.update(torch=median(t["torch"]),
                           torch_ours=median(ratios(t["torch"], t["ours"])))
                line += f" {row['torch']:>8.3f} {row['torch_ours']:>10.2f}"
            print(line, flush=True)
            table.append(row)
    results["scaling"] = table


def run_rows(args: argparse.Namespace, data: tuple, results: dict) -> None:
    section(f"rows: epoch time against data size, {args.rows_rounds} rounds each")
    X, y = data[0], data[1]
    sizes = [s for s in (15000, 30000, 60000) if s <= X.shape[0]]
    print(f"{'rows':>6} {'floor s':>8} {'ours s':>8} {'ours/floor':>10} {'ours us/row':>12}")
    out = []
    for n in sizes:
        t, _ = interleaved(X[:n], y[:n], [784, 256, 128, 10], 128, ["floor"], args.rows_rounds)
        row = {"rows": n, "floor": median(t["floor"]), "ours": median(t["ours"]),
               "ours_floor": median(ratios(t["ours"], t["floor"]))}
        row["us_per_row"] = row["ours"] / n * 1e6
        out.append(row)
        print(f"{n:>6} {row['floor']:>8.3f} {row['ours']:>8.3f} {row['ours_floor']:>10.2f} "
              f"{row['us_per_row']:>12.2f}", flush=True)
    base = out[-1]["us_per_row"]
    print("  cost per row relative to the largest: "
          + ", ".join(f"{r['rows']}: {r['us_per_row'] / base:.2f}" for r in out))
    results["rows"] = out


def run_drift(args: argparse.Namespace, data: tuple, results: dict) -> None:
    E = args.drift_epochs
    section(f"drift: one fit of {E} epochs, {args.rows} rows (a floor epoch between epochs)")
    X, y, Xt, yt = data
    X, y = X[:args.rows], y[:args.rows]
    floor = Floor(X, [784, 256, 128, 10], 128)
    floor.epoch()
    net = bp.mlp([784, 256, 128, 10], activation="relu", output="softmax", seed=0)
    clock = EpochClock(floor.epoch)
    net.fit(X, y, epochs=E, batch_size=128, optimizer=bp.Adam(lr=1e-3), seed=0, verbose=0,
            callbacks=[clock])
    ep, fl = clock.epoch_s, clock.between_s
    print("ours s/epoch:  " + fmt_list(ep, 3))
    print("floor s/epoch: " + fmt_list(fl, 3))
    acc = test_accuracy(net, Xt, yt)
    res: dict[str, float] = {"accuracy": acc, "epochs": E}
    if E >= 3:
        i, j = 2, E - 1
        raw = ep[j] / ep[i]
        norm = (ep[j] / fl[j]) / (ep[i] / fl[i])
        # medians of 3 epochs around each end, less sensitive to one noisy epoch
        early = median(ep[1:4])
        late = median(ep[-3:])
        print(f"epoch {j + 1} / epoch 3: {raw:.3f} raw, {norm:.3f} relative to the floor of "
              f"the same epoch; median of epochs 2-4 {early:.3f} s, of the last 3 {late:.3f} s "
              f"({late / early:.3f})")
        res.update(raw=raw, normalized=norm, early=early, late=late)
    print(f"test accuracy after {E} epochs: {acc:.4f}")
    results["drift"] = res


def run_float64(args: argparse.Namespace, data: tuple, results: dict) -> None:
    section(f"float64: the workload in float64 against the float64 floor, {args.rows} rows")
    X, y = data[0][:args.rows].astype(np.float64), data[1][:args.rows]
    t, _ = interleaved(X, y, [784, 256, 128, 10], 128, ["floor"], args.float64_rounds)
    r = ratios(t["ours"], t["floor"])
    for name, values in t.items():
        print(f"  {name:8s} {fmt_list(values, 3)}   median {median(values):.3f}")
    print(f"  ours/floor per round {fmt_list(r)}   median {median(r):.2f}")
    results["float64"] = {"floor": median(t["floor"]), "ours": median(t["ours"]),
                          "ours_floor": median(r)}
    del X


def run_predict(args: argparse.Namespace, data: tuple, results: dict) -> None:
    Xt = data[2]
    section(f"predict: {Xt.shape[0]} test images, {args.predict_repeats} interleaved repeats")
    net = bp.mlp([784, 256, 128, 10], activation="relu", output="softmax", seed=0)
    fns: dict[str, Callable[[], Any]] = {"ours predict": lambda: net.predict(Xt)}
    if args.torch:
        import torch

        model = Torch(data[0][:256], data[1][:256], [784, 256, 128, 10], 128)
        Xt_torch = torch.from_numpy(Xt)
        fns["torch forward"] = lambda: model.forward(Xt_torch)
    times: dict[str, list[float]] = {k: [] for k in fns}
    for r in range(args.predict_repeats + 1):
        for name, fn in fns.items():
            settle()
            start = time.perf_counter()
            fn()
            if r:
                times[name].append(time.perf_counter() - start)
    for name, values in times.items():
        print(f"  {name:14s} median {median(values) * 1e3:7.2f} ms   "
              f"(min {min(values) * 1e3:.2f}, max {max(values) * 1e3:.2f})")
    res = {"ours_ms": median(times["ours predict"]) * 1e3}
    if args.torch:
        r = ratios(times["torch forward"], times["ours predict"])
        print(f"  torch/ours per repeat median {median(r):.2f}")
        res.update(torch_ms=median(times["torch forward"]) * 1e3, torch_ours=median(r))
    results["predict"] = res


def vm_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def memory_child(args: argparse.Namespace) -> None:
    """In a fresh process: RSS before the data, then the peak during a 2-epoch fit."""
    warm_X = np.random.default_rng(0).random((512, 784), dtype=np.float32)
    warm = bp.mlp([784, 256, 128, 10], activation="relu", output="softmax", seed=0)
    warm.fit(warm_X, np.arange(512) % 10, epochs=1, batch_size=128, verbose=0)  # compile
    del warm, warm_X
    gc.collect()
    before = vm_kib("VmRSS")
    X, y, _, _ = _fashion.load(args.data_dir)
    if args.rows < X.shape[0]:
        X, y = X[:args.rows].copy(), y[:args.rows].copy()
    gc.collect()
    loaded = vm_kib("VmRSS")
    reset = True
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the peak (VmHWM) to the current size
    except OSError:
        reset = False
    net = bp.mlp([784, 256, 128, 10], activation="relu", output="softmax", seed=0)
    net.fit(X, y, epochs=2, batch_size=128, optimizer=bp.Adam(lr=1e-3), seed=0, verbose=0)
    peak = vm_kib("VmHWM")
    print(json.dumps({"before_kib": before, "loaded_kib": loaded, "peak_kib": peak,
                      "data_bytes": int(X.nbytes + y.nbytes), "hwm_reset": reset}))


def run_memory(args: argparse.Namespace, results: dict) -> None:
    section(f"memory: peak resident size of a 2-epoch fit on {args.rows} rows (fresh process)")
    cmd = [sys.executable, os.path.abspath(__file__), "--memory-child", "--rows", str(args.rows)]
    if args.data_dir:
        cmd += ["--data-dir", args.data_dir]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    m = json.loads(out.strip().splitlines()[-1])
    if m["peak_kib"] is None:
        print("  /proc/self/status is not readable here: skipped")
        return
    data_mib = m["data_bytes"] / MIB
    over = (m["peak_kib"] - m["before_kib"]) / 1024
    print(f"  process before the data: {m['before_kib'] / 1024:.0f} MiB; with the data loaded: "
          f"{m['loaded_kib'] / 1024:.0f} MiB; peak during fit: {m['peak_kib'] / 1024:.0f} MiB"
          + ("" if m["hwm_reset"] else " (peak not reset after loading)"))
    print(f"  data (X float32 + y): {data_mib:.0f} MiB; peak over the process before the data: "
          f"{over:.0f} MiB = data + {over - data_mib:.0f} MiB (goal: data + 150 MiB)")
    results["memory"] = {"data_mib": data_mib, "over_mib": over, "extra_mib": over - data_mib}


# ----------------------------------------------------------------------------- summary
def goal_table(results: dict) -> None:
    section("goals")
    rows = []

    def add(goal: str, measured: str, ok: bool | None) -> None:
        rows.append((goal, measured, "-" if ok is None else ("met" if ok else "NOT met")))

    main = results.get("main")
    if main:
        add("epoch <= 1.5x GEMM floor (stretch 1.25x)", f"{main['ours_floor']:.2f}x",
            main["ours_floor"] <= 1.5)
        if "torch_ours" in main:
            add(">= 1.5x faster than PyTorch", f"{main['torch_ours']:.2f}x",
                main["torch_ours"] >= 1.5)
        if "sklearn_ours" in main:
            add(">= 2x faster than MLPClassifier", f"{main['sklearn_ours']:.2f}x",
                main["sklearn_ours"] >= 2.0)
    drift = results.get("drift")
    if drift and "raw" in drift:
        add(f"epoch {drift['epochs']} within 10% of epoch 3 (relative to floor)",
            f"{drift['normalized']:.3f} (raw {drift['raw']:.3f})",
            abs(drift["normalized"] - 1) <= 0.10)
    f64 = results.get("float64")
    if f64:
        add("float64 <= 1.5x its own floor", f"{f64['ours_floor']:.2f}x", f64["ours_floor"] <= 1.5)
    pred = results.get("predict")
    if pred and "torch_ours" in pred:
        add("predict(10,000) at least as fast as torch forward",
            f"{pred['ours_ms']:.1f} ms vs {pred['torch_ms']:.1f} ms ({pred['torch_ours']:.2f}x)",
            pred["torch_ours"] >= 1.0)
    mem = results.get("memory")
    if mem:
        add("peak memory <= data + 150 MiB", f"data + {mem['extra_mib']:.0f} MiB",
            mem["extra_mib"] <= 150)
    if drift:
        add(f"test accuracy >= 0.885 after {drift['epochs']} epochs", f"{drift['accuracy']:.4f}",
            drift["accuracy"] >= 0.885 if drift["epochs"] >= 20 else None)
    width = max(len(r[0]) for r in rows) if rows else 10
    for goal, measured, verdict in rows:
        print(f"  {goal:<{width}}  {measured:<34} {verdict}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sections", default=",".join(SECTIONS),
                   help=f"comma-separated subset of {','.join(SECTIONS)}")
    p.add_argument("--quick", action="store_true",
                   help="a smoke run: 15k rows, 3 rounds, 6-epoch drift, small scaling table")
    p.add_argument("--rows", type=int, default=60000, help="training rows (default 60000)")
    p.add_argument("--rounds", type=int, default=7, help="timed rounds of the main section")
    p.add_argument("--scaling-rows", type=int, default=15000)
    p.add_argument("--scaling-rounds", type=int, default=3)
    p.add_argument("--rows-rounds", type=int, default=3)
    p.add_argument("--float64-rounds", type=int, default=5)
    p.add_argument("--drift-epochs", type=int, default=20)
    p.add_argument("--predict-repeats", type=int, default=15)
    p.add_argument("--settle", type=float, default=0.2,
                   help="seconds of pause (untimed) before each contender's epoch")
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS and torch threads (default: BLAS's own count, torch set to it)")
    p.add_argument("--no-torch", dest="torch", action="store_false")
    p.add_argument("--no-sklearn", dest="sklearn", action="store_false")
    p.add_argument("--data-dir", default=None, help="folder of the Fashion-MNIST .gz files")
    p.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.memory_child:
        memory_child(args)
        return 0
    global SETTLE_S
    SETTLE_S = args.settle
    if args.quick:
        args.rows, args.rounds, args.scaling_rows, args.scaling_rounds = 15000, 3, 3000, 1
        args.rows_rounds, args.float64_rounds, args.drift_epochs = 1, 2, 6
        args.predict_repeats = 5
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        p.error(f"unknown sections {sorted(unknown)}; choose from {','.join(SECTIONS)}")
    if args.torch and not have_torch():
        print("PyTorch is not installed (pip install torch==2.13.0): its columns are skipped")
        args.torch = False
    limits = threadpool_limits(args.threads, user_api="blas") if args.threads else None
    threads = blas_threads()
    data = _fashion.load(args.data_dir)

    print(f"bench_train: {platform.platform()}, Python {platform.python_version()}, "
          f"{platform.processor() or platform.machine()}")
    print(blas_line())
    versions = [f"numpy {np.__version__}", f"backprop {bp.__version__}"]
    try:
        import numba

        versions.append(f"numba {numba.__version__}")
    except ImportError:
        versions.append("numba not installed (NumPy path)")
    if args.torch:
        import torch

        torch.set_num_threads(threads)
        versions.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    if args.sklearn:
        import sklearn

        versions.append(f"scikit-learn {sklearn.__version__}")
    print(", ".join(versions))
    print(f"before: {load_line()}", flush=True)
    started = time.perf_counter()
    results: dict[str, Any] = {}
    runners = {"main": run_main, "scaling": run_scaling, "rows": run_rows, "drift": run_drift,
               "float64": run_float64, "predict": run_predict}
    for name in sections:
        if name == "memory":
            run_memory(args, results)
        else:
            runners[name](args, data, results)
    goal_table(results)
    print(f"\nafter: {load_line()}; total {time.perf_counter() - started:.0f} s")
    if limits is not None:
        limits.restore_original_limits()
    return 0


if __name__ == "__main__":
    sys.exit(main())
