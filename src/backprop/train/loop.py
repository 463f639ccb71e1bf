"""The training loop: mini-batches, validation, the divergence guard, checkpoints and resume.

One epoch is the note's steps 3-5 repeated over shuffled mini-batches, each followed by an
optimizer step (step 6)::

    for each epoch:
        lr = schedule(epoch)
        for each mini-batch (X_b, y_b):               (train_step)
            J, grads = forward, cost, backward        (Network._loss_and_grads)
            optimizer.step(params, grads)             (in place)
        history <- mean training loss/accuracy, validation loss/accuracy
        callbacks.on_epoch_end(...)                   (any may stop training)
        checkpoint every ``checkpoint_every`` epochs

Every step checks its cost and gradients before the update (:mod:`backprop.divergence`); a
checkpoint (:mod:`backprop.checkpoint`) records the exact position of the run, so that
``fit(..., resume_from=path)`` continues it to bit-identical weights.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from backprop.data.split import stratify_labels, train_validation_split
from backprop.io.model_file import _jsonable
from backprop.nn.checks import check_X
from backprop.nn.layers import Dropout, as_rng
from backprop.nn.losses import check_sample_weight
from backprop.nn.workspace import Workspace
from backprop.optim import Adam, LRSchedule, Optimizer, get_optimizer
from backprop.train.callbacks import Callback, EarlyStopping, History, LambdaCallback
from backprop.train.checkpoint import (
    Checkpoint,
    check_restorable,
    data_fingerprint,
    load_checkpoint,
    save_checkpoint,
    settings_differences,
)
from backprop.train.divergence import (
    TrainingDiverged,
    first_nonfinite_forward,
    first_nonfinite_gradient,
    is_finite,
)

if TYPE_CHECKING:
    from backprop.nn.sequential import Network

__all__ = [
    "History",
    "Callback",
    "EarlyStopping",
    "LambdaCallback",
    "TrainingDiverged",
    "train_step",
    "fit",
]

Array = np.ndarray


def _gather(src: Array, rows: Array, ws: Workspace | None, name: str) -> Array:
    """``src[rows]``, written into the workspace's array ``name`` when there is one (no new
    array per step).  ``mode="clip"`` (the rows are valid) spares NumPy's bounds-checked
    buffered copy."""
    if ws is None:
        return src[rows]
    out = ws.get(_gather, name, (rows.size,) + src.shape[1:], src.dtype)
    return src.take(rows, axis=0, out=out, mode="clip")


def train_step(
    network: Network,
    optimizer: Optimizer,
    X_batch: Array,
    y_batch: Array,
    w_batch: Array | None = None,
    workspace: Workspace | None = None,
) -> tuple[float, Array]:
    """One optimisation step on one mini-batch: forward propagation, cost, backward
    propagation and the optimizer's in-place update of every parameter.

    :func:`fit` changes the parameters here and nowhere else.  After the update the cost and
    the parameters are checked; a NaN or inf raises, and :func:`fit` then rebuilds the weights
    of the last good step (see ``_Run.rewind``).

    Parameters
    ----------
    network : Network
    optimizer : Optimizer
    X_batch : ndarray of shape (m, n_in), in the network's dtype (validated, as fit does)
    y_batch : targets of the m rows, as ``network.check_targets`` returns them
    w_batch : ndarray of shape (m,), optional
        Sample weights.
    workspace : Workspace, optional
        Arrays reused from step to step (``backprop._workspace``); None allocates.

    Returns
    -------
    J : float
        The batch cost before the update (with the L2 term; only the L2 term, and no update,
        when every sample weight of the batch is 0).
    out : ndarray of shape (m, n_out)
        The output ``a[L]`` of the forward pass (a workspace array: overwritten next step).
    """
    if w_batch is not None and not w_batch.any():
        # every row of the batch weighs 0: its weighted mean cost would be 0/0.  It has no
        # cost and no gradient, so no step is taken, as if its rows had been dropped.
        out, _ = network.forward(X_batch, training=True)
        return float(network.l2_penalty()), out
    J, grads, out, _ = network._loss_and_grads(X_batch, y_batch, w_batch, training=True,
                                               ws=workspace)
    params = network.parameters()
    optimizer.step(params, [g for layer in grads for g in layer.values()])
    # The divergence guard: a NaN or inf in any gradient reaches the parameters through the
    # update, and so does an update that overflows.  The optimizer's kernels report whether
    # what they wrote is finite; otherwise one read pass over the parameters tells.
    finite = optimizer.last_step_finite
    if finite is None:
        finite = all(is_finite(p) for p in params)
    if not math.isfinite(J) or not finite:
        raise _NonFinite(J, grads, X_batch)
    return float(J), out


class _NonFinite(Exception):
    """Raised by :func:`train_step` after a step that produced a NaN or inf; :func:`fit`
    restores the last good weights and raises :class:`TrainingDiverged`."""

    def __init__(self, J: float, grads: list[dict[str, Array]], X_batch: Array) -> None:
        super().__init__("non-finite cost or gradient")
        self.J, self.grads, self.X_batch = J, grads, X_batch


def _check_fit_arguments(epochs: Any, batch_size: Any, validation_split: Any, verbose: Any,
                         checkpoint_every: Any) -> None:
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
        or batch_size < 1
    ):
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    if (isinstance(validation_split, bool) or not isinstance(validation_split, numbers.Real)
            or not 0.0 <= validation_split < 1.0):
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
    if verbose not in (0, 1, 2, True, False):
        raise ValueError(f"verbose must be 0 or 1, got {verbose!r}")
    if (isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, (int, np.integer))
            or checkpoint_every < 1):
        raise ValueError(f"checkpoint_every must be a positive integer, got {checkpoint_every!r}")


def _normalised(value: Any) -> Any:
    """``value`` as it reads back from a checkpoint's JSON header (tuples become lists ...)."""
    return json.loads(json.dumps(_jsonable(value, "settings"), allow_nan=False))


