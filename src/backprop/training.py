"""The training loop: mini-batches, validation, History, early stopping and callbacks.

One epoch is the note's steps 3-5 repeated over shuffled mini-batches, each followed by an
optimizer step (step 6)::

    for each epoch:
        lr = schedule(epoch)
        for each mini-batch (X_b, y_b):               (train_step)
            J, grads = forward, cost, backward        (Network._loss_and_grads)
            optimizer.step(params, grads)             (in place)
        history <- mean training loss/accuracy, validation loss/accuracy
        callbacks.on_epoch_end(...)                   (any may stop training)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._workspace import Workspace
from .layers import as_rng
from .losses import check_sample_weight
from .network import check_X
from .optimizers import Adam, LRSchedule, Optimizer, get_optimizer

if TYPE_CHECKING:
    from .network import Network

__all__ = [
    "History",
    "Callback",
    "EarlyStopping",
    "LambdaCallback",
    "minibatches",
    "train_step",
    "train_validation_split",
    "fit",
]

Array = np.ndarray


class History:
    """Per-epoch metrics, Keras-style: ``history["loss"]``, ``history["val_loss"]``,
    ``history["accuracy"]``, ``history["val_accuracy"]``, ``history["lr"]``.

    Attributes
    ----------
    history : dict of str -> list of float
    epoch : list of int
        Epoch numbers (from 0) that have finished.
    stopped_epoch : int or None
        Epoch at which a callback stopped training early.
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.stopped_epoch: int | None = None

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        """Record the metrics of one finished epoch."""
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __repr__(self) -> str:
        last = {k: round(v[-1], 6) for k, v in self.history.items() if v}
        return f"History(epochs={len(self.epoch)}, last={last})"


class Callback:
    """Hooks called by :func:`fit`.  ``on_epoch_end`` returning True stops training."""

    def on_train_begin(self, network: Network) -> None:
        """Called once before the first epoch."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float], history: History) -> bool | None:
        """Called after each epoch with its metrics; return True to stop training."""
        return None

    def on_train_end(self, network: Network, history: History) -> None:
        """Called once after the last epoch (also after an early stop)."""


class LambdaCallback(Callback):
    """Wrap a function ``f(epoch, logs, history) -> bool | None`` as an epoch-end callback."""

    def __init__(self, on_epoch_end: Callable[[int, dict[str, float], History], Any]) -> None:
        self._fn = on_epoch_end

    def on_epoch_end(self, epoch: int, logs: dict[str, float], history: History) -> bool | None:
        """Call the wrapped function."""
        return bool(self._fn(epoch, logs, history))


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs; with ``restore_best_weights`` the network ends with the weights of its best epoch.

    ``monitor`` defaults to ``"val_loss"`` and falls back to ``"loss"`` when there is no
    validation data.  Metrics named ``*accuracy`` are maximised, others minimised.
    """

    def __init__(
        self,
        patience: int = 5,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        restore_best_weights: bool = True,
    ) -> None:
        if not isinstance(patience, (int, np.integer)) or patience < 0:
            raise ValueError(f"patience must be a non-negative integer, got {patience!r}")
        if min_delta < 0:
            raise ValueError(f"min_delta must be non-negative, got {min_delta!r}")
        self.patience = int(patience)
        self.monitor = monitor
        self.min_delta = float(min_delta)
        self.restore_best_weights = bool(restore_best_weights)
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.best_weights: list[dict[str, Array]] | None = None
        self.wait = 0
        self._network: Network | None = None

    def on_train_begin(self, network: Network) -> None:
        """Reset the record."""
        self._network = network
        self.best, self.best_epoch, self.best_weights, self.wait = None, None, None, 0

    def _key(self, logs: dict[str, float]) -> str:
        if self.monitor in logs:
            return self.monitor
        if self.monitor.startswith("val_") and self.monitor[4:] in logs:
            return self.monitor[4:]
        raise ValueError(f"EarlyStopping monitors {self.monitor!r}, not in {sorted(logs)}")

    def on_epoch_end(self, epoch: int, logs: dict[str, float], history: History) -> bool:
        """Track the best value; True once ``patience`` epochs passed without improvement."""
        key = self._key(logs)
        value = logs[key]
        if key.endswith("accuracy"):
            improved = self.best is None or value > self.best + self.min_delta
        else:
            improved = self.best is None or value < self.best - self.min_delta
        if improved:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self._network.get_weights()
            return False
        self.wait += 1
        return self.wait > self.patience

    def on_train_end(self, network: Network, history: History) -> None:
        """Restore the best weights (when asked to)."""
        if self.restore_best_weights and self.best_weights is not None:
            network.set_weights(self.best_weights)


