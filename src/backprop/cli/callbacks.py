"""The callbacks ``backprop train`` adds to a run: plain progress lines when stderr is not a
terminal, and a regression's error in the target's own units."""

from __future__ import annotations

import sys
import time
from typing import TextIO

import numpy as np

from backprop.data import Standardizer
from backprop.model import Network
from backprop.train.callbacks import Callback, History

__all__ = ["EpochLines", "TargetUnitsMAE"]


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


class TargetUnitsMAE(Callback):
    """Regression curves in the target's own units: after each epoch, the mean absolute error
    on the training and validation rows (``mae``, ``val_mae``), added to the logs and the
    history.  The loss cannot serve: it is the MSE of the standardized target the network is
    trained on."""

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