def _callback_differences(saved: list[dict[str, Any]], callbacks: list[Callback]) -> list[str]:
    """One line per callback whose configuration (the ``"config"`` entry of its state, such as
    EarlyStopping's patience and monitor) differs from the one saved in a checkpoint."""
    lines = []
    for j, (cb, entry) in enumerate(zip(callbacks, saved)):
        state = entry.get("state")
        if not isinstance(state, dict) or "config" not in state:
            continue
        config = _normalised(cb.state_dict()[0].get("config"))
        if state["config"] != config:
            lines.append(f"callbacks[{j}] ({type(cb).__name__}): checkpoint has "
                         f"{state['config']!r}, this run has {config!r}")
    return lines


class _Run:
    """The mutable state of one call of :func:`fit`: where the run is, the data it draws its
    batches from, and everything a checkpoint must hold to continue it exactly."""

    def __init__(self, network: Network, optimizer: Optimizer, rng: np.random.Generator,
                 callbacks: list[Callback], settings: dict[str, Any] | None) -> None:
        self.network, self.optimizer, self.rng = network, optimizer, rng
        self.callbacks, self.settings = callbacks, settings
        self.dropouts = [la for la in network.layers if isinstance(la, Dropout)]
        self.history = History()
        self.base_lr = optimizer.lr
        self.epoch = 0  # epoch in progress
        self.batch = 0  # batches of that epoch done
        self.global_step = 0
        self.loss_sum = self.acc_sum = 0.0
        self.order: Array | None = None  # this epoch's order of the training rows
        self.train_rows: Array | None = None  # None: every row of X trains
        self.val_rows: Array | None = None
        self._mark: tuple[int, list[dict[str, Array]], dict[str, Any], list[Any]] | None = None

    def set_data(self, X: Array, y: Array, w: Array | None, batch_size: int | None,
                 ws: Workspace | None) -> None:
        """The training rows and how they are cut into batches."""
        self.X, self.y, self.w, self.ws = X, y, w, ws
        self.m = X.shape[0] if self.train_rows is None else self.train_rows.size
        self.size = self.m if batch_size is None else batch_size
        self.n_batches = math.ceil(self.m / self.size)

    def batch_data(self, b: int) -> tuple[Array, Array, Array | None, int]:
        """``(X_b, y_b, w_b, rows)`` of batch ``b`` of the current epoch."""
        start = b * self.size
        X, y, w = self.X, self.y, self.w
        if self.order is None and self.train_rows is None:  # consecutive rows: views, no copy
            sl = slice(start, min(start + self.size, self.m))
            return X[sl], y[sl], None if w is None else w[sl], sl.stop - sl.start
        if self.order is None:  # in order: a slice of the training rows
            rows = self.train_rows[start:start + self.size]
        else:
            idx = self.order[start:start + self.size]
            rows = idx if self.train_rows is None else self.train_rows[idx]
        Xb, yb = _gather(X, rows, self.ws, "X"), _gather(y, rows, self.ws, "y")
        return Xb, yb, None if w is None else w[rows], rows.size

    # ---------------------------------------------------------------- divergence
    def mark(self) -> None:
        """Remember the weights, optimizer state and dropout generators at the current position
        (start of an epoch, or where a resumed run starts): :meth:`rewind` replays from here."""
        opt = self.optimizer.state_dict()
        slots = None if opt["slots"] is None else [{k: v.copy() for k, v in s.items()}
                                                   for s in opt["slots"]]
        self._mark = (self.batch, self.network.get_weights(),
                      {"step": opt["step"], "slots": slots},
                      [d.rng.bit_generator.state for d in self.dropouts])

    def rewind(self) -> None:
        """Rebuild the weights after the last good step (the one before ``self.batch``): go back
        to the mark and replay the steps since, which is exact because every step is
        deterministic given the weights, the optimizer state, the batch and the dropout
        generators."""
        batch, weights, opt_state, dropout_states = self._mark
        self.network.set_weights(weights)
        self.optimizer.load_state_dict(opt_state)
        for d, state in zip(self.dropouts, dropout_states):
            d.rng.bit_generator.state = state
        for b in range(batch, self.batch):
            Xb, yb, wb, _ = self.batch_data(b)
            train_step(self.network, self.optimizer, Xb, yb, wb, self.ws)

    def diverged(self, exc: _NonFinite, epochs: int) -> TrainingDiverged:
        """Restore the last finite weights and describe where the first NaN/inf appeared."""
        net = self.network
        X_bad = np.array(exc.X_batch)  # a workspace array: the replay below overwrites it
        hit = None
        if math.isfinite(exc.J):
            # exc.grads are the offending step's gradients (workspace arrays, intact until the
            # next step): the first non-finite one in back-propagation order, else the update
            # itself overflowed a parameter
            hit = first_nonfinite_gradient(exc.grads)
            if hit is not None:
                where = f"gradient of {hit[1]}"
            else:
                hit = first_nonfinite_gradient([layer.params for layer in net.layers])
                where = f"update of {hit[1]}"
        self.rewind()
        if hit is None:  # the cost: replay the forward pass with the last good weights
            fwd = first_nonfinite_forward(net, X_bad)
            # every activation finite: the loss itself overflowed, after the output layer
            hit = fwd if fwd is not None else (len(net.layers) - 1, "cost", float(exc.J))
            where = hit[1]
        layer, value = hit[0], hit[2]
        restored = (f"those after step {self.global_step} (the last finite ones)"
                    if self.global_step else "their initial values")
        stopper = next((cb for cb in self.callbacks if isinstance(cb, EarlyStopping)
                        and cb.best_weights is not None), None)
        if stopper is not None:
            net.set_weights(stopper.best_weights)
            restored = f"the best validation weights (epoch {stopper.best_epoch + 1})"
        kind = type(net.layers[layer]).__name__
        if where == "cost":
            what = f"the cost ({net.loss.name} of the output of layer {layer} ({kind}))"
        else:
            what = f"{where} of layer {layer} ({kind})"
        scale = float(np.max(np.abs(X_bad))) if np.isfinite(X_bad).all() else math.inf
        message = (
            f"training diverged at epoch {self.epoch + 1}/{epochs}, batch {self.batch + 1}/"
            f"{self.n_batches} (step {self.global_step + 1}): {what} became {value}; "
            f"weights restored to {restored}. Hint: lower the learning rate (it is "
            f"{self.optimizer.lr:g}) or standardize the inputs (max |x| in this batch is "
            f"{scale:.3g})"
        )
        return TrainingDiverged(message, epoch=self.epoch, step=self.batch,
                                global_step=self.global_step, layer=layer, where=where,
                                value=value, restored=restored)

    # ---------------------------------------------------------------- checkpoints
    def to_checkpoint(self) -> Checkpoint:
        """Everything needed to continue from the current position."""
        cbs = []
        for cb in self.callbacks:
            state, arrays = cb.state_dict()
            cbs.append({"class": type(cb).__name__, "state": state, "arrays": arrays})
        opt_state = self.optimizer.state_dict()
        return Checkpoint(
            network=self.network,
            optimizer={"class": type(self.optimizer).__name__,
                       "hyperparameters": self.optimizer.hyperparameters(),
                       "base_lr": self.base_lr, "step": opt_state["step"],
                       "slots": opt_state["slots"]},
            progress={"epoch": self.epoch, "batch": self.batch, "loss_sum": self.loss_sum,
                      "acc_sum": self.acc_sum, "global_step": self.global_step},
            rng_state=self.rng.bit_generator.state,
            dropout_states=[d.rng.bit_generator.state for d in self.dropouts],
            history=self.history.state_dict(),
            callbacks=cbs,
            settings=self.settings,
            order=self.order if self.batch else None,
            train_rows=self.train_rows,
            val_rows=self.val_rows,
        )

    def restore(self, ckpt: Checkpoint) -> None:
        """Continue from ``ckpt`` (which :func:`fit` has checked against this run)."""
        self.network.set_weights(ckpt.network.get_weights())
        self.optimizer.load_state_dict({"step": ckpt.optimizer["step"],
                                        "slots": ckpt.optimizer["slots"]})
        self.base_lr = float(ckpt.optimizer["base_lr"])
        self.rng.bit_generator.state = ckpt.rng_state
        for d, state in zip(self.dropouts, ckpt.dropout_states):
            d.rng.bit_generator.state = state
        self.history.load_state_dict(ckpt.history)
        for cb, saved in zip(self.callbacks, ckpt.callbacks):
            cb.load_state_dict(saved["state"], saved["arrays"])
        p = ckpt.progress
        self.epoch, self.batch, self.global_step = p["epoch"], p["batch"], p["global_step"]
        self.loss_sum, self.acc_sum = float(p["loss_sum"]), float(p["acc_sum"])
        self.order = ckpt.order
        self.train_rows, self.val_rows = ckpt.train_rows, ckpt.val_rows

    def epoch_logs(self, X_val: Array | None, y_val: Array | None) -> dict[str, float]:
        """The finished epoch's metrics: mean training loss/accuracy over its batches and
        the validation metrics."""
        net = self.network
        logs = {"loss": self.loss_sum / self.m}
        if net.loss.is_classifier:
            logs["accuracy"] = self.acc_sum / self.m
        if X_val is not None:
            logs.update({f"val_{k}": v for k, v in net._evaluate(X_val, y_val, None).items()})
        logs["lr"] = self.optimizer.lr
        return logs


