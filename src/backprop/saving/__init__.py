"""Saving: atomic writes, the safetensors container of every file we write, and model files."""

from backprop.saving.atomic import atomic_write, check_destination
from backprop.saving.container import (
    FORMAT,
    FORMAT_VERSION,
    FileContents,
    ModelFileError,
    check_weights,
    read_safetensors,
    write_safetensors,
)
from backprop.saving.model_file import load, model_header, network_from_contents, save

__all__ = ["FORMAT", "FORMAT_VERSION", "FileContents", "ModelFileError", "atomic_write",
           "check_destination", "check_weights", "load", "model_header",
           "network_from_contents", "read_safetensors", "save", "write_safetensors"]