def minibatches(
    n: int, batch_size: int | None, rng: np.random.Generator | None
) -> Iterator[Array]:
    """Yield index arrays covering ``range(n)`` in batches of ``batch_size`` (the last may be
    smaller); a fresh permutation from ``rng`` when given, in order otherwise.
    ``batch_size=None`` is one full batch (plain gradient descent)."""
    order = rng.permutation(n) if rng is not None else np.arange(n)
    size = n if batch_size is None else batch_size
    for start in range(0, n, size):
        yield order[start:start + size]


def _stratify_labels(y: Array) -> Array | None:
    """Class labels to stratify a split on, or None for multi-label / regression targets."""
    if y.ndim == 1:
        return y
    if y.shape[1] == 1:
        return y[:, 0]
    return None


def train_validation_split(
    m: int, fraction: float, rng: np.random.Generator, labels: Array | None = None
) -> tuple[Array, Array]:
    """Indices ``(train, validation)`` holding out ``fraction`` of ``m`` rows, stratified by
    ``labels`` when given (each class keeps its share on both sides)."""
    if labels is None:
        perm = rng.permutation(m)
        n_val = int(math.ceil(fraction * m))
        val, train = perm[:n_val], perm[n_val:]
    else:
        val_parts = []
        for c in np.unique(labels):
            idx = rng.permutation(np.flatnonzero(labels == c))
            val_parts.append(idx[: int(round(fraction * idx.size))])
        val = np.concatenate(val_parts)
        if val.size == 0:
            val = rng.permutation(m)[:1]
        mask = np.ones(m, dtype=bool)
        mask[val] = False
        train = np.flatnonzero(mask)
        val = rng.permutation(val)
    if train.size == 0 or val.size == 0:
        raise ValueError(
            f"validation_split={fraction} leaves {train.size} training and {val.size} "
            f"validation rows out of {m}"
        )
    return np.sort(train), val


