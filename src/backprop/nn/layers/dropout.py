"""Inverted dropout: a layer with a random state and no parameters."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from backprop._utils import as_rng
from backprop.nn.layers.base import Layer, register
from backprop.nn.parallel import current_batch_share
from backprop.nn.workspace import Workspace

__all__ = ["Dropout", "DropoutCache"]

Array = np.ndarray


class DropoutCache(NamedTuple):
    """What :meth:`Dropout.forward` keeps for :meth:`Dropout.backward` while training."""

    mask: Array  #: zeros and 1 / (1 - rate), shaped like the input


@register
class Dropout(Layer):
    """Inverted dropout: while training, zero each unit with probability ``rate`` and scale the
    survivors by ``1 / (1 - rate)``, so that nothing changes at prediction time.

    ``forward`` caches the mask ``M`` (zeros and ``1/(1-rate)``): ``a = a_prev * M``;
    ``backward`` is ``da_prev = da * M``.  No parameters; any input shape.

    Parameters
    ----------
    rate : float in [0, 1)
        Probability of dropping a unit.
    seed : int, numpy Generator or None
        Source of the masks; ``self.rng`` holds the generator (its state is part of the
        network's state, so checkpoints and rewinds reproduce the masks).
    """

    def __init__(self, rate: float, seed: int | np.random.Generator | None = None) -> None:
        if not isinstance(rate, (int, float, np.floating)) or not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"dropout rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.rng = as_rng(seed)
        self.params = {}

    def __repr__(self) -> str:
        return f"Dropout({self.rate})"

    def forward(self, a_prev: Array, training: bool = False
                ) -> tuple[Array, DropoutCache | None]:
        """``a = a_prev * M`` when training (and ``rate > 0``); the identity otherwise."""
        return self._forward(a_prev, training)

    def backward(self, da: Array, cache: DropoutCache | None) -> tuple[Array, dict[str, Array]]:
        """``da_prev = da * M`` (the identity when no mask was drawn)."""
        return self._backward(da, cache)

    # With a workspace ``ws`` (during fit) the mask and the output are written into its arrays
    # and ``backward`` multiplies ``da`` in place when it is scratch (``da_owned``); the random
    # draws, and so the masks, are the same as without one.  On several processes (a
    # BatchShare is current) the draw covers the whole global batch and the share's rows are
    # kept: each row gets the mask one process would give it, and every process's generator
    # stays in the same state.

    def _forward(self, a_prev: Array, training: bool, ws: Workspace | None = None
                 ) -> tuple[Array, DropoutCache | None]:
        if not training or self.rate == 0.0:
            return a_prev, None
        keep = 1.0 - self.rate
        # Generator.random draws float32 or float64; wider dtypes (gradient checking's
        # longdouble) take the float64 draw, so they see the same mask as float64.
        draw = np.float32 if a_prev.dtype == np.float32 else np.float64
        scale = np.asarray(1.0 / keep, dtype=a_prev.dtype)
        share = current_batch_share()
        drawn = a_prev.shape if share is None else (share.size,) + a_prev.shape[1:]
        if ws is None:
            u = self.rng.random(drawn, dtype=draw)
            if share is not None:
                u = u[share.rows]
            mask = (u < keep).astype(a_prev.dtype)
            mask *= scale
            return a_prev * mask, DropoutCache(mask)
        u = self.rng.random(out=ws.get(self, "u", drawn, draw), dtype=draw)
        if share is not None:
            u = u.take(share.rows, axis=0, out=ws.get(self, "u_share", a_prev.shape, draw))
        mask = ws.get(self, "mask", a_prev.shape, a_prev.dtype)
        np.less(u, keep, out=mask)
        mask *= scale
        a = np.multiply(a_prev, mask, out=ws.get(self, "a", a_prev.shape, a_prev.dtype))
        return a, DropoutCache(mask)

    def _backward(self, da: Array, cache: DropoutCache | None, ws: Workspace | None = None,
                  need_da_prev: bool = True, da_owned: bool = False
                  ) -> tuple[Array, dict[str, Array]]:
        if cache is None:
            return da, {}
        if ws is not None and da_owned:
            return np.multiply(da, cache.mask, out=da), {}
        return da * cache.mask, {}

    def config(self) -> dict[str, Any]:
        """Constructor arguments."""
        return {"type": "Dropout", "rate": self.rate}

    @classmethod
    def from_config(cls, config: dict[str, Any], dtype: Any = np.float32,
                    seed: int | np.random.Generator | None = None) -> Dropout:
        """A Dropout layer whose masks come from ``seed``."""
        return cls(config["rate"], seed=seed)

    def describe(self) -> str:
        """The rate."""
        return f"rate {self.rate:g}"
