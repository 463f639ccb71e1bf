"""The epochs of a training run, shared by :func:`backprop.train.fit` on one process and on
several (:mod:`backprop.train.distributed`): each epoch draws its order, runs its steps (each
followed by the callbacks' ``on_batch_end``), computes its metrics, asks the callbacks whether
to stop and writes the checkpoints; and the checks of ``fit``'s arguments.

The :class:`~backprop.train.run.Run` (or its many-process twin) does what differs: where a
batch's rows come from, how its gradients are computed, how the metrics are reduced and who
writes the checkpoint.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from backprop._utils import check_fraction, check_int
from backprop.optim import LRSchedule
from backprop.train.callbacks import Callback
from backprop.train.run import Run
from backprop.train.step import NonFiniteStep

__all__ = ["EpochPlan", "run_epochs", "run_epoch", "check_fit_arguments", "check_callbacks"]

Array = np.ndarray


def check_fit_arguments(epochs: Any, batch_size: Any, validation_split: Any, verbose: Any,
                        checkpoint_every: Any) -> None:
    """``ValueError`` naming the first of ``fit``'s numeric arguments that is out of range."""
    check_int("epochs", epochs, 0)
    check_int("batch_size", batch_size, 1, allow_none=True)
    check_fraction("validation_split", validation_split)
    if verbose not in (0, 1, 2, True, False):
        raise ValueError(f"verbose must be 0 or 1, got {verbose!r}")
    check_int("checkpoint_every", checkpoint_every, 1)


def check_callbacks(callbacks: Sequence[Callback] | None) -> list[Callback]:
    """``callbacks`` as a list; ``TypeError`` for an entry that is not a Callback."""
    callbacks = list(callbacks or [])
    for i, cb in enumerate(callbacks):
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks[{i}] must be a Callback, got {type(cb).__name__}")
    return callbacks


@dataclass
class EpochPlan:
    """What :func:`run_epochs` does with a run: how many epochs, in which order, with which
    schedule, validation set, checkpoints and progress bar."""

    epochs: int
    shuffle: bool
    lr_schedule: LRSchedule | None
    X_val: Array | None
    y_val: Array | None
    checkpoint: str | os.PathLike[str] | None
    checkpoint_every: int
    bar: Any




def run_epoch(run: Run, plan: EpochPlan) -> bool:
    """The batches of the current epoch from the run's position; True when a callback
    interrupted it after a step."""
    bar, callbacks = plan.bar, run.callbacks
    while run.batch < run.n_batches:
        try:
            J, n_rows, correct = run.step(run.batch)
        except NonFiniteStep as exc:
            raise run.diverged(exc, plan.epochs) from None
        run.loss_sum += J * n_rows
        if correct is not None:
            run.acc_sum += correct
        run.batch += 1
        run.global_step += 1
        if bar is not None:
            bar.update(1)
            if run.batch % 16 == 0:
                seen = min(run.batch * run.size, run.m)
                bar.set_postfix(loss=f"{run.loss_sum / seen:.4g}", refresh=False)
        if any([cb.on_batch_end(run.global_step, {"loss": J}) for cb in callbacks]):
            return True
    return False


def run_epochs(run: Run, plan: EpochPlan) -> None:
    """The epochs of a run from its current position."""
    history = run.history
    while run.epoch < plan.epochs:
        if run.batch == 0:  # a fresh epoch (else: a resumed run continues inside one)
            run.order = run.rng.permutation(run.m) if plan.shuffle else None
            run.loss_sum = run.acc_sum = 0.0
        if plan.lr_schedule is not None:
            run.optimizer.lr = plan.lr_schedule.lr_at(run.epoch, run.base_lr)
        run.mark()
        interrupted = run_epoch(run, plan)
        if run.batch < run.n_batches:  # interrupted inside the epoch
            history.interrupted = True
            if plan.checkpoint is not None:
                run.save(plan.checkpoint)
            return
        logs = run.epoch_logs(plan.X_val, plan.y_val)
        history.append(run.epoch, logs)
        if plan.bar is not None:
            plan.bar.set_description(f"epoch {run.epoch + 1}/{plan.epochs}", refresh=False)
            plan.bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items() if k != "lr"},
                                 refresh=False)
        stop = any([cb.on_epoch_end(run.epoch, logs, history) for cb in run.callbacks])
        run.epoch += 1
        run.batch = 0
        if stop:
            history.stopped_epoch = run.epoch - 1
        history.interrupted = interrupted
        if plan.checkpoint is not None and (run.epoch % plan.checkpoint_every == 0 or stop
                                            or interrupted or run.epoch == plan.epochs):
            run.save(plan.checkpoint)
        if stop or interrupted:
            return
