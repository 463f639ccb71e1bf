"""A network's state: every layer's parameters, buffers and random generator state, as one
flat dict.

The keys are ``"layers.<i>.<name>"`` for arrays (parameters and buffers, copied) and
``"layers.<i>.rng"`` for the ``bit_generator.state`` of a layer that draws random numbers (a
JSON-able dict).  Model files store the arrays under the same names; checkpoints, the divergence
guard's rewind and early stopping's best weights store the whole state, so a layer with buffers
or a generator is saved, rewound and restored without any of them knowing about it.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from backprop.nn.layers.base import Layer

__all__ = ["network_state", "state_problem", "load_network_state", "array_names",
           "layer_weights", "load_layer_weights"]

Array = np.ndarray


def array_names(layers: Sequence[Layer]) -> dict[str, Array]:
    """``"layers.<i>.<name>"`` -> the array itself (not a copy), parameters and buffers."""
    return {f"layers.{i}.{k}": v for i, layer in enumerate(layers)
            for k, v in layer.arrays().items()}


def network_state(layers: Sequence[Layer]) -> dict[str, Any]:
    """A copy of every layer's arrays and generator state (see the module docstring)."""
    state: dict[str, Any] = {k: v.copy() for k, v in array_names(layers).items()}
    for i, layer in enumerate(layers):
        if layer.rng is not None:
            state[f"layers.{i}.rng"] = copy.deepcopy(layer.rng.bit_generator.state)
    return state


def state_problem(layers: Sequence[Layer], state: dict[str, Any]) -> str | None:
    """What keeps ``state`` from being loaded into ``layers`` (missing or unexpected entries,
    a shape that differs, non-numbers, values a layer refuses, an invalid generator state), or
    None."""
    if not isinstance(state, dict):
        return f"the state must be a dict, got {type(state).__name__}"
    arrays = array_names(layers)
    expected = set(arrays) | {f"layers.{i}.rng" for i, la in enumerate(layers)
                              if la.rng is not None}
    missing, extra = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or extra:
        return "; ".join(([f"missing {missing}"] if missing else [])
                         + ([f"unexpected {extra}"] if extra else []))
    for key, arr in arrays.items():
        value = state[key]
        if np.shape(value) != arr.shape:
            return f"{key}: expected shape {arr.shape}, got {np.shape(value)}"
        dt = np.asarray(value).dtype
        if dt.kind not in "biuf":
            return f"{key}: expected numbers, got dtype {dt}"
    for i, layer in enumerate(layers):
        own = {k: state[f"layers.{i}.{k}"] for k in layer.arrays()}
        problem = layer.check_arrays(own) if own else None
        if problem is not None:
            return f"layers.{i} ({type(layer).__name__}): {problem}"
        if layer.rng is not None:
            try:
                type(layer.rng.bit_generator)().state = state[f"layers.{i}.rng"]
            except (TypeError, ValueError, KeyError) as exc:
                return f"layers.{i}.rng: invalid random generator state ({exc})"
    return None


def load_network_state(layers: Sequence[Layer], state: dict[str, Any]) -> None:
    """Copy ``state`` into the layers' arrays in place and set their generators; everything
    is checked first (``ValueError``), so a bad state leaves the layers unchanged."""
    problem = state_problem(layers, state)
    if problem is not None:
        raise ValueError(f"cannot load the network state: {problem}")
    for key, arr in array_names(layers).items():  # checked: nothing below can fail
        arr[...] = state[key]
    for i, layer in enumerate(layers):
        if layer.rng is not None:
            layer.rng.bit_generator.state = copy.deepcopy(state[f"layers.{i}.rng"])


def layer_weights(layers: Sequence[Layer]) -> list[dict[str, Array]]:
    """A copy of every layer's parameters and buffers, one dict per layer."""
    return [{k: v.copy() for k, v in layer.arrays().items()} for layer in layers]


def load_layer_weights(layers: Sequence[Layer], weights: Sequence[dict[str, Array]]) -> None:
    """Copy per-layer dicts (as from :func:`layer_weights`) into the arrays in place, with
    messages that name the layer and the array; checked first, so a bad entry changes
    nothing.  The layers' generators keep their states."""
    if len(weights) != len(layers):
        raise ValueError(f"expected weights for {len(layers)} layers, got {len(weights)}")
    for i, (layer, w) in enumerate(zip(layers, weights)):
        arrays = layer.arrays()
        if set(w) != set(arrays):
            raise ValueError(f"layer {i}: expected keys {sorted(arrays)}, got {sorted(w)}")
        for k, p in arrays.items():
            if np.shape(w[k]) != p.shape:
                raise ValueError(f"layer {i} {k}: expected shape {p.shape}, got {np.shape(w[k])}")
            dt = np.asarray(w[k]).dtype
            if dt.kind not in "biuf":
                raise ValueError(f"layer {i} {k}: expected numbers, got dtype {dt}")
    full = {f"layers.{i}.{k}": v for i, w in enumerate(weights) for k, v in w.items()}
    full.update({f"layers.{i}.rng": layer.rng.bit_generator.state
                 for i, layer in enumerate(layers) if layer.rng is not None})
    load_network_state(layers, full)
