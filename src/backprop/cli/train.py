"""``backprop train``: load a data set, split and standardize it, build a network, check its
gradients, train it, report the metrics and save the model, history and learning curves.

:func:`cmd_train` reads as the list of those steps; each is a function below it.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import sys
from typing import Any

import numpy as np

from backprop._utils import optional_import
from backprop._version import __version__
from backprop.cli.args import check_outputs_apart
from backprop.cli.callbacks import EpochLines, TargetUnitsMAE
from backprop.cli.class_report import ClassScores, class_scores, majority_warning, recall_lines
from backprop.cli.class_weights import fit_class_weight, weights_metadata, weights_text
from backprop.cli.describe import network_summary
from backprop.cli.errors import one_line
from backprop.cli.training_data import PARTS, Prepared, prepare
from backprop.data import Dataset
from backprop.gradcheck import gradient_check
from backprop.model import Network, mlp
from backprop.nn.layers import Standardize
from backprop.nn.losses import loss_for_output
from backprop.optim import Optimizer, get_optimizer
from backprop.plotting import plot_gradient_flow, plot_history, save_history_csv
from backprop.saving import check_destination
from backprop.train.callbacks import Callback, History
from backprop.train.class_weight import ClassWeight, class_weights
from backprop.train.divergence import TrainingDiverged
from backprop.train.gradient_flow import GradientFlow
from backprop.train.signals import SignalStop, exit_code

__all__ = ["DEFAULT_LR", "OUTPUT_ACTIVATION", "cmd_train", "data_line", "run_optimizer"]

#: Learning rate when --lr is not given: Adam's and AdamW's own default (as torch.optim's),
#: which trains Fashion-MNIST's 784-256-128-10 sigmoid network to >= 0.88 in 10 epochs where
#: 0.01 stalls near 0.84; RMSprop's own 0.01; 0.1 for plain and momentum SGD.
DEFAULT_LR = {"adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-2, "sgd": 0.1, "gd": 0.1}

#: The output activation for each task; the loss follows from it (``loss_for_output``).
OUTPUT_ACTIVATION = {"binary": "sigmoid", "multiclass": "softmax", "regression": "linear"}


def cmd_train(args: argparse.Namespace) -> int:
    """Train on a data set, print the gradient check and a summary; optionally save the model,
    the history and the learning curves."""
    _check_destinations(args)
    prep = prepare(args)
    class_weight = fit_class_weight(args.class_weight, prep.data)
    inner = _build_network(args, prep.data)
    # the weights fit will use, for the header and the metadata (and their errors before work)
    weights = None if class_weight is None else class_weights(
        inner, inner.check_targets(prep.y_fit, len(prep.y_fit)), class_weight)
    optimizer, lr = run_optimizer(args)
    _print_setup(args, prep, inner)
    grad_meta = None
    if args.resume:
        print(f"\nresuming from checkpoint {args.resume} (no gradient check)")
    elif not args.no_gradcheck:
        grad_meta = _gradient_check(args, inner, prep)
        if not grad_meta["passed"]:
            print("error: gradient check failed; not training", file=sys.stderr)
            return 1
    stopper = SignalStop()
    # the gradient norms are measured on the first training rows, the same ones every epoch
    flow = GradientFlow(prep.X[:256], prep.y_fit[:256]) if args.plot_gradients else None
    try:
        history = _train(args, inner, prep, optimizer, stopper, class_weight, weights,
                         [] if flow is None else [flow])
    except TrainingDiverged as exc:  # the weights are the last good ones: keep them
        print(f"error: {one_line(exc)}", file=sys.stderr)
        if args.out:
            _user_model(inner, prep).save(args.out)
            print(f"saved the last good model: {args.out}", file=sys.stderr)
        return 1
    net = _user_model(inner, prep)
    if history.interrupted:
        return _interrupted(args, net, history, stopper)
    metrics, scores = _final_metrics(inner, prep)
    _print_summary(history, metrics, prep, scores, class_weight is not None)
    net.metadata = _metadata(args, prep, lr, history, metrics, grad_meta, scores,
                             weights_metadata(class_weight, weights, prep.data.classes))
    _save_outputs(args, net, history, title=f"{prep.data.name}: {network_summary(inner)}",
                  flow=flow)
    return 0


def _check_destinations(args: argparse.Namespace) -> None:
    """Refuse unwritable output paths, outputs that are inputs, and a missing matplotlib
    before any work (a checkpoint may be the one it resumes from: that is how a run goes on)."""
    check_outputs_apart({"--out": args.out, "--plot": args.plot, "--history": args.history,
                         "--checkpoint": args.checkpoint,
                         "--plot-gradients": args.plot_gradients},
                        {"--data": args.data, "--resume": None if args.resume == args.checkpoint
                         else args.resume})
    for path in (args.out, args.plot, args.history, args.checkpoint, args.plot_gradients):
        if path is not None:
            check_destination(path)
    if args.plot or args.plot_gradients:
        optional_import("matplotlib")


def _build_network(args: argparse.Namespace, data: Dataset) -> Network:
    """The multilayer perceptron to train, on standardized features."""
    output = OUTPUT_ACTIVATION[data.task]
    return mlp([data.X.shape[1], *args.hidden, data.n_outputs], activation=args.activation,
               output=output, loss=loss_for_output(output), dropout=args.dropout, l2=args.l2,
               dtype=np.dtype(args.dtype), seed=args.seed)


def _user_model(inner: Network, prep: Prepared) -> Network:
    """The model a user keeps: raw features in, original units out."""
    layers = [Standardize.from_standardizer(prep.x_scaler), *inner.layers]
    if prep.y_scaler is not None:
        layers.append(Standardize.from_standardizer(prep.y_scaler, inverse=True))
    return Network(layers, loss=inner.loss, l2=inner.l2, classes=prep.data.classes or None,
                   feature_names=prep.data.feature_names, preprocessor=prep.data.preprocessor)


def run_optimizer(args: argparse.Namespace) -> tuple[Optimizer, float]:
    """The optimizer ``--optimizer`` names at ``--lr`` (its default rate when not given), and
    that rate."""
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    return get_optimizer(args.optimizer, lr=lr), lr


def data_line(args: argparse.Namespace, data: Dataset, rows: int) -> str:
    """The header's first line: the data, its size, its task (and classes) and why."""
    what = data.task
    if data.task != "regression":
        shown = ", ".join(map(repr, data.classes[:10])) + (
            ", ..." if len(data.classes) > 10 else "")
        what += f" ({len(data.classes)} classes: {shown})"
    origin = f"; target {data.target!r}" if data.source else ""
    return (f"data: {args.data}, {rows} rows x {data.X.shape[1]} features, task {what}"
            f"{origin}; {data.task_reason}")


