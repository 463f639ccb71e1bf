"""The L2 penalty ``(l2 / 2) sum ||W||^2`` over the parameters each layer lists in
``decayed`` (weights, not biases), and its gradient ``l2 W``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from backprop import _kernels
from backprop.nn.layers.base import Layer

__all__ = ["l2_terms", "l2_penalty", "add_l2_gradients"]

Array = np.ndarray


def l2_terms(layers: Sequence[Layer], dtype: np.dtype, fused: bool = False,
             only: int | None = None) -> dict[tuple[int, str], Any]:
    """``||p||^2`` of every decayed parameter (or those of layer ``only``), keyed by
    ``(layer index, name)``, summed in ``dtype`` promoted to at least float64 (longdouble
    stays longdouble).  ``fused``: sum the squares with the kernel (no float64 copy) when it
    can."""
    acc = np.promote_types(dtype, np.float64)
    sum_squares = _kernels.get("sum_squares") if fused else None
    terms = {}
    for i, layer in enumerate(layers):
        if only not in (None, i):
            continue
        for name in layer.decayed:
            p = layer.params[name]
            if sum_squares is not None and _kernels.flat(p):
                terms[i, name] = sum_squares(p.reshape(-1))
            else:
                terms[i, name] = np.sum(np.square(p, dtype=acc))
    return terms


def l2_penalty(l2: float, terms: dict[tuple[int, str], Any]) -> float:
    """``(l2 / 2)`` times the sum of :func:`l2_terms` (0 when ``l2 == 0``)."""
    if not l2:
        return 0.0
    total = 0.0
    for term in terms.values():
        total += term
    return 0.5 * l2 * total


def add_l2_gradients(layers: Sequence[Layer], grads: Sequence[dict[str, Array]], l2: float,
                     fused: bool) -> None:
    """``grads[i][name] += l2 * p`` for every decayed parameter (d/dp of (l2 / 2) ||p||^2),
    in place; ``fused``: with the kernel when it can."""
    add_scaled = _kernels.get("add_scaled") if fused else None
    for layer, g in zip(layers, grads):
        for name in layer.decayed:
            p, dp = layer.params[name], g[name]
            if add_scaled is not None and _kernels.flat(dp, p):
                add_scaled(dp.reshape(-1), p.dtype.type(l2), p.reshape(-1))
            else:
                dp += l2 * p
