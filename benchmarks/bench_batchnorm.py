"""BatchNorm's cost per training step and per prediction, on the shapes of issue 13's net B.

Net B (Fashion-MNIST, batch 128) normalises three activations: the first convolution's
(128, 32, 28, 28), the second's (128, 64, 14, 14) and the dense layer's (128, 128).  For each
shape this script times, interleaved round-robin in one process (median of the rounds):

  plain   the layer's public forward + backward (the NumPy reference)
  fast    the workspace path that fit uses (the kernels of backprop._kernels.batchnorm)
  torch   torch.nn.BatchNorm1d/2d forward + backward on the same arrays (when installed)
  copy    one ``np.copyto`` of the array: a memory-traffic yardstick

in training mode (forward with batch statistics and the running update, then backward with
dx), and in eval mode (forward only, as ``predict``).  Then the per-epoch total of the three
layers over 469 steps (60,000 images / 128).  Nothing is asserted: the numbers are printed.

Usage
  python benchmarks/bench_batchnorm.py                   # float32, 15 rounds
  python benchmarks/bench_batchnorm.py --rounds 5 --dtype float64
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np

import backprop as bp
from backprop import _kernels
from backprop.nn.workspace import Workspace

SHAPES = [(128, 32, 28, 28), (128, 64, 14, 14), (128, 128)]
STEPS_PER_EPOCH = 469


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def contenders(shape: tuple[int, ...], dtype: np.dtype, threads: int
               ) -> dict[str, dict[str, Callable[[], object]]]:
    """name -> {"train": step, "eval": forward} for one shape."""
    rng = np.random.default_rng(0)
    x = rng.normal(loc=0.5, scale=2.0, size=shape).astype(dtype)
    da = rng.normal(size=shape).astype(dtype)
    layer = bp.BatchNorm(shape[1], dtype=dtype)
    ws = Workspace()
    out = np.empty_like(x)

    def plain_train() -> None:
        _, cache = layer.forward(x, training=True)
        layer.backward(da, cache)

    def fast_train() -> None:
        _, cache = layer._forward(x, True, ws)
        layer._backward(da, cache, ws, True)

    found = {
        "plain": {"train": plain_train, "eval": lambda: layer.forward(x, training=False)},
        "fast": {"train": fast_train, "eval": lambda: layer._forward(x, False, ws)},
        "copy": {"train": lambda: np.copyto(out, x), "eval": lambda: np.copyto(out, x)},
    }
    try:
        import torch
    except ImportError:
        return found
    torch.set_num_threads(threads)
    cls = torch.nn.BatchNorm1d if len(shape) == 2 else torch.nn.BatchNorm2d
    ref = cls(shape[1]).to(torch.float32 if dtype == np.float32 else torch.float64)
    xt, dat = torch.from_numpy(x), torch.from_numpy(da)

    def torch_train() -> None:
        ref.train()
        xg = xt.detach().requires_grad_(True)
        ref(xg).backward(dat)

    def torch_eval() -> None:
        ref.eval()
        with torch.no_grad():
            ref(xt)

    found["torch"] = {"train": torch_train, "eval": torch_eval}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--threads", type=int, default=2, help="torch's threads")
    args = parser.parse_args()
    dtype = np.dtype(args.dtype)
    one, five, _ = os.getloadavg()
    print(f"BatchNorm, {args.dtype}, median of {args.rounds} rounds; kernels "
          f"{'on' if _kernels.available() else 'OFF'}; load {one:.2f} {five:.2f} on "
          f"{os.cpu_count()} CPUs")
    per_epoch: dict[str, float] = {}
    header = f"{'shape':<20} {'mode':<6}" + "".join(f"{k:>10}" for k in
                                                    ("plain", "fast", "torch", "copy"))
    print(header + f"{'plain/fast':>12}{'torch/fast':>12}   (ms)")
    for shape in SHAPES:
        found = contenders(shape, dtype, args.threads)
        for mode in ("train", "eval"):
            times: dict[str, list[float]] = {name: [] for name in found}
            for fns in found.values():
                fns[mode]()  # compile, allocate, warm the caches
            for _ in range(args.rounds):
                for name, fns in found.items():
                    times[name].append(timed(fns[mode]))
            med = {name: float(np.median(t)) * 1e3 for name, t in times.items()}
            cells = "".join(f"{med[k]:>10.2f}" if k in med else f"{'-':>10}"
                            for k in ("plain", "fast", "torch", "copy"))
            torch_ratio = f"{med['torch'] / med['fast']:>12.2f}" if "torch" in med else \
                f"{'-':>12}"
            print(f"{str(shape):<20} {mode:<6}{cells}{med['plain'] / med['fast']:>12.2f}"
                  f"{torch_ratio}")
            if mode == "train":
                for name, ms in med.items():
                    per_epoch[name] = per_epoch.get(name, 0.0) + ms * STEPS_PER_EPOCH / 1e3
    print(f"\nnet B's three BatchNorm layers, training, per epoch of {STEPS_PER_EPOCH} steps: "
          + ", ".join(f"{name} {s:.2f} s" for name, s in per_epoch.items()))


if __name__ == "__main__":
    main()