def _print_setup(args: argparse.Namespace, prep: Prepared, inner: Network) -> None:
    """Say what is trained on what: the data and its task, the split, the network."""
    data = prep.data
    print(data_line(args, data, data.X.shape[0]))
    if data.preprocessor is not None:
        pre = data.preprocessor
        used = len(pre.columns_used)
        print(f"columns: {len(pre.feature_names_in_)} read, {used} used, encoded as "
              f"{pre.n_features_out} features (learnt from the training rows; change with "
              f"--categorical, --numeric, --drop, --na-values, --impute, --dates):")
        for line in pre.describe():
            print(f"  {line}")
    val = f"{len(prep.validation)} validation / " if len(prep.validation) else ""
    print(f"split: {len(prep.train)} train / {val}{len(prep.test)} test rows ({prep.how}); "
          "features standardized on the training rows")
    print(f"network: {network_summary(inner)}; loss {inner.loss.name}; "
          f"{inner.n_parameters()} parameters; {args.dtype}")


def _gradient_check(args: argparse.Namespace, inner: Network, prep: Prepared
                    ) -> dict[str, Any]:
    """Check the untrained network's gradients on the first training rows; print the report
    and return its summary for the model's metadata."""
    rows = min(args.gradcheck_rows, prep.X.shape[0])
    report = gradient_check(inner, prep.X[:rows], prep.y_fit[:rows],
                            max_entries=args.gradcheck_entries, seed=args.seed)
    print(f"\ngradient check on {rows} training rows (central differences, eps {report.eps:g}):")
    print(report)
    return {"rows": rows, "max_relative_error": report.max_relative_error,
            "passed": report.passed}


