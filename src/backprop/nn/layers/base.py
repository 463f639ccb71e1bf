"""The layer protocol: what every layer has, what it needs, and the registry of layer classes.

A layer is a pair of functions that share a cache, as in the founding note: ``forward``
receives ``a[l-1]`` and returns ``a[l]`` with a cache; ``backward`` receives ``dJ/da[l]`` and
that cache and returns ``dJ/da[l-1]`` with the parameter gradients.  The cache belongs to the
layer that made it (a NamedTuple beside the layer); nothing else opens it.

Beside that pair, a layer declares everything the rest of the library needs to know about it,
so that the network, model files, checkpoints, gradient checking and the command line never
switch on a layer class:

``params``
    Trainable arrays by name; ``backward`` returns gradients with the same keys and shapes.
``buffers``
    Non-trainable arrays saved with the model (a Standardize layer's mean and scale, running
    statistics); part of the network's state, so saved, rewound and restored with ``params``.
``rng``
    The layer's random generator when it draws (Dropout's masks), else None; its state is part
    of the network's state too.
``input_shape`` / ``output_shape(input_shape)`` / ``check_input_shape(input_shape)``
    The trailing shape (without the batch dimension) the layer accepts (None: any) and the one
    it returns; a layer that accepts several shapes, but not any (BatchNorm: ``(C,)`` or
    ``(C, H, W)``), says what is wrong with one.  The network chains layers with these.
``param_shapes(config, dtype)``
    The shapes and dtypes of ``params`` and ``buffers`` from a config alone, so that a model
    file is checked before any array is allocated.
``config()`` / ``from_config(config, dtype, seed)``
    A JSON-able description and its inverse (weights aside).
``decayed``
    The parameters the network's L2 penalty applies to (weights, not biases).
``accepts_sparse``
    The layer takes a SciPy sparse CSR matrix as its input without densifying it (a first
    layer fed sparse data); False for most.
``batch_statistics``
    In training the layer normalises by statistics of the batch (batch norm), so a batch of one
    row cannot train it: ``fit`` then joins a last lone row to the batch before it.
``activation``, ``preactivation(cache)``, ``backward_from_dz``
    For a layer whose output is ``f(z)``: its activation (the network fuses sigmoid/softmax
    with their cross-entropy), the ``z`` a forward pass cached, and back-propagation from
    ``dJ/dz``.  None / None / not implemented for the others.

Layers register with :func:`register`; :data:`LAYERS` maps a class name (the ``"type"`` of its
config) to the class, and drives model files and the layer contract test.
"""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import Any, TypeVar

import numpy as np

from backprop._utils import check_int
from backprop.nn.activations import ActivationFunction

__all__ = ["Layer", "LAYERS", "register", "check_dtype", "check_width"]

Array = np.ndarray
Shape = tuple[int, ...]
L = TypeVar("L", bound=type["Layer"])

#: Layer classes by name (the ``"type"`` of a layer's config).
LAYERS: dict[str, type[Layer]] = {}


def register(cls: L) -> L:
    """Class decorator: add a layer class to :data:`LAYERS` under its name."""
    name = cls.__name__
    if name in LAYERS and LAYERS[name] is not cls:
        raise ValueError(f"a layer class named {name!r} is already registered")
    LAYERS[name] = cls
    return cls


def check_dtype(dtype: Any) -> np.dtype:
    """``dtype`` as a NumPy dtype when it is float32 or float64; else ``ValueError``."""
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dt}")
    return dt


def check_width(config: dict[str, Any], key: str) -> int:
    """``config[key]`` when it is a positive int (not a bool); else ``ValueError`` naming it."""
    return check_int(key, config.get(key), 1)


