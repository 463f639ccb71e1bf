"""The mutable state of one call of ``fit``: where the run is, the data its batches come from,
the mark the divergence guard rewinds to, and the conversion to and from a checkpoint."""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from backprop.nn.checks import is_sparse
from backprop.nn.workspace import Workspace
from backprop.optim import Optimizer
from backprop.saving.model_file import model_header
from backprop.train.callbacks import Callback, History, MonitorCallback
from backprop.train.checkpoint import Checkpoint, save_checkpoint
from backprop.train.divergence import (
    TrainingDiverged,
    first_nonfinite_forward,
    first_nonfinite_gradient,
)
from backprop.train.step import NonFiniteStep, gather, train_step

if TYPE_CHECKING:
    from backprop.nn.sequential import Sequential

__all__ = ["Run", "batch_count", "batch_bounds"]


def batch_count(m: int, size: int, network: Sequential) -> int:
    """How many batches ``m`` rows make at ``size`` rows a batch: ``ceil(m / size)``, except
    that a last batch of one row is joined to the one before when a layer normalises by batch
    statistics (a single row has no variance to train it on)."""
    n = math.ceil(m / size)
    lone = n > 1 and m % size == 1
    if lone and any(layer.batch_statistics for layer in network.layers):
        return n - 1
    return n


def batch_bounds(b: int, size: int, m: int, n_batches: int) -> tuple[int, int]:
    """``(start, stop)`` of batch ``b`` among ``n_batches`` (the last takes the rest)."""
    start = b * size
    return start, (m if b == n_batches - 1 else min(start + size, m))

Array = np.ndarray


