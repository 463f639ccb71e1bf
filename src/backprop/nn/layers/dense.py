"""The fully connected layer, with one row per sample.

The founding note's layer-level functions (the note uses one column per sample, so its
``W[l] a[l-1]`` becomes our ``a[l-1] @ W`` and ``W`` has shape ``(n_in, n_out)``):

forward
    receives ``a[l-1]`` of shape ``(m, n_in)``, computes ``z[l] = a[l-1] W[l] + b[l]``, keeps
    ``(a[l-1], z[l], a[l])`` in the cache and returns ``a[l] = f(z[l])``.
backward
    receives ``dJ/da[l]`` of shape ``(m, n_out)`` and the cache, and returns ``dJ/da[l-1]`` with
    ``grads = {"W": dJ/dW[l], "b": dJ/db[l]}``::

        dz      = da * f'(z)                  (m, n_out)
        dW      = a[l-1]^T dz                 (n_in, m) @ (m, n_out) -> (n_in, n_out)
        db      = sum over samples of dz      (n_out,)
        da[l-1] = dz W^T                      (m, n_out) @ (n_out, n_in) -> (m, n_in)

``a[l-1]`` may be a SciPy sparse CSR matrix (a first layer fed sparse data): both products
with it, ``a[l-1] W`` and ``a[l-1]^T dz``, read only its stored entries and return dense arrays,
so the input is never densified.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from backprop import _kernels
from backprop._utils import as_rng
from backprop.nn.activations import (
    ACTIVATIONS,
    LEAKY_RELU_SLOPE,
    ActivationFunction,
    get_activation,
)
from backprop.nn.initializers import INITIALIZERS, resolve_init
from backprop.nn.layers.base import Layer, Shape, check_dtype, check_width, register
from backprop.nn.workspace import NonFiniteZ, Workspace

__all__ = ["Dense", "DenseCache"]

Array = np.ndarray


class DenseCache(NamedTuple):
    """What :meth:`Dense.forward` keeps for :meth:`Dense.backward`."""

    a_prev: Array  #: the input a[l-1], (m, n_in)
    z: Array  #: the pre-activation z[l], (m, n_out)
    a: Array  #: the output a[l] = f(z[l]), (m, n_out)


@register
class Dense(Layer):
    """Fully connected layer ``a = f(a_prev @ W + b)``.

    Parameters
    ----------
    n_in, n_out : int
        Input and output widths. ``W`` has shape ``(n_in, n_out)``, ``b`` shape ``(n_out,)``.
    activation : str or ActivationFunction
        Name in :data:`backprop.nn.activations.ACTIVATIONS`.
    init : str, optional
        Weight initialiser (``"glorot_uniform"``, ``"glorot_normal"``, ``"he_uniform"``,
        ``"he_normal"``, or the aliases ``"glorot"``/``"xavier"``/``"he"``).  Default: He (normal)
        for the ReLU family, Glorot (uniform) otherwise.  Biases start at zero.
    dtype : float32 (default) or float64
    seed : int, numpy Generator or None
        Source of the initial weights.
    """

    decayed = ("W",)
    watches_input = True
    accepts_sparse = True

    def __init__(
        self,
        n_in: int,
        n_out: int,
        activation: str | ActivationFunction = "relu",
        init: str | None = None,
        dtype: Any = np.float32,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        self.n_in = check_width({"n_in": n_in}, "n_in")
        self.n_out = check_width({"n_out": n_out}, "n_out")
        self.activation = get_activation(activation)
        self.init = resolve_init(init, self.activation.init)
        dt = check_dtype(dtype)
        self.params = {
            "W": INITIALIZERS[self.init](as_rng(seed), self.n_in, self.n_out).astype(dt),
            "b": np.zeros(self.n_out, dtype=dt),
        }

    def __repr__(self) -> str:
        return f"Dense({self.n_in}, {self.n_out}, activation={self.activation.name!r})"

    def forward(self, a_prev: Array, training: bool = False) -> tuple[Array, DenseCache]:
        """``z = a_prev @ W + b``; ``a = f(z)``; cache ``(a_prev, z, a)``.

        ``a_prev``: (m, n_in) -> ``a``: (m, n_out).
        """
        return self._forward(a_prev, training)

    def backward(self, da: Array, cache: DenseCache) -> tuple[Array, dict[str, Array]]:
        """``dz = da * f'(z)``, then :meth:`backward_from_dz`.  ``da``: (m, n_out)."""
        return self._backward(da, cache)

    def backward_from_dz(
        self, dz: Array, cache: DenseCache, need_da_prev: bool = True
    ) -> tuple[Array | None, dict[str, Array]]:
        """Back-propagate ``dz = dJ/dz`` through the affine map ``z = a_prev @ W + b``.

        Used directly by the network for the fused output gradient ``dz = (a - y) / m`` of
        sigmoid + binary cross-entropy and softmax + categorical cross-entropy.  With
        ``need_da_prev=False`` (the first layer during training) ``da_prev`` is not computed and
        ``None`` is returned in its place.
        """
        return self._backward_from_dz(dz, cache, need_da_prev=need_da_prev)

    def preactivation(self, cache: DenseCache) -> Array:
        """The cached ``z``."""
        return cache.z

    def forward_perturbed(self, a_prev: Array, cache: DenseCache, name: str | None,
                          index: tuple[int, ...], delta: float) -> tuple[Array, DenseCache]:
        """Only the touched part of ``z`` moves: a column for ``W[j, k]`` (by ``delta
        a_prev[:, j]``) or ``b[k]`` (by ``delta``), a row for the input ``a_prev[i, j]`` (by
        ``delta W[j, :]``)."""
        z = cache.z.copy()
        if name is None:
            z[index[0], :] += delta * self.params["W"][index[1], :]
        elif name == "W":
            z[:, index[1]] += delta * a_prev[:, index[0]]
        else:
            z[:, index[0]] += delta
        a = self.activation.value(z)
        return a, DenseCache(a_prev, z, a)

    # The three methods below are the layer's math.  With a workspace ``ws`` (during fit and
    # predict) they write into its arrays instead of allocating, and use the fused kernels of
    # ``_kernels`` for the bias + activation and the activation's derivative + bias gradient;
    # without one (the public methods above) they are plain NumPy.

    def _kernels(self, ws: Workspace) -> _kernels.ActivationKernels | None:
        """The activation's fused kernels, or None (a custom ActivationFunction object, or no
        kernel for it); looked up once per workspace."""
        return ws.cached(self, "kernels", self._find_kernels, ws.inference)

    def _find_kernels(self, inference: bool) -> _kernels.ActivationKernels | None:
        act = self.activation
        if ACTIVATIONS.get(act.name) is not act:
            return None
        return _kernels.activation_kernels(act.name, self.params["W"].dtype, inference,
                                           LEAKY_RELU_SLOPE)

    def _forward(self, a_prev: Array, training: bool, ws: Workspace | None = None
                 ) -> tuple[Array, DenseCache]:
        W, b = self.params["W"], self.params["b"]
        if ws is None:
            z = a_prev @ W  # (m, n_in) @ (n_in, n_out) -> (m, n_out)
            z += b
            a = self.activation.value(z)
            return a, DenseCache(a_prev, z, a)
        shape = (a_prev.shape[0], self.n_out)
        watch = ws.watch_z  # predict's input check (see Sequential.predict)
        out = ws.get(self, "z", shape, W.dtype)
        if sp.issparse(a_prev):
            # a sparse input is checked for NaN/inf on its stored entries (cheap): no watch
            ws.watch_z = watch = False
            z = out
            z[...] = a_prev @ W  # sparse (m, n_in) @ (n_in, n_out) -> dense (m, n_out)
        elif watch:
            ws.watch_z = False
            # silent: a non-finite z raises NonFiniteZ, and predict either reports a NaN or
            # inf in its input or reruns the forward pass, which warns as usual
            with np.errstate(invalid="ignore", over="ignore"):
                z = np.matmul(a_prev, W, out=out)
        else:
            z = np.matmul(a_prev, W, out=out)
        kernels = self._kernels(ws)
        if kernels is None or kernels.forward is None:
            if watch:
                with np.errstate(invalid="ignore", over="ignore"):
                    z += b
                if not _kernels.all_finite(z):
                    raise NonFiniteZ
            else:
                z += b
            a = self.activation.value(z)
        else:
            # z += b; a = f(z) in one pass; when predicting, a overwrites z (no backward)
            a = z if ws.inference else ws.get(self, "a", shape, W.dtype)
            if not kernels.forward(z, b, a) and watch:
                raise NonFiniteZ
        return a, DenseCache(a_prev, z, a)

    def _backward(self, da: Array, cache: DenseCache, ws: Workspace | None = None,
                  need_da_prev: bool = True, da_owned: bool = False
                  ) -> tuple[Array | None, dict[str, Array]]:
        """``da_owned``: ``da`` is a scratch array that may be overwritten with ``dz``."""
        z, a = cache.z, cache.a
        kernels = None if ws is None else self._kernels(ws)
        if kernels is None or kernels.backward is None:
            dz = self.activation.backward(da, z, a)
            return self._backward_from_dz(dz, cache, ws, need_da_prev)
        if not da_owned:
            scratch = ws.get(self, "dz", da.shape, da.dtype)
            np.copyto(scratch, da)
            da = scratch
        db = ws.get(self, "db", self.params["b"].shape, z.dtype)
        kernels.backward(da, z, a, db)  # da <- dz = da * f'(z); db = sum of dz over rows
        return self._backward_from_dz(da, cache, ws, need_da_prev, db=db)

    def _backward_from_dz(self, dz: Array, cache: DenseCache, ws: Workspace | None = None,
                          need_da_prev: bool = True, db: Array | None = None
                          ) -> tuple[Array | None, dict[str, Array]]:
        a_prev = cache.a_prev
        W = self.params["W"]
        if ws is None:
            grads = {
                "W": a_prev.T @ dz,  # (n_in, m) @ (m, n_out) -> (n_in, n_out)
                "b": dz.sum(axis=0),  # (n_out,)
            }
            da_prev = dz @ W.T if need_da_prev else None  # (m, n_out) @ (n_out, n_in)
            return da_prev, grads
        dW = ws.get(self, "dW", W.shape, dz.dtype)
        if sp.issparse(a_prev):
            dW[...] = a_prev.T @ dz  # sparse (n_in, m) @ (m, n_out) -> dense (n_in, n_out)
        else:
            np.matmul(a_prev.T, dz, out=dW)
        if db is None:
            db = np.sum(dz, axis=0, out=ws.get(self, "db", self.params["b"].shape, dz.dtype))
        da_prev = None
        if need_da_prev:
            out = ws.get(self, "da_prev", (dz.shape[0], self.n_in), dz.dtype)
            da_prev = np.matmul(dz, W.T, out=out)
        return da_prev, {"W": dW, "b": db}

    # ------------------------------------------------------------------ protocol
    @property
    def input_shape(self) -> Shape:
        """``(n_in,)``."""
        return (self.n_in,)

    def output_shape(self, input_shape: Shape) -> Shape:
        """``(n_out,)``."""
        return (self.n_out,)

    @classmethod
    def param_shapes(cls, config: dict[str, Any], dtype: Any) -> dict[str, tuple[Shape, np.dtype]]:
        """``W``: (n_in, n_out), ``b``: (n_out,), both in ``dtype``."""
        n_in, n_out = check_width(config, "n_in"), check_width(config, "n_out")
        dt = np.dtype(dtype)
        return {"W": ((n_in, n_out), dt), "b": ((n_out,), dt)}

    def config(self) -> dict[str, Any]:
        """Constructor arguments (weights aside)."""
        return {
            "type": "Dense",
            "n_in": self.n_in,
            "n_out": self.n_out,
            "activation": self.activation.name,
            "init": self.init,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], dtype: Any = np.float32,
                    seed: int | np.random.Generator | None = None) -> Dense:
        """A Dense layer with fresh weights drawn from ``seed``."""
        spec = {k: v for k, v in config.items() if k != "type"}
        return cls(**spec, dtype=dtype, seed=seed)

    def describe(self) -> str:
        """The activation's name."""
        return self.activation.name
