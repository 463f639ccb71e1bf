"""``backprop export``: a saved model as an ONNX file, for runtimes where backprop is not
installed."""

from __future__ import annotations

import argparse

import numpy as np

from backprop._utils import optional_import
from backprop.cli.args import check_outputs_apart
from backprop.export import IR_VERSION, ML_OPSET, OPSET, ExportError, export_onnx
from backprop.model import load
from backprop.saving import check_destination

__all__ = ["cmd_export"]


def cmd_export(args: argparse.Namespace) -> int:
    """Convert MODEL to OUT (ONNX) and say what its inputs and outputs are."""
    check_outputs_apart({"OUT": args.out}, {"MODEL": args.model})
    check_destination(args.out)
    net = load(args.model)
    try:
        model = export_onnx(net, args.out)
    except ExportError as exc:
        raise ExportError(f"{args.model}: {exc}") from None
    onnx = optional_import("onnx")
    opsets = f"opset {OPSET}" + (f", ai.onnx.ml {ML_OPSET}" if len(model.opset_import) > 1
                                 else "")
    print(f"exported {args.model} to {args.out} ({opsets}, IR version {IR_VERSION})")
    for what, values in (("inputs", model.graph.input), ("outputs", model.graph.output)):
        shown = ", ".join(f"{v.name} {_type(onnx, v)}" for v in values)
        print(f"{what}: {shown}")
    return 0


def _type(onnx: object, value: object) -> str:
    t = value.type.tensor_type
    elem = onnx.helper.tensor_dtype_to_np_dtype(t.elem_type)
    dims = [d.dim_param or str(d.dim_value) for d in t.shape.dim]
    name = "string" if np.dtype(elem).kind == "O" else str(elem)
    return f"{name}[{', '.join(dims)}]"
