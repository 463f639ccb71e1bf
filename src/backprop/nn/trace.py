"""A trace of one forward and backward pass, layer by layer: every array the founding note's
figure names (a[l-1], z[l], a[l] forward; da[l], dz[l], da[l-1], dW[l], db[l] backward), kept
so that it can be printed or drawn for a real network on real rows.

The pass is the plain NumPy path (no workspace, dropout off: ``training=False``), the same
arithmetic as :func:`backprop.nn.propagation.backward_pass` without the L2 term, layer by layer::

    a[0] = X
    z[l] = a[l-1] W[l] + b[l];   a[l] = f(z[l])                          forward, l = 1 .. L
    dz[L] = (a[L] - y) / m                   (fused sigmoid + BCE, softmax + CE)
    dz[l] = da[l] * f'(z[l]);    dW[l] = a[l-1]^T dz[l];   db[l] = sum_rows dz[l]
    da[l-1] = dz[l] W[l]^T                                                backward, l = L .. 1

(rows are samples, hence the transposes.)  Layers without a pre-activation (Dropout,
Standardize, pooling ...) have no ``z`` and no ``dz``: their backward maps da[l] to da[l-1].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backprop.nn.layers.base import Layer
from backprop.nn.losses import Loss

__all__ = ["LayerTrace", "Trace", "trace_pass", "summary", "format_trace"]

Array = np.ndarray


@dataclass
class LayerTrace:
    """The arrays of one layer's forward and backward functions (None where it has none)."""

    index: int  #: l, counted from 1 as in the note
    layer: Layer
    a_prev: Array
    a: Array
    z: Array | None = None
    da: Array | None = None  #: dJ/da[l] (None for a fused output layer: its dz comes first)
    dz: Array | None = None
    da_prev: Array | None = None
    grads: dict[str, Array] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """``"Dense"``, ``"Dropout"`` ..."""
        return type(self.layer).__name__

    @property
    def activation(self) -> str | None:
        """The activation's name, for layers that have one."""
        act = getattr(self.layer, "activation", None)
        return None if act is None else act.name


@dataclass
class Trace:
    """A forward and backward pass: the layers' traces, the cost and how the output gradient
    was formed."""

    layers: list[LayerTrace]
    cost: float  #: J without the L2 term
    loss: str
    fused: str | None  #: the fused activation (``"sigmoid"``/``"softmax"``) or None
    y: Array


def trace_pass(layers: Sequence[Layer], loss: Loss, fused: bool, X: Array, y: Array) -> Trace:
    """Run the note's forward and backward functions over ``layers`` on checked inputs ``X``
    and targets ``y``, keeping every array (see the module docstring)."""
    traces: list[LayerTrace] = []
    caches = []
    a = X
    for i, layer in enumerate(layers):
        out, cache = layer.forward(a, training=False)
        traces.append(LayerTrace(i + 1, layer, a, out, layer.preactivation(cache)))
        caches.append(cache)
        a = out
    last, t_last = layers[-1], traces[-1]
    if fused:
        cost = loss.value_from_logits(t_last.z, y, None)
        t_last.dz = loss.gradient_wrt_logits(a, y, None)
        t_last.da_prev, t_last.grads = last.backward_from_dz(t_last.dz, caches[-1])
    else:
        cost = loss.value(a, y, None)
        t_last.da = loss.gradient(a, y, None)
        _backward(last, t_last, caches[-1])
    for i in range(len(layers) - 2, -1, -1):
        traces[i].da = traces[i + 1].da_prev
        _backward(layers[i], traces[i], caches[i])
    return Trace(traces, float(cost), loss.name, loss.fused_activation if fused else None,
                 y)


def _backward(layer: Layer, t: LayerTrace, cache: Any) -> None:
    t.da_prev, t.grads = layer.backward(t.da, cache)
    act = getattr(layer, "activation", None)
    if t.z is not None and act is not None and act.derivative is not None:
        t.dz = t.da * act.derivative(t.z, t.a)  # the note's dz = da * f'(z), for the record


def summary(arr: Array | None) -> str:
    """``"norm 1.23, mean 0.01, std 0.20"`` (empty for None)."""
    if arr is None:
        return ""
    x = np.asarray(arr, dtype=np.float64)
    return f"norm {np.linalg.norm(x):.4g}, mean {x.mean():.3g}, std {x.std():.3g}"


def _shape(arr: Array | None) -> str:
    return "" if arr is None else "(" + ", ".join(map(str, arr.shape)) + ")"


def format_trace(trace: Trace) -> str:
    """The trace as text: the forward chain, then the backward chain, each array with its
    shape and summary."""
    L = len(trace.layers)
    lines = [f"forward ({len(trace.y)} rows, dropout off):",
             f"  a[0] = X  {_shape(trace.layers[0].a_prev)}  {summary(trace.layers[0].a_prev)}"]
    for t in trace.layers:
        shapes = "x".join(map(str, t.a_prev.shape[1:])) + "->" + "x".join(map(str, t.a.shape[1:]))
        k, what = t.index, f"layer {t.index} {t.name} {shapes} ({t.layer.describe()})"
        if t.z is not None:
            lines.append(f"  {what}: z[{k}] = a[{k - 1}] W[{k}] + b[{k}]  {_shape(t.z)}  "
                         f"{summary(t.z)}")
            lines.append(f"      a[{k}] = {t.activation}(z[{k}])  {_shape(t.a)}  {summary(t.a)}")
        else:
            lines.append(f"  {what}: a[{k}]  {_shape(t.a)}  {summary(t.a)}")
    lines.append(f"cost J = {trace.cost:.6g} ({trace.loss}, no L2 term)")
    lines.append("backward:")
    for t in reversed(trace.layers):
        k = t.index
        if k == L and trace.fused is not None:
            lines.append(f"  layer {k}: dz[{k}] = (a[{k}] - y) / m  (fused {trace.fused} + "
                         f"{trace.loss})  {_shape(t.dz)}  {summary(t.dz)}")
        else:
            lines.append(f"  layer {k}: da[{k}]  {_shape(t.da)}  {summary(t.da)}")
            if t.dz is not None:
                lines.append(f"      dz[{k}] = da[{k}] * {t.activation}'(z[{k}])  "
                             f"{_shape(t.dz)}  {summary(t.dz)}")
        for name, g in t.grads.items():
            lines.append(f"      d{name}[{k}]  {_shape(g)}  {summary(g)}")
        lines.append(f"      da[{k - 1}]  {_shape(t.da_prev)}  {summary(t.da_prev)}")
    return "\n".join(lines)
