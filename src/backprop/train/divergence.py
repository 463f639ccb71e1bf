"""The divergence guard: a non-finite cost or gradient stops training before it does harm.

:func:`backprop.train.step.train_step` checks the batch cost ``J`` and the updated parameters
*after* the optimizer step (a NaN or inf in a gradient reaches the parameters through the
update; the optimizer's kernels report it as they write, else one read pass looks).
When one shows up, :func:`backprop.train.fit` rebuilds the state of the last good step by
replaying the epoch's steps from a copy taken at its start, then names the culprit:
:func:`first_nonfinite_gradient` gives the layer and parameter where the first non-finite
gradient appeared (in back-propagation order, from the output layer down);
:func:`first_nonfinite_forward` replays the forward pass of the offending batch to name the
first layer whose pre-activation ``z`` or output ``a`` is not finite.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from backprop import _kernels

if TYPE_CHECKING:
    from backprop.nn.sequential import Sequential

__all__ = ["TrainingDiverged", "first_nonfinite_gradient", "first_nonfinite_forward"]

Array = np.ndarray


class TrainingDiverged(RuntimeError):
    """Training produced a NaN or inf cost or gradient and was stopped at that step.

    The network's weights are restored to the last finite state (the weights before the
    offending step, or the best validation weights when early stopping is on) before this is
    raised.

    Attributes
    ----------
    epoch : int
        Epoch (from 0, as ``History.epoch``) of the offending step.
    step : int
        Batch (from 0) of that epoch.
    global_step : int
        Optimizer steps taken before the offending one.
    layer : int
        Index in ``network.layers`` where the first non-finite value appeared (the output layer
        when the cost overflowed although every activation is finite).
    where : str
        What was non-finite: ``"gradient of W"``, ``"pre-activation z"``, ``"cost"`` ...
    value : float
        The first non-finite value seen (nan, inf or -inf).
    restored : str
        Which weights the network holds now.
    """

    def __init__(self, message: str, *, epoch: int, step: int, global_step: int,
                 layer: int, where: str, value: float, restored: str) -> None:
        super().__init__(message)
        self.epoch, self.step, self.global_step = epoch, step, global_step
        self.layer, self.where, self.value, self.restored = layer, where, value, restored


def _first_bad_value(arr: Array) -> float:
    return float(arr[_kernels.first_nonfinite(arr)])


def first_nonfinite_gradient(grads: list[dict[str, Array]]) -> tuple[int, str, float] | None:
    """``(layer, parameter, value)`` of the first non-finite gradient in back-propagation
    order (output layer first), or None when every gradient is finite."""
    for i in range(len(grads) - 1, -1, -1):
        for name, g in grads[i].items():
            if not _kernels.all_finite(g):
                return i, name, _first_bad_value(g)
    return None


def first_nonfinite_forward(network: Sequential, X: Array) -> tuple[int, str, float] | None:
    """Replay forward propagation of ``X`` (dropout off) and return ``(layer, "z" or "a",
    value)`` for the first layer whose pre-activation or output is not finite, or None."""
    a = X
    with np.errstate(all="ignore"):
        for i, layer in enumerate(network.layers):
            a, cache = layer.forward(a, training=False)
            z = layer.preactivation(cache)
            if z is not None and not _kernels.all_finite(z):
                return i, "pre-activation z", _first_bad_value(z)
            if not _kernels.all_finite(a):
                return i, "output a", _first_bad_value(a)
    return None
