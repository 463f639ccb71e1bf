"""Optimizers and learning-rate schedules.

Update rules and defaults are those documented for ``torch.optim`` so results can be compared step
by step.  An optimizer holds its hyperparameters as attributes and its running state (step count,
momentum buffers, moment estimates) apart in :attr:`Optimizer.state`; :meth:`Optimizer.step`
updates the parameter arrays **in place** from a list of gradients aligned with them.

Notation: ``θ`` a parameter, ``g`` its gradient, ``t`` the step number (from 1), ``λ`` weight
decay, ``γ`` the learning rate.

Modules: :mod:`~backprop.optim.base` (the :class:`Optimizer` base: the update loop, its kernel
dispatch and the state), one per update rule (:mod:`~backprop.optim.sgd`,
:mod:`~backprop.optim.adam`, :mod:`~backprop.optim.rmsprop`) and
:mod:`~backprop.optim.schedules`.
"""

from __future__ import annotations

from typing import Any

from backprop.optim.adam import Adam, AdamW
from backprop.optim.base import Optimizer
from backprop.optim.rmsprop import RMSprop
from backprop.optim.schedules import (
    SCHEDULES,
    CosineAnnealing,
    ExponentialDecay,
    LRSchedule,
    StepDecay,
)
from backprop.optim.sgd import SGD, GradientDescent

__all__ = [
    "Optimizer",
    "GradientDescent",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "OPTIMIZERS",
    "get_optimizer",
    "LRSchedule",
    "StepDecay",
    "ExponentialDecay",
    "CosineAnnealing",
    "SCHEDULES",
]

#: Optimizers by name (drives the parametrised convergence tests and the CLI).
OPTIMIZERS: dict[str, type[Optimizer]] = {
    "gd": GradientDescent,
    "sgd": SGD,
    "adam": Adam,
    "adamw": AdamW,
    "rmsprop": RMSprop,
}


def get_optimizer(optimizer: str | Optimizer, **kwargs: Any) -> Optimizer:
    """Return an optimizer instance for a name in :data:`OPTIMIZERS` (or pass one through)."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if not isinstance(optimizer, str):
        raise TypeError(f"optimizer must be a name or an Optimizer, got {type(optimizer).__name__}")
    key = optimizer.lower()
    if key not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {sorted(OPTIMIZERS)}")
    return OPTIMIZERS[key](**kwargs)