class Run:
    """One run of :func:`backprop.train.fit`; see the module docstring."""

    def __init__(self, network: Sequential, optimizer: Optimizer, rng: np.random.Generator,
                 callbacks: list[Callback], settings: dict[str, Any] | None) -> None:
        self.network, self.optimizer, self.rng = network, optimizer, rng
        self.callbacks, self.settings = callbacks, settings
        self.history = History()
        self.base_lr = optimizer.lr
        self.epoch = 0  # epoch in progress
        self.batch = 0  # batches of that epoch done
        self.global_step = 0
        self.loss_sum = self.acc_sum = 0.0
        self.order: Array | None = None  # this epoch's order of the training rows
        self.train_rows: Array | None = None  # None: every row of X trains
        self.val_rows: Array | None = None
        self._mark: tuple[int, dict[str, Any], dict[str, Any]] | None = None

    def set_data(self, X: Array, y: Array, w: Array | None, batch_size: int | None,
                 ws: Workspace | None) -> None:
        """The training rows and how they are cut into batches."""
        self.X, self.y, self.w, self.ws = X, y, w, ws
        self.m = X.shape[0] if self.train_rows is None else self.train_rows.size
        self.size = self.m if batch_size is None else batch_size
        self.n_batches = batch_count(self.m, self.size, self.network)

    def batch_data(self, b: int) -> tuple[Array, Array, Array | None, int]:
        """``(X_b, y_b, w_b, rows)`` of batch ``b`` of the current epoch."""
        start, stop = batch_bounds(b, self.size, self.m, self.n_batches)
        X, y, w = self.X, self.y, self.w
        if self.order is None and self.train_rows is None:  # consecutive rows: views, no copy
            sl = slice(start, stop)
            return X[sl], y[sl], None if w is None else w[sl], sl.stop - sl.start
        if self.order is None:  # in order: a slice of the training rows
            rows = self.train_rows[start:stop]
        else:
            idx = self.order[start:stop]
            rows = idx if self.train_rows is None else self.train_rows[idx]
        Xb, yb = gather(X, rows, self.ws, "X"), gather(y, rows, self.ws, "y")
        return Xb, yb, None if w is None else w[rows], rows.size

    def step(self, b: int) -> tuple[float, int, float | None]:
        """Train on batch ``b``: ``(J, rows, correct)``, ``correct`` being the accuracy times
        the rows (None for a regression); raises :class:`NonFiniteStep`."""
        Xb, yb, wb, n_rows = self.batch_data(b)
        J, out = train_step(self.network, self.optimizer, Xb, yb, wb, self.ws)
        acc = self.network.loss.accuracy(out, yb)
        return J, n_rows, None if acc is None else acc * n_rows

    # ---------------------------------------------------------------- divergence
    def mark(self) -> None:
        """Remember the network's state and the optimizer's at the current position (start of
        an epoch, or where a resumed run starts): :meth:`rewind` replays from here."""
        self._mark = (self.batch, self.network.state_dict(), self.optimizer.state_dict())

    def rewind(self) -> None:
        """Rebuild the state after the last good step (the one before ``self.batch``): go back
        to the mark and replay the steps since, which is exact because every step is
        deterministic given the network's state (weights, buffers, generators), the
        optimizer's and the batch."""
        batch, network_state, optimizer_state = self._mark
        self.network.load_state_dict(network_state)
        self.optimizer.load_state_dict(optimizer_state)
        for b in range(batch, self.batch):
            self.step(b)

    def diverged(self, exc: NonFiniteStep, epochs: int) -> TrainingDiverged:
        """Restore the last finite state and describe where the first NaN/inf appeared."""
        net = self.network
        X_bad = exc.X_batch.copy()  # a workspace array: the replay below overwrites it
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
        monitor = next((cb for cb in self.callbacks if isinstance(cb, MonitorCallback)
                        and cb.restore_best and cb.best_state is not None), None)
        if monitor is not None and monitor.restore(net):
            restored = f"the best validation weights (epoch {monitor.best_epoch + 1})"
        kind = type(net.layers[layer]).__name__
        if where == "cost":
            what = f"the cost ({net.loss.name} of the output of layer {layer} ({kind}))"
        else:
            what = f"{where} of layer {layer} ({kind})"
        values = X_bad.data if is_sparse(X_bad) else X_bad  # a sparse batch: its entries
        scale = (float(np.max(np.abs(values), initial=0.0)) if np.isfinite(values).all()
                 else math.inf)
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
        return Checkpoint(
            network=self.network.state_dict(),
            model=model_header(self.network),
            optimizer={"class": type(self.optimizer).__name__,
                       "hyperparameters": self.optimizer.hyperparameters(),
                       "base_lr": self.base_lr, "state": self.optimizer.state_dict()},
            progress={"epoch": self.epoch, "batch": self.batch, "loss_sum": self.loss_sum,
                      "acc_sum": self.acc_sum, "global_step": self.global_step},
            rng_state=self.rng.bit_generator.state,
            history=self.history.state_dict(),
            callbacks=[{"class": type(cb).__name__, "state": cb.state_dict()}
                       for cb in self.callbacks],
            settings=self.settings,
            order=self.order if self.batch else None,
            train_rows=self.train_rows,
            val_rows=self.val_rows,
        )

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the checkpoint of the current position to ``path``, atomically."""
        save_checkpoint(path, self.to_checkpoint())

    def restore(self, ckpt: Checkpoint) -> None:
        """Continue from ``ckpt`` (which :func:`fit` has checked against this run)."""
        self.network.load_state_dict(ckpt.network)
        self.optimizer.load_state_dict(ckpt.optimizer["state"])
        self.base_lr = float(ckpt.optimizer["base_lr"])
        self.rng.bit_generator.state = ckpt.rng_state
        self.history.load_state_dict(ckpt.history)
        for cb, saved in zip(self.callbacks, ckpt.callbacks):
            cb.load_state_dict(saved["state"])
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
            val, _ = net.evaluate_with_output(X_val, y_val, checked=True)
            logs.update({f"val_{k}": v for k, v in val.items()})
        logs["lr"] = self.optimizer.lr
        return logs
