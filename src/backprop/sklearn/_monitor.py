"""The estimators' epoch monitor: their learning curves and scikit-learn's stopping rule.

The rule is the library's one early-stopping rule, :class:`backprop.train.callbacks.
MonitorCallback`, with ``track_any_gain=True``, which is ``MLPClassifier``'s: the count of
epochs without improvement resets only when the monitored value beats the best by ``tol`` or
more, while the best value (and, with validation, the best weights) follow every strict gain.
When the count exceeds ``n_iter_no_change`` the solver's schedule decides
(:meth:`~._solvers.StochasticSolver.trigger_stopping`): stop, or (``"adaptive"``) divide the
learning rate by 5 and start counting again.

As in scikit-learn the record (best value, count, best weights) carries over from one call to
the next when training continues (``warm_start``, ``partial_fit``): the estimator keeps it as
its ``_stopping_record``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from backprop.train.callbacks import History, MonitorCallback

if TYPE_CHECKING:
    from backprop.model import Network

__all__ = ["_EpochMonitor"]


class _EpochMonitor(MonitorCallback):
    """Extend an estimator's ``loss_curve_``, ``validation_scores_``, ``n_iter_`` and ``t_``
    after every epoch, print its lines with ``verbose``, step its learning-rate schedule and
    apply the stopping rule of the module docstring.

    Parameters
    ----------
    est : estimator
        The estimator being fitted: its ``tol``, ``n_iter_no_change``, ``verbose`` and
        ``_optimizer`` (a :class:`~._solvers.StochasticSolver`) steer the monitor, which appends
        to its fitted attributes.
    score : callable or None
        ``score()`` is the held-out score of the network as it stands (higher is better); with
        it the score is monitored and the best epoch's weights are restored at the end,
        without it the training loss is monitored.
    n_train : int
        Training rows per epoch (``t_`` grows by as many).
    partial : bool
        One ``partial_fit`` epoch: the rule may change the learning rate but never stops.
    record : dict or None
        The record of the previous call (:meth:`state_dict`) to continue from.
    """

    def __init__(self, est: Any, score: Callable[[], float] | None, n_train: int,
                 partial: bool, record: dict[str, Any] | None = None) -> None:
        n = est.n_iter_no_change
        super().__init__(patience=sys.maxsize if n == math.inf else int(n), min_delta=est.tol,
                         mode="min" if score is None else "max",
                         restore_best=score is not None, track_any_gain=True)
        self.est = est
        self.score = score
        self.n_train = n_train
        self.partial = partial
        self.record = record
        #: True once the rule stopped training
        self.stopped = False

    def on_train_begin(self, network: Network) -> None:
        """Start from the previous call's record, or afresh."""
        super().on_train_begin(network)
        if self.record is not None:
            self.load_state_dict(self.record)

    def on_epoch_end(self, epoch: int, logs: dict[str, float], history: History) -> bool:
        """Record the epoch; True when training should stop."""
        est = self.est
        loss = float(logs["loss"])
        self._record(loss)
        value = loss
        if self.score is not None:
            value = self._record_score(self.score())
        no_gain = self.observe(epoch, value)
        est._optimizer.iteration_ends(est.t_)
        if no_gain:
            watched = ("Validation score did not improve" if self.score is not None
                       else "Training loss did not improve")
            msg = (f"{watched} more than tol={est.tol:f} for {est.n_iter_no_change} "
                   "consecutive epochs.")
            if not est._optimizer.trigger_stopping(msg, est.verbose):
                self.wait = 0  # a smaller learning rate: count afresh
            elif not self.partial:
                self.stopped = True
        return self.stopped

    def on_diverged(self) -> None:
        """The epoch in progress ended with a NaN or inf (training stopped, the best
        validation weights restored): record it as scikit-learn would, with a NaN loss and
        score."""
        self._record(math.nan)
        self._record_score(math.nan)

    def _record(self, loss: float) -> None:
        est = self.est
        est.loss_curve_.append(loss)
        est.loss_ = loss
        est.n_iter_ += 1
        est.t_ += self.n_train
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {loss:.8f}")

    def _record_score(self, score: float) -> float:
        est = self.est
        score = float(score)
        est.validation_scores_.append(score)
        if est.verbose:
            print(f"Validation score: {score:f}")
        return score

    def on_train_end(self, network: Network, history: History) -> None:
        """Restore the weights of the best validation epoch (when they were kept)."""
        self.restore(network)
