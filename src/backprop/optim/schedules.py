"""Learning-rate schedules: the rate of each epoch as a function of the initial one."""

from __future__ import annotations

import math
from typing import Any

from backprop._utils import check_int, check_non_negative, check_positive

__all__ = ["LRSchedule", "StepDecay", "ExponentialDecay", "CosineAnnealing", "SCHEDULES"]


class LRSchedule:
    """A learning-rate schedule: :meth:`lr_at` gives the rate for epoch ``e`` (from 0) given the
    optimizer's initial rate.  ``fit`` sets ``optimizer.lr`` from it at the start of each epoch,
    so a schedule works with any optimizer."""

    def lr_at(self, epoch: int, base_lr: float) -> float:
        """Learning rate for ``epoch``."""
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-able)."""
        return dict(vars(self))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"



class StepDecay(LRSchedule):
    """``γ_e = γ_0 · gamma^floor(e / step_size)`` (``torch.optim.lr_scheduler.StepLR``).

    Parameters
    ----------
    step_size : int
        Epochs between two decays, >= 1.
    gamma : float
        The factor of each decay, > 0 (default: 0.1).
    """

    def __init__(self, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = check_int("step_size", step_size, 1)
        self.gamma = check_positive("gamma", gamma)

    def lr_at(self, epoch: int, base_lr: float) -> float:
        """Decay by ``gamma`` every ``step_size`` epochs."""
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialDecay(LRSchedule):
    """``γ_e = γ_0 · gamma^e`` (``torch.optim.lr_scheduler.ExponentialLR``).

    Parameters
    ----------
    gamma : float
        The factor per epoch, > 0.
    """

    def __init__(self, gamma: float) -> None:
        self.gamma = check_positive("gamma", gamma)

    def lr_at(self, epoch: int, base_lr: float) -> float:
        """Decay by ``gamma`` every epoch."""
        return base_lr * self.gamma**epoch


class CosineAnnealing(LRSchedule):
    """``γ_e = η_min + (γ_0 - η_min)(1 + cos(π e / T_max)) / 2`` for ``e ≤ T_max``, then ``η_min``
    (``torch.optim.lr_scheduler.CosineAnnealingLR`` without restarts).

    Parameters
    ----------
    t_max : int
        Epochs from ``γ_0`` down to ``η_min``, >= 1.
    eta_min : float
        The final rate, >= 0 (default: 0).
    """

    def __init__(self, t_max: int, eta_min: float = 0.0) -> None:
        self.t_max = check_int("t_max", t_max, 1)
        self.eta_min = check_non_negative("eta_min", eta_min)

    def lr_at(self, epoch: int, base_lr: float) -> float:
        """Half a cosine from ``base_lr`` down to ``eta_min`` over ``t_max`` epochs."""
        e = min(epoch, self.t_max)
        cosine = (1 + math.cos(math.pi * e / self.t_max)) / 2
        return self.eta_min + (base_lr - self.eta_min) * cosine


#: Schedules by name.
SCHEDULES: dict[str, type[LRSchedule]] = {
    "step": StepDecay,
    "exponential": ExponentialDecay,
    "cosine": CosineAnnealing,
}