def fit(
    network: Network,
    X: Array,
    y: Array,
    epochs: int = 10,
    batch_size: int | None = 32,
    optimizer: Optimizer | str | None = None,
    validation_data: tuple[Array, Array] | None = None,
    validation_split: float = 0.0,
    shuffle: bool = True,
    seed: int | np.random.Generator | None = None,
    verbose: int = 1,
    callbacks: Sequence[Callback] | None = None,
    lr_schedule: LRSchedule | None = None,
    sample_weight: Array | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int = 1,
    resume_from: str | os.PathLike[str] | None = None,
) -> History:
    """Train ``network`` in place and return its :class:`History`.

    Parameters
    ----------
    X : ndarray of shape (m, n_in)
    y : targets as the loss expects (labels (m,) or (m, k))
    epochs : int
        Passes over the training data (in total: a resumed run continues up to ``epochs``).
    batch_size : int or None
        Mini-batch size; ``None`` uses the whole training set each step (the note's gradient
        descent).
    optimizer : Optimizer or name, default ``Adam(lr=1e-3)``
    validation_data : (X_val, y_val), optional
    validation_split : float in [0, 1)
        Fraction of ``X`` held out for validation when ``validation_data`` is not given
        (stratified by class for classifiers).
    shuffle : bool
        Reshuffle the training rows every epoch.
    seed : int or Generator, optional
        Fixes the validation split and the shuffling (initialisation and dropout masks are
        fixed by the layers' seeds; ``bp.mlp(..., seed=)`` sets them all).
    verbose : int
        1: a tqdm progress bar with the running loss; 0: silent.
    callbacks : list of Callback
        E.g. :class:`EarlyStopping`.  ``on_epoch_end`` returning True stops training;
        ``on_batch_end`` returning True interrupts it after that step.
    lr_schedule : LRSchedule, optional
        Sets ``optimizer.lr`` at the start of each epoch from the optimizer's initial rate.
    sample_weight : ndarray of shape (m,), optional
        Per-sample weights: each batch's cost is the weighted mean.
    checkpoint : path, optional
        Write a checkpoint (:mod:`backprop.checkpoint`, atomically) every ``checkpoint_every``
        epochs, after the last epoch, and when a callback interrupts the run.
    checkpoint_every : int
        Epochs between checkpoints.
    resume_from : path, optional
        Continue the run saved in this checkpoint: weights, optimizer state, position, RNG
        states, early-stopping state and history are restored, and the result is bit-identical
        to an uninterrupted run (same machine, NumPy build and thread count).  The call's
        settings (architecture, data, batch size, optimizer, schedule, seed, callbacks and their
        configuration) must match the checkpoint's; a ``ValueError`` lists every difference
        otherwise.

    Raises
    ------
    TrainingDiverged
        A NaN or inf cost, gradient or parameter; the network first gets back the weights of
        the last good step (or the best validation weights when early stopping is on).
    """
    _check_fit_arguments(epochs, batch_size, validation_split, verbose, checkpoint_every)
    X = check_X(X, network.n_in, network.dtype)
    y = network.check_targets(y, X.shape[0])
    w = check_sample_weight(sample_weight, X.shape[0])
    optimizer = Adam() if optimizer is None else get_optimizer(optimizer)
    callbacks = list(callbacks or [])
    for i, cb in enumerate(callbacks):
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks[{i}] must be a Callback, got {type(cb).__name__}")
    X_val = y_val = None
    if validation_data is not None:
        if len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (X_val, y_val)")
        X_val = check_X(validation_data[0], network.n_in, network.dtype, name="X_val")
        y_val = network.check_targets(validation_data[1], X_val.shape[0], "y_val", "X_val")
    X = np.ascontiguousarray(X)

    settings = None
    if checkpoint is not None or resume_from is not None:
        settings = _normalised({
            "architecture": network.config(),
            "data": {"X": list(X.shape), "y": list(y.shape),
                     "sha256": data_fingerprint(X, y, w, X_val, y_val)},
            "batch_size": batch_size, "shuffle": bool(shuffle),
            "validation_split": validation_split,
            "optimizer": [type(optimizer).__name__, optimizer.hyperparameters()],
            "lr_schedule": None if lr_schedule is None else
            [type(lr_schedule).__name__, lr_schedule.config()],
            "seed": int(seed) if isinstance(seed, (int, np.integer)) else None,
            "callbacks": [type(cb).__name__ for cb in callbacks],
        })
    run = _Run(network, optimizer, as_rng(seed), callbacks, settings)
    ckpt = None
    if resume_from is not None:
        # read and compare everything before any state changes
        ckpt = load_checkpoint(resume_from)
        diffs = settings_differences(ckpt.settings, settings) + \
            _callback_differences(ckpt.callbacks, callbacks)
        if diffs:
            raise ValueError(f"cannot resume from {os.fspath(resume_from)}: the run's settings "
                             "differ from the checkpoint's:\n  " + "\n  ".join(diffs))
        check_restorable(ckpt, network.parameters(), len(run.dropouts), X.shape[0], batch_size,
                         resume_from, callbacks)
    elif validation_data is None and validation_split > 0:
        labels = stratify_labels(y) if network.loss.is_classifier else None
        run.train_rows, run.val_rows = train_validation_split(X.shape[0], validation_split,
                                                              run.rng, labels)

    # Arrays reused by every step (see _workspace); a network that holds one layer object
    # twice (shared weights) would have its two caches overwrite each other: plain path.
    distinct = len({id(layer) for layer in network.layers}) == len(network.layers)
    ws = Workspace() if distinct else None
    for cb in callbacks:
        cb.on_train_begin(network)
    if ckpt is not None:
        run.restore(ckpt)
    if run.val_rows is not None:
        # X itself is not copied: the batches are gathered from it through train_rows
        X_val, y_val = X[run.val_rows], y[run.val_rows]
    run.set_data(X, y, w, batch_size, ws)
    history = run.history
    bar = None
    if verbose:
        from tqdm.auto import tqdm

        total = epochs * run.n_batches
        bar = tqdm(total=total, initial=min(run.global_step, total), unit="batch", leave=True,
                   dynamic_ncols=True)
    try:
        # NaN/inf are caught by the divergence guard and reported as TrainingDiverged; NumPy's
        # overflow warnings on the way there would only add noise
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            _loop(run, epochs, shuffle, lr_schedule, X_val, y_val, checkpoint,
                  checkpoint_every, bar)
    finally:
        if bar is not None:
            bar.close()
        if lr_schedule is not None:
            optimizer.lr = run.base_lr
        optimizer._plan = optimizer._last = None  # this run's arrays (in the workspace)
    for cb in callbacks:
        cb.on_train_end(network, history)
    return history


