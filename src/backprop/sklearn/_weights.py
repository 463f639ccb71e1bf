"""``coefs_`` and ``intercepts_``: scikit-learn's view of the network's weights.

The lists hold the Dense layers' own ``W`` and ``b`` arrays, so they follow training (the
optimizer updates the arrays in place).  An array put in their place, after a fit or before a
first ``partial_fit`` (scikit-learn's way of starting from given weights), is copied into the
network by the next ``fit``, ``partial_fit``, prediction or save; pickles store the weights once,
in the network, and bind the lists to its arrays again when read back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from backprop.model import Network
    from backprop.nn.layers import Layer

__all__ = ["NetworkWeightsMixin", "dense_layers"]


def dense_layers(network: Network) -> list[Layer]:
    """The layers with weights (the Dense ones; Dropout layers have none), in order."""
    return [layer for layer in network.layers if "W" in layer.params]


class NetworkWeightsMixin:
    """``coefs_`` / ``intercepts_`` bound to ``network_`` (see the module docstring)."""

    def _bind_weights(self) -> None:
        """``coefs_`` / ``intercepts_``: the Dense layers' own ``W`` / ``b`` arrays."""
        layers = dense_layers(self.network_)
        self.coefs_ = [layer.params["W"] for layer in layers]
        self.intercepts_ = [layer.params["b"] for layer in layers]
        self.n_layers_ = len(layers) + 1

    def _sync_weights(self) -> None:
        """Copy into the network the arrays that were put in ``coefs_`` / ``intercepts_`` in
        place of its own (everything is checked first: a bad one changes nothing)."""
        layers = dense_layers(self.network_)
        copies = []
        for attr, name in (("coefs_", "W"), ("intercepts_", "b")):
            given = getattr(self, attr)
            if len(given) != len(layers):
                raise ValueError(f"{attr} holds {len(given)} arrays, but the network has "
                                 f"{len(layers)} layers with weights")
            for i, (arr, layer) in enumerate(zip(given, layers)):
                own = layer.params[name]
                if arr is own:
                    continue
                arr = np.asarray(arr)
                if arr.shape != own.shape or arr.dtype.kind not in "biuf":
                    raise ValueError(f"{attr}[{i}] must be a numeric array of shape "
                                     f"{own.shape}, got {arr.dtype} {arr.shape}")
                copies.append((own, arr))
        if not copies:
            return  # every array is the network's own
        for own, arr in copies:
            own[...] = arr
        self._bind_weights()

    def __getstate__(self) -> dict[str, Any]:
        """Pickles and deep copies store the weights once, in the network: ``coefs_`` and
        ``intercepts_`` are bound to its arrays again when read back."""
        if "network_" in vars(self):
            self._sync_weights()
        state = super().__getstate__()
        if "network_" in state:
            state = {k: v for k, v in state.items() if k not in ("coefs_", "intercepts_")}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if "network_" in vars(self):
            self._bind_weights()
