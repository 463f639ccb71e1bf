"""Gradient descent: the founding note's plain rule, and SGD with momentum as ``torch.optim``."""

from __future__ import annotations

from typing import Any

import numpy as np

from backprop import _kernels
from backprop._utils import check_fraction, check_non_negative
from backprop.optim.base import Optimizer

__all__ = ["GradientDescent", "SGD"]

Array = np.ndarray


class GradientDescent(Optimizer):
    """Plain gradient descent, the founding note's rule: ``θ ← θ - γ g``.

    Parameters
    ----------
    lr : float
        The learning rate ``γ`` (default: 0.1).
    """

    kernel = "sgd"

    def __init__(self, lr: float = 0.1) -> None:
        super().__init__(lr)

    def hyperparameters(self) -> dict[str, Any]:
        """``{"lr": ...}``."""
        return {"lr": self.lr}

    def _update(self, p: Array, g: Array, s: dict[str, Array], t: int) -> None:
        p -= self.lr * g

    def _kernel_consts(self, dtype: np.dtype, t: int) -> tuple:
        # the SGD kernel without momentum or weight decay: nesterov, first, (lr, mu, 1 - damp,
        # wd, tiny, 0)
        return False, True, _kernels.constants(dtype, self.lr, 0, 1, 0,
                                               _kernels.smallest_normal(dtype), 0)

    def _kernel_arrays(self, p: Array, g: Array, s: dict[str, Array]) -> tuple[Array, ...]:
        pf = p.reshape(-1)
        return pf, g.reshape(-1), pf  # p stands in for the (unused) buffer


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, as ``torch.optim.SGD``::

        g ← g + λ θ                                   (weight_decay λ)
        b ← g                      at t = 1
        b ← μ b + (1 - τ) g        for t > 1           (momentum μ, dampening τ)
        g ← g + μ b  if nesterov else  b
        θ ← θ - γ g

    Parameters
    ----------
    lr : float
        The learning rate ``γ`` (default: 1e-3).
    momentum : float
        ``μ`` in [0, 1) (default: 0, no momentum buffer in use).
    nesterov : bool
        Nesterov momentum; needs ``momentum > 0`` and ``dampening == 0`` (default: False).
    weight_decay : float
        The L2 coefficient ``λ`` added to the gradient (default: 0).
    dampening : float
        ``τ`` in [0, 1) (default: 0).

    Examples
    --------
    >>> import numpy as np
    >>> theta = np.array([1.0, -2.0])
    >>> SGD(lr=0.1, momentum=0.9).step([theta], [np.array([0.5, 0.5])])
    >>> theta
    array([ 0.95, -2.05])
    """

    slots = ("b",)
    kernel = "sgd"

    def __init__(
        self,
        lr: float = 1e-3,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        dampening: float = 0.0,
    ) -> None:
        super().__init__(lr)
        self.momentum = check_fraction("momentum", momentum)
        self.weight_decay = check_non_negative("weight_decay", weight_decay)
        self.dampening = check_fraction("dampening", dampening)
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError("nesterov momentum requires momentum > 0 and dampening = 0")

    def hyperparameters(self) -> dict[str, Any]:
        """Constructor arguments."""
        return {"lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov,
                "weight_decay": self.weight_decay, "dampening": self.dampening}

    def _update(self, p: Array, g: Array, s: dict[str, Array], t: int) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            b = s["b"]
            if t == 1:
                b[...] = g
            else:
                b *= self.momentum
                b += (1 - self.dampening) * g
                _kernels.flush_subnormals(b)
            g = g + self.momentum * b if self.nesterov else b
        p -= self.lr * g

    def _kernel_consts(self, dtype: np.dtype, t: int) -> tuple:
        return self.nesterov, t == 1, _kernels.constants(
            dtype, self.lr, self.momentum, 1 - self.dampening, self.weight_decay,
            _kernels.smallest_normal(dtype), 0)

    def _kernel_arrays(self, p: Array, g: Array, s: dict[str, Array]) -> tuple[Array, ...]:
        pf = p.reshape(-1)
        buf = s["b"].reshape(-1) if self.momentum else pf  # p: placeholder, never touched
        return pf, g.reshape(-1), buf

    def _layout(self) -> tuple:
        return (bool(self.momentum),)
