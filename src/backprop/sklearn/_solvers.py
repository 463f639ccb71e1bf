"""The stochastic solvers: a backprop optimizer and scikit-learn's learning-rate schedules.

An estimator fitted with a stochastic solver keeps a :class:`StochasticSolver` as its
``_optimizer``, the object scikit-learn's MLP keeps under that name: ``learning_rate`` is the
current rate, ``iteration_ends(t)`` runs after every epoch (``t``: the samples trained on so
far) and ``trigger_stopping(msg, verbose)`` decides what an epoch without improvement does.
The parameter updates themselves are the backprop optimizer's (:attr:`StochasticSolver.
optimizer`), whose rules are PyTorch's: ``"sgd"`` with momentum ``μ`` and learning rate ``γ``
steps ``θ ← θ - γ b`` with ``b ← μ b + g``, which is scikit-learn's velocity ``v ← μ v - γ g``,
``θ ← θ + v`` (``v = -γ b``) while the rate is constant; ``"adam"`` places ``epsilon`` inside
the bias correction of the second moment as PyTorch does, which scikit-learn places outside.

The schedules (``learning_rate``):

``"constant"``
    ``learning_rate_init`` throughout.
``"invscaling"``
    after each epoch, ``learning_rate_init / (t + 1) ** power_t``.
``"adaptive"``
    when the stopping rule fires (``n_iter_no_change`` epochs without an improvement of
    ``tol``), divide the rate by 5 and go on; stop once it is at most 1e-6.

As in scikit-learn they apply to the SGD family; Adam and AdamW adapt their own steps and ignore
them (training then stops when the rule fires).
"""

from __future__ import annotations

import copy
from typing import Any

from backprop.optim import SGD, Adam, AdamW, Optimizer, RMSprop, get_optimizer

__all__ = ["StochasticSolver", "make_optimizer", "MIN_ADAPTIVE_RATE"]

#: ``"adaptive"`` stops training once the learning rate is at most this (scikit-learn's).
MIN_ADAPTIVE_RATE = 1e-6


def make_optimizer(solver: str | Optimizer, params: dict[str, Any]) -> Optimizer:
    """A fresh optimizer (no state) for a checked ``solver`` and the estimator's checked
    hyperparameters: scikit-learn's ``momentum``, ``nesterovs_momentum``, ``beta_1``,
    ``beta_2`` and ``epsilon`` configure ``"sgd"``, ``"adam"``, ``"adamw"`` and
    ``"rmsprop"``; an optimizer template is copied, reset and given ``learning_rate_init``."""
    lr = params["learning_rate_init"]
    if isinstance(solver, Optimizer):
        opt = copy.deepcopy(solver)
        opt.reset()
        opt.lr = lr
        return opt
    if solver == "sgd":
        momentum = params["momentum"]
        # scikit-learn's Nesterov flag is a no-op without momentum; torch's rule refuses it
        return SGD(lr, momentum=momentum,
                   nesterov=bool(params["nesterovs_momentum"]) and momentum > 0)
    if solver in ("adam", "adamw"):
        cls = Adam if solver == "adam" else AdamW
        return cls(lr, betas=(params["beta_1"], params["beta_2"]), eps=params["epsilon"])
    if solver == "rmsprop":
        return RMSprop(lr, eps=params["epsilon"])
    return get_optimizer(solver, lr=lr)


class StochasticSolver:
    """A backprop optimizer with scikit-learn's learning-rate schedule (see the module
    docstring).

    Parameters
    ----------
    optimizer : Optimizer
        Steps the parameters; its ``lr`` is the current learning rate.
    schedule : {"constant", "invscaling", "adaptive"}
        ``learning_rate`` of the estimator.
    power_t : float
        The exponent of ``"invscaling"``.
    """

    def __init__(self, optimizer: Optimizer, schedule: str, power_t: float) -> None:
        self.optimizer = optimizer
        self.learning_rate_init = float(optimizer.lr)
        # as scikit-learn, the schedules are the SGD family's: Adam adapts its own steps
        self.schedule = "constant" if isinstance(optimizer, Adam) else schedule
        self.power_t = float(power_t)

    @property
    def learning_rate(self) -> float:
        """The current learning rate (the optimizer's ``lr``)."""
        return self.optimizer.lr

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self.optimizer.lr = float(value)

    def iteration_ends(self, time_step: int) -> None:
        """After an epoch, with ``time_step`` samples trained on so far: ``"invscaling"``
        sets the rate to ``learning_rate_init / (time_step + 1) ** power_t``."""
        if self.schedule == "invscaling":
            self.learning_rate = float(self.learning_rate_init) / (time_step + 1) ** self.power_t

    def trigger_stopping(self, msg: str, verbose: Any) -> bool:
        """The stopping rule fired (``msg`` says why): True to stop training; with
        ``"adaptive"``, False after dividing the rate by 5 unless it is already at most
        :data:`MIN_ADAPTIVE_RATE`.  Prints the decision with ``verbose``."""
        if self.schedule != "adaptive":
            if verbose:
                print(f"{msg} Stopping.")
            return True
        if self.learning_rate <= MIN_ADAPTIVE_RATE:
            if verbose:
                print(f"{msg} Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(f"{msg} Setting learning rate to {self.learning_rate:f}")
        return False
