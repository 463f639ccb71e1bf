"""Callbacks and the History of a training run.

:func:`backprop.train.fit` calls, on every callback: ``on_train_begin(network)`` once,
``on_batch_end(step, logs)`` after every optimizer step, ``on_epoch_end(epoch, logs, history)``
after every epoch and ``on_train_end(network, history)`` once.  ``on_epoch_end`` returning True
stops training after that epoch; ``on_batch_end`` returning True stops it after that step (an
*interrupt*: ``history.interrupted`` is then True, and a checkpoint records the exact position so
that the run can resume from it).

A callback whose state matters for an exact resume (EarlyStopping's best value and weights)
implements :meth:`Callback.state_dict`, :meth:`Callback.check_state` and
:meth:`Callback.load_state_dict`.  Its state is the project's one state shape: a flat dict from
names to arrays or JSON-able values (a checkpoint stores the arrays as tensors and the rest in
its JSON header).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from backprop._utils import check_int, check_non_negative, is_count, is_real

if TYPE_CHECKING:
    from backprop.nn.sequential import Sequential as Network

__all__ = ["History", "Callback", "LambdaCallback", "MonitorCallback"]

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
    """Hooks called by :func:`backprop.train.fit` (see the module docstring)."""

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

    def state_dict(self) -> dict[str, Any]:
        """The callback's state for a checkpoint: names to arrays or JSON-able values.  An
        entry ``"config"`` holds the settings that must not change on resume."""
        return {}

    def check_state(self, state: dict[str, Any], network: Network) -> str | None:
        """Before a resume: what is wrong with ``state`` (a :meth:`state_dict` read back from
        a checkpoint) for ``network``, or None.  :meth:`load_state_dict` may then trust it."""
        return None

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (called after ``on_train_begin``)."""


class LambdaCallback(Callback):
    """Wrap a function ``f(epoch, logs, history) -> bool | None`` as an epoch-end callback."""

    def __init__(self, on_epoch_end: Callable[[int, dict[str, float], History], Any]) -> None:
        self._fn = on_epoch_end

    def on_epoch_end(self, epoch: int, logs: dict[str, float], history: History) -> bool | None:
        """Call the wrapped function."""
        return bool(self._fn(epoch, logs, history))


class MonitorCallback(Callback):
    """Watch one number per epoch: keep its best value, count the epochs without improvement,
    and (with ``restore_best``) keep the network's state at the best epoch.

    The rule, shared by :class:`backprop.EarlyStopping` and the scikit-learn estimators: an
    epoch *improves* when its value beats the best by more than ``min_delta`` (lower is better
    for ``mode="min"``, higher for ``"max"``); ``wait`` counts the epochs since the last one
    that improved, and :meth:`observe` returns True once ``wait > patience``; the best value
    (and state) move at an improvement (Keras's rule).  With ``track_any_gain`` it is
    scikit-learn's rule instead: an epoch improves when it beats the best by ``min_delta`` or
    more, and the best value (and state) move at any strict gain, even below ``min_delta``
    (and not on a tie).

    Subclasses call :meth:`observe` with the epoch's value.
    """

    def __init__(self, patience: int, min_delta: float = 0.0, mode: str = "min",
                 restore_best: bool = True, track_any_gain: bool = False) -> None:
        check_int("patience", patience, 0)
        check_non_negative("min_delta", min_delta)
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.mode = mode
        self.restore_best = bool(restore_best)
        self.track_any_gain = bool(track_any_gain)
        self.network: Network | None = None
        self.reset()

    def reset(self) -> None:
        """Forget the record."""
        self.best: float | None = None
        self.best_epoch: int | None = None
        #: the network's state (``Sequential.state_dict``) at the best epoch, when kept
        self.best_state: dict[str, Any] | None = None
        self.wait = 0

    def on_train_begin(self, network: Network) -> None:
        """Remember the network and start a fresh record."""
        self.network = network
        self.reset()

    def _gain(self, value: float, margin: float, inclusive: bool) -> bool:
        """Does ``value`` beat the best by more than ``margin`` (by ``margin`` or more when
        ``inclusive``)?  Written as scikit-learn and Keras compare, so ties fall alike."""
        if self.best is None:
            return True
        if self.mode == "min":
            bound = self.best - margin
            return value <= bound if inclusive else value < bound
        bound = self.best + margin
        return value >= bound if inclusive else value > bound

    def observe(self, epoch: int, value: float) -> bool:
        """Record the value of ``epoch``; True once more than ``patience`` epochs passed
        without improvement."""
        improved = self._gain(value, self.min_delta, self.track_any_gain)
        self.wait = 0 if improved else self.wait + 1
        moved = self._gain(value, 0.0, False) if self.track_any_gain else improved
        if moved:
            self.best, self.best_epoch = value, epoch
            if self.restore_best and self.network is not None:
                self.best_state = self.network.state_dict()
        return self.wait > self.patience

    def restore(self, network: Network) -> bool:
        """Load the best epoch's state into ``network``; False when none was kept."""
        if self.best_state is None:
            return False
        network.load_state_dict(self.best_state)
        return True

    def state_dict(self) -> dict[str, Any]:
        """Best value and epoch, the count, and the best state under ``"best."`` names."""
        state: dict[str, Any] = {"best": self.best, "best_epoch": self.best_epoch,
                                 "wait": self.wait, "has_best_state": self.best_state is not None}
        for key, value in (self.best_state or {}).items():
            state[f"best.{key}"] = value
        return state

    def check_state(self, state: dict[str, Any], network: Network) -> str | None:
        """A record whose numbers are not numbers, or whose best state does not fit the
        network, is refused before anything is restored."""
        if not ((state.get("best") is None or is_real(state["best"]))
                and (state.get("best_epoch") is None or is_count(state["best_epoch"]))
                and is_count(state.get("wait"))):
            return "malformed state"
        best = {k[5:]: v for k, v in state.items() if k.startswith("best.")}
        if state.get("has_best_state") and network.check_state(best) is not None:
            return "its saved weights do not fit the network"
        return None

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the record saved by :meth:`state_dict`."""
        self.best, self.best_epoch = state["best"], state["best_epoch"]
        self.wait = int(state["wait"])
        self.best_state = None
        if state.get("has_best_state"):
            self.best_state = {k[5:]: v for k, v in state.items() if k.startswith("best.")}
