"""Export: trained networks in formats other programs run (ONNX).

``onnx`` is an optional dependency (``pip install 'numpy-backprop[onnx]'``), imported only when
a file is exported.
"""

from backprop.export.layers import CONVERTERS, ExportError, converter
from backprop.export.onnx_file import IR_VERSION, ML_OPSET, OPSET, export_onnx, onnx_model
from backprop.export.table import onnx_feeds

__all__ = ["export_onnx", "onnx_model", "onnx_feeds", "ExportError", "CONVERTERS", "converter",
           "OPSET", "ML_OPSET", "IR_VERSION"]
