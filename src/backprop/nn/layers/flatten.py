"""Flatten: images to rows, so that a dense head can follow convolutions and pooling."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from backprop.nn.layers.base import Layer, Shape, register
from backprop.nn.workspace import Workspace

__all__ = ["Flatten", "FlattenCache"]

Array = np.ndarray


class FlattenCache(NamedTuple):
    """What :meth:`Flatten.forward` keeps for :meth:`Flatten.backward`."""

    shape: tuple[int, ...]  #: the input's trailing shape, e.g. (C, H, W)


@register
class Flatten(Layer):
    """``(m, C, H, W) -> (m, C H W)`` in C order (channel, then row, then column), as
    ``torch.flatten(x, 1)``; any trailing shape works the same way.

    forward: ``a[l] = a[l-1].reshape(m, -1)`` (a copy when ``a[l-1]`` is channels-last in
    memory, as the image layers' fast paths return it: the order is always NCHW's).
    backward: ``da[l-1] = da[l].reshape(m, *shape)``.  No parameters.
    """

    def __init__(self) -> None:
        self.params = {}

    def __repr__(self) -> str:
        return "Flatten()"

    def forward(self, a_prev: Array, training: bool = False) -> tuple[Array, FlattenCache]:
        """``a_prev`` (m, *shape) -> ``a`` (m, prod(shape))."""
        return self._forward(a_prev, training)

    def backward(self, da: Array, cache: FlattenCache) -> tuple[Array, dict[str, Array]]:
        """``da`` (m, prod(shape)) -> ``da_prev`` (m, *shape)."""
        return self._backward(da, cache)

    # With a workspace (fit, predict) the copy a channels-last input needs goes into a reused
    # array, and backward's view of ``da`` is scratch whenever ``da`` was: the layers below
    # may then overwrite it instead of copying it.

    def _forward(self, a_prev: Array, training: bool, ws: Workspace | None = None
                 ) -> tuple[Array, FlattenCache]:
        if a_prev.ndim < 2:
            raise ValueError(f"Flatten takes an input of shape (m, ...), got shape "
                             f"{a_prev.shape}")
        m, cache = a_prev.shape[0], FlattenCache(a_prev.shape[1:])
        if ws is None or a_prev.flags.c_contiguous:
            return a_prev.reshape(m, -1), cache
        out = ws.get(self, "a", (m, math.prod(cache.shape)), a_prev.dtype)
        np.copyto(out.reshape(a_prev.shape), a_prev)
        return out, cache

    def _backward(self, da: Array, cache: FlattenCache, ws: Workspace | None = None,
                  need_da_prev: bool = True, da_owned: bool = False
                  ) -> tuple[Array, dict[str, Array]]:
        return da.reshape(da.shape[0], *cache.shape), {}

    def output_shape(self, input_shape: Shape) -> Shape:
        """``(prod(input_shape),)``."""
        return (math.prod(input_shape),)

    def config(self) -> dict[str, Any]:
        """No arguments: ``{"type": "Flatten"}``."""
        return {"type": "Flatten"}

    @classmethod
    def from_config(cls, config: dict[str, Any], dtype: Any = np.float32,
                    seed: int | np.random.Generator | None = None) -> Flatten:
        """A Flatten layer."""
        return cls()

    def describe(self) -> str:
        """``-``: nothing to say."""
        return "-"
