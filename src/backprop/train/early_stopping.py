"""Early stopping: end training once a monitored metric stops improving."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from backprop.train.callbacks import History, MonitorCallback

if TYPE_CHECKING:
    from backprop.nn.sequential import Sequential as Network

__all__ = ["EarlyStopping"]

Array = np.ndarray


class EarlyStopping(MonitorCallback):
    """Stop once ``monitor`` has failed to improve by more than ``min_delta`` for more than
    ``patience`` consecutive epochs (training ends after ``patience + 1`` epochs without
    improvement, like scikit-learn's ``n_iter_no_change``); with ``restore_best_weights`` the
    network ends with the state of its best epoch (weights, buffers and layer generators).

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
        if not isinstance(monitor, str):
            raise ValueError(f"monitor must be a metric name such as 'val_loss', got {monitor!r}")
        super().__init__(patience, min_delta, restore_best=restore_best_weights)
        self.monitor = monitor
        self.restore_best_weights = bool(restore_best_weights)

    @property
    def best_weights(self) -> list[dict[str, Array]] | None:
        """The best epoch's arrays, one dict per layer (as ``Network.get_weights``), or None."""
        if self.best_state is None or self.network is None:
            return None
        return [{k: self.best_state[f"layers.{i}.{k}"] for k in layer.arrays()}
                for i, layer in enumerate(self.network.layers)]

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
        self.mode = "max" if key.endswith("accuracy") else "min"
        return self.observe(epoch, logs[key])

    def on_train_end(self, network: Network, history: History) -> None:
        """Restore the best state (when asked to), unless the run was interrupted: an
        interrupted run keeps its current weights so that it can resume exactly."""
        if self.restore_best_weights and not history.interrupted:
            self.restore(network)

    def state_dict(self) -> dict[str, Any]:
        """The record (:meth:`MonitorCallback.state_dict`) and the configuration."""
        return {**super().state_dict(),
                "config": {"patience": self.patience, "monitor": self.monitor,
                           "min_delta": self.min_delta,
                           "restore_best_weights": self.restore_best_weights}}
