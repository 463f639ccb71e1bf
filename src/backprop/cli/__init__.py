"""Command-line front end: ``backprop train | predict | evaluate | inspect | gradcheck``.

``main(argv)`` parses the arguments, runs the command and returns the exit code: 0 on success, 1
for a data or model error (one line on stderr, a traceback only with ``--debug``), 2 for a usage
error (argparse's message).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import math
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from typing import TextIO

import numpy as np

from backprop._utils import optional_import
from backprop._version import __version__
from backprop.data import (
    BUILTIN_DATASETS,
    FORMATS,
    IDX_DATASETS,
    TASKS,
    Dataset,
    Standardizer,
    load_dataset,
    split,
    train_validation_split,
)
from backprop.gradcheck import gradient_check
from backprop.io.model_file import check_destination
from backprop.nn.activations import ACTIVATIONS
from backprop.nn.layers import Standardize, as_rng
from backprop.nn.sequential import Network, mlp
from backprop.optim import OPTIMIZERS, get_optimizer
from backprop.plotting import plot_formats
from backprop.train.callbacks import Callback, History
from backprop.train.divergence import TrainingDiverged
from backprop.train.signals import Abort, SignalStop, exit_code

__all__ = ["main", "build_parser", "EpochLines"]


# --------------------------------------------------------------------------- argument types
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


def _number(convert: type, accept: Callable[[float], bool], expected: str
            ) -> Callable[[str], float]:
    """An argparse type: ``convert(text)`` when ``accept`` holds for it (NaN never does),
    else a usage error that says what was ``expected`` and quotes the text."""

    def parse(text: str) -> float:
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or (isinstance(value, float) and not math.isfinite(value)) \
                or not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


_positive_int = _number(int, lambda v: v >= 1, "a positive integer")
_non_negative_int = _number(int, lambda v: v >= 0, "an integer >= 0")
_positive_float = _number(float, lambda v: v > 0, "a positive number")
_non_negative_float = _number(float, lambda v: v >= 0, "a number >= 0")
_fraction = _number(float, lambda v: 0 <= v < 1, "a number in [0, 1)")
_test_fraction = _number(float, lambda v: 0 < v < 1, "a number in (0, 1)")


def _column_list(text: str) -> list[str]:
    """Parse ``"a,b, c"`` into ``["a", "b", "c"]``."""
    names = [part.strip() for part in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected comma-separated column names, got {text!r}")
    return names


_NAMED = sorted(BUILTIN_DATASETS) + sorted(IDX_DATASETS)
#: Learning rate when --lr is not given: Adam's and AdamW's own default (as torch.optim's),
#: which trains Fashion-MNIST's 784-256-128-10 sigmoid network to >= 0.88 in 10 epochs where
#: 0.01 stalls near 0.84; RMSprop's own 0.01; 0.1 for plain and momentum SGD.
DEFAULT_LR = {"adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-2, "sgd": 0.1, "gd": 0.1}


def _data_source(text: str) -> str:
    """A built-in or named data set, or something that looks like a path (a missing file is a
    data error, exit 1; a bare unknown word is a usage error, exit 2)."""
    if text in _NAMED or os.path.exists(text) or os.sep in text or "." in text:
        return text
    raise argparse.ArgumentTypeError(
        f"{text!r} is neither a built-in data set ({', '.join(_NAMED)}) nor a file"
    )


def _plot_path(text: str) -> str:
    """An image path whose extension matplotlib can write (checked before any work is done;
    without matplotlib any path passes here, and ``train`` reports the missing package)."""
    try:
        formats = plot_formats()
    except ImportError:
        return text
    ext = os.path.splitext(text)[1].lstrip(".").lower()
    if ext not in formats:
        raise argparse.ArgumentTypeError(
            f"cannot tell the image format of {text!r}; end it in one of "
            f"{', '.join('.' + e for e in formats)}"
        )
    return text


# --------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The argument parser for all sub-commands."""
    parser = argparse.ArgumentParser(
        prog="backprop",
        description="Train neural networks by explicit layer-level backpropagation; save, "
                    "inspect and use the models.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    data_help = (f"a built-in data set ({', '.join(_NAMED)}) or a data file: "
                 + "; ".join(FORMATS.values()))

    def data_args(p: argparse.ArgumentParser, required: bool, target_help: str) -> None:
        p.add_argument("--data", type=_data_source, required=required,
                       default=None if required else "breast-cancer", metavar="SOURCE",
                       help=data_help + ("" if required else " (default: breast-cancer)"))
        p.add_argument("--target", metavar="COLUMN", help=target_help)
        p.add_argument("--data-dir", metavar="FOLDER",
                       help="folder of a named IDX data set (default for fashion-mnist: "
                            f"{IDX_DATASETS['fashion-mnist'].folder})")

    train = sub.add_parser(
        "train", parents=[common],
        help="train a network (default: the founding note's network on breast cancer)",
        description="Train a multilayer perceptron on a data set, after a gradient check.",
    )
    data_args(train, False, "CSV/Parquet: the label column; NPZ: the target array (default "
                            "y); IDX: the labels file (default: the one next to the images)")
    train.add_argument("--features", type=_column_list, metavar="A,B,...",
                       help="feature columns (default: every column but the target)")
    train.add_argument("--task", default="auto", choices=TASKS,
                       help="default auto: text/boolean or few integer labels -> "
                            "classification, other numbers -> regression")
    train.add_argument("--hidden", type=_hidden_sizes, default=[16], metavar="SIZES",
                       help="hidden layer widths, comma-separated (default: 16)")
    train.add_argument("--activation", default="sigmoid",
                       choices=sorted(a for a in ACTIVATIONS if a != "softmax"),
                       help="hidden activation (default: sigmoid, as in the note)")
    train.add_argument("--optimizer", default="adam", choices=sorted(OPTIMIZERS),
                       help="optimizer (default: adam)")
    train.add_argument("--lr", type=_positive_float, default=None,
                       help="learning rate (default: 0.001 for adam/adamw, 0.01 for rmsprop, "
                            "0.1 for sgd/gd)")
    train.add_argument("--epochs", type=_positive_int, default=100, help="epochs (default: 100)")
    train.add_argument("--batch-size", type=_positive_int, default=32,
                       help="mini-batch size (default: 32)")
    train.add_argument("--full-batch", action="store_true",
                       help="use the whole training set per step (plain gradient descent)")
    train.add_argument("--l2", type=_non_negative_float, default=0.0,
                       help="L2 penalty on weights (default: 0)")
    train.add_argument("--dropout", type=_fraction, default=0.0,
                       help="dropout rate after each hidden layer (default: 0)")
    train.add_argument("--test-size", type=_test_fraction, default=0.2,
                       help="fraction held out for testing (default: 0.2; data sets with an "
                            "official split use it instead)")
    train.add_argument("--validation-split", type=_fraction, default=0.0,
                       help="fraction of the training rows held out for validation curves "
                            "(default: 0)")
    train.add_argument("--seed", type=_non_negative_int, default=0, help="random seed (default: 0)")
    train.add_argument("--dtype", default="float32", choices=["float32", "float64"],
                       help="training precision (default: float32)")
    train.add_argument("--no-gradcheck", action="store_true",
                       help="skip the gradient check before training")
    train.add_argument("--gradcheck-rows", type=_positive_int, default=32,
                       help="training rows used by the gradient check (default: 32)")
    train.add_argument("--gradcheck-entries", type=_positive_int, default=100,
                       help="entries checked per parameter, sampled (default: 100)")
    train.add_argument("--out", metavar="MODEL",
                       help="save the trained model here (a .safetensors file)")
    train.add_argument("--plot", type=_plot_path, metavar="IMAGE",
                       help="draw the loss and accuracy (or metric) curves here (.png, .svg ...)")
    train.add_argument("--history", metavar="CSV", help="write the per-epoch metrics here")
    train.add_argument("--checkpoint", metavar="PATH",
                       help="keep a checkpoint here (model, optimizer state, position, random "
                            "states), written atomically every --checkpoint-every epochs and on "
                            "Ctrl-C / SIGTERM")
    train.add_argument("--checkpoint-every", type=_positive_int, default=1, metavar="N",
                       help="epochs between checkpoints (default: 1)")
    train.add_argument("--resume", metavar="PATH",
                       help="continue the run saved in this checkpoint (same arguments "
                            "otherwise); the result is bit-identical to an uninterrupted run")
    train.add_argument("--quiet", action="store_true", help="no progress output")
    train.set_defaults(func=cmd_train)

    from backprop.cli import model_commands as commands

    predict = sub.add_parser(
        "predict", parents=[common], help="predict with a saved model",
        description="Predict with a saved model: original class labels (or values) per row, "
                    "as CSV on stdout or in --output.")
    predict.add_argument("model", metavar="MODEL", help="a model file from 'train --out'")
    data_args(predict, True, "unused (predictions need only the features)")
    predict.add_argument("--output", metavar="CSV", help="write the predictions here")
    predict.add_argument("--proba", action="store_true",
                         help="add a probability column per class")
    predict.set_defaults(func=commands.cmd_predict)

    evaluate = sub.add_parser(
        "evaluate", parents=[common], help="score a saved model on labelled data",
        description="Loss and accuracy, per-class precision/recall/F1 and the confusion matrix "
                    "of a classifier; MSE, MAE and R² of a regression model.")
    evaluate.add_argument("model", metavar="MODEL")
    data_args(evaluate, True, "the label column (default: the one the model was trained on)")
    evaluate.set_defaults(func=commands.cmd_evaluate)

    inspect = sub.add_parser(
        "inspect", parents=[common], help="describe a saved model",
        description="Layers, shapes, parameter count, activations, loss and metadata.")
    inspect.add_argument("model", metavar="MODEL")
    inspect.add_argument("--json", action="store_true",
                         help="print the model's description as JSON")
    inspect.set_defaults(func=commands.cmd_inspect)

    gcheck = sub.add_parser(
        "gradcheck", parents=[common], help="gradient-check a saved model on real rows",
        description="Compare backprop's gradients of a saved model with central differences "
                    "on rows of a data set.")
    gcheck.add_argument("model", metavar="MODEL")
    data_args(gcheck, True, "the label column (default: the one the model was trained on)")
    gcheck.add_argument("--rows", type=_positive_int, default=32,
                        help="rows to check on, drawn at random (default: 32)")
    gcheck.add_argument("--entries", type=_positive_int, default=100,
                        help="entries checked per parameter, sampled (default: 100)")
    gcheck.add_argument("--eps", type=_positive_float, default=1e-6,
                        help="perturbation (default: 1e-6)")
    gcheck.add_argument("--seed", type=_non_negative_int, default=0,
                        help="random seed (default: 0)")
    gcheck.set_defaults(func=commands.cmd_gradcheck)
    return parser


