"""A fixed affine rescaling of each feature, kept inside the network: a layer with buffers."""

from __future__ import annotations

from typing import Any

import numpy as np

from backprop import _kernels
from backprop.nn.layers.base import Layer, Shape, check_width, register

__all__ = ["Standardize"]

Array = np.ndarray


def _statistics_problem(mean: Array, scale: Array) -> str | None:
    """What is wrong with a mean and scale (non-finite entries, a scale that is not positive),
    or None."""
    for name, arr in (("mean", mean), ("scale", scale)):
        if not np.isfinite(arr).all():
            j = int(np.argmax(~np.isfinite(arr)))
            return f"{name} must be finite; entry {j} is {arr[j]}"
    if not (scale > 0).all():
        j = int(np.argmax(~(scale > 0)))
        return f"scale must be positive; entry {j} is {scale[j]}"
    return None


@register
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
        problem = _statistics_problem(mean_arr, scale_arr)
        if problem is not None:
            raise ValueError(problem)
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

    @classmethod
    def from_standardizer(cls, scaler: Any, inverse: bool = False) -> Standardize:
        """The fitted statistics of a scaler with ``mean_`` and ``scale_`` (backprop's
        ``Standardizer``, scikit-learn's ``StandardScaler``) as a layer, to put first in a
        network (or last, ``inverse=True``, to return a regression target to its units)."""
        mean, scale = getattr(scaler, "mean_", None), getattr(scaler, "scale_", None)
        if mean is None or scale is None:
            raise ValueError(f"{type(scaler).__name__} is not fitted (no mean_ and scale_)")
        return cls(mean, scale, inverse=inverse)

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
        kernel = _kernels.get("unstandardize" if self.inverse else "standardize")
        if kernel is not None and _kernels.flat(a_prev):
            # one pass, the same float64 numbers rounded once, no (m, n) float64 temporary
            out = np.empty_like(a_prev)
            kernel(a_prev, mean, scale, out)
            return out, None
        out = a_prev * scale + mean if self.inverse else (a_prev - mean) / scale
        return out.astype(a_prev.dtype, copy=False), None

    def backward(self, da: Array, cache: None) -> tuple[Array, dict[str, Array]]:
        """``da_prev = da / scale`` (``da * scale`` when inverse); no parameter gradients."""
        scale = self.buffers["scale"]
        da_prev = da * scale if self.inverse else da / scale
        return da_prev.astype(da.dtype, copy=False), {}

    @property
    def input_shape(self) -> Shape:
        """``(n_features,)``."""
        return (self.n_features,)

    @classmethod
    def param_shapes(cls, config: dict[str, Any], dtype: Any) -> dict[str, tuple[Shape, np.dtype]]:
        """``mean`` and ``scale``: (n_features,), always float64."""
        n = check_width(config, "n_features")
        f64 = np.dtype(np.float64)
        return {"mean": ((n,), f64), "scale": ((n,), f64)}

    def check_arrays(self, arrays: dict[str, Array]) -> str | None:
        """Finite statistics and a positive scale."""
        return _statistics_problem(np.asarray(arrays["mean"], dtype=np.float64),
                                   np.asarray(arrays["scale"], dtype=np.float64))

    def astype(self, dtype: Any) -> None:
        """The statistics stay float64 (the map is computed in float64 or wider)."""

    def config(self) -> dict[str, Any]:
        """Constructor arguments other than the buffers."""
        return {"type": "Standardize", "n_features": self.n_features, "inverse": self.inverse}

    @classmethod
    def from_config(cls, config: dict[str, Any], dtype: Any = np.float32,
                    seed: int | np.random.Generator | None = None) -> Standardize:
        """An identity map of the configured width (the buffers come from the model file)."""
        return cls.identity(config["n_features"], inverse=config.get("inverse", False))

    def describe(self) -> str:
        """The formula."""
        return "x * scale + mean" if self.inverse else "(x - mean) / scale"