def _gather(src: Array, rows: Array, ws: Workspace | None, name: str) -> Array:
    """``src[rows]``, written into the workspace's array ``name`` when there is one (no new
    array per step).  ``mode="clip"`` (the rows are valid) spares NumPy's bounds-checked
    buffered copy."""
    if ws is None:
        return src[rows]
    out = ws.get(_gather, name, (rows.size,) + src.shape[1:], src.dtype)
    return np.take(src, rows, axis=0, out=out, mode="clip")


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

    :func:`fit` changes the parameters here and nowhere else, so a check before the update (a
    non-finite cost or gradient, say) or a checkpoint after it belongs in this function.

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
        The batch cost before the update (with the L2 term).
    out : ndarray of shape (m, n_out)
        The output ``a[L]`` of the forward pass (a workspace array: overwritten next step).
    """
    J, grads, out, _ = network._loss_and_grads(X_batch, y_batch, w_batch, training=True,
                                               ws=workspace)
    optimizer.step(network.parameters(), [g for layer in grads for g in layer.values()])
    return float(J), out


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
) -> History:
    """Train ``network`` in place and return its :class:`History`.

    Parameters
    ----------
    X : ndarray of shape (m, n_in)
    y : targets as the loss expects (labels (m,) or (m, k))
    epochs : int
        Passes over the training data.
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
        Fixes the validation split and the shuffling.
    verbose : int
        1: a tqdm progress bar with the running loss; 0: silent.
    callbacks : list of Callback
        E.g. :class:`EarlyStopping`.  Any ``on_epoch_end`` returning True stops training.
    lr_schedule : LRSchedule, optional
        Sets ``optimizer.lr`` at the start of each epoch from the optimizer's initial rate.
    sample_weight : ndarray of shape (m,), optional
        Per-sample weights: each batch's cost is the weighted mean.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
        or batch_size < 1
    ):
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
    if verbose not in (0, 1, 2, True, False):
        raise ValueError(f"verbose must be 0 or 1, got {verbose!r}")
    X = check_X(X, network.n_in, network.dtype)
    y = network.check_targets(y, X.shape[0])
    w = check_sample_weight(sample_weight, X.shape[0])
    optimizer = Adam() if optimizer is None else get_optimizer(optimizer)
    callbacks = list(callbacks or [])
    for i, cb in enumerate(callbacks):
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks[{i}] must be a Callback, got {type(cb).__name__}")
    rng = as_rng(seed)

    X_val = y_val = None
    if validation_data is not None:
        if len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (X_val, y_val)")
        X_val = check_X(validation_data[0], network.n_in, network.dtype, name="X_val")
        y_val = network.check_targets(validation_data[1], X_val.shape[0], "y_val", "X_val")
    X = np.ascontiguousarray(X)
    train_rows = None  # None: every row of X trains; else the rows that do
    if validation_data is None and validation_split > 0:
        labels = _stratify_labels(y) if network.loss.is_classifier else None
        train_rows, val_idx = train_validation_split(X.shape[0], validation_split, rng, labels)
        X_val, y_val = X[val_idx], y[val_idx]
        # X itself is not copied: the batches are gathered from it through train_rows

    # Arrays reused by every step (see _workspace); a network that holds one layer object
    # twice (shared weights) would have its two caches overwrite each other: plain path.
    distinct = len({id(layer) for layer in network.layers}) == len(network.layers)
    ws = Workspace() if distinct else None
    base_lr = optimizer.lr
    history = History()
    m = X.shape[0] if train_rows is None else train_rows.size
    n_batches = 1 if batch_size is None else math.ceil(m / batch_size)
    bar = None
    if verbose:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs * n_batches, unit="batch", leave=True, dynamic_ncols=True)
    for cb in callbacks:
        cb.on_train_begin(network)
    try:
        for epoch in range(epochs):
            if lr_schedule is not None:
                optimizer.lr = lr_schedule.lr_at(epoch, base_lr)
            loss_sum = acc_sum = 0.0
            for idx in minibatches(m, batch_size, rng if shuffle else None):
                if train_rows is None and not shuffle:  # consecutive rows: views, no copy
                    batch = slice(int(idx[0]), int(idx[-1]) + 1)
                    Xb, yb = X[batch], y[batch]
                    wb = None if w is None else w[batch]
                else:
                    rows = idx if train_rows is None else train_rows[idx]
                    Xb, yb = _gather(X, rows, ws, "X"), _gather(y, rows, ws, "y")
                    wb = None if w is None else w[rows]
                J, out = train_step(network, optimizer, Xb, yb, wb, ws)
                loss_sum += J * idx.size
                acc = network.loss.accuracy(out, yb)
                if acc is not None:
                    acc_sum += acc * idx.size
                if bar is not None:
                    bar.update(1)
            logs = {"loss": loss_sum / m}
            if network.loss.is_classifier:
                logs["accuracy"] = acc_sum / m
            if X_val is not None:
                logs.update({f"val_{k}": v for k, v in network._evaluate(X_val, y_val, None)
                             .items()})
            logs["lr"] = optimizer.lr
            history.append(epoch, logs)
            if bar is not None:
                bar.set_description(f"epoch {epoch + 1}/{epochs}", refresh=False)
                bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items() if k != "lr"},
                                refresh=False)
            stop = [cb.on_epoch_end(epoch, logs, history) for cb in callbacks]
            if any(stop):
                history.stopped_epoch = epoch
                break
    finally:
        if bar is not None:
            bar.close()
        if lr_schedule is not None:
            optimizer.lr = base_lr
    for cb in callbacks:
        cb.on_train_end(network, history)
    return history
