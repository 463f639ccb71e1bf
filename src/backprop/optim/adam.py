"""Adam and AdamW: one update rule, two ways of applying weight decay."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from backprop import _kernels
from backprop._utils import check_fraction, check_non_negative, check_positive
from backprop.optim.base import Optimizer

__all__ = ["Adam", "AdamW"]

Array = np.ndarray


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam`` (L2 weight decay added to the gradient)::

        g ← g + λ θ
        m ← β1 m + (1 - β1) g
        v ← β2 v + (1 - β2) g²
        v̂ ← max(v̂, v)  if amsgrad  else  v
        θ ← θ - γ / (1 - β1^t) · m / (sqrt(v̂) · (1 / sqrt(1 - β2^t)) + ε)

    torch divides by ``sqrt(1 - β2^t)``; multiplying by its reciprocal, computed once per step,
    is the same up to rounding and saves a division per entry, the update's costliest
    operation on a CPU whose divider is the bottleneck.

    Parameters
    ----------
    lr : float
        The learning rate ``γ`` (default: 1e-3).
    betas : (float, float)
        ``(β1, β2)``, each in [0, 1) (default: (0.9, 0.999)).
    eps : float
        ``ε`` > 0 (default: 1e-8).
    weight_decay : float
        ``λ`` (default: 0).
    amsgrad : bool
        Divide by the running maximum ``v̂`` of ``v`` (default: False).

    Examples
    --------
    >>> import numpy as np
    >>> theta = np.array([1.0, -2.0])
    >>> Adam(lr=0.1).step([theta], [np.array([0.5, -0.5])])
    >>> theta.round(6)
    array([ 0.9, -1.9])
    """

    kernel = "adam"
    slots = ("m", "v")

    def __init__(
        self,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(lr)
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair, got {betas!r}")
        self.betas = tuple(check_fraction(f"betas[{i}]", b)
                           for i, b in enumerate(betas))
        self.eps = check_positive("eps", eps)
        self.weight_decay = check_non_negative("weight_decay", weight_decay)
        self.amsgrad = bool(amsgrad)
        if self.amsgrad:
            self.slots = ("m", "v", "v_max")

    def hyperparameters(self) -> dict[str, Any]:
        """Constructor arguments."""
        return {"lr": self.lr, "betas": list(self.betas), "eps": self.eps,
                "weight_decay": self.weight_decay, "amsgrad": self.amsgrad}

    def _decay(self) -> tuple[float, float]:
        """How weight decay applies this step, as ``(l2, shrink)``: ``θ ← shrink · θ`` before
        the step, then ``l2 θ`` added to the gradient.  Adam's L2 penalty is ``(λ, 1)``; the
        NumPy rule and the kernel's constants both read it, so a variant changes only this."""
        return self.weight_decay, 1.0

    def _update(self, p: Array, g: Array, s: dict[str, Array], t: int) -> None:
        l2, shrink = self._decay()
        if shrink != 1:
            p *= shrink
        if l2:
            g = g + l2 * p
        b1, b2 = self.betas
        m, v = s["m"], s["v"]
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * _kernels.moment_square(g, 1 - b2)
        _kernels.flush_subnormals(m)
        _kernels.flush_subnormals(v)
        if self.amsgrad:
            np.maximum(s["v_max"], v, out=s["v_max"])
            v = s["v_max"]
        # sqrt(v / (1 - b2^t)) as sqrt(v) times a reciprocal computed once: a multiplication
        # where torch divides (the same up to rounding), one division fewer per parameter
        denom = np.sqrt(v) * (1 / math.sqrt(1 - b2**t)) + self.eps
        p -= (self.lr / (1 - b1**t)) * m / denom

    def _kernel_consts(self, dtype: np.dtype, t: int) -> tuple:
        b1, b2 = self.betas
        l2, shrink = self._decay()
        return self.amsgrad, _kernels.constants(
            dtype, b1, b2, 1 - b1, 1 - b2, self.lr / (1 - b1**t), 1 / math.sqrt(1 - b2**t),
            self.eps, l2, shrink, _kernels.smallest_normal(dtype),
            _kernels.square_floor(dtype, 1 - b2), 0)

    def _kernel_arrays(self, p: Array, g: Array, s: dict[str, Array]) -> tuple[Array, ...]:
        m = s["m"].reshape(-1)
        v_max = s["v_max"].reshape(-1) if self.amsgrad else m  # m: placeholder, never touched
        return p.reshape(-1), g.reshape(-1), m, s["v"].reshape(-1), v_max

    def _layout(self) -> tuple:
        return (self.amsgrad,)


class AdamW(Adam):
    """AdamW, as ``torch.optim.AdamW``: decoupled weight decay ``θ ← θ (1 - γ λ)`` first, then
    the Adam step without L2 in the gradient.

    Parameters are :class:`Adam`'s, except ``weight_decay`` (default: 1e-2, torch's).
    """

    def __init__(
        self,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(lr, betas, eps, weight_decay, amsgrad)

    def _decay(self) -> tuple[float, float]:
        """Decoupled: the parameter shrinks by ``1 - γ λ``; nothing joins the gradient."""
        return 0.0, 1 - self.lr * self.weight_decay