# --------------------------------------------------------------------------- helpers
class EpochLines(Callback):
    """Progress for logs and pipes: one plain line per epoch with its metrics and duration."""

    def __init__(self, epochs: int, stream: TextIO | None = None) -> None:
        self.epochs = epochs
        self.stream = stream
        self._t = 0.0

    def on_train_begin(self, network: Network) -> None:
        """Start the clock."""
        self._t = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, float], history: History) -> None:
        """Print ``epoch i/N: loss ... accuracy ... (t s)``."""
        now = time.perf_counter()
        metrics = " ".join(f"{k} {v:.4f}" for k, v in logs.items() if k != "lr")
        print(f"epoch {epoch + 1}/{self.epochs}: {metrics} ({now - self._t:.2f} s)",
              file=self.stream or sys.stdout, flush=True)
        self._t = now


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


def _data_summary(data: Dataset, source: str) -> str:
    what = data.task
    if data.task != "regression":
        shown = ", ".join(map(repr, data.classes[:10])) + (", ..." if len(data.classes) > 10
                                                           else "")
        what += f" ({len(data.classes)} classes: {shown})"
    origin = f"; target {data.target!r}" if data.source else ""
    return (f"data: {source}, {data.X.shape[0]} rows x {data.X.shape[1]} features, task {what}"
            f"{origin}; {data.task_reason}")