def _loop(run: _Run, epochs: int, shuffle: bool, lr_schedule: LRSchedule | None,
          X_val: Array | None, y_val: Array | None, checkpoint: Any, checkpoint_every: int,
          bar: Any) -> None:
    """The epochs of :func:`fit` from the run's current position."""
    network, optimizer, callbacks, history = run.network, run.optimizer, run.callbacks, \
        run.history
    while run.epoch < epochs:
        if run.batch == 0:  # a fresh epoch (else: a resumed run continues inside one)
            run.order = run.rng.permutation(run.m) if shuffle else None
            run.loss_sum = run.acc_sum = 0.0
        if lr_schedule is not None:
            optimizer.lr = lr_schedule.lr_at(run.epoch, run.base_lr)
        run.mark()
        interrupted = False
        while run.batch < run.n_batches:
            Xb, yb, wb, n_rows = run.batch_data(run.batch)
            try:
                J, out = train_step(network, optimizer, Xb, yb, wb, run.ws)
            except _NonFinite as exc:
                raise run.diverged(exc, epochs) from None
            run.loss_sum += J * n_rows
            acc = network._batch_accuracy(out, yb)
            if acc is not None:
                run.acc_sum += acc * n_rows
            run.batch += 1
            run.global_step += 1
            if bar is not None:
                bar.update(1)
                if run.batch % 16 == 0:
                    seen = min(run.batch * run.size, run.m)
                    bar.set_postfix(loss=f"{run.loss_sum / seen:.4g}", refresh=False)
            if any([cb.on_batch_end(run.global_step, {"loss": J}) for cb in callbacks]):
                interrupted = True
                break
        if run.batch < run.n_batches:  # interrupted inside the epoch
            history.interrupted = True
            if checkpoint is not None:
                save_checkpoint(checkpoint, run.to_checkpoint())
            return
        logs = run.epoch_logs(X_val, y_val)
        history.append(run.epoch, logs)
        if bar is not None:
            bar.set_description(f"epoch {run.epoch + 1}/{epochs}", refresh=False)
            bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items() if k != "lr"},
                            refresh=False)
        stop = any([cb.on_epoch_end(run.epoch, logs, history) for cb in callbacks])
        run.epoch += 1
        run.batch = 0
        if stop:
            history.stopped_epoch = run.epoch - 1
        history.interrupted = interrupted
        if checkpoint is not None and (run.epoch % checkpoint_every == 0 or stop or interrupted
                                       or run.epoch == epochs):
            save_checkpoint(checkpoint, run.to_checkpoint())
        if stop or interrupted:
            return
