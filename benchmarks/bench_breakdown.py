"""Where an epoch's time goes beyond the GEMM-only floor: a cost breakdown.

``bench_train.py`` compares our ``fit`` with the floor, PyTorch and scikit-learn; this script
says what the difference between ``fit`` and the floor is made of, by taking parts of the step
away, all through the public API.  On the same workload (784-256-128-10, ReLU, softmax + CE,
Adam 1e-3, batch 128, Fashion-MNIST's 60,000 images) it times, whole epochs interleaved
round-robin in one process:

  floor          the eight matrix products of each step (``bench_train.Floor``)
  fit            ``net.fit(X, y, epochs=1, batch_size=128, optimizer=Adam(lr=1e-3))``
  fit-no-update  the same with an optimizer whose ``step`` does nothing (the weights stay put)
  fit-no-gather  ``shuffle=False``: each batch is a slice of X, not rows gathered from it
  fit-neither    both
  adam           ``Adam.step`` alone on the network's parameters and gradients, as many times
                 as an epoch has steps (no products in between)

Each ``fit`` call also pays its per-call cost (the input check over the whole data set and
the set-up), measured apart (``epochs=0``) and subtracted.  The differences give the Adam
update's cost inside the loop (``fit - fit-no-update``: more than ``adam`` alone, since it
also evicts what the next products need), the row gather's, and what is left after both
(``fit-neither - floor``: the other kernels, and Python).

Usage
  python benchmarks/bench_breakdown.py                  # float32, 5 rounds, about a minute
  python benchmarks/bench_breakdown.py --dtype float64 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

import numpy as np

import backprop as bp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _fashion  # noqa: E402
from bench_train import Floor, blas_line, load_line, median, settle  # noqa: E402

SIZES = [784, 256, 128, 10]


class NoUpdate(bp.Optimizer):
    """An optimizer that leaves the parameters as they are: ``fit`` without the update."""

    def __init__(self) -> None:
        super().__init__(lr=1.0)

    def hyperparameters(self) -> dict:
        """No settings."""
        return {}

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """Nothing: the parameters stay put."""
        self.last_step_finite = True


def adam_alone(X: np.ndarray, y: np.ndarray, steps: int) -> Callable[[], None]:
    """An epoch's worth of ``Adam.step`` calls on the parameters of a network of its own (the
    steps push them along one batch's gradients, state carried over from call to call)."""
    net = bp.mlp(SIZES, activation="relu", output="softmax", dtype=X.dtype, seed=0)
    _, grads = net.loss_and_grads(X[:128], y[:128])
    flat = [g for layer in grads for g in layer.values()]
    opt = bp.Adam(lr=1e-3)

    def epoch() -> None:
        params = net.parameters()
        for _ in range(steps):
            opt.step(params, flat)

    return epoch


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--data-dir", default=None)
    args = p.parse_args(argv)
    dt = np.dtype(args.dtype)
    X, y, _, _ = _fashion.load(args.data_dir, dtype=dt.type)
    floor = Floor(X, SIZES, 128)
    nets = {}

    def fit(name: str, optimizer: Callable[[], bp.Optimizer], shuffle: bool
            ) -> Callable[[], None]:
        nets[name] = net = bp.mlp(SIZES, activation="relu", output="softmax", dtype=dt, seed=0)
        opt = optimizer()  # one for all epochs: its state carries on, as in a longer fit
        return lambda: net.fit(X, y, epochs=1, batch_size=128, optimizer=opt,
                               shuffle=shuffle, seed=0, verbose=0)

    contenders: dict[str, Callable[[], None]] = {
        "floor": floor.epoch,
        "fit": fit("fit", lambda: bp.Adam(lr=1e-3), True),
        "fit-no-update": fit("fit-no-update", NoUpdate, True),
        "fit-no-gather": fit("fit-no-gather", lambda: bp.Adam(lr=1e-3), False),
        "fit-neither": fit("fit-neither", NoUpdate, False),
        "adam": adam_alone(X, y, X.shape[0] // 128 + 1),
        "per-call": lambda: nets["fit"].fit(X, y, epochs=0, verbose=0),
    }
    print(f"bench_breakdown: {args.dtype}, 784-256-128-10, batch 128, {X.shape[0]} rows, "
          f"{args.rounds} rounds")
    print(blas_line())
    print(f"before: {load_line()}", flush=True)
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for r in range(args.rounds + 1):  # round 0: warm-up (numba compiles), untimed
        for name, epoch in contenders.items():
            settle()
            start = time.perf_counter()
            epoch()
            if r:
                times[name].append(time.perf_counter() - start)
    med = {name: median(values) for name, values in times.items()}
    call = med.pop("per-call")
    times.pop("per-call")
    for name in ("fit", "fit-no-update", "fit-no-gather", "fit-neither"):
        med[name] -= call
        times[name] = [v - call for v in times[name]]
    print(f"\nseconds per epoch (fit's per-call cost of {call * 1e3:.0f} ms taken off): median, "
          "then by round")
    for name, value in med.items():
        print(f"  {name:14s} {value:.3f}   " + " ".join(f"{v:.3f}" for v in times[name]))
    f = med["floor"]
    parts = [
        ("GEMM-only floor", f),
        ("Adam update inside the loop (fit - fit-no-update)", med["fit"] - med["fit-no-update"]),
        ("  of which Adam.step alone", med["adam"]),
        ("row gather (fit - fit-no-gather)", med["fit"] - med["fit-no-gather"]),
        ("everything else (fit-neither - floor)", med["fit-neither"] - f),
    ]
    print("\nbreakdown of fit's epoch, s (and x the floor):")
    for label, value in parts:
        print(f"  {label:50s} {value:7.3f}  ({value / f:.2f})")
    print(f"  {'fit':50s} {med['fit']:7.3f}  ({med['fit'] / f:.2f})")
    print(f"\nafter: {load_line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
