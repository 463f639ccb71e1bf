"""``export_onnx``: a trained network as an ONNX file that any ONNX runtime can serve.

The graph has one float input ``X`` of shape (batch, *input_shape) — or, for a model that
encodes a raw table, one input per table column (see :mod:`backprop.export.table`) — and the
outputs:

* ``output``: exactly what ``net.predict`` returns (probabilities for classifiers, values in the
  target's units for regressors), float32 of shape (batch, n_out);
* ``label`` (classifiers): what ``net.predict_labels`` returns — the class labels themselves
  (text, integers, floats or booleans as the model holds them; the class index without
  ``classes``), shape (batch,), or the 0/1 matrix of a multi-label model.

Opset 17 with IR version 8 (and ``ai.onnx.ml`` 3 for text categories), so that runtimes
released since 2022 load it.  The model's feature names, classes, task and backprop version go
into ``metadata_props``.  Every layer is converted before anything is written; the file is
checked by ``onnx.checker.check_model(full_check=True)`` and written atomically.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from backprop._version import __version__
from backprop.export.graph import IR_VERSION, ML_OPSET, OPSET, Graph
from backprop.export.layers import ExportError, activation_nodes, converter_for
from backprop.export.table import table_inputs
from backprop.nn.layers import Dense, Standardize
from backprop.nn.sequential import Sequential
from backprop.saving import atomic_write, check_destination

__all__ = ["export_onnx", "onnx_model", "ExportError", "OPSET", "ML_OPSET", "IR_VERSION"]

BATCH = "batch"


def onnx_model(net: Sequential) -> Any:
    """The ``onnx.ModelProto`` of ``net`` (see the module docstring); ExportError naming the
    first layer or column that cannot be expressed."""
    g = Graph()
    TP = g.onnx.TensorProto
    if net.preprocessor is not None:
        x = table_inputs(net.preprocessor, g, BATCH)
    else:
        x = g.add_input("X", TP.FLOAT, [BATCH, *net.input_shape])
    layers = list(net.layers)
    i = 0
    while i < len(layers):
        layer = layers[i]
        if _foldable(layers, i):  # an input Standardize folded into the Dense after it
            x = _folded_dense(layer, layers[i + 1], x, g)
            i += 2
            continue
        x = converter_for(layer, i)(layer, x, g)
        i += 1
    g.add_output(x, "output", TP.FLOAT, [BATCH, net.n_out])
    if net.loss.is_classifier:
        _label_output(net, x, g)
    return g.model("backprop", _metadata(net), doc=repr(net))


def _foldable(layers: list[Any], i: int) -> bool:
    """A (forward) Standardize followed by a Dense: one Gemm computes both."""
    return (isinstance(layers[i], Standardize) and not layers[i].inverse
            and i + 1 < len(layers) and isinstance(layers[i + 1], Dense))


def _folded_dense(std: Standardize, dense: Dense, x: str, g: Graph) -> str:
    """``f(((x - mean) / scale) W + b) = f(x W' + b')`` with ``W' = W / scale[:, None]`` and
    ``b' = b - (mean / scale) W``, computed in float64 and rounded once: the graph's first
    product reads the raw input, with no pass of its own for the standardization (its numbers
    differ from ours by float32 rounding, well inside the 1e-5 the tests allow)."""
    mean, scale = std.buffers["mean"], std.buffers["scale"]
    W = dense.params["W"].astype(np.float64)
    W_folded = W / scale[:, None]
    b_folded = dense.params["b"].astype(np.float64) - (mean / scale) @ W
    z = g.node("Gemm", [x, g.const("W", W_folded, np.float32), g.const("b", b_folded,
                                                                          np.float32)], hint="z")
    return activation_nodes(dense.activation.name, z, g)


def _label_output(net: Sequential, out: str, g: Graph) -> None:
    """``label``: argmax (softmax) or ``out > 0.5`` (sigmoid), then the class labels."""
    TP = g.onnx.TensorProto
    if net.loss.fused_activation == "softmax":
        idx = g.node("ArgMax", [out], hint="class", axis=1, keepdims=0)
    else:
        above = g.node("Greater", [out, g.const("half", np.float32(0.5))])
        idx = g.node("Cast", [above], hint="class", to=TP.INT64)
        if net.n_out > 1:  # multi-label: the 0/1 matrix, as predict_labels
            g.add_output(idx, "label", TP.INT64, [BATCH, net.n_out])
            return
        idx = g.node("Squeeze", [idx, g.const("axis", np.array([1], np.int64))])
    if net.classes is None:
        g.add_output(idx, "label", TP.INT64, [BATCH])
        return
    table, elem = _class_table(net.classes, TP)
    g.add_output(g.node("Gather", [g.const("classes", table), idx], axis=0), "label", elem,
                 [BATCH])


def _class_table(classes: list[Any], TP: Any) -> tuple[np.ndarray, int]:
    """The classes as a tensor of one type (mixed types become text) and its ONNX type."""
    kinds = {type(c) for c in classes}
    if kinds == {bool}:
        return np.array(classes, dtype=np.bool_), TP.BOOL
    if kinds == {int}:
        return np.array(classes, dtype=np.int64), TP.INT64
    if kinds <= {int, float} and float in kinds:
        return np.array(classes, dtype=np.float64), TP.DOUBLE
    return np.array([str(c) for c in classes], dtype=object), TP.STRING


def _metadata(net: Sequential) -> dict[str, str]:
    pre = net.preprocessor
    meta = {
        "backprop_version": __version__,
        "task": _task(net),
        "classes": json.dumps(net.classes),
        "feature_names": json.dumps(net.feature_names),
        "inputs": json.dumps(list(pre.columns_used) if pre is not None else ["X"]),
    }
    if net.metadata.get("target") is not None:
        meta["target"] = str(net.metadata["target"])
    return meta


def _task(net: Sequential) -> str:
    if not net.loss.is_classifier:
        return "regression"
    if net.loss.fused_activation == "softmax":
        return "multiclass"
    return "binary" if net.n_out == 1 else "multilabel"


def export_onnx(net: Sequential, path: str | os.PathLike[str]) -> Any:
    """Write ``net`` to ``path`` as an ONNX model (see the module docstring); returns the
    ``onnx.ModelProto`` written.

    Raises
    ------
    ExportError
        A layer, activation or table column ONNX cannot express (named); nothing is written.
    ModuleNotFoundError
        Without the ``onnx`` package (``pip install 'numpy-backprop[onnx]'``).
    """
    check_destination(path)
    model = onnx_model(net)
    onnx = Graph().onnx
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as exc:  # a converter's bug, not the user's
        raise ExportError(f"the exported graph does not validate: {exc}") from None
    atomic_write(path, model.SerializeToString())
    return model

