"""A small builder of ONNX graphs: named nodes, constants and value infos, with unique names.

Only :mod:`backprop.export` uses it; it keeps the converters of each layer free of the ONNX
protobuf plumbing.  The ``onnx`` package is imported when a graph is made, never at import time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backprop._utils import optional_import

__all__ = ["Graph", "OPSET", "ML_OPSET", "IR_VERSION"]

#: The default-domain opset we emit; IR version 8 is the one that goes with it, so that every
#: runtime that knows opset 17 (onnxruntime >= 1.12) loads the file.
OPSET = 17
#: The ``ai.onnx.ml`` opset (LabelEncoder for text categories), released with opset 17.
ML_OPSET = 3
IR_VERSION = 8


class Graph:
    """Nodes, initializers, inputs and outputs of one ONNX graph under construction."""

    def __init__(self) -> None:
        self.onnx = optional_import("onnx")
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.inputs: list[Any] = []
        self.outputs: list[Any] = []
        self.uses_ml = False
        self._count = 0

    def name(self, hint: str) -> str:
        """A fresh value name starting with ``hint``."""
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, hint: str, value: Any, dtype: Any = None) -> str:
        """An initializer holding ``value`` (a NumPy array or scalar; text becomes a string
        tensor); returns its name."""
        arr = np.asarray(value, dtype=dtype)
        name = self.name(hint)
        if arr.dtype.kind in "UO":
            tensor = self.onnx.helper.make_tensor(
                name, self.onnx.TensorProto.STRING, arr.shape,
                [str(v).encode("utf-8") for v in arr.reshape(-1)])
        else:
            tensor = self.onnx.numpy_helper.from_array(arr, name)
        self.initializers.append(tensor)
        return name

    def node(self, op: str, inputs: list[str], hint: str | None = None, domain: str = "",
             outputs: int = 1, **attrs: Any) -> Any:
        """Add an ``op`` node; returns its output name (a list of them when ``outputs > 1``)."""
        names = [self.name(hint or op.lower()) for _ in range(outputs)]
        self.nodes.append(self.onnx.helper.make_node(op, inputs, names, name=self.name(op),
                                                     domain=domain or None, **attrs))
        if domain == "ai.onnx.ml":
            self.uses_ml = True
        return names[0] if outputs == 1 else names

    def add_input(self, name: str, elem_type: int, shape: list[Any]) -> str:
        """Declare a graph input (``shape`` entries: int or a symbolic name such as
        ``"batch"``)."""
        self.inputs.append(self.onnx.helper.make_tensor_value_info(name, elem_type, shape))
        return name

    def add_output(self, value: str, name: str, elem_type: int, shape: list[Any]) -> None:
        """Expose ``value`` as the graph output ``name`` (through an Identity when renamed)."""
        if value != name:
            self.nodes.append(self.onnx.helper.make_node("Identity", [value], [name],
                                                         name=self.name("Identity")))
        self.outputs.append(self.onnx.helper.make_tensor_value_info(name, elem_type, shape))

    def model(self, graph_name: str, metadata: dict[str, str], doc: str) -> Any:
        """The ModelProto, with our opset and IR version and ``metadata`` as metadata_props."""
        helper = self.onnx.helper
        graph = helper.make_graph(self.nodes, graph_name, self.inputs, self.outputs,
                                  self.initializers)
        opsets = [helper.make_opsetid("", OPSET)]
        if self.uses_ml:
            opsets.append(helper.make_opsetid("ai.onnx.ml", ML_OPSET))
        model = helper.make_model(graph, opset_imports=opsets, producer_name="backprop",
                                  doc_string=doc)
        model.ir_version = IR_VERSION
        helper.set_model_props(model, metadata)
        return model
