"""Gradient flow: each layer's gradient norm and weight-update ratio, epoch by epoch.

Vanishing gradients are the classic reason a deep sigmoid network trains slowly: dz[l] =
da[l] * f'(z[l]) with f' <= 1/4 shrinks the gradient at every layer on the way back, so the
first layers' ||dW|| is orders of magnitude below the last's; ReLU (f' = 1 where active) with He
initialisation keeps them comparable.  :class:`GradientFlow` measures it on fixed rows, and
:func:`backprop.plotting.plot_gradient_flow` draws it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from backprop.train.callbacks import Callback, History

if TYPE_CHECKING:
    from backprop.nn.sequential import Sequential as Network

__all__ = ["GradientFlow"]

Array = np.ndarray


class GradientFlow(Callback):
    """Record, after every epoch, the norm ``||dJ/dW[l]||`` of each layer's weight gradient on
    fixed rows (dropout off, L2 term included) and its update ratio ``||W_now - W_before|| /
    ||W_before||`` over the epoch.

    Parameters
    ----------
    X, y : the rows to measure on (a few hundred training rows: the same rows every epoch)

    Attributes
    ----------
    layers : list of str
        ``"1 Dense"``, ``"3 Dense"`` ...: the layers with a weight ``W``, in order.
    grad_norms : dict of str -> list of float
        Per layer, one gradient norm per epoch; entry 0 is before training.
    update_ratios : dict of str -> list of float
        Per layer, one update ratio per epoch (from epoch 1).
    """

    def __init__(self, X: Any, y: Any) -> None:
        self.X, self.y = X, y
        self.layers: list[str] = []
        self.grad_norms: dict[str, list[float]] = {}
        self.update_ratios: dict[str, list[float]] = {}
        self._net: Network | None = None
        self._before: list[Array] = []

    def _weighted(self) -> list[tuple[str, int]]:
        return [(f"{i + 1} {type(la).__name__}", i) for i, la in enumerate(self._net.layers)
                if "W" in la.params]

    def on_train_begin(self, network: Network) -> None:
        """Measure the untrained gradients and remember the weights."""
        self._net = network
        self.layers = [name for name, _ in self._weighted()]
        self.grad_norms = {name: [] for name in self.layers}
        self.update_ratios = {name: [] for name in self.layers}
        self._measure()

    def _measure(self) -> None:
        _, grads = self._net.loss_and_grads(self.X, self.y, training=False)
        for name, i in self._weighted():
            self.grad_norms[name].append(float(np.linalg.norm(grads[i]["W"])))
        self._before = [self._net.layers[i].params["W"].copy() for _, i in self._weighted()]

    def on_epoch_end(self, epoch: int, logs: dict[str, float], history: History) -> None:
        """The epoch's update ratios, then the gradients at the new weights."""
        for (name, i), before in zip(self._weighted(), self._before):
            change = np.linalg.norm(self._net.layers[i].params["W"] - before)
            self.update_ratios[name].append(float(change / max(np.linalg.norm(before), 1e-30)))
        self._measure()

    def first_last_ratio(self, epoch: int = 0) -> float:
        """``||dW[first]|| / ||dW[last]||`` at ``epoch`` (0: before training): far below 1 when
        the gradient vanishes on its way back."""
        first, last = self.grad_norms[self.layers[0]], self.grad_norms[self.layers[-1]]
        return first[epoch] / last[epoch]