# --------------------------------------------------------------------------- train
class TargetUnitsMAE(Callback):
    """Regression curves in the target's own units: after each epoch, the mean absolute error
    on the training and validation rows (``mae``, ``val_mae``), added to the logs and the
    history.  (The loss is the MSE of the standardized target the network is trained on.)"""

    def __init__(self, X: np.ndarray, y: np.ndarray, validation: tuple | None,
                 y_scaler: Standardizer) -> None:
        self.sets = [("", X, y)] + ([("val_", *validation)] if validation else [])
        self.y_scaler = y_scaler
        self.network: Network | None = None

    def on_train_begin(self, network: Network) -> None:
        """Remember the network being trained."""
        self.network = network

    def on_epoch_end(self, epoch: int, logs: dict[str, float], history: History) -> None:
        """Compute ``mae`` and ``val_mae`` in original units."""
        for prefix, X, y in self.sets:
            pred = self.y_scaler.inverse_transform(self.network.predict(X))[:, 0]
            value = float(np.mean(np.abs(pred - y)))
            logs[f"{prefix}mae"] = value
            history.history.setdefault(f"{prefix}mae", []).append(value)


def _split_rows(args: argparse.Namespace, data: Dataset) -> tuple[np.ndarray, ...]:
    """``(fit, validation, test)`` row indices and a description of the split."""
    strat = data.y if data.task != "regression" else None
    if data.split is not None:
        train_idx, test_idx = data.split
        how = "the data set's official split"
    else:
        train_idx, test_idx = split(data.X.shape[0], args.test_size, args.seed, strat)
        how = "a stratified random split" if strat is not None else "a random split"
    val_idx = train_idx[:0]
    if args.validation_split:
        labels = None if strat is None else strat[train_idx]
        fit_pos, val_pos = train_validation_split(len(train_idx), args.validation_split,
                                                  as_rng(args.seed), labels)
        train_idx, val_idx = train_idx[fit_pos], train_idx[val_pos]
    return train_idx, val_idx, test_idx, how


