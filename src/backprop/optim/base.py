"""The optimizer base class: the update loop, the step plan that reuses last step's kernel
arguments, and the running state with its flat ``state_dict``."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from backprop import _kernels
from backprop._utils import check_int, check_positive

__all__ = ["Optimizer"]

Array = np.ndarray

_SLOT_KEY = re.compile(r"slots\.(0|[1-9][0-9]*)\.([^.]+)")


class Optimizer:
    """Base class.  Subclasses implement :meth:`_update` for one parameter.

    Each rule exists twice: :meth:`_update`, plain NumPy, is the reference that documents it;
    a kernel of ``backprop._kernels`` (:attr:`kernel`, called with :meth:`_kernel_arrays` and
    :meth:`_kernel_consts`) runs the same arithmetic in one compiled pass over the parameter,
    and :meth:`step` uses it whenever it can.  Both keep the state out of the subnormal range,
    where the CPU is slow: buffer entries that decay below the dtype's smallest normal number
    ``tiny`` become 0, and in a second moment ``v ← β v + (1 - β) g²`` a squared gradient whose
    term would be below ``tiny`` counts as 0 (see :mod:`backprop._kernels.optim`); both change
    the update far below float rounding.

    The running state is :attr:`state`: ``{"step": t, "slots": None or one dict per parameter
    of its :attr:`slots` arrays}``; :meth:`state_dict` gives it as one flat dict for files.
    """

    #: names of the per-parameter state arrays (e.g. ``("m", "v")`` for Adam)
    slots: tuple[str, ...] = ()

    #: name of the kernel in ``backprop._kernels`` that :meth:`step` calls
    kernel: str | None = None

    #: after :meth:`step`: True when every updated parameter is finite (no NaN or inf), False
    #: when one is not, None when unknown (a parameter took the NumPy path, which does not
    #: look).  Found by the kernels as they write the parameters, at no extra cost; the
    #: training loop's divergence guard reads it.
    last_step_finite: bool | None = None

    #: the arguments of the last step's kernel calls, reused while the arrays stay the same
    _plan: _Plan | None = None
    #: the arrays of the last step that took the full path, all fused
    _last: tuple[list[Array], list[Array]] | None = None

    def __init__(self, lr: float) -> None:
        self.lr = check_positive("learning rate", lr)
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

    def release(self) -> None:
        """Let go of the arrays the last steps were given.

        :meth:`step` keeps the kernel arguments of its last step (flat views of the parameters,
        gradients and buffers) to reuse them while it gets the same arrays; in ``fit`` the
        gradients are the run's workspace arrays, which would stay alive through the plan after
        the run.  The next step rebuilds what it needs; the update is the same.
        """
        self._plan = self._last = None

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

    def __getstate__(self) -> dict[str, Any]:
        """Pickling and deep copies leave out the plan: its flat views would become arrays of
        their own, no longer views of the (copied) parameters."""
        state = self.__dict__.copy()
        state.pop("_plan", None)
        state.pop("_last", None)
        return state

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

    # ---------------------------------------------------------------- state for files
    def state_dict(self) -> dict[str, Any]:
        """The running state as one flat dict: ``{"step": t, "slots.<i>.<name>": array}``.

        ``i`` is the parameter's position in the lists given to :meth:`step` and ``name`` one
        of :attr:`slots`; before the first step there are no slot entries.  The arrays are
        copies: later steps do not change a state taken earlier.
        """
        state: dict[str, Any] = {"step": self.state["step"]}
        for i, s in enumerate(self.state["slots"] or ()):
            for name, arr in s.items():
                state[f"slots.{i}.{name}"] = arr.copy()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state produced by :meth:`state_dict` (its arrays are copied).

        Raises ``ValueError``, before anything changes, when ``state`` is not such a state for
        this optimizer (see :meth:`check_state`, which also compares it with the parameters).
        """
        step, slots = self._parse_state(state)
        self.state = {"step": step, "slots": None if slots is None else [
            {name: np.array(s[name]) for name in self.slots} for s in slots]}

    def check_state(self, state: Any, params: list[Array]) -> str | None:
        """What is wrong with ``state`` (a :meth:`state_dict` read back from a file) for
        continuing on ``params``, or None when :meth:`load_state_dict` may load it: a key
        missing or unknown, a malformed step, state for another number of parameters, or a
        buffer whose shape or dtype differs from its parameter's."""
        try:
            _, slots = self._parse_state(state)
        except ValueError as exc:
            return str(exc)
        if slots is None:
            return None
        if len(slots) != len(params):
            return f"state for {len(slots)} parameters, but there are {len(params)}"
        for i, (s, p) in enumerate(zip(slots, params)):
            for name in self.slots:
                v = s[name]
                if v.shape != p.shape or v.dtype != p.dtype:
                    return (f"slots.{i}.{name} is {v.dtype}{list(v.shape)}, the parameter "
                            f"{p.dtype}{list(p.shape)}")
        return None

    def _parse_state(self, state: Any) -> tuple[int, list[dict[str, Array]] | None]:
        """``(step, slots)`` from a flat state; ``ValueError`` saying what is wrong."""
        if not isinstance(state, dict):
            raise ValueError(f"the state must be a dict, got {type(state).__name__}")
        if "step" not in state:
            raise ValueError("the state has no 'step'")
        step = check_int("the state's step", state["step"])
        found: dict[int, dict[str, Array]] = {}
        for key, value in state.items():
            if key == "step":
                continue
            match = _SLOT_KEY.fullmatch(key) if isinstance(key, str) else None
            if match is None or match[2] not in self.slots:
                raise ValueError(f"unknown key {key!r} in the state of {type(self).__name__} "
                                 f"(its slots: {', '.join(self.slots) or 'none'})")
            if not isinstance(value, np.ndarray):
                raise ValueError(f"{key} is a {type(value).__name__}, not an array")
            found.setdefault(int(match[1]), {})[match[2]] = value
        if not found:
            if step and self.slots:
                raise ValueError(f"the state is at step {step} but holds no slot arrays")
            return step, None
        if not step:
            raise ValueError("the state is at step 0 but holds slot arrays")
        for i in range(max(found) + 1):
            missing = [name for name in self.slots if name not in found.get(i, {})]
            if missing:
                raise ValueError(f"slots.{i}.{missing[0]} is missing from the state")
        return step, [found[i] for i in range(len(found))]


def _same(a: list[Array], b: list[Array]) -> bool:
    """The same array objects, in the same order."""
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


class _Plan:
    """What :meth:`Optimizer.step` passed to its kernel last step: each parameter's flat
    arrays.  The next step reuses them instead of checking and reshaping every array again
    (``benchmarks/bench_breakdown.py``, its ``adam`` row, times the step) when it gets the very
    same arrays, of the same shapes, in one dtype, and the optimizer's state and layout are
    unchanged.  It holds on to those arrays until the next step that does not fit it, or
    :meth:`Optimizer.release`."""

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
