"""The estimators' epoch monitor: their learning curves and scikit-learn's stopping rule.

The rule is the library's one early-stopping rule, :class:`backprop.train.callbacks.
MonitorCallback`, with ``track_any_gain=True``, which is ``MLPClassifier``'s: the count of
epochs without improvement resets only when the monitored value beats the best by ``tol`` or
more, while the best value (and, with validation, the best weights) follow every strict gain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from backprop.train.callbacks import History, MonitorCallback

if TYPE_CHECKING:
    from backprop.model import Network

__all__ = ["_EpochMonitor"]


class _EpochMonitor(MonitorCallback):
    """Extend an estimator's ``loss_curve_``, ``validation_scores_`` and ``n_iter_`` after
    every epoch, print its line with ``verbose``, and (with ``stop``) stop training by the rule
    of the module docstring.

    Parameters
    ----------
    est : estimator
        The estimator being fitted: its ``tol``, ``n_iter_no_change`` and ``verbose`` steer
        the monitor, which appends to its fitted attributes.
    score : callable or None
        ``score()`` is the held-out score of the network as it stands (higher is better); with
        it the score is monitored and the best epoch's weights are restored at the end,
        without it the training loss is monitored.
    stop : bool
        Apply the stopping rule (``fit``); False only records (``partial_fit``).
    """

    def __init__(self, est: Any, score: Callable[[], float] | None, stop: bool) -> None:
        super().__init__(patience=est.n_iter_no_change, min_delta=est.tol,
                         mode="min" if score is None else "max",
                         restore_best=score is not None, track_any_gain=True)
        self.est = est
        self.score = score
        self.stop = stop
        #: True once the rule stopped training
        self.stopped = False

    def on_epoch_end(self, epoch: int, logs: dict[str, float], history: History) -> bool:
        """Record the epoch; True when training should stop."""
        est = self.est
        loss = float(logs["loss"])
        est.loss_curve_.append(loss)
        est.n_iter_ += 1
        line = f"Iteration {est.n_iter_}, loss = {loss:.8f}"
        value = loss
        if self.score is not None:
            value = self.score()
            est.validation_scores_.append(value)
            line += f", validation score = {value:.6f}"
        if est.verbose:
            print(line)
        if not self.stop:
            return False
        self.stopped = self.observe(epoch, value)
        return self.stopped

    def on_train_end(self, network: Network, history: History) -> None:
        """Restore the weights of the best validation epoch (when they were kept)."""
        self.restore(network)