def cmd_train(args: argparse.Namespace) -> int:
    """Train on a data set, print the gradient check and a summary; optionally save the model,
    the history and the learning curves."""
    for path in (args.out, args.plot, args.history, args.checkpoint):
        if path is not None:
            check_destination(path)  # before any work
    if args.plot:
        optional_import("matplotlib")  # fail now, not after training
    data = load_dataset(args.data, target=args.target, features=args.features, task=args.task,
                        data_dir=args.data_dir)
    train_idx, val_idx, test_idx, how = _split_rows(args, data)
    scaler = Standardizer()
    X_train, y_train = scaler.fit_transform(data.X[train_idx]), data.y[train_idx]
    X_val, y_val = scaler.transform(data.X[val_idx]), data.y[val_idx]
    y_scaler = None
    if data.task == "regression":  # train on a standardised target; the model undoes it
        y_scaler = Standardizer()
        y_fit = y_scaler.fit_transform(y_train[:, None])[:, 0]
        y_val_fit = y_scaler.transform(y_val[:, None])[:, 0]
    else:
        y_fit, y_val_fit = y_train, y_val

    output, loss = _output_for(data.task)
    inner = mlp([data.X.shape[1], *args.hidden, data.n_outputs], activation=args.activation,
                output=output, loss=loss, dropout=args.dropout, l2=args.l2,
                dtype=np.dtype(args.dtype), seed=args.seed)
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    optimizer = get_optimizer(args.optimizer, lr=lr)

    print(_data_summary(data, args.data))
    print(f"split: {len(train_idx)} train / " + (f"{len(val_idx)} validation / " if len(val_idx)
                                                 else "")
          + f"{len(test_idx)} test rows ({how}); features standardized on the training rows")
    print(f"network: {_describe(inner)}; loss {inner.loss.name}; "
          f"{inner.n_parameters()} parameters; {args.dtype}")
    grad_meta = None
    if args.resume:
        print(f"\nresuming from checkpoint {args.resume} (no gradient check)")
    elif not args.no_gradcheck:
        rows = min(args.gradcheck_rows, X_train.shape[0])
        report = gradient_check(inner, X_train[:rows], y_fit[:rows],
                                max_entries=args.gradcheck_entries, seed=args.seed)
        print(f"\ngradient check on {rows} training rows "
              f"(central differences, eps {report.eps:g}):")
        print(report)
        grad_meta = {"rows": rows, "max_relative_error": report.max_relative_error,
                     "passed": report.passed}
        if not report.passed:
            print("error: gradient check failed; not training", file=sys.stderr)
            return 1
    batch = None if args.full_batch else args.batch_size
    print(f"\ntraining: {optimizer!r}, {args.epochs} epochs, batch size {batch or 'full'}",
          flush=True)
    validation = (X_val, y_val_fit) if len(val_idx) else None
    callbacks: list[Callback] = []
    if y_scaler is not None:
        callbacks.append(TargetUnitsMAE(X_train, y_train, validation and (X_val, y_val),
                                        y_scaler))
    tty = sys.stderr.isatty()
    if not args.quiet and not tty:
        callbacks.append(EpochLines(args.epochs))
    stopper = SignalStop()
    callbacks.append(stopper)

    def model() -> Network:
        """The model a user keeps: raw features in, original units out."""
        layers = [Standardize(scaler.mean_, scaler.scale_), *inner.layers]
        if y_scaler is not None:
            layers.append(Standardize(y_scaler.mean_, y_scaler.scale_, inverse=True))
        return Network(layers, loss=inner.loss, l2=inner.l2,
                       classes=data.classes or None, feature_names=data.feature_names)

    try:
        with stopper.installed():
            history = inner.fit(X_train, y_fit, epochs=args.epochs, batch_size=batch,
                                optimizer=optimizer, seed=args.seed, callbacks=callbacks,
                                validation_data=validation,
                                verbose=1 if tty and not args.quiet else 0,
                                checkpoint=args.checkpoint,
                                checkpoint_every=args.checkpoint_every, resume_from=args.resume)
    except TrainingDiverged as exc:  # the weights are the last good ones: keep them
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        if args.out:
            model().save(args.out)
            print(f"saved the last good model: {args.out}", file=sys.stderr)
        return 1
    net = model()
    if history.interrupted:
        saved = [f"checkpoint {args.checkpoint}"] if args.checkpoint else []
        if args.out:
            net.save(args.out)
            saved.append(f"model {args.out}")
        done = len(history.epoch)
        print(f"interrupted by {stopper.name} after {done}/{args.epochs} complete epochs; "
              + (f"saved {' and '.join(saved)}" if saved else "nothing saved (no --checkpoint "
                 "or --out)")
              + (f"; continue with the same command and --resume {args.checkpoint}"
                 if args.checkpoint else ""), file=sys.stderr)
        return exit_code(stopper.signum)
    print("\nsummary:")
    print(f"epochs run: {len(history.epoch)}")
    metrics = _final_metrics(net, data, train_idx, val_idx, test_idx)
    if y_scaler is not None:
        print(f"final training loss (standardized target): {history['loss'][-1]:.6f}")
    for key, value in metrics.items():
        print(f"{key.replace('_', ' ')}: {value:.{6 if key.endswith('loss') else 4}f}")

    net.metadata = {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "backprop_version": __version__,
        "task": data.task,
        "target": data.target,
        "data": {"name": data.name, "file": os.path.basename(data.source) if data.source
                 else None, "sha256": data.sha256, "rows": int(data.X.shape[0]),
                 "train_rows": len(train_idx), "validation_rows": len(val_idx),
                 "test_rows": len(test_idx), "split": how},
        "training": {"hidden": args.hidden, "activation": args.activation,
                     "optimizer": args.optimizer, "lr": lr, "epochs": args.epochs,
                     "epochs_run": len(history.epoch), "batch_size": batch,
                     "dropout": args.dropout, "l2": args.l2, "dtype": args.dtype,
                     "seed": args.seed, "test_size": None if data.split else args.test_size,
                     "validation_split": args.validation_split,
                     "standardized_target": y_scaler is not None},
        "metrics": metrics,
        "final_epoch": {k: v[-1] for k, v in history.history.items()},
        "gradient_check": grad_meta,
    }
    if args.out:
        net.save(args.out)
        print(f"saved model: {args.out}")
    if args.history:
        from backprop.plotting import save_history_csv

        save_history_csv(history, args.history)
        print(f"saved history: {args.history}")
    if args.plot:
        from backprop.plotting import plot_history

        plot_history(history, args.plot, title=f"{data.name}: {_describe(inner)}")
        print(f"saved plot: {args.plot}")
    return 0


