"""ONNX nodes for each layer type: a registry of converters, one function per layer class.

A converter takes the layer, the name of its input value and the :class:`Graph`, adds the nodes
that compute the layer's eval-mode forward pass, and returns the name of its output value.  A
layer whose class has no converter cannot be exported (:func:`converter_for` names it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from backprop.export.graph import Graph
from backprop.nn.activations import ELU_ALPHA, LEAKY_RELU_SLOPE
from backprop.nn.layers import (
    Activation,
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Layer,
    MaxPool2D,
    Standardize,
)

__all__ = ["CONVERTERS", "converter", "converter_for", "activation_nodes", "ExportError"]

Converter = Callable[[Any, str, Graph], str]

#: Layer class -> the function that writes its ONNX nodes.
CONVERTERS: dict[type, Converter] = {}


class ExportError(ValueError):
    """A network (a layer, an activation, a preprocessing step) that ONNX export cannot
    express; raised before anything is written."""


def converter(cls: type) -> Callable[[Converter], Converter]:
    """Register the decorated function as the ONNX converter of layer class ``cls``."""

    def register(func: Converter) -> Converter:
        CONVERTERS[cls] = func
        return func

    return register


def converter_for(layer: Layer, index: int) -> Converter:
    """The converter of ``layer`` (found by its class, then its base classes); ExportError
    naming the layer when there is none."""
    for cls in type(layer).__mro__:
        if cls in CONVERTERS:
            return CONVERTERS[cls]
    raise ExportError(f"layer {index} ({type(layer).__name__}) cannot be exported to ONNX: no "
                      f"converter for it (exportable: "
                      f"{', '.join(sorted(c.__name__ for c in CONVERTERS))})")


def activation_nodes(name: str, x: str, g: Graph, axis: int = 1) -> str:
    """The nodes of activation ``name`` applied to ``x`` (``axis``: softmax's, the second as
    ours: the units of a row, the channels of an image)."""
    simple = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "softplus": "Softplus"}
    if name == "linear":
        return x
    if name in simple:
        return g.node(simple[name], [x])
    if name == "leaky_relu":
        return g.node("LeakyRelu", [x], alpha=float(LEAKY_RELU_SLOPE))
    if name == "elu":
        return g.node("Elu", [x], alpha=float(ELU_ALPHA))
    if name == "softmax":
        return g.node("Softmax", [x], axis=axis)
    raise ExportError(f"activation {name!r} has no ONNX form")


@converter(Dense)
def _dense(layer: Dense, x: str, g: Graph) -> str:
    """``a = f(a_prev W + b)``: one Gemm (W of shape (n_in, n_out), no transpose), then f."""
    W = g.const("W", layer.params["W"], np.float32)
    b = g.const("b", layer.params["b"], np.float32)
    z = g.node("Gemm", [x, W, b], hint="z")
    return activation_nodes(layer.activation.name, z, g)


@converter(Dropout)
def _dropout(layer: Dropout, x: str, g: Graph) -> str:
    """Dropout is the identity at inference."""
    return x


@converter(Standardize)
def _standardize(layer: Standardize, x: str, g: Graph) -> str:
    """``(x - mean) / scale`` (or ``x * scale + mean``) in float64, as the layer computes it,
    then back to float32: the same numbers to the last bit."""
    mean = g.const("mean", layer.buffers["mean"], np.float64)
    scale = g.const("scale", layer.buffers["scale"], np.float64)
    wide = g.node("Cast", [x], hint="x64", to=g.onnx.TensorProto.DOUBLE)
    if layer.inverse:
        out = g.node("Add", [g.node("Mul", [wide, scale]), mean])
    else:
        out = g.node("Div", [g.node("Sub", [wide, mean]), scale])
    return g.node("Cast", [out], hint="x32", to=g.onnx.TensorProto.FLOAT)


@converter(Activation)
def _activation(layer: Activation, x: str, g: Graph) -> str:
    """An activation on its own: the same nodes as a Dense layer's."""
    return activation_nodes(layer.activation.name, x, g)


@converter(BatchNorm)
def _batchnorm(layer: BatchNorm, x: str, g: Graph) -> str:
    """Eval mode: ``gamma * (x - running_mean) / sqrt(running_var + eps) + beta``, ONNX's
    BatchNormalization in inference form ((N, C) or (N, C, H, W))."""
    f32 = np.float32
    return g.node("BatchNormalization",
                  [x, g.const("gamma", layer.params["gamma"], f32),
                   g.const("beta", layer.params["beta"], f32),
                   g.const("running_mean", layer.buffers["running_mean"], f32),
                   g.const("running_var", layer.buffers["running_var"], f32)],
                  epsilon=float(layer.eps))


def _window_attrs(window: Any) -> dict[str, list[int]]:
    """ONNX's kernel_shape, strides and pads (begin h, begin w, end h, end w) of a window."""
    (kh, kw), (sh, sw), (ph, pw) = window.kernel, window.stride, window.padding
    return {"kernel_shape": [kh, kw], "strides": [sh, sw], "pads": [ph, pw, ph, pw]}


@converter(Conv2D)
def _conv(layer: Conv2D, x: str, g: Graph) -> str:
    """``z = W * a_prev + b`` (NCHW input, OIHW weights, zero padding), then f."""
    attrs = _window_attrs(layer.window)
    del attrs["kernel_shape"]  # the weights' shape says it
    W = g.const("W", layer.params["W"], np.float32)
    b = g.const("b", layer.params["b"], np.float32)
    z = g.node("Conv", [x, W, b], hint="z", **attrs)
    return activation_nodes(layer.activation.name, z, g)


@converter(MaxPool2D)
def _max_pool(layer: MaxPool2D, x: str, g: Graph) -> str:
    """The largest value of each window (padding -inf, as ONNX's)."""
    return g.node("MaxPool", [x], **_window_attrs(layer.window))


@converter(AvgPool2D)
def _avg_pool(layer: AvgPool2D, x: str, g: Graph) -> str:
    """The mean of each window, zero padding counted (count_include_pad=1)."""
    return g.node("AveragePool", [x], count_include_pad=1, **_window_attrs(layer.window))


@converter(Flatten)
def _flatten(layer: Flatten, x: str, g: Graph) -> str:
    """(N, C, H, W) -> (N, C*H*W) in C order: ONNX's Flatten at axis 1."""
    return g.node("Flatten", [x], axis=1)
