"""Fashion-MNIST accuracy: our best MLP recipe and a CNN recipe, all through the public API.

The recipe: inputs standardised per pixel (``backprop.data.Standardizer``, fitted on the
training images), 784-512-256-10, ReLU, dropout 0.2 after each hidden layer, L2 1e-5, Adam with
lr 2e-3 annealed to 0 by a cosine schedule over 25 epochs, batch 256, float32.  It trains on the
60,000 training images and, after every epoch, measures the accuracy on the 10,000 test images
(outside the training clock).  It reports the training time
at which the test accuracy first reached the target (0.90) and the final accuracy.  For
reference, the Fashion-MNIST paper's scikit-learn MLPs reach 0.871 and the best MLP of its
README table 0.883; the goal is >= 0.90 within 60 s of training on a 2-core machine.

The hyperparameters were chosen on a validation split of the training images (the last 10,000;
``--validate``), not on the test set.  On that split: standardising the inputs took the final
accuracy from 0.9027 to 0.9051 (and 0.90 from epoch 21 to 15); dropout 0.3 over 30-40 epochs
and batch 128 did no better.

The CNN recipe (``--model cnn``): net A of ``benchmarks/bench_conv.py`` (two 3x3 convolutions
with ReLU and 2x2 max pooling, 32 and 64 filters, then a 128-unit ReLU layer) with dropout 0.3
on the flattened features, standardised pixels, Adam lr 1e-3 annealed by a cosine schedule over
12 epochs, batch 128, float32.  The goal is >= 0.925 test accuracy within 5 minutes (300 s) of
training here (the best MLP: 0.903; PyTorch's net A reached 0.911 after 5 epochs).  Its
hyperparameters are the usual ones for this network, not tuned on the test set.

Usage
  python benchmarks/bench_accuracy.py                   # the MLP recipe
  python benchmarks/bench_accuracy.py --model cnn       # the CNN recipe
  python benchmarks/bench_accuracy.py --validate        # train on 50k, report on the other 10k
  python benchmarks/bench_accuracy.py --epochs 30 --hidden 1024,512 --dropout 0.3
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import backprop as bp
from backprop.data import Standardizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _fashion  # noqa: E402


class Monitor(bp.Callback):
    """Per epoch: the training time so far (the evaluation excluded) and the held-out
    accuracy."""

    def __init__(self, net: bp.Network, X: np.ndarray, y: np.ndarray) -> None:
        self.net, self.X, self.y = net, X, y
        self.train_s = 0.0
        self.rows: list[tuple[int, float, float, float, float, float]] = []
        self._t = 0.0

    def on_train_begin(self, network: bp.Network) -> None:
        self._t = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict, history: bp.History) -> None:
        self.train_s += time.perf_counter() - self._t
        acc = float(np.mean(self.net.predict(self.X).argmax(axis=1) == self.y))
        self.rows.append((epoch + 1, logs["loss"], logs["accuracy"], acc, logs["lr"],
                          self.train_s))
        print(f"{epoch + 1:>5} {logs['loss']:>10.4f} {logs['accuracy']:>9.4f} {acc:>9.4f} "
              f"{logs['lr']:>9.2e} {self.train_s:>8.1f}", flush=True)
        self._t = time.perf_counter()


def cnn(dropout: float, l2: float, seed: int) -> bp.Network:
    """Net A (see benchmarks/bench_conv.py) with dropout on the flattened features."""
    return bp.Network([
        bp.Conv2D(1, 32, 3, padding=1, activation="relu", seed=seed),
        bp.MaxPool2D(2),
        bp.Conv2D(32, 64, 3, padding=1, activation="relu", seed=seed + 1),
        bp.MaxPool2D(2),
        bp.Flatten(),
        bp.Dropout(dropout, seed=seed + 2),
        bp.Dense(3136, 128, "relu", seed=seed + 3),
        bp.Dense(128, 10, "softmax", seed=seed + 4),
    ], "categorical_crossentropy", l2=l2, input_shape=(1, 28, 28))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=["mlp", "cnn"], default="mlp")
    p.add_argument("--epochs", type=int, default=None, help="default: 25 (mlp), 12 (cnn)")
    p.add_argument("--hidden", default="512,256", help="mlp: hidden widths, comma-separated")
    p.add_argument("--dropout", type=float, default=None, help="default: 0.2 (mlp), 0.3 (cnn)")
    p.add_argument("--l2", type=float, default=None,
                   help="L2 penalty (l2/2) sum ||W||^2; default: 1e-5 (mlp), 0 (cnn)")
    p.add_argument("--lr", type=float, default=None, help="default: 2e-3 (mlp), 1e-3 (cnn)")
    p.add_argument("--batch-size", type=int, default=None, help="default: 256 (mlp), 128 (cnn)")
    p.add_argument("--no-standardize", dest="standardize", action="store_false",
                   help="keep the pixels in [0, 1] instead of standardising them")
    p.add_argument("--schedule", choices=["cosine", "none"], default="cosine")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--target", type=float, default=None, help="default: 0.90 (mlp), 0.925 (cnn)")
    p.add_argument("--budget", type=float, default=None,
                   help="seconds of training allowed; default: 60 (mlp), 300 (cnn)")
    p.add_argument("--validate", action="store_true",
                   help="train on the first 50,000 training images, measure on the last 10,000")
    p.add_argument("--data-dir", default=None, help="folder of the Fashion-MNIST .gz files")
    args = p.parse_args(argv)
    defaults = {"mlp": {"epochs": 25, "dropout": 0.2, "l2": 1e-5, "lr": 2e-3, "batch_size": 256,
                        "target": 0.90, "budget": 60.0},
                "cnn": {"epochs": 12, "dropout": 0.3, "l2": 0.0, "lr": 1e-3, "batch_size": 128,
                        "target": 0.925, "budget": 300.0}}[args.model]
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)

    X, y, X_test, y_test = _fashion.load(args.data_dir)
    held_out = "test"
    if args.validate:
        X, y, X_test, y_test = X[:50000], y[:50000], X[50000:], y[50000:]
        held_out = "validation"
    if args.standardize:  # statistics of the training rows only
        scaler = Standardizer().fit(X)
        X = scaler.transform(X).astype(np.float32)
        X_test = scaler.transform(X_test).astype(np.float32)
    if args.model == "cnn":
        X, X_test = X.reshape(-1, 1, 28, 28), X_test.reshape(-1, 1, 28, 28)
        net = cnn(args.dropout, args.l2, args.seed)
        what = "net A CNN"
    else:
        hidden = [int(h) for h in args.hidden.split(",") if h]
        sizes = [X.shape[1], *hidden, 10]
        net = bp.mlp(sizes, activation="relu", output="softmax", dropout=args.dropout,
                     l2=args.l2, seed=args.seed)
        what = "-".join(map(str, sizes))
    schedule = bp.CosineAnnealing(t_max=args.epochs) if args.schedule == "cosine" else None
    print(f"bench_accuracy: {'standardised ' if args.standardize else ''}"
          f"{what}, dropout {args.dropout}, l2 {args.l2}, "
          f"Adam lr {args.lr} ({args.schedule}), batch {args.batch_size}, {args.epochs} epochs, "
          f"seed {args.seed}; {X.shape[0]} training rows, {held_out} rows {X_test.shape[0]}")
    one, five, _ = os.getloadavg()
    print(f"load average before: {one:.2f} {five:.2f} on {os.cpu_count()} CPUs")
    print(f"{'epoch':>5} {'loss':>10} {'train acc':>9} {held_out[:9]:>9} {'lr':>9} "
          f"{'train s':>8}")
    monitor = Monitor(net, X_test, y_test)
    wall = time.perf_counter()
    net.fit(X, y, epochs=args.epochs, batch_size=args.batch_size,
            optimizer=bp.Adam(lr=args.lr), lr_schedule=schedule, seed=args.seed, verbose=0,
            callbacks=[monitor])
    wall = time.perf_counter() - wall
    rows = monitor.rows
    reached = next((r for r in rows if r[3] >= args.target), None)
    final = rows[-1]
    best = max(rows, key=lambda r: r[3])
    print(f"\nfinal {held_out} accuracy {final[3]:.4f} after {final[0]} epochs and "
          f"{final[5]:.1f} s of training ({wall:.1f} s with the per-epoch evaluation); best "
          f"{best[3]:.4f} at epoch {best[0]}")
    if reached is None:
        print(f"{held_out} accuracy never reached {args.target}")
    else:
        print(f"{held_out} accuracy first reached {args.target} at epoch {reached[0]}, after "
              f"{reached[5]:.1f} s of training")
    ok = reached is not None and reached[5] <= args.budget and final[3] >= args.target
    one, five, _ = os.getloadavg()
    print(f"goal: >= {args.target} within {args.budget:.0f} s of training: "
          f"{'met' if ok else 'NOT met'}  (load average after: {one:.2f} {five:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
