"""Callbacks and the History of a training run.

:func:`backprop.training.fit` calls, on every callback: ``on_train_begin(network)`` once,
``on_batch_end(step, logs)`` after every optimizer step, ``on_epoch_end(epoch, logs, history)``
after every epoch and ``on_train_end(network, history)`` once.  ``on_epoch_end`` returning True
stops training after that epoch; ``on_batch_end`` returning True stops it after that step (an
*interrupt*: ``history.interrupted`` is then True, and a checkpoint records the exact position so
that the run can resume from it).

A callback whose state matters for an exact resume (EarlyStopping's best value and weights)
implements :meth:`Callback.state_dict` and :meth:`Callback.load_state_dict`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from backprop.nn.sequential import Network

__all__ = ["History", "Callback", "LambdaCallback", "EarlyStopping"]

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
    interrupted : bool
        True when a callback's ``on_batch_end`` stopped the run between two steps (Ctrl-C in the
        command line, for instance); the run can be resumed from its checkpoint.
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.stopped_epoch: int | None = None
        self.interrupted = False

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

    def state_dict(self) -> dict[str, Any]:
        """JSON-able contents (for checkpoints)."""
        return {"history": self.history, "epoch": self.epoch, "stopped_epoch": self.stopped_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore contents saved by :meth:`state_dict`."""
        self.history = {str(k): [float(v) for v in vals] for k, vals in state["history"].items()}
        self.epoch = [int(e) for e in state["epoch"]]
        self.stopped_epoch = state.get("stopped_epoch")


class Callback:
    """Hooks called by :func:`backprop.training.fit` (see the module docstring)."""

    def on_train_begin(self, network: Network) -> None:
        """Called once before the first epoch (also when a run resumes)."""

    def on_batch_end(self, step: int, logs: dict[str, float]) -> bool | None:
        """Called after every optimizer step (``step`` counts from 1 over the whole run;
        ``logs["loss"]`` is the batch cost); return True to stop after this step."""
        return None

    def on_epoch_end(self, epoch: int, logs: dict[str, float], history: History) -> bool | None:
        """Called after each epoch with its metrics; return True to stop training."""
        return None

    def on_train_end(self, network: Network, history: History) -> None:
        """Called once after the last epoch (also after an early stop or an interrupt)."""

    def state_dict(self) -> tuple[dict[str, Any], dict[str, Array]]:
        """The callback's state for a checkpoint: a JSON-able dict and named arrays."""
        return {}, {}

    def load_state_dict(self, state: dict[str, Any], arrays: dict[str, Array]) -> None:
        """Restore what :meth:`state_dict` returned (called after ``on_train_begin``)."""

    def check_state(self, state: dict[str, Any], arrays: dict[str, Array],
                    network: Network) -> str | None:
        """Before a resume: what is wrong with ``state`` and ``arrays`` (a :meth:`state_dict`
        read back from a checkpoint) for ``network``, or None.  :meth:`load_state_dict` may
        then trust them."""
        return None


class LambdaCallback(Callback):
    """Wrap a function ``f(epoch, logs, history) -> bool | None`` as an epoch-end callback."""

    def __init__(self, on_epoch_end: Callable[[int, dict[str, float], History], Any]) -> None:
        self._fn = on_epoch_end

    def on_epoch_end(self, epoch: int, logs: dict[str, float], history: History) -> bool | None:
        """Call the wrapped function."""
        return bool(self._fn(epoch, logs, history))


class EarlyStopping(Callback):
    """Stop once ``monitor`` has failed to improve by more than ``min_delta`` for more than
    ``patience`` consecutive epochs (training ends after ``patience + 1`` epochs without
    improvement, like scikit-learn's ``n_iter_no_change``); with ``restore_best_weights`` the
    network ends with the weights of its best epoch.

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
        if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) \
                or patience < 0:
            raise ValueError(f"patience must be a non-negative integer, got {patience!r}")
        if isinstance(min_delta, bool) or not isinstance(min_delta, numbers.Real) \
                or not 0 <= min_delta < math.inf:
            raise ValueError(f"min_delta must be a non-negative number, got {min_delta!r}")
        if not isinstance(monitor, str):
            raise ValueError(f"monitor must be a metric name such as 'val_loss', got {monitor!r}")
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
        """Track the best value; True once more than ``patience`` epochs passed without
        improvement."""
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
        """Restore the best weights (when asked to), unless the run was interrupted: an
        interrupted run keeps its current weights so that it can resume exactly."""
        if self.restore_best_weights and self.best_weights is not None and not history.interrupted:
            network.set_weights(self.best_weights)

    def state_dict(self) -> tuple[dict[str, Any], dict[str, Array]]:
        """Best value and epoch, patience counter, and the best weights as arrays."""
        arrays = {}
        for i, layer_weights in enumerate(self.best_weights or []):
            for k, v in layer_weights.items():
                arrays[f"best.{i}.{k}"] = v
        state = {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                 "has_best_weights": self.best_weights is not None,
                 "config": {"patience": self.patience, "monitor": self.monitor,
                            "min_delta": self.min_delta,
                            "restore_best_weights": self.restore_best_weights}}
        return state, arrays

    def check_state(self, state: dict[str, Any], arrays: dict[str, Array],
                    network: Network) -> str | None:
        """A record whose numbers are not numbers, or whose best weights do not fit the
        network, is refused before anything is restored."""
        from backprop.train.checkpoint import _is_count, _is_real

        if not ((state.get("best") is None or _is_real(state["best"]))
                and (state.get("best_epoch") is None or _is_count(state["best_epoch"]))
                and _is_count(state.get("wait"))):
            return "malformed state"
        expected = {f"best.{i}.{k}": p.shape for i, layer in enumerate(network.layers)
                    for k, p in layer.params.items()}
        if state.get("has_best_weights") and \
                {k: a.shape for k, a in arrays.items()} != expected:
            return "its saved weights do not fit the network"
        return None

    def load_state_dict(self, state: dict[str, Any], arrays: dict[str, Array]) -> None:
        """Restore the record saved by :meth:`state_dict`."""
        self.best, self.best_epoch = state["best"], state["best_epoch"]
        self.wait = int(state["wait"])
        self.best_weights = None
        if state.get("has_best_weights") and self._network is not None:
            self.best_weights = [
                {k: arrays[f"best.{i}.{k}"].copy() for k in layer.params}
                for i, layer in enumerate(self._network.layers)
            ]
