"""How the command line describes a network: one row per layer for ``inspect``'s table, and the
one-line summary that ``train`` prints and puts in the plot title.

Both come from one walk over the layers, which asks each layer only through the generic layer
protocol (``describe()``, ``params``, ``buffers``, and the network's ``layer_shapes()``), so a
new layer type needs nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backprop._utils import render_table
from backprop.model import Network

__all__ = ["LayerRow", "layer_rows", "layer_table", "network_summary"]


@dataclass(frozen=True)
class LayerRow:
    """What the command line shows of one layer."""

    index: int
    kind: str  #: the class name
    input_shape: tuple[int, ...]  #: without the batch dimension
    output_shape: tuple[int, ...]
    text: str  #: ``layer.describe()``: the activation, the transform, the rate ...
    arrays: str  #: ``"W 4x8, b 8"``; buffers follow, marked ``(fixed)``; ``"-"`` for none
    n_params: int  #: trainable entries


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def _arrays(arrays: dict[str, np.ndarray]) -> str:
    return ", ".join(f"{name} {_shape(a.shape)}" for name, a in arrays.items())


def layer_rows(net: Network) -> list[LayerRow]:
    """One :class:`LayerRow` per layer of ``net``, in order."""
    rows = []
    for i, (layer, (shape_in, shape_out)) in enumerate(zip(net.layers, net.layer_shapes())):
        parts = [_arrays(layer.params)] if layer.params else []
        if layer.buffers:
            parts.append(f"{_arrays(layer.buffers)} (fixed)")
        rows.append(LayerRow(
            index=i, kind=type(layer).__name__, input_shape=tuple(shape_in),
            output_shape=tuple(shape_out), text=layer.describe(),
            arrays=", ".join(parts) or "-",
            n_params=layer.n_parameters(),
        ))
    return rows


def layer_table(net: Network) -> str:
    """``inspect``'s table: index, type, shape, activation, arrays and parameters per layer."""
    return render_table(
        ("layer", "type", "shape", "activation", "arrays", "parameters"),
        [(str(r.index), r.kind, f"{_shape(r.input_shape)} -> {_shape(r.output_shape)}", r.text,
          r.arrays, str(r.n_params)) for r in layer_rows(net)],
    )


def network_summary(net: Network) -> str:
    """``"4 -> 8 (sigmoid) -> Dropout (rate 0.2) -> 3 (softmax)"``: the input width, then each
    trained layer's output width and each other layer's type, with its description."""
    rows = layer_rows(net)
    steps = [_shape(rows[0].input_shape)] if rows else []
    for r in rows:
        head = _shape(r.output_shape) if r.n_params else r.kind
        steps.append(head if r.text in ("", "-") else f"{head} ({r.text})")
    return " -> ".join(steps)
