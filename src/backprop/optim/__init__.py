"""Optimizers and learning-rate schedules.

Update rules and defaults are those documented for ``torch.optim`` so results can be compared step
by step.  An optimizer holds its hyperparameters as attributes and its running state (step count,
momentum buffers, moment estimates) apart in :attr:`Optimizer.state`; :meth:`Optimizer.step`
updates the parameter arrays **in place** from a list of gradients aligned with them.

Notation: ``θ`` a parameter, ``g`` its gradient, ``t`` the step number (from 1), ``λ`` weight
decay, ``γ`` the learning rate.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from backprop import _kernels

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

Array = np.ndarray


def _positive(name: str, value: float, allow_zero: bool = False) -> float:
    ok = isinstance(value, (int, float, np.floating)) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        bound = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a {bound} number, got {value!r}")
    return float(value)


def _unit_interval(name: str, value: float) -> float:
    if not isinstance(value, (int, float, np.floating)) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return float(value)


class Optimizer:
    """Base class.  Subclasses implement :meth:`_update` for one parameter.

    Each rule exists twice: :meth:`_update`, plain NumPy, is the reference that documents it;
    a kernel of ``backprop._kernels`` (:attr:`kernel`, called with :meth:`_kernel_arrays` and
    :meth:`_kernel_consts`) runs the same arithmetic in one compiled pass over the parameter,
    and :meth:`step` uses it whenever it can.  Both keep the state out of the subnormal range,
    where the CPU is slow: buffer entries that decay below the dtype's smallest normal number
    ``tiny`` become 0, and in a second moment ``v ← β v + (1 - β) g²`` a squared gradient whose
    term would be below ``tiny`` counts as 0 (see ``_kernels``); both change the update far
    below float rounding.
    """

    #: names of the per-parameter state arrays (e.g. ``("m", "v")`` for Adam)
    slots: tuple[str, ...] = ()

    def __init__(self, lr: float) -> None:
        self.lr = _positive("learning rate", lr)
        self.state: dict[str, Any] = {"step": 0, "slots": None}

    def hyperparameters(self) -> dict[str, Any]:
        """Constructor arguments as a dict (JSON-able)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({args})"

    def reset(self) -> None:
        """Forget the running state (step count and buffers)."""
        self.state = {"step": 0, "slots": None}

    def step(self, params: list[Array], grads: list[Array]) -> None:
        """Apply one update to every array of ``params`` in place.

        ``grads[i]`` is ``dJ/dparams[i]`` with the same shape.  State arrays are created (as
        zeros, in each parameter's dtype) on the first call; later calls must pass parameters of
        the same number and shapes.  A mismatch raises ``ValueError`` before anything changes.
        """
        plan = self._plan
        if plan is not None and plan.fits(self, params, grads):
            # the steady state of a training run: the same arrays as last step, all fused
            t = self.state["step"] = self.state["step"] + 1
            consts = self._kernel_consts(plan.dtype, t)
            kernel, finite = plan.kernel, True
            for arrays in plan.arrays:
                if not kernel(*arrays, *consts):
                    finite = False
            self.last_step_finite = finite
            return
        if len(params) != len(grads):
            raise ValueError(f"got {len(params)} parameters but {len(grads)} gradients")
        slots = self.state["slots"]
        if slots is not None and len(slots) != len(params):
            raise ValueError(f"the optimizer's state holds {len(slots)} parameters but "
                             f"{len(params)} were given (call reset() to start afresh)")
        kernel = _kernels.get(self.kernel) if self.kernel else None
        # the kernel's shape checks double as validation: only the NumPy path needs its own
        # (new slots will be zeros_like(p), so {} stands in for them)
        fused = [kernel is not None and _fusable(p, g, {} if slots is None else slots[i])
                 for i, (p, g) in enumerate(zip(params, grads))]
        if not all(fused):
            for i, (p, g) in enumerate(zip(params, grads)):
                held = () if slots is None else tuple(slots[i].values())
                for what, arr in ((f"grads[{i}]", g),
                                  *(("the optimizer's state for it", b) for b in held)):
                    if arr.shape != p.shape:
                        raise ValueError(f"params[{i}] has shape {p.shape} but {what} has "
                                         f"shape {arr.shape}")
        if slots is None:
            slots = self.state["slots"] = [
                {name: np.zeros_like(p) for name in self.slots} for p in params
            ]
        self.state["step"] += 1
        t = self.state["step"]
        consts: dict[np.dtype, tuple] = {}  # the kernel's scalar arguments, once per dtype
        finite: bool | None = True
        for p, g, s, f in zip(params, grads, slots, fused):
            if f:
                if p.dtype not in consts:
                    consts[p.dtype] = self._kernel_consts(p.dtype, t)
                if not kernel(*self._kernel_arrays(p, g, s), *consts[p.dtype]):
                    finite = False
            else:
                self._update(p, g, s, t)
                if finite:
                    finite = None
        self.last_step_finite = finite
        # a plan is made when a second step in a row brings the same arrays (a loop that
        # passes new gradient arrays every step never pays for one)
        last, self._plan, self._last = self._last, None, None
        if all(fused) and consts:
            if last is not None and _same(last[0], params) and _same(last[1], grads):
                self._plan = _Plan.make(self, kernel, params, grads)
            else:
                self._last = (list(params), list(grads))

    #: the arguments of the last step's kernel calls, reused while the arrays stay the same
    _plan: _Plan | None = None
    #: the arrays of the last step that took the full path, all fused
    _last: tuple[list[Array], list[Array]] | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Pickling and deep copies leave out the plan: its flat views would become arrays of
        their own, no longer views of the (copied) parameters."""
        state = self.__dict__.copy()
        state.pop("_plan", None)
        state.pop("_last", None)
        return state

    #: after :meth:`step`: True when every updated parameter is finite (no NaN or inf), False
    #: when one is not, None when unknown (a parameter took the NumPy path, which does not
    #: look).  Found by the kernels as they write the parameters, at no extra cost; the
    #: training loop's divergence guard reads it.
    last_step_finite: bool | None = None

    #: name of the kernel in ``backprop._kernels`` that :meth:`step` calls
    kernel: str | None = None

    def _update(self, p: Array, g: Array, s: dict[str, Array], t: int) -> None:
        """The update rule in plain NumPy, in place (the reference)."""
        raise NotImplementedError

    def _kernel_consts(self, dtype: np.dtype, t: int) -> tuple:
        """The scalar arguments of the kernel at step ``t``, as ``dtype`` scalars (so the
        kernel computes in the parameters' precision, as NumPy does)."""
        raise NotImplementedError

    def _kernel_arrays(self, p: Array, g: Array, s: dict[str, Array]) -> tuple[Array, ...]:
        """The array arguments of the kernel that runs :meth:`_update` in one pass over the
        flat arrays (which returns whether every updated entry of ``p`` is finite)."""
        raise NotImplementedError

    def _layout(self) -> tuple:
        """The settings that decide which arrays :meth:`_kernel_arrays` passes."""
        return ()

    def state_dict(self) -> dict[str, Any]:
        """The running state (step and buffer arrays), for checkpoints."""
        return {"step": self.state["step"], "slots": self.state["slots"]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the state produced by :meth:`state_dict` (arrays are copied)."""
        slots = state["slots"]
        self.state = {
            "step": int(state["step"]),
            "slots": None if slots is None else [{k: np.array(v) for k, v in s.items()}
                                                 for s in slots],
        }


def _same(a: list[Array], b: list[Array]) -> bool:
    """The same array objects, in the same order."""
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


class _Plan:
    """What :meth:`Optimizer.step` passed to its kernel last step: each parameter's flat
    arrays.  The next step reuses them (instead of checking and reshaping every array again,
    some 15 µs per step) when it gets the very same arrays, of the same shapes, in one dtype,
    and the optimizer's state and layout are unchanged.  (It holds on to those arrays until
    the next step that does not fit it; ``fit`` drops it when it ends.)"""

    def __init__(self, optimizer: Optimizer, kernel: Any, params: list[Array],
                 grads: list[Array]) -> None:
        self.kernel, self.params, self.grads = kernel, list(params), list(grads)
        self.shapes = [(p.shape, g.shape) for p, g in zip(params, grads)]
        self.slots = optimizer.state["slots"]
        self.slot_arrays = [tuple(s.values()) for s in self.slots]
        self.layout = optimizer._layout()
        self.dtype = params[0].dtype
        self.arrays = [optimizer._kernel_arrays(p, g, s)
                       for p, g, s in zip(params, grads, self.slots)]

    @classmethod
    def make(cls, optimizer: Optimizer, kernel: Any, params: list[Array], grads: list[Array]
             ) -> _Plan | None:
        """A plan for these arrays, or None when they are not all of one dtype."""
        if not params or any(p.dtype != params[0].dtype for p in params):
            return None
        return cls(optimizer, kernel, params, grads)

    def fits(self, optimizer: Optimizer, params: list[Array], grads: list[Array]) -> bool:
        """Whether this step may reuse the plan."""
        slots = optimizer.state["slots"]
        if slots is not self.slots or len(params) != len(self.params) \
                or len(grads) != len(self.grads):
            return False
        for p, g, p0, g0, (p_shape, g_shape) in zip(params, grads, self.params, self.grads,
                                                    self.shapes):
            if p is not p0 or g is not g0 or p.shape != p_shape or g.shape != g_shape:
                return False  # another array, or one reshaped in place
        return (all(len(s) == len(arrays) and all(a is b for a, b in zip(s.values(), arrays))
                    for s, arrays in zip(slots, self.slot_arrays))  # no state array replaced
                and _kernels.get(optimizer.kernel) is self.kernel
                and optimizer._layout() == self.layout)


def _fusable(p: Array, g: Array, slots: dict[str, Array]) -> bool:
    """The kernels run on flat views: every array of one shape, and ``_kernels.flat``."""
    arrays = (p, g, *slots.values())
    return all(a.shape == p.shape for a in arrays) and _kernels.flat(*arrays)


class GradientDescent(Optimizer):
    """Plain gradient descent, the founding note's rule: ``θ ← θ - γ g``."""

    def __init__(self, lr: float = 0.1) -> None:
        super().__init__(lr)

    def hyperparameters(self) -> dict[str, Any]:
        """``{"lr": ...}``."""
        return {"lr": self.lr}

    kernel = "sgd"

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
    """

    slots = ("b",)

    def __init__(
        self,
        lr: float = 1e-3,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        dampening: float = 0.0,
    ) -> None:
        super().__init__(lr)
        self.momentum = _unit_interval("momentum", momentum)
        self.weight_decay = _positive("weight_decay", weight_decay, allow_zero=True)
        self.dampening = _unit_interval("dampening", dampening)
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError("nesterov momentum requires momentum > 0 and dampening = 0")

    def hyperparameters(self) -> dict[str, Any]:
        """Constructor arguments."""
        return {"lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov,
                "weight_decay": self.weight_decay, "dampening": self.dampening}

    kernel = "sgd"

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


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam`` (L2 weight decay added to the gradient)::

        g ← g + λ θ
        m ← β1 m + (1 - β1) g
        v ← β2 v + (1 - β2) g²
        v̂ ← max(v̂, v)  if amsgrad  else  v
        θ ← θ - γ / (1 - β1^t) · m / (sqrt(v̂) · (1 / sqrt(1 - β2^t)) + ε)

    (torch divides by ``sqrt(1 - β2^t)``; multiplying by its reciprocal, computed once per step,
    is the same up to rounding and saves a division per parameter, a third of the update's cost
    on a CPU whose divider is the bottleneck.)
    """

    slots = ("m", "v")
    kernel = "adam"
    #: weight decay applied to the parameter (AdamW) rather than added to the gradient
    decoupled = False

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
        self.betas = (_unit_interval("betas[0]", betas[0]), _unit_interval("betas[1]", betas[1]))
        self.eps = _positive("eps", eps)
        self.weight_decay = _positive("weight_decay", weight_decay, allow_zero=True)
        self.amsgrad = bool(amsgrad)
        if self.amsgrad:
            self.slots = ("m", "v", "v_max")

    def hyperparameters(self) -> dict[str, Any]:
        """Constructor arguments."""
        return {"lr": self.lr, "betas": list(self.betas), "eps": self.eps,
                "weight_decay": self.weight_decay, "amsgrad": self.amsgrad}

    def _decay(self, p: Array, g: Array) -> Array:
        """Adam's L2 penalty: added to the gradient."""
        return g + self.weight_decay * p if self.weight_decay else g

    def _update(self, p: Array, g: Array, s: dict[str, Array], t: int) -> None:
        g = self._decay(p, g)
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
        wd = self.weight_decay
        l2, decay = (0.0, 1 - self.lr * wd) if self.decoupled else (wd, 1.0)
        return self.amsgrad, _kernels.constants(
            dtype, b1, b2, 1 - b1, 1 - b2, self.lr / (1 - b1**t), 1 / math.sqrt(1 - b2**t),
            self.eps, l2, decay, _kernels.smallest_normal(dtype),
            _kernels.square_floor(dtype, 1 - b2), 0)

    def _kernel_arrays(self, p: Array, g: Array, s: dict[str, Array]) -> tuple[Array, ...]:
        m = s["m"].reshape(-1)
        v_max = s["v_max"].reshape(-1) if self.amsgrad else m  # m: placeholder, never touched
        return p.reshape(-1), g.reshape(-1), m, s["v"].reshape(-1), v_max

    def _layout(self) -> tuple:
        return (self.amsgrad,)


class AdamW(Adam):
    """AdamW, as ``torch.optim.AdamW``: decoupled weight decay ``θ ← θ (1 - γ λ)`` first, then the
    Adam step without L2 in the gradient.  Default ``weight_decay=1e-2``."""

    def __init__(
        self,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(lr, betas, eps, weight_decay, amsgrad)

    decoupled = True

    def _decay(self, p: Array, g: Array) -> Array:
        if self.weight_decay:
            p *= 1 - self.lr * self.weight_decay
        return g


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``::

        g ← g + λ θ
        v ← α v + (1 - α) g²
        ḡ ← α ḡ + (1 - α) g,   d ← sqrt(v - ḡ²) + ε     if centered
                               d ← sqrt(v) + ε          otherwise
        b ← μ b + g / d,       θ ← θ - γ b              if momentum μ > 0
                               θ ← θ - γ g / d          otherwise
    """

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
        self.alpha = _unit_interval("alpha", alpha)
        self.eps = _positive("eps", eps)
        self.weight_decay = _positive("weight_decay", weight_decay, allow_zero=True)
        self.momentum = _unit_interval("momentum", momentum)
        self.centered = bool(centered)
        self.slots = ("v",) + (("b",) if self.momentum else ()) + (("g_avg",) if centered else ())

    kernel = "rmsprop"

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
    """``γ_e = γ_0 · gamma^floor(e / step_size)`` (``torch.optim.lr_scheduler.StepLR``)."""

    def __init__(self, step_size: int, gamma: float = 0.1) -> None:
        if not isinstance(step_size, (int, np.integer)) or step_size < 1:
            raise ValueError(f"step_size must be a positive integer, got {step_size!r}")
        self.step_size = int(step_size)
        self.gamma = _positive("gamma", gamma)

    def lr_at(self, epoch: int, base_lr: float) -> float:
        """Decay by ``gamma`` every ``step_size`` epochs."""
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialDecay(LRSchedule):
    """``γ_e = γ_0 · gamma^e`` (``torch.optim.lr_scheduler.ExponentialLR``)."""

    def __init__(self, gamma: float) -> None:
        self.gamma = _positive("gamma", gamma)

    def lr_at(self, epoch: int, base_lr: float) -> float:
        """Decay by ``gamma`` every epoch."""
        return base_lr * self.gamma**epoch


class CosineAnnealing(LRSchedule):
    """``γ_e = η_min + (γ_0 - η_min)(1 + cos(π e / T_max)) / 2`` for ``e ≤ T_max``, then ``η_min``
    (``torch.optim.lr_scheduler.CosineAnnealingLR`` without restarts)."""

    def __init__(self, t_max: int, eta_min: float = 0.0) -> None:
        if not isinstance(t_max, (int, np.integer)) or t_max < 1:
            raise ValueError(f"t_max must be a positive integer, got {t_max!r}")
        self.t_max = int(t_max)
        self.eta_min = _positive("eta_min", eta_min, allow_zero=True)

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
