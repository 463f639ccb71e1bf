"""``mpiexec -n N backprop train ...``: the train command on N processes, data parallel.

Each process reads its share of the rows (:mod:`backprop.cli.shared_data`), the network is
trained with :func:`backprop.train.fit` on the processes of ``MPI.COMM_WORLD`` (one Allreduce
per step, :mod:`backprop.train.distributed`), and the final metrics are sums over the
processes.  The first process alone prints, and writes the model, the history, the plot and
the checkpoints; the output is one process's, with the number of processes in the header.
The same seed and batch size give the model one process trains, to float rounding.

:func:`train_command` is what ``backprop train`` runs: it trains on the processes when a
launcher started several (:mod:`backprop.cli.mpi`), and as :func:`backprop.cli.train.cmd_train`
otherwise.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

from backprop.cli import mpi
from backprop.cli.callbacks import EpochLines
from backprop.cli.class_report import ClassScores, class_scores
from backprop.cli.class_weights import fit_class_weight, weights_metadata, weights_text
from backprop.cli.describe import network_summary
from backprop.cli.errors import one_line
from backprop.cli.shared_data import SharedPrepared, prepare_shares
from backprop.cli.train import (
    _build_network,
    _check_destinations,
    _gradient_check,
    _interrupted,
    _metadata,
    _print_summary,
    _save_outputs,
    _user_model,
    cmd_train,
    data_line,
    run_optimizer,
)
from backprop.model import Network
from backprop.train.callbacks import Callback, History
from backprop.train.class_weight import class_weights
from backprop.train.divergence import TrainingDiverged
from backprop.train.parallel_run import validation_sums
from backprop.train.processes import Processes
from backprop.train.signals import SignalStop, exit_code

__all__ = ["train_command", "train_on_processes", "SharedTargetUnitsMAE"]


def train_command(args: argparse.Namespace) -> int:
    """``backprop train``: on the processes a launcher started, or on this one."""
    procs = mpi.world()
    if procs is None:
        return cmd_train(args)
    return mpi.on_processes(procs, lambda: train_on_processes(args, procs), args.debug)


def train_on_processes(args: argparse.Namespace, procs: Processes) -> int:
    """The steps of ``backprop train`` on this process of ``procs``; the exit code."""
    if args.plot_gradients:  # before any work, on every process alike
        raise ValueError("--plot-gradients measures the network of one process; run it "
                         "without mpiexec")
    procs.on_root(lambda: _check_destinations(args))
    prep = prepare_shares(args, procs)
    data = prep.data
    class_weight = procs.everywhere(lambda: fit_class_weight(args.class_weight, data))
    inner = _build_network(args, data)
    weights = None if class_weight is None else procs.everywhere(lambda: class_weights(
        inner, inner.check_targets(data.y[prep.train], len(prep.train)), class_weight))
    optimizer, lr = run_optimizer(args)
    _print_setup(args, prep, inner)
    grad_meta = None
    if args.resume:
        print(f"\nresuming from checkpoint {args.resume} (no gradient check)")
    elif not args.no_gradcheck:
        grad_meta = procs.on_root(lambda: _gradient_check(args, inner, prep))
        if not grad_meta["passed"]:
            if procs.is_root:
                print("error: gradient check failed; not training", file=sys.stderr)
            return 1
    stopper = SignalStop()
    try:
        history = _train(args, inner, prep, optimizer, stopper, class_weight, weights)
    except TrainingDiverged as exc:  # raised by every process alike: the same weights
        if procs.is_root:
            print(f"error: {one_line(exc)}", file=sys.stderr)
            if args.out:
                _user_model(inner, prep).save(args.out)
                print(f"saved the last good model: {args.out}", file=sys.stderr)
        return 1
    net = _user_model(inner, prep)
    if history.interrupted:
        if procs.is_root:
            _interrupted(args, net, history, stopper)
        return exit_code(stopper.signum)
    metrics, scores = _final_metrics(net, prep)
    if procs.is_root:
        _print_summary(history, metrics, prep, scores, class_weight is not None)
        net.metadata = _metadata(args, prep, lr, history, metrics, grad_meta, scores,
                                 weights_metadata(class_weight, weights, data.classes))
        net.metadata["data"]["rows"] = prep.m
        net.metadata["training"]["processes"] = procs.size
        _save_outputs(args, net, history, title=f"{data.name}: {network_summary(inner)}")
    return 0


def _print_setup(args: argparse.Namespace, prep: SharedPrepared, inner: Network) -> None:
    """What is trained on what, and on how many processes."""
    data, procs = prep.data, prep.procs
    print(data_line(args, data, prep.m))
    val = f"{len(prep.validation)} validation / " if len(prep.validation) else ""
    print(f"split: {len(prep.train)} train / {val}{len(prep.test)} test rows ({prep.how}); "
          "features standardized on the training rows")
    print(f"processes: {procs.size}, each reading its share of the rows (process 0: "
          f"{data.X.shape[0]} rows); one Allreduce of {inner.n_parameters()} gradients per step")
    print(f"network: {network_summary(inner)}; loss {inner.loss.name}; "
          f"{inner.n_parameters()} parameters; {args.dtype}")


class SharedTargetUnitsMAE(Callback):
    """A regression's mean absolute error in the target's own units after each epoch
    (``mae``, ``val_mae``), summed over the processes' rows (see
    :class:`backprop.cli.callbacks.TargetUnitsMAE`, its one-process twin)."""

    def __init__(self, procs: Processes, prep: SharedPrepared) -> None:
        self.procs, self.prep = procs, prep
        y = prep.data.y
        self.sets = [("", prep.X, y[prep.mine(prep.train)], len(prep.train))]
        if len(prep.validation):
            self.sets.append(("val_", prep.X_val, y[prep.mine(prep.validation)],
                              len(prep.validation)))
        self.network: Network | None = None

    def on_train_begin(self, network: Network) -> None:
        """Remember the network being trained."""
        self.network = network

    def on_epoch_end(self, epoch: int, logs: dict[str, float], history: History) -> None:
        """Compute ``mae`` and ``val_mae`` in original units, over all processes."""
        sums = []
        for _, X, y, _ in self.sets:
            if len(y):
                pred = self.prep.y_scaler.inverse_transform(self.network.predict(X))[:, 0]
                sums.append(float(np.abs(pred - y).sum()))
            else:
                sums.append(0.0)
        totals = self.procs.sum(sums)
        for (prefix, _, _, n), total in zip(self.sets, totals):
            logs[f"{prefix}mae"] = float(total / n)
            history.history.setdefault(f"{prefix}mae", []).append(float(total / n))


def _train(args: argparse.Namespace, inner: Network, prep: SharedPrepared, optimizer: Any,
           stopper: SignalStop, class_weight: Any, weights: np.ndarray | None) -> History:
    """Train ``inner`` on every process's rows, with Ctrl-C and SIGTERM stopping all of them
    after the same step."""
    procs = prep.procs
    batch = None if args.full_batch else args.batch_size
    weighted = "" if weights is None else \
        f", {weights_text(class_weight, weights, prep.data.classes)}"
    print(f"\ntraining: {optimizer!r}, {args.epochs} epochs, batch size {batch or 'full'} "
          f"(over all {procs.size} processes){weighted}", flush=True)
    # the same callbacks on every process (a checkpoint records them), as process 0 decides:
    # the others' lines go nowhere (their standard output is silenced)
    terminal = procs.on_root(lambda: sys.stderr.isatty())
    callbacks: list[Callback] = []
    if prep.y_scaler is not None:
        callbacks.append(SharedTargetUnitsMAE(procs, prep))
    if not args.quiet and not terminal:
        callbacks.append(EpochLines(args.epochs))
    callbacks.append(stopper)
    with stopper.installed():
        return inner.fit(prep.X, prep.y_fit, epochs=args.epochs, batch_size=batch,
                         optimizer=optimizer, seed=args.seed, callbacks=callbacks,
                         class_weight=class_weight, validation_data=prep.validation_data,
                         verbose=1 if terminal and not args.quiet else 0,
                         checkpoint=args.checkpoint, checkpoint_every=args.checkpoint_every,
                         resume_from=args.resume, comm=procs.comm)


def _final_metrics(net: Network, prep: SharedPrepared
                   ) -> tuple[dict[str, float], dict[str, ClassScores]]:
    """The metrics of ``backprop train`` on one process (loss, accuracy, balanced accuracy;
    or MSE and R²) on the train, validation and test rows, from sums over the processes."""
    data, procs = prep.data, prep.procs
    metrics: dict[str, float] = {}
    scores: dict[str, ClassScores] = {}
    k = len(data.classes)
    for part, idx in (("train", prep.train), ("validation", prep.validation),
                      ("test", prep.test)):
        if not len(idx):
            continue
        X, y = data.X[prep.local(idx)], data.y[prep.mine(idx)]
        n = len(idx)
        if data.task == "regression":
            sse = 0.0
            if len(y):
                sse = float(np.sum((net.predict(X)[:, 0] - y) ** 2))
            sse = float(procs.sum(sse))
            y_all = data.y[idx]
            sst = float(np.sum((y_all - y_all.mean()) ** 2))
            metrics[f"{part}_mse"] = sse / n
            # scikit-learn's r2_score, constant targets included (1 when perfect, else 0)
            metrics[f"{part}_r2"] = (float("nan") if n < 2 else 1.0 - sse / sst if sst > 0
                                     else float(sse == 0.0))
        else:
            sums, support, correct = np.zeros(3), np.zeros(k), np.zeros(k)
            if len(y):
                Xc = net.check_inputs(X)
                yc = net.check_targets(y, len(y))
                sums = validation_sums(net, Xc, yc)
                s = class_scores(y, net.predict_classes(Xc), k)
                support, correct = s.support, s.correct
            totals = procs.sum(np.concatenate([sums, support, correct]))
            scores[part] = ClassScores(support=totals[3:3 + k].astype(np.int64),
                                       correct=totals[3 + k:].astype(np.int64))
            metrics[f"{part}_loss"] = float(totals[0] / totals[1]) + net.l2_penalty(
                l2=net.batch_l2(n))
            metrics[f"{part}_accuracy"] = float(totals[2] / totals[1])
            metrics[f"{part}_balanced_accuracy"] = scores[part].balanced_accuracy
    order = ("loss", "mse", "accuracy", "balanced_accuracy", "r2")
    metrics = dict(sorted(metrics.items(), key=lambda kv: order.index(kv[0].split("_", 1)[1])))
    return metrics, scores
