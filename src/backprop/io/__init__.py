"""Files: atomic writes, the safetensors container, and model files."""

from backprop.io.model_file import (
    FORMAT,
    FORMAT_VERSION,
    FileContents,
    ModelFileError,
    atomic_write,
    check_destination,
    check_weights,
    load,
    read_safetensors,
    save,
    write_safetensors,
)

__all__ = ["FORMAT", "FORMAT_VERSION", "FileContents", "ModelFileError", "atomic_write",
           "check_destination", "check_weights", "load", "read_safetensors", "save",
           "write_safetensors"]