def _batch_size(args: argparse.Namespace) -> int | None:
    return None if args.full_batch else args.batch_size


def _callbacks(args: argparse.Namespace, prep: Prepared, stopper: SignalStop,
               extra: list[Callback]) -> list[Callback]:
    """The MAE in target units for a regression, plain epoch lines when stderr is not a
    terminal, the ``extra`` ones, and ``stopper``."""
    callbacks: list[Callback] = list(extra)
    if prep.y_scaler is not None:
        validation = prep.part("validation") if len(prep.validation) else None
        callbacks.append(TargetUnitsMAE(*prep.part("train"), validation, prep.y_scaler))
    if not args.quiet and not sys.stderr.isatty():  # a terminal gets fit's progress bar
        callbacks.append(EpochLines(args.epochs))
    callbacks.append(stopper)
    return callbacks


def _train(args: argparse.Namespace, inner: Network, prep: Prepared, optimizer: Optimizer,
           stopper: SignalStop, class_weight: ClassWeight, weights: np.ndarray | None,
           extra: list[Callback]) -> History:
    """Train ``inner`` in place, with Ctrl-C and SIGTERM stopping it at a step boundary."""
    batch = _batch_size(args)
    weighted = "" if weights is None else \
        f", {weights_text(class_weight, weights, prep.data.classes)}"
    print(f"\ntraining: {optimizer!r}, {args.epochs} epochs, batch size {batch or 'full'}"
          f"{weighted}", flush=True)
    callbacks = _callbacks(args, prep, stopper, extra)
    with stopper.installed():
        return inner.fit(prep.X, prep.y_fit, epochs=args.epochs, batch_size=batch,
                         optimizer=optimizer, seed=args.seed, callbacks=callbacks,
                         class_weight=class_weight,
                         validation_data=prep.validation_data,
                         verbose=1 if sys.stderr.isatty() and not args.quiet else 0,
                         checkpoint=args.checkpoint, checkpoint_every=args.checkpoint_every,
                         resume_from=args.resume)


def _interrupted(args: argparse.Namespace, net: Network, history: History,
                 stopper: SignalStop) -> int:
    """Save what was asked for, say how to resume, and return the signal's exit code."""
    saved = [f"checkpoint {args.checkpoint}"] if args.checkpoint else []
    if args.out:
        net.save(args.out)
        saved.append(f"model {args.out}")
    print(f"interrupted by {stopper.name} after {len(history.epoch)}/{args.epochs} complete "
          "epochs; " + (f"saved {' and '.join(saved)}" if saved else
                        "nothing saved (no --checkpoint or --out)")
          + (f"; continue with the same command and --resume {args.checkpoint}"
             if args.checkpoint else ""), file=sys.stderr)
    return exit_code(stopper.signum)


def _final_metrics(inner: Network, prep: Prepared
                   ) -> tuple[dict[str, float], dict[str, ClassScores]]:
    """Loss, accuracy and balanced accuracy (classifiers) or MSE and R² (regression) of the
    final model on the train, validation (when there is one) and test rows, in original
    units; and for a classifier, the per-class counts of each part.

    The rows are already standardized (in place), so the trained network scores them as the
    saved model, whose first layer standardizes, scores raw rows; both compute the
    standardization in float64 and round it once to the network's dtype.
    """
    data = prep.data
    metrics: dict[str, float] = {}
    scores: dict[str, ClassScores] = {}
    for part in PARTS:
        X, y = prep.part(part)
        if not len(y):
            continue
        if data.task == "regression":
            from sklearn.metrics import r2_score  # slow to import; only scoring needs it

            pred = prep.y_scaler.inverse_transform(inner.predict(X))[:, 0]
            metrics[f"{part}_mse"] = float(np.mean((pred - y) ** 2))
            metrics[f"{part}_r2"] = float(r2_score(y, pred)) if len(y) > 1 else float("nan")
        else:
            logs, out = inner.evaluate_with_output(X, y)
            scores[part] = class_scores(y, inner.classes_from_output(out), len(data.classes))
            metrics[f"{part}_loss"] = logs["loss"]
            metrics[f"{part}_accuracy"] = logs["accuracy"]
            metrics[f"{part}_balanced_accuracy"] = scores[part].balanced_accuracy
    # grouped by metric, each for train, validation and test: errors first, then scores
    order = ("loss", "mse", "accuracy", "balanced_accuracy", "r2")
    metrics = dict(sorted(metrics.items(), key=lambda kv: order.index(kv[0].split("_", 1)[1])))
    return metrics, scores


