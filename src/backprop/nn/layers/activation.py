"""An activation as a layer of its own (after a BatchNorm, say): ``a[l] = f(a[l-1])``.

In the founding note's notation the layer's input plays the part of ``z[l]``:

forward
    receives ``z = a[l-1]`` of any shape ``(m, ...)``, keeps ``(z, a)`` in the cache and
    returns ``a[l] = f(z)``, of the same shape.
backward
    receives ``dJ/da[l]`` and returns ``dJ/da[l-1] = dJ/dz``, with no parameter gradients::

        dz = da * f'(z)                    like z  (element-wise activations)
        dz = a * (da - sum_j da_j a_j)     (m, k)  (softmax: its Jacobian, row by row)

As the network's last layer, a sigmoid or softmax Activation pairs with its cross-entropy as a
Dense output does: the network computes ``dJ/dz = (a - y) / m`` from the cached ``z`` and
hands it to :meth:`Activation.backward_from_dz`, which passes it on.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from backprop.nn.activations import ActivationFunction, get_activation
from backprop.nn.layers.base import Layer, register

__all__ = ["Activation", "ActivationCache"]

Array = np.ndarray


class ActivationCache(NamedTuple):
    """What :meth:`Activation.forward` keeps for :meth:`Activation.backward`."""

    z: Array  #: the input a[l-1], which is f's argument z
    a: Array  #: the output f(z)


@register
class Activation(Layer):
    """``a = f(a_prev)`` element-wise (softmax: row-wise over axis 1); no parameters.

    Parameters
    ----------
    activation : str or ActivationFunction
        Name in :data:`backprop.nn.activations.ACTIVATIONS` (``"relu"``, ``"sigmoid"``,
        ``"softmax"`` ...).  A final ``Activation("sigmoid")`` or ``Activation("softmax")``
        takes the fused gradient of binary or categorical cross-entropy.
    """

    def __init__(self, activation: str | ActivationFunction = "relu") -> None:
        self.activation = get_activation(activation)
        self.params = {}

    def __repr__(self) -> str:
        return f"Activation({self.activation.name!r})"

    def forward(self, a_prev: Array, training: bool = False) -> tuple[Array, ActivationCache]:
        """``a = f(a_prev)``; cache ``(z, a)`` with ``z = a_prev``.  Any shape -> the same."""
        a = self.activation.value(a_prev)
        return a, ActivationCache(a_prev, a)

    def backward(self, da: Array, cache: ActivationCache) -> tuple[Array, dict[str, Array]]:
        """``da_prev = dJ/dz`` from ``da = dJ/da`` (``da * f'(z)``, or softmax's product)."""
        return self.activation.backward(da, cache.z, cache.a), {}

    def preactivation(self, cache: ActivationCache) -> Array:
        """The cached ``z`` (the input)."""
        return cache.z

    def backward_from_dz(self, dz: Array, cache: ActivationCache, need_da_prev: bool = True
                         ) -> tuple[Array | None, dict[str, Array]]:
        """``dJ/dz`` is already ``dJ/da[l-1]``: passed on as it is (None when not needed)."""
        return (dz if need_da_prev else None), {}

    def config(self) -> dict[str, Any]:
        """The activation's name."""
        return {"type": "Activation", "activation": self.activation.name}

    @classmethod
    def from_config(cls, config: dict[str, Any], dtype: Any = np.float32,
                    seed: int | np.random.Generator | None = None) -> Activation:
        """The layer ``config`` describes (it has nothing to initialise)."""
        return cls(config["activation"])

    def describe(self) -> str:
        """The activation's name."""
        return self.activation.name
