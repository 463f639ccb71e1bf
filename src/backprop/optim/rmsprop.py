"""RMSprop, as ``torch.optim.RMSprop``."""

from __future__ import annotations

from typing import Any

import numpy as np

from backprop import _kernels
from backprop._utils import check_fraction, check_non_negative, check_positive
from backprop.optim.base import Optimizer

__all__ = ["RMSprop"]

Array = np.ndarray


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``::

        g ← g + λ θ
        v ← α v + (1 - α) g²
        ḡ ← α ḡ + (1 - α) g,   d ← sqrt(v - ḡ²) + ε     if centered
                               d ← sqrt(v) + ε          otherwise
        b ← μ b + g / d,       θ ← θ - γ b              if momentum μ > 0
                               θ ← θ - γ g / d          otherwise

    Parameters
    ----------
    lr : float
        The learning rate ``γ`` (default: 1e-2).
    alpha : float
        The smoothing constant ``α`` in [0, 1) (default: 0.99).
    eps : float
        ``ε`` > 0 (default: 1e-8).
    weight_decay : float
        ``λ`` (default: 0).
    momentum : float
        ``μ`` in [0, 1) (default: 0).
    centered : bool
        Normalise by the variance estimate ``v - ḡ²`` instead of ``v`` (default: False).
    """

    kernel = "rmsprop"

    def __init__(
        self,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        super().__init__(lr)
        self.alpha = check_fraction("alpha", alpha)
        self.eps = check_positive("eps", eps)
        self.weight_decay = check_non_negative("weight_decay", weight_decay)
        self.momentum = check_fraction("momentum", momentum)
        self.centered = bool(centered)
        self.slots = ("v",) + (("b",) if self.momentum else ()) + (("g_avg",) if centered else ())

    def hyperparameters(self) -> dict[str, Any]:
        """Constructor arguments."""
        return {"lr": self.lr, "alpha": self.alpha, "eps": self.eps,
                "weight_decay": self.weight_decay, "momentum": self.momentum,
                "centered": self.centered}

    def _update(self, p: Array, g: Array, s: dict[str, Array], t: int) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p
        a = self.alpha
        v = s["v"]
        v *= a
        v += (1 - a) * _kernels.moment_square(g, 1 - a)
        _kernels.flush_subnormals(v)
        if self.centered:
            g_avg = s["g_avg"]
            g_avg *= a
            g_avg += (1 - a) * g
            _kernels.flush_subnormals(g_avg)
            denom = np.sqrt(v - g_avg * g_avg) + self.eps
        else:
            denom = np.sqrt(v) + self.eps
        if self.momentum:
            b = s["b"]
            b *= self.momentum
            b += g / denom
            _kernels.flush_subnormals(b)
            p -= self.lr * b
        else:
            p -= self.lr * g / denom

    def _kernel_consts(self, dtype: np.dtype, t: int) -> tuple:
        a = self.alpha
        return self.centered, _kernels.constants(dtype, self.lr, a, 1 - a, self.eps,
                                                 self.weight_decay, self.momentum,
                                                 _kernels.smallest_normal(dtype),
                                                 _kernels.square_floor(dtype, 1 - a), 0)

    def _kernel_arrays(self, p: Array, g: Array, s: dict[str, Array]) -> tuple[Array, ...]:
        v = s["v"].reshape(-1)
        # v stands in for the buffers this configuration does not have (never touched)
        g_avg = s["g_avg"].reshape(-1) if self.centered else v
        buf = s["b"].reshape(-1) if self.momentum else v
        return p.reshape(-1), g.reshape(-1), v, g_avg, buf

    def _layout(self) -> tuple:
        return (self.centered, bool(self.momentum))
