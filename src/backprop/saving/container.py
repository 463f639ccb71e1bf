"""The file container of every file this library writes: safetensors with a JSON header.

A file is one `safetensors <https://huggingface.co/docs/safetensors>`_ file whose string
metadata holds::

    format          "numpy-backprop"
    kind            what the file holds ("model", "checkpoint")
    format_version  "2"
    sha256          SHA-256 over every tensor's name, dtype, shape and bytes, then the kind
                    and the header's text: any change to what the file holds is detected
    header          JSON (what the kind puts there)

Files of format version 1 (whose checksum covers the tensors alone) are still read.

Reading never unpickles and never evaluates anything from the file: safetensors holds raw
little-endian arrays and the header is plain JSON.  Every way a file can be wrong (missing,
empty, truncated, garbage, another program's safetensors file, a newer format version, edited
JSON, a checksum mismatch) raises :class:`ModelFileError`, whose message starts with the file
name and says what is wrong.  Writes are atomic (:mod:`backprop.saving.atomic`).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from backprop import _kernels
from backprop._utils import jsonable
from backprop.saving.atomic import atomic_write

__all__ = ["ModelFileError", "FORMAT", "FORMAT_VERSION", "FileContents", "checksum",
           "write_safetensors", "read_safetensors", "check_weights"]

Array = np.ndarray
PathLike = str | os.PathLike[str]

#: Value of the ``format`` metadata entry of every file this library writes.
FORMAT = "numpy-backprop"
#: The newest format version this library reads and the one it writes.
FORMAT_VERSION = 2
_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class ModelFileError(ValueError):
    """A model file cannot be used: missing, unreadable, truncated, corrupted, edited, from a
    newer format version, or inconsistent with its own architecture.  ``str(err)`` starts with
    the file name and says what is wrong."""


def checksum(tensors: dict[str, Array], kind: str | None = None,
             header_text: str | None = None) -> str:
    """SHA-256 over each tensor's name, dtype, shape and little-endian bytes (sorted by name),
    then, when given, the file's kind and its header's JSON text (format version 2 on: class
    names, feature names and the architecture live in the header, and a flipped byte there
    would change what ``predict`` prints)."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name]
        h.update(f"{name}|{t.dtype.str}|{list(t.shape)}|".encode())
        h.update(np.ascontiguousarray(t, dtype=t.dtype.newbyteorder("<")).tobytes())
    if header_text is not None:
        h.update(f"|kind|{kind}|header|".encode())
        h.update(header_text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def write_safetensors(
    path: PathLike, tensors: dict[str, Array], header: dict[str, Any], kind: str
) -> None:
    """Atomically write named arrays and a JSON header to a safetensors file.

    Parameters
    ----------
    path : str or path-like
    tensors : dict of str -> ndarray
        Arrays of any safetensors dtype (float32/float64 for weights, integers for RNG state).
    header : dict
        JSON-able description; NumPy scalars are converted and non-finite floats stored as null.
    kind : str
        What the file holds (``"model"``; checkpoints use their own kind).
    """
    from safetensors.numpy import save as st_save

    arrays = {}
    for name, t in tensors.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"tensor names must be non-empty strings, got {name!r}")
        arr = np.ascontiguousarray(t)
        if arr.dtype.byteorder == ">":
            arr = arr.astype(arr.dtype.newbyteorder("<"))
        arrays[name] = arr
    header_text = json.dumps(jsonable(header, "header"), allow_nan=False, sort_keys=True)
    metadata = {
        "format": FORMAT,
        "kind": kind,
        "format_version": str(FORMAT_VERSION),
        "sha256": checksum(arrays, kind, header_text),
        "header": header_text,
    }
    try:
        payload = st_save(arrays, metadata=metadata)
    except Exception as exc:  # safetensors rejects e.g. longdouble arrays
        raise ValueError(f"cannot store these arrays in a safetensors file: {exc}") from exc
    atomic_write(path, payload)


@dataclass
class FileContents:
    """A validated safetensors file of this library: its arrays, JSON header and version."""

    tensors: dict[str, Array]
    header: dict[str, Any]
    format_version: int
    kind: str
    size: int


def read_safetensors(path: PathLike, kind: str) -> FileContents:
    """Read and validate a file written by :func:`write_safetensors`.

    Checks, in order: the file can be read and is not empty; it parses as safetensors; its
    metadata says ``format == "numpy-backprop"`` and the expected ``kind``; its format version
    is one this library reads; the checksum matches the tensors (and, from format version 2,
    the kind and the header); the header is a JSON object.
    The returned arrays are fresh, writable, native-endian copies.

    Raises
    ------
    ModelFileError
        For any of the failures above; nothing from the file is executed or unpickled.
    """
    from safetensors.numpy import load as st_load

    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise ModelFileError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ModelFileError(f"{name}: is a folder, not a model file") from None
    except OSError as exc:
        raise ModelFileError(f"{name}: cannot read the file ({exc.strerror or exc})") from None
    if not data:
        raise ModelFileError(f"{name}: empty file (0 bytes), not a model file")
    try:
        raw = st_load(data)
        n = int.from_bytes(data[:8], "little")
        meta = json.loads(data[8:8 + n]).get("__metadata__")
    except Exception as exc:  # any parse failure of untrusted bytes means a bad file
        raise ModelFileError(
            f"{name}: not a valid safetensors file, truncated or corrupted ({exc})"
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(
            f"{name}: not a numpy-backprop file (its safetensors metadata has no "
            f"'format': '{FORMAT}' entry)"
        )
    version_text = meta.get("format_version", "")
    if not (isinstance(version_text, str) and version_text.isascii() and version_text.isdecimal()
            and int(version_text) >= 1):
        raise ModelFileError(f"{name}: invalid format version {version_text!r}")
    version = int(version_text)
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{name}: written in format version {version} by a newer numpy-backprop; this "
            f"version reads format version {FORMAT_VERSION} or older (upgrade numpy-backprop)"
        )
    if meta.get("kind") != kind:
        raise ModelFileError(f"{name}: holds a {meta.get('kind')!r}, not a {kind!r}")
    tensors = {k: np.array(v, dtype=v.dtype.newbyteorder("=")) for k, v in raw.items()}
    header_text = meta.get("header", "")
    if not isinstance(header_text, str):
        raise ModelFileError(f"{name}: its JSON header is not text")
    covered = (kind, header_text) if version >= 2 else (None, None)
    if meta.get("sha256") != checksum(tensors, *covered):
        what = "arrays and header" if version >= 2 else "arrays"
        raise ModelFileError(
            f"{name}: the {what} do not match the checksum recorded in the file "
            f"(corrupted or edited)"
        )
    try:
        header = json.loads(header_text)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise ModelFileError(f"{name}: its JSON header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{name}: its JSON header is not an object")
    return FileContents(tensors, header, version, kind, len(data))


def check_weights(tensors: dict[str, Array], verb: str) -> None:
    """Raise ``ValueError`` (``"cannot {verb} {key}: ..."``) for a tensor that is neither
    float32/float64 nor an integer array (a counter kept as a buffer), or that holds a NaN or
    inf (named with its index): files never hold those."""
    for key, t in tensors.items():
        if t.dtype not in _DTYPES and t.dtype.kind not in "iu":
            raise ValueError(f"cannot {verb} {key}: dtype {t.dtype} (float32, float64 or "
                             "integers only)")
        idx = _kernels.first_nonfinite(t)
        if idx is not None:
            raise ValueError(f"cannot {verb} {key}: it holds {t[idx]} at index {list(idx)}")