class Layer:
    """Base class of every layer; see the module docstring for the protocol.

    Subclasses define :meth:`forward` and :meth:`backward` side by side.  A subclass may also
    define the workspace pair ``_forward(a_prev, training, ws)`` / ``_backward(da, cache, ws,
    need_da_prev, da_owned)``, which the network uses during ``fit`` and ``predict`` to write
    into reused arrays (see :mod:`backprop.nn.workspace`); the public pair is then a call of
    it without a workspace.  A subclass that overrides the public pair of such a class (a test
    that injects a wrong gradient, say) loses the workspace path, so its own methods run.
    """

    params: dict[str, Array]
    #: non-trainable arrays saved with the model (none by default)
    buffers: dict[str, Array] = MappingProxyType({})  # type: ignore[assignment]
    #: the generator of a layer that draws random numbers, else None
    rng: np.random.Generator | None = None
    #: the output activation f of a layer that returns f(z), else None
    activation: ActivationFunction | None = None
    #: parameters the network's L2 penalty applies to
    decayed: tuple[str, ...] = ()
    #: the class has a workspace path that its public methods agree with (see the class doc)
    workspace_path: bool = False
    #: its workspace forward pass reports a non-finite ``z`` (``Workspace.watch_z``)
    watches_input: bool = False
    #: ``forward`` and ``_forward`` take a SciPy sparse CSR ``a_prev`` (and ``backward`` its
    #: cache) without densifying it
    accepts_sparse: bool = False
    #: training normalises by the batch's own statistics (a batch needs more than one row)
    batch_statistics: bool = False
    #: its fast path runs on threads of its own (``backprop._kernels.threads``): a network
    #: holding it keeps BLAS on one thread during its passes
    own_threads: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__
        if "_forward" in own or "_backward" in own:
            cls.workspace_path = True
            if "_forward" in own and "watches_input" not in own:
                cls.watches_input = False
        elif any(name in own for name in ("forward", "backward", "backward_from_dz")):
            cls.workspace_path = False
            cls.watches_input = False
        if any(name in own for name in ("forward", "_forward", "backward", "_backward")) \
                and "accepts_sparse" not in own:
            cls.accepts_sparse = False  # the parent's promise covers its own methods only
        if ("forward" in own or "_forward" in own) and "forward_perturbed" not in own:
            # a shortcut written for the parent's forward pass does not know this one
            cls.forward_perturbed = Layer.forward_perturbed

    # ------------------------------------------------------------------ the pair
    def forward(self, a_prev: Array, training: bool = False) -> tuple[Array, Any]:
        """Return ``(a, cache)`` for ``a_prev`` of shape ``(m, *input_shape)``."""
        raise NotImplementedError

    def backward(self, da: Array, cache: Any) -> tuple[Array, dict[str, Array]]:
        """Return ``(da_prev, grads)`` from ``da = dJ/da`` and the cache of :meth:`forward`."""
        raise NotImplementedError

    def _forward(self, a_prev: Array, training: bool, ws: Any = None) -> tuple[Array, Any]:
        return self.forward(a_prev, training=training)

    def _backward(self, da: Array, cache: Any, ws: Any = None, need_da_prev: bool = True,
                  da_owned: bool = False) -> tuple[Array | None, dict[str, Array]]:
        return self.backward(da, cache)

    def preactivation(self, cache: Any) -> Array | None:
        """The ``z`` of the forward pass that made ``cache`` (layers with an activation), or
        None."""
        return None

    def backward_from_dz(self, dz: Array, cache: Any, need_da_prev: bool = True
                         ) -> tuple[Array | None, dict[str, Array]]:
        """Back-propagate ``dJ/dz`` (layers with an activation: the fused output gradient)."""
        raise NotImplementedError(f"{type(self).__name__} has no pre-activation z")

    def forward_perturbed(self, a_prev: Array, cache: Any, name: str | None,
                          index: tuple[int, ...], delta: float) -> tuple[Array, Any] | None:
        """``(a, cache)`` of :meth:`forward` after ``delta`` was added to entry ``index`` of
        parameter ``name`` (``name=None``: of the input ``a_prev``, which already holds the
        change), computed from ``cache`` more cheaply than a new forward pass; None when the
        layer has no such shortcut.  Gradient checking uses it."""
        return None

    # ------------------------------------------------------------------ shapes
    @property
    def input_shape(self) -> Shape | None:
        """The trailing input shape the layer accepts, or None for any."""
        return None

    def output_shape(self, input_shape: Shape) -> Shape:
        """The trailing output shape for a trailing ``input_shape`` (the identity here)."""
        return tuple(input_shape)

    def check_input_shape(self, input_shape: Shape) -> str | None:
        """What is wrong with a trailing ``input_shape`` (BatchNorm(8) on ``(5,)``: ``"expects
        inputs of shape (m, 8) or (m, 8, H, W)"``), or None when the layer takes it.  For a
        layer with :attr:`input_shape` None that accepts some shapes only; the network checks
        each layer's input with it."""
        return None

    @classmethod
    def param_shapes(cls, config: dict[str, Any], dtype: Any) -> dict[str, tuple[Shape, np.dtype]]:
        """``name -> (shape, dtype)`` of every parameter and buffer of a layer built from
        ``config`` in ``dtype``; ``ValueError`` for a config that does not describe one."""
        return {}

    @property
    def dtype(self) -> np.dtype | None:
        """The parameters' dtype, or None for a layer without parameters."""
        for p in self.params.values():
            return p.dtype
        return None

    # ------------------------------------------------------------------ state
    def arrays(self) -> dict[str, Array]:
        """Parameters and buffers by name (the arrays themselves)."""
        clash = set(self.params) & set(self.buffers)
        if clash:
            raise ValueError(f"{type(self).__name__} has a parameter and a buffer named {clash}")
        return {**self.params, **self.buffers}

    def check_arrays(self, arrays: dict[str, Array]) -> str | None:
        """What is wrong with values about to be copied into :meth:`arrays` (their names and
        shapes are already checked), or None.  A layer whose buffers must satisfy more (a
        positive scale) says so here."""
        return None

    def astype(self, dtype: Any) -> None:
        """Cast parameters and floating-point buffers to ``dtype`` in place (float64 gradient
        checks); integer buffers (counters) stay as they are."""
        for name, p in self.params.items():
            self.params[name] = p.astype(dtype)
        if self.buffers:
            self.buffers = {k: v.astype(dtype) if v.dtype.kind == "f" else v
                            for k, v in self.buffers.items()}

    # ------------------------------------------------------------------ description
    def config(self) -> dict[str, Any]:
        """A JSON-able description (with its ``"type"``) from which :meth:`from_config`
        rebuilds the layer, weights aside."""
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any], dtype: Any = np.float32,
                    seed: int | np.random.Generator | None = None) -> Layer:
        """A freshly initialised layer from :meth:`config` output."""
        return cls(**{k: v for k, v in config.items() if k != "type"})

    def describe(self) -> str:
        """A short text for summaries: the activation, formula or rate."""
        return "-"

    def n_parameters(self) -> int:
        """Number of trainable scalars."""
        return sum(math.prod(p.shape) for p in self.params.values())
