"""Layers: each one a forward/backward pair that share a cache.

The founding note's layer-level functions, with one row per sample (the note uses one column per
sample, so its ``W[l] a[l-1]`` becomes our ``a[l-1] @ W`` and ``W`` has shape ``(n_in, n_out)``):

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
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backprop import _kernels
from backprop.nn.activations import ACTIVATIONS, Activation, get_activation
from backprop.nn.workspace import NonFiniteZ, Workspace

__all__ = ["Layer", "Dense", "Dropout", "Standardize", "INITIALIZERS", "LAYERS", "as_rng"]

Array = np.ndarray

INIT_ALIASES = {
    "glorot": "glorot_uniform",
    "xavier": "glorot_uniform",
    "xavier_uniform": "glorot_uniform",
    "xavier_normal": "glorot_normal",
    "he": "he_normal",
    "kaiming": "he_normal",
}


def _glorot_uniform(rng: np.random.Generator, n_in: int, n_out: int) -> Array:
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, size=(n_in, n_out))


def _glorot_normal(rng: np.random.Generator, n_in: int, n_out: int) -> Array:
    return rng.normal(0.0, np.sqrt(2.0 / (n_in + n_out)), size=(n_in, n_out))


def _he_uniform(rng: np.random.Generator, n_in: int, n_out: int) -> Array:
    limit = np.sqrt(6.0 / n_in)
    return rng.uniform(-limit, limit, size=(n_in, n_out))


def _he_normal(rng: np.random.Generator, n_in: int, n_out: int) -> Array:
    return rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))


#: Weight initialisers by name: Glorot (Xavier) for sigmoid/tanh/linear/softmax, He for ReLUs.
INITIALIZERS = {
    "glorot_uniform": _glorot_uniform,
    "glorot_normal": _glorot_normal,
    "he_uniform": _he_uniform,
    "he_normal": _he_normal,
}


def as_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` for ``seed`` (an int, a Generator, or None)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, a numpy Generator or None, got {seed!r}")
    return np.random.default_rng(seed)


def _check_dtype(dtype: Any) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dt}")
    return dt


class Layer:
    """Base class: a layer maps ``a[l-1]`` to ``a[l]`` and back-propagates ``dJ/da[l]``.

    Subclasses define :meth:`forward` and :meth:`backward` side by side and keep their trainable
    arrays in :attr:`params` (a dict of name -> array); ``backward`` returns ``grads`` with the
    same keys and shapes.
    """

    params: dict[str, Array]

    def forward(self, a_prev: Array, training: bool = False) -> tuple[Array, Any]:
        """Return ``(a, cache)`` for input ``a_prev`` of shape ``(m, n_in)``."""
        raise NotImplementedError

    def backward(self, da: Array, cache: Any) -> tuple[Array, dict[str, Array]]:
        """Return ``(da_prev, grads)`` from ``da = dJ/da`` and the cache of :meth:`forward`."""
        raise NotImplementedError

    def astype(self, dtype: Any) -> None:
        """Cast parameters to ``dtype`` in place (used for float64 gradient checks)."""
        for name, p in self.params.items():
            self.params[name] = p.astype(dtype)

    def config(self) -> dict[str, Any]:
        """A JSON-able description from which the layer can be rebuilt (weights aside)."""
        raise NotImplementedError


class Dense(Layer):
    """Fully connected layer ``a = f(a_prev @ W + b)``.

    Parameters
    ----------
    n_in, n_out : int
        Input and output widths. ``W`` has shape ``(n_in, n_out)``, ``b`` shape ``(n_out,)``.
    activation : str or Activation
        Name in :data:`backprop.activations.ACTIVATIONS`.
    init : str, optional
        Weight initialiser (``"glorot_uniform"``, ``"glorot_normal"``, ``"he_uniform"``,
        ``"he_normal"``, or the aliases ``"glorot"``/``"xavier"``/``"he"``).  Default: He (normal)
        for the ReLU family, Glorot (uniform) otherwise.  Biases start at zero.
    dtype : float32 (default) or float64
    seed : int, numpy Generator or None
        Source of the initial weights.
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        activation: str | Activation = "relu",
        init: str | None = None,
        dtype: Any = np.float32,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        for arg, v in (("n_in", n_in), ("n_out", n_out)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{arg} must be a positive integer, got {v!r}")
        self.n_in, self.n_out = int(n_in), int(n_out)
        self.activation = get_activation(activation)
        init_name = INIT_ALIASES.get(init, init) if init is not None else None
        if init_name is None:
            init_name = INIT_ALIASES[self.activation.init]
        if init_name not in INITIALIZERS:
            choices = sorted(INITIALIZERS) + sorted(INIT_ALIASES)
            raise ValueError(f"unknown init {init!r}; choose one of {choices}")
        self.init = init_name
        dt = _check_dtype(dtype)
        rng = as_rng(seed)
        self.params = {
            "W": INITIALIZERS[init_name](rng, self.n_in, self.n_out).astype(dt),
            "b": np.zeros(self.n_out, dtype=dt),
        }

    def __repr__(self) -> str:
        return f"Dense({self.n_in}, {self.n_out}, activation={self.activation.name!r})"

    def forward(self, a_prev: Array, training: bool = False) -> tuple[Array, tuple]:
        """``z = a_prev @ W + b``; ``a = f(z)``; cache ``(a_prev, z, a)``.

        ``a_prev``: (m, n_in) -> ``a``: (m, n_out).
        """
        return self._forward(a_prev, training)

    def backward(self, da: Array, cache: tuple) -> tuple[Array, dict[str, Array]]:
        """``dz = da * f'(z)``, then :meth:`backward_from_dz`.  ``da``: (m, n_out)."""
        return self._backward(da, cache)

    def backward_from_dz(
        self, dz: Array, cache: tuple, need_da_prev: bool = True
    ) -> tuple[Array | None, dict[str, Array]]:
        """Back-propagate ``dz = dJ/dz`` through the affine map ``z = a_prev @ W + b``.

        Used directly by the network for the fused output gradient ``dz = (a - y) / m`` of
        sigmoid + binary cross-entropy and softmax + categorical cross-entropy.  With
        ``need_da_prev=False`` (the first layer during training) ``da_prev`` is not computed and
        ``None`` is returned in its place.
        """
        return self._backward_from_dz(dz, cache, need_da_prev=need_da_prev)

    # The three methods below are the layer's math.  With a workspace ``ws`` (during fit and
    # predict) they write into its arrays instead of allocating, and use the fused kernels of
    # ``_kernels`` for the bias + activation and the activation's derivative + bias gradient;
    # without one (the public methods above) they are plain NumPy.

    def _kernels(self, ws: Workspace) -> _kernels.ActivationKernels | None:
        """The activation's fused kernels, or None (a custom Activation object, or no kernel
        for it); looked up once per workspace."""
        return ws.cached(self, "kernels", self._find_kernels, ws.inference)

    def _find_kernels(self, inference: bool) -> _kernels.ActivationKernels | None:
        act = self.activation
        if ACTIVATIONS.get(act.name) is not act:
            return None
        return _kernels.activation_kernels(act.name, self.params["W"].dtype, inference)

    def _forward(self, a_prev: Array, training: bool, ws: Workspace | None = None
                 ) -> tuple[Array, tuple]:
        W, b = self.params["W"], self.params["b"]
        if ws is None:
            z = a_prev @ W  # (m, n_in) @ (n_in, n_out) -> (m, n_out)
            z += b
            a = self.activation.value(z)
            return a, (a_prev, z, a)
        shape = (a_prev.shape[0], self.n_out)
        watch = ws.watch_z  # predict's input check (see Network.predict)
        out = ws.get(self, "z", shape, W.dtype)
        if watch:
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
        return a, (a_prev, z, a)

    def _backward(self, da: Array, cache: tuple, ws: Workspace | None = None,
                  need_da_prev: bool = True, da_owned: bool = False
                  ) -> tuple[Array | None, dict[str, Array]]:
        """``da_owned``: ``da`` is a scratch array that may be overwritten with ``dz``."""
        _, z, a = cache
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

    def _backward_from_dz(self, dz: Array, cache: tuple, ws: Workspace | None = None,
                          need_da_prev: bool = True, db: Array | None = None
                          ) -> tuple[Array | None, dict[str, Array]]:
        a_prev = cache[0]
        W = self.params["W"]
        if ws is None:
            grads = {
                "W": a_prev.T @ dz,  # (n_in, m) @ (m, n_out) -> (n_in, n_out)
                "b": dz.sum(axis=0),  # (n_out,)
            }
            da_prev = dz @ W.T if need_da_prev else None  # (m, n_out) @ (n_out, n_in)
            return da_prev, grads
        dW = np.matmul(a_prev.T, dz, out=ws.get(self, "dW", W.shape, dz.dtype))
        if db is None:
            db = np.sum(dz, axis=0, out=ws.get(self, "db", self.params["b"].shape, dz.dtype))
        da_prev = None
        if need_da_prev:
            out = ws.get(self, "da_prev", (dz.shape[0], self.n_in), dz.dtype)
            da_prev = np.matmul(dz, W.T, out=out)
        return da_prev, {"W": dW, "b": db}

    def config(self) -> dict[str, Any]:
        """Constructor arguments (weights aside)."""
        return {
            "type": "Dense",
            "n_in": self.n_in,
            "n_out": self.n_out,
            "activation": self.activation.name,
            "init": self.init,
        }


class Dropout(Layer):
    """Inverted dropout: while training, zero each unit with probability ``rate`` and scale the
    survivors by ``1 / (1 - rate)``, so that nothing changes at prediction time.

    ``forward`` caches the mask ``M`` (zeros and ``1/(1-rate)``): ``a = a_prev * M``;
    ``backward`` is ``da_prev = da * M``.  No parameters.

    Parameters
    ----------
    rate : float in [0, 1)
        Probability of dropping a unit.
    seed : int, numpy Generator or None
        Source of the masks; ``self.rng`` holds the generator (its state is part of a checkpoint).
    """

    def __init__(self, rate: float, seed: int | np.random.Generator | None = None) -> None:
        if not isinstance(rate, (int, float, np.floating)) or not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"dropout rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.rng = as_rng(seed)
        self.params = {}

    def __repr__(self) -> str:
        return f"Dropout({self.rate})"

    def forward(self, a_prev: Array, training: bool = False) -> tuple[Array, Array | None]:
        """``a = a_prev * M`` when training (and ``rate > 0``); the identity otherwise."""
        return self._forward(a_prev, training)

    def backward(self, da: Array, cache: Array | None) -> tuple[Array, dict[str, Array]]:
        """``da_prev = da * M`` (the identity when no mask was drawn)."""
        return self._backward(da, cache)

    # With a workspace ``ws`` (during fit) the mask and the output are written into its arrays
    # and ``backward`` multiplies ``da`` in place when it is scratch (``da_owned``); the random
    # draws, and so the masks, are the same as without one.

    def _forward(self, a_prev: Array, training: bool, ws: Workspace | None = None
                 ) -> tuple[Array, Array | None]:
        if not training or self.rate == 0.0:
            return a_prev, None
        keep = 1.0 - self.rate
        # Generator.random draws float32 or float64; wider dtypes (gradient checking's
        # longdouble) take the float64 draw, so they see the same mask as float64.
        draw = np.float32 if a_prev.dtype == np.float32 else np.float64
        scale = np.asarray(1.0 / keep, dtype=a_prev.dtype)
        if ws is None:
            mask = (self.rng.random(a_prev.shape, dtype=draw) < keep).astype(a_prev.dtype)
            mask *= scale
            return a_prev * mask, mask
        u = self.rng.random(out=ws.get(self, "u", a_prev.shape, draw), dtype=draw)
        mask = ws.get(self, "mask", a_prev.shape, a_prev.dtype)
        np.less(u, keep, out=mask)
        mask *= scale
        return np.multiply(a_prev, mask, out=ws.get(self, "a", a_prev.shape, a_prev.dtype)), mask

    def _backward(self, da: Array, cache: Array | None, ws: Workspace | None = None,
                  need_da_prev: bool = True, da_owned: bool = False
                  ) -> tuple[Array, dict[str, Array]]:
        if cache is None:
            return da, {}
        if ws is not None and da_owned:
            return np.multiply(da, cache, out=da), {}
        return da * cache, {}

    def config(self) -> dict[str, Any]:
        """Constructor arguments."""
        return {"type": "Dropout", "rate": self.rate}


#: Layer classes by name (drives parametrised tests and model files).
LAYERS: dict[str, type[Layer]] = {"Dense": Dense, "Dropout": Dropout}


class Standardize(Layer):
    """Fixed affine rescaling of each feature, kept inside the network so that a saved model
    applies the same transform to raw inputs: ``a = (a_prev - mean) / scale``, or with
    ``inverse=True`` ``a = a_prev * scale + mean`` (an output layer that returns a regression
    target to its original units).

    Nothing is trained: ``params == {}``; ``mean`` and ``scale`` are buffers (``self.buffers``),
    stored in float64 and saved in model files.  The output has the input's dtype.

    ``backward`` is ``da_prev = da / scale`` (``da * scale`` when inverse), so ``dJ/dX`` flows
    through it to the raw inputs.

    Parameters
    ----------
    mean, scale : array-like of shape (n_features,)
        Finite values; every ``scale`` entry positive.
    inverse : bool, default False
        Apply the inverse map ``a_prev * scale + mean``.
    """

    def __init__(self, mean: Any, scale: Any, inverse: bool = False) -> None:
        mean_arr = np.array(mean, dtype=np.float64)
        scale_arr = np.array(scale, dtype=np.float64)
        if mean_arr.ndim != 1 or mean_arr.size == 0:
            raise ValueError(f"mean must be a non-empty 1-D array, got shape {mean_arr.shape}")
        if scale_arr.shape != mean_arr.shape:
            raise ValueError(
                f"scale must have the shape of mean {mean_arr.shape}, got {scale_arr.shape}"
            )
        for name, arr in (("mean", mean_arr), ("scale", scale_arr)):
            if not np.isfinite(arr).all():
                j = int(np.argmax(~np.isfinite(arr)))
                raise ValueError(f"{name} must be finite; entry {j} is {arr[j]}")
        if not (scale_arr > 0).all():
            j = int(np.argmax(~(scale_arr > 0)))
            raise ValueError(f"scale must be positive; entry {j} is {scale_arr[j]}")
        self.n_features = mean_arr.size
        self.inverse = bool(inverse)
        self.params = {}
        #: non-trainable arrays, saved with the model: {"mean": (n,), "scale": (n,)}
        self.buffers = {"mean": mean_arr, "scale": scale_arr}

    @classmethod
    def identity(cls, n_features: int, inverse: bool = False) -> Standardize:
        """A layer with ``mean = 0`` and ``scale = 1`` (the buffers are filled in later, e.g.
        by :func:`backprop.load`)."""
        return cls(np.zeros(n_features), np.ones(n_features), inverse=inverse)

    def __repr__(self) -> str:
        return f"Standardize({self.n_features}{', inverse=True' if self.inverse else ''})"

    def forward(self, a_prev: Array, training: bool = False) -> tuple[Array, None]:
        """``a = (a_prev - mean) / scale`` (or ``a_prev * scale + mean``); (m, n) -> (m, n).

        Computed in float64 (or wider) and returned in ``a_prev``'s dtype; nothing is cached.
        """
        if a_prev.ndim != 2 or a_prev.shape[1] != self.n_features:
            raise ValueError(
                f"Standardize expects input of shape (m, {self.n_features}), got {a_prev.shape}"
            )
        mean, scale = self.buffers["mean"], self.buffers["scale"]
        out = a_prev * scale + mean if self.inverse else (a_prev - mean) / scale
        return out.astype(a_prev.dtype, copy=False), None

    def backward(self, da: Array, cache: None) -> tuple[Array, dict[str, Array]]:
        """``da_prev = da / scale`` (``da * scale`` when inverse); no parameter gradients."""
        scale = self.buffers["scale"]
        da_prev = da * scale if self.inverse else da / scale
        return da_prev.astype(da.dtype, copy=False), {}

    def config(self) -> dict[str, Any]:
        """Constructor arguments other than the buffers."""
        return {"type": "Standardize", "n_features": self.n_features, "inverse": self.inverse}


LAYERS["Standardize"] = Standardize