def _print_summary(history: History, metrics: dict[str, float], prep: Prepared,
                   scores: dict[str, ClassScores], weighted: bool) -> None:
    """The metrics; for a classifier also the recall per class of the last part (the test
    rows) and a warning for each part where the accuracy is the majority class's share."""
    print("\nsummary:")
    print(f"epochs run: {len(history.epoch)}")
    if prep.y_scaler is not None:
        print(f"final training loss (standardized target): {history['loss'][-1]:.6f}")
    for key, value in metrics.items():
        print(f"{key.replace('_', ' ')}: {value:.{6 if key.endswith('loss') else 4}f}")
    if not scores:
        return
    names = prep.data.classes
    part = list(scores)[-1]
    print("\n".join(recall_lines(scores[part], names, part)))
    hint = (" even with class weights; try more epochs or a larger --lr" if weighted
            else "; try --class-weight balanced")
    for part, s in scores.items():
        warning = majority_warning(s, names, part, hint)
        if warning is not None:
            print(warning)


def _metadata(args: argparse.Namespace, prep: Prepared, lr: float, history: History,
              metrics: dict[str, float], grad_meta: dict[str, Any] | None,
              scores: dict[str, ClassScores], class_weight: dict[str, Any] | None
              ) -> dict[str, Any]:
    """What the saved model records about its data, training run and results."""
    data = prep.data
    meta = {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "backprop_version": __version__,
        "task": data.task,
        "target": data.target,
        "data": {"name": data.name, "file": os.path.basename(data.source) if data.source
                 else None, "sha256": data.sha256, "rows": int(data.X.shape[0]),
                 "train_rows": len(prep.train), "validation_rows": len(prep.validation),
                 "test_rows": len(prep.test), "split": prep.how},
        "training": {"hidden": args.hidden, "activation": args.activation,
                     "optimizer": args.optimizer, "lr": lr, "epochs": args.epochs,
                     "epochs_run": len(history.epoch), "batch_size": _batch_size(args),
                     "dropout": args.dropout, "l2": args.l2, "dtype": args.dtype,
                     "seed": args.seed, "test_size": None if data.split else args.test_size,
                     "validation_split": args.validation_split,
                     "standardized_target": prep.y_scaler is not None,
                     "class_weight": class_weight},
        "metrics": metrics,
        "final_epoch": {k: v[-1] for k, v in history.history.items()},
        "gradient_check": grad_meta,
    }
    if scores:  # NaN (a class without rows) is saved as null
        meta["recall_per_class"] = {
            part: {str(c): float(r) for c, r in zip(data.classes, s.recall)}
            for part, s in scores.items()}
    return meta


def _save_outputs(args: argparse.Namespace, net: Network, history: History, title: str,
                  flow: GradientFlow | None = None) -> None:
    """Write the model, the history CSV, the learning-curve plot and the gradient-flow plot
    that were asked for."""
    if args.out:
        net.save(args.out)
        print(f"saved model: {args.out}")
    if args.history:
        save_history_csv(history, args.history)
        print(f"saved history: {args.history}")
    if args.plot:
        plot_history(history, args.plot, title=title)
        print(f"saved plot: {args.plot}")
    if flow is not None:
        plot_gradient_flow(flow, args.plot_gradients, title=title)
        print(f"gradient norm, first / last layer: {flow.first_last_ratio(0):.3g} before "
              f"training, {flow.first_last_ratio(-1):.3g} after")
        print(f"saved gradient-flow plot: {args.plot_gradients}")