def _final_metrics(net: Network, data: Dataset, *parts: np.ndarray) -> dict[str, float]:
    """Loss and accuracy (classifiers) or MSE and R² (regression) of the final model on the
    train, validation (when there is one) and test rows, in original units."""
    metrics: dict[str, float] = {}
    for part, idx in zip(("train", "validation", "test"), parts):
        if not len(idx):
            continue
        X, y = data.X[idx], data.y[idx]
        if data.task == "regression":
            pred = net.predict(X)[:, 0]
            metrics[f"{part}_mse"] = float(np.mean((pred - y) ** 2))
            from sklearn.metrics import r2_score

            metrics[f"{part}_r2"] = float(r2_score(y, pred)) if len(y) > 1 else float("nan")
        else:
            logs = net.evaluate(X, y)
            metrics[f"{part}_loss"] = logs["loss"]
            metrics[f"{part}_accuracy"] = logs["accuracy"]
    order = ("loss", "mse", "accuracy", "r2")  # the summary's historical order
    return dict(sorted(metrics.items(), key=lambda kv: order.index(kv[0].split("_")[1])))


# --------------------------------------------------------------------------- main
def _one_line(exc: BaseException) -> str:
    """The error message on one line (OSError: "file: reason")."""
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror if exc.filename is None else f"{exc.filename}: {exc.strerror}"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 success, 1 data/model error, 2 usage)."""
    from backprop.data.readers import DataError
    from backprop.io.model_file import ModelFileError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return args.func(args)
    except (DataError, ModelFileError, ValueError, TypeError, OSError, ImportError) as exc:
        if isinstance(exc, BrokenPipeError):  # e.g. `backprop predict ... | head`
            try:  # keep the interpreter's final flush of stdout from failing again
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            except (OSError, ValueError):
                pass
            return 1
        if args.debug:
            traceback.print_exc()
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Abort as exc:  # a second Ctrl-C / SIGTERM while training
        print(f"error: {exc}; files written so far are complete", file=sys.stderr)
        return exit_code(exc.signum)

