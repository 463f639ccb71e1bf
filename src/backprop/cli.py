"""Command-line front end: ``backprop train``.

``main(argv)`` parses the arguments, runs the command and returns the exit code: 0 on success, 1
for a data or model error (one line on stderr), 2 for a usage error (argparse's message).
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

import numpy as np

from . import __version__
from .activations import ACTIVATIONS
from .data import BUILTIN_DATASETS, Dataset, Standardizer, load_builtin, split
from .gradcheck import gradient_check
from .network import Network, mlp
from .optimizers import OPTIMIZERS, get_optimizer

__all__ = ["main", "build_parser"]


def _hidden_sizes(text: str) -> list[int]:
    """Parse ``"16,8"`` into ``[16, 8]`` (an empty string means no hidden layer)."""
    if text.strip() == "":
        return []
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--hidden must be comma-separated positive integers, got {text!r}"
        ) from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"--hidden sizes must be positive, got {text!r}")
    return sizes


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for all sub-commands."""
    parser = argparse.ArgumentParser(
        prog="backprop",
        description="Train neural networks by explicit layer-level backpropagation.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    train = sub.add_parser(
        "train",
        help="train a network (default: the founding note's network on breast cancer)",
        description="Train a multilayer perceptron on a data set, after a gradient check.",
    )
    train.add_argument("--data", default="breast-cancer", choices=sorted(BUILTIN_DATASETS),
                       help="bundled data set (default: breast-cancer)")
    train.add_argument("--hidden", type=_hidden_sizes, default=[16], metavar="SIZES",
                       help="hidden layer widths, comma-separated (default: 16)")
    train.add_argument("--activation", default="sigmoid",
                       choices=sorted(a for a in ACTIVATIONS if a != "softmax"),
                       help="hidden activation (default: sigmoid, as in the note)")
    train.add_argument("--optimizer", default="adam", choices=sorted(OPTIMIZERS),
                       help="optimizer (default: adam)")
    train.add_argument("--lr", type=_positive_float, default=None,
                       help="learning rate (default: 0.01 for adam/adamw/rmsprop, 0.1 otherwise)")
    train.add_argument("--epochs", type=_positive_int, default=100, help="epochs (default: 100)")
    train.add_argument("--batch-size", type=_positive_int, default=32,
                       help="mini-batch size (default: 32)")
    train.add_argument("--full-batch", action="store_true",
                       help="use the whole training set per step (plain gradient descent)")
    train.add_argument("--l2", type=float, default=0.0, help="L2 penalty on weights (default: 0)")
    train.add_argument("--dropout", type=_fraction, default=0.0,
                       help="dropout rate after each hidden layer (default: 0)")
    train.add_argument("--test-size", type=_fraction, default=0.2,
                       help="fraction held out for testing (default: 0.2)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    train.add_argument("--dtype", default="float32", choices=["float32", "float64"],
                       help="training precision (default: float32)")
    train.add_argument("--no-gradcheck", action="store_true",
                       help="skip the gradient check before training")
    train.add_argument("--gradcheck-rows", type=_positive_int, default=32,
                       help="training rows used by the gradient check (default: 32)")
    train.add_argument("--gradcheck-entries", type=_positive_int, default=100,
                       help="entries checked per parameter, sampled (default: 100)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(func=cmd_train)
    return parser


def _describe(net: Network) -> str:
    widths = [str(net.n_in)]
    for layer in net.layers:
        if hasattr(layer, "activation"):
            widths.append(f"{layer.n_out} ({layer.activation.name})")
        else:
            widths.append(repr(layer))
    return " -> ".join(widths)


def _output_for(task: str) -> tuple[str, str]:
    return {
        "binary": ("sigmoid", "binary_crossentropy"),
        "multiclass": ("softmax", "categorical_crossentropy"),
        "regression": ("linear", "mse"),
    }[task]


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    ss_res = float(np.sum((y - pred) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")


def cmd_train(args: argparse.Namespace) -> int:
    """Train on a data set and print the gradient check and a summary."""
    data: Dataset = load_builtin(args.data)
    strat = data.y if data.task != "regression" else None
    train_idx, test_idx = split(data.X.shape[0], args.test_size, args.seed, strat)
    scaler = Standardizer().fit(data.X[train_idx])
    X_train, X_test = scaler.transform(data.X[train_idx]), scaler.transform(data.X[test_idx])
    y_train, y_test = data.y[train_idx], data.y[test_idx]
    y_scaler = None
    if data.task == "regression":  # train on a standardised target; report in original units
        y_scaler = Standardizer().fit(y_train[:, None])
        y_fit = y_scaler.transform(y_train[:, None])[:, 0]
    else:
        y_fit = y_train

    output, loss = _output_for(data.task)
    net = mlp([data.X.shape[1], *args.hidden, data.n_outputs], activation=args.activation,
              output=output, loss=loss, dropout=args.dropout, l2=args.l2,
              dtype=np.dtype(args.dtype), seed=args.seed)
    lr = args.lr if args.lr is not None else (
        0.01 if args.optimizer in ("adam", "adamw", "rmsprop") else 0.1)
    optimizer = get_optimizer(args.optimizer, lr=lr)

    print(f"data: {args.data}, {data.X.shape[0]} rows x {data.X.shape[1]} features, "
          f"task {data.task}; {len(train_idx)} train / {len(test_idx)} test rows "
          f"(standardized on the training split)")
    print(f"network: {_describe(net)}; loss {net.loss.name}; "
          f"{net.n_parameters()} parameters; {args.dtype}")
    if not args.no_gradcheck:
        rows = min(args.gradcheck_rows, X_train.shape[0])
        report = gradient_check(net, X_train[:rows], y_fit[:rows],
                                max_entries=args.gradcheck_entries, seed=args.seed)
        print(f"\ngradient check on {rows} training rows "
              f"(central differences, eps {report.eps:g}):")
        print(report)
        if not report.passed:
            print("error: gradient check failed; not training", file=sys.stderr)
            return 1
    print(f"\ntraining: {optimizer!r}, {args.epochs} epochs, "
          f"batch size {'full' if args.full_batch else args.batch_size}")
    history = net.fit(X_train, y_fit, epochs=args.epochs,
                      batch_size=None if args.full_batch else args.batch_size,
                      optimizer=optimizer, seed=args.seed, verbose=0 if args.quiet else 1)

    print("\nsummary:")
    print(f"epochs run: {len(history.epoch)}")
    if data.task == "regression":
        pred_train = y_scaler.inverse_transform(net.predict(X_train))[:, 0]
        pred_test = y_scaler.inverse_transform(net.predict(X_test))[:, 0]
        print(f"final training loss (standardized target): {history['loss'][-1]:.6f}")
        print(f"train mse: {np.mean((pred_train - y_train) ** 2):.4f}")
        print(f"test mse: {np.mean((pred_test - y_test) ** 2):.4f}")
        print(f"train r2: {_r2(y_train, pred_train):.4f}")
        print(f"test r2: {_r2(y_test, pred_test):.4f}")
    else:
        train_eval = net.evaluate(X_train, y_train)
        test_eval = net.evaluate(X_test, y_test)
        print(f"train loss: {train_eval['loss']:.6f}")
        print(f"test loss: {test_eval['loss']:.6f}")
        print(f"train accuracy: {train_eval['accuracy']:.4f}")
        print(f"test accuracy: {test_eval['accuracy']:.4f}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
