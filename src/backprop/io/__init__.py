"""Files: atomic writes, the safetensors container, and model files."""

from backprop.io.atomic import atomic_write, check_destination
from backprop.io.container import (
    FORMAT,
    FORMAT_VERSION,
    FileContents,
    ModelFileError,
    check_weights,
    read_safetensors,
    write_safetensors,
)
from backprop.io.model_file import load, model_header, network_from_contents, save

__all__ = ["FORMAT", "FORMAT_VERSION", "FileContents", "ModelFileError", "atomic_write",
           "check_destination", "check_weights", "load", "model_header",
           "network_from_contents", "read_safetensors", "save", "write_safetensors"]
