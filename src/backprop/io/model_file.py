"""Model files: safe, atomic, validated safetensors files.

A model file is one `safetensors <https://huggingface.co/docs/safetensors>`_ file.  Its tensors
are the network's arrays, named ``layers.<i>.<name>`` (``W`` and ``b`` of a Dense layer, the
``mean`` and ``scale`` buffers of a Standardize layer).  Its string metadata holds::

    format          "numpy-backprop"
    kind            "model"  (issue 6's checkpoints reuse the same container with another kind)
    format_version  "1"
    sha256          SHA-256 over every tensor's name, dtype, shape and bytes
    header          JSON: {"network": Network.config(), "classes": [...] | null,
                           "feature_names": [...] | null, "metadata": {...}}

Reading never unpickles and never evaluates anything from the file: safetensors holds raw
little-endian arrays and the header is plain JSON.  Every way a file can be wrong (missing,
empty, truncated, garbage, another program's safetensors file, a newer format version, edited
JSON, tensors that do not fit the architecture, NaN weights, a checksum mismatch) raises
:class:`ModelFileError`, whose message starts with the file name and says what is wrong.

Writes are atomic: the bytes go to a temporary file in the destination folder, which is flushed,
fsync'ed and moved over the destination with ``os.replace``; then the folder is fsync'ed.  A crash
at any point leaves either the old file or the new one, never a mixture (a stale ``.*.tmp`` file
may remain after a hard kill).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from backprop import _kernels

if TYPE_CHECKING:
    from backprop.nn.sequential import Network

__all__ = [
    "ModelFileError",
    "FORMAT",
    "FORMAT_VERSION",
    "FileContents",
    "atomic_write",
    "check_destination",
    "check_weights",
    "write_safetensors",
    "read_safetensors",
    "network_tensors",
    "network_from_contents",
    "save",
    "load",
]

Array = np.ndarray
PathLike = str | os.PathLike[str]

#: Value of the ``format`` metadata entry of every file this library writes.
FORMAT = "numpy-backprop"
#: The newest format version this library reads and the one it writes.
FORMAT_VERSION = 1
_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class ModelFileError(ValueError):
    """A model file cannot be used: missing, unreadable, truncated, corrupted, edited, from a
    newer format version, or inconsistent with its own architecture.  ``str(err)`` starts with
    the file name and says what is wrong."""


# --------------------------------------------------------------------------- atomic writes
_UMASK: int | None = None


def _default_mode() -> int:
    """``0o666`` minus the process umask (what ``open(path, "w")`` would create)."""
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return 0o666 & ~_UMASK


def check_destination(path: PathLike) -> str:
    """Raise ``FileNotFoundError`` when ``path``'s folder does not exist and
    ``IsADirectoryError`` when ``path`` is a folder; return the folder.  :func:`atomic_write`
    checks this, and the CLI before any work, so that a long run does not fail at its end."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            errno.ENOENT, f"cannot write {path}: folder {folder} does not exist"
        )
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, f"cannot write {path}: it is a folder")
    return folder


def atomic_write(path: PathLike, data: bytes | str) -> None:
    """Write ``data`` to ``path`` atomically: temp file in the same folder, flush, fsync,
    ``os.replace``, fsync the folder.

    Parameters
    ----------
    path : str or path-like
        Destination; its folder must exist.  An existing file keeps its permission bits.
    data : bytes or str
        Contents (``str`` is encoded as UTF-8).

    Raises
    ------
    FileNotFoundError
        The destination folder does not exist.
    IsADirectoryError
        ``path`` is a folder.
    OSError
        Any other write failure; the destination is then unchanged and the temp file removed.
    """
    path = os.fspath(path)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    folder = check_destination(path)
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = _default_mode()
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if os.name == "posix":  # make the rename itself durable
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


# --------------------------------------------------------------------------- generic container
def _jsonable(value: Any, where: str = "metadata") -> Any:
    """``value`` with NumPy scalars/arrays turned into Python ones and non-finite floats into
    None, so that ``json.dumps(..., allow_nan=False)`` accepts it."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where} keys must be strings, got {k!r}")
            out[k] = _jsonable(v, f"{where}[{k!r}]")
        return out
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise TypeError(f"{where} holds {type(value).__name__} {value!r}, which JSON cannot store")


def _checksum(tensors: dict[str, Array]) -> str:
    """SHA-256 over each tensor's name, dtype, shape and little-endian bytes (sorted by name)."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name]
        h.update(f"{name}|{t.dtype.str}|{list(t.shape)}|".encode())
        h.update(np.ascontiguousarray(t, dtype=t.dtype.newbyteorder("<")).tobytes())
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
    metadata = {
        "format": FORMAT,
        "kind": kind,
        "format_version": str(FORMAT_VERSION),
        "sha256": _checksum(arrays),
        "header": json.dumps(_jsonable(header, "header"), allow_nan=False, sort_keys=True),
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
    is one this library reads; the header is a JSON object; the checksum matches the tensors.
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
    try:
        header = json.loads(meta.get("header", ""))
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise ModelFileError(f"{name}: its JSON header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{name}: its JSON header is not an object")
    tensors = {k: np.array(v, dtype=v.dtype.newbyteorder("=")) for k, v in raw.items()}
    if meta.get("sha256") != _checksum(tensors):
        raise ModelFileError(
            f"{name}: the arrays do not match the checksum recorded in the file "
            f"(corrupted or edited)"
        )
    return FileContents(tensors, header, version, kind, len(data))


# --------------------------------------------------------------------------- model files
def _layer_arrays(layer: Any) -> dict[str, Array]:
    """A layer's parameters and buffers by name (the names must not collide)."""
    buffers = getattr(layer, "buffers", {})
    clash = set(layer.params) & set(buffers)
    if clash:
        raise ValueError(f"{type(layer).__name__} has a parameter and a buffer named {clash}")
    return {**layer.params, **buffers}


def network_tensors(net: Network) -> dict[str, Array]:
    """Every parameter and buffer of ``net``, named ``layers.<i>.<name>`` (the arrays
    themselves, not copies)."""
    return {f"layers.{i}.{k}": v for i, layer in enumerate(net.layers)
            for k, v in _layer_arrays(layer).items()}


def _model_header(net: Network) -> dict[str, Any]:
    from backprop.nn.checks import check_classes, check_feature_names

    return {
        "network": net.config(),
        "classes": check_classes(net.classes, net.loss, net.n_out),
        "feature_names": check_feature_names(net.feature_names, net.n_in),
        "metadata": net.metadata,
    }


def save(net: Network, path: PathLike) -> None:
    """Save ``net`` to a safetensors model file, atomically (see the module docstring).

    Parameters
    ----------
    net : Network
        Its parameters must be float32 or float64 and finite.
    path : str or path-like
        Destination (``.safetensors`` by convention); its folder must exist.

    Raises
    ------
    ValueError, TypeError
        Non-finite weights, an unsupported dtype, or metadata JSON cannot hold.
    FileNotFoundError
        The destination folder does not exist.
    """
    tensors = network_tensors(net)
    check_weights(tensors, "save")
    write_safetensors(path, tensors, _model_header(net), kind="model")


def check_weights(tensors: dict[str, Array], verb: str) -> None:
    """Raise ``ValueError`` (``"cannot {verb} {key}: ..."``) for a tensor that is not float32 or
    float64 or holds a NaN or inf (named with its index): files never hold those."""
    for key, t in tensors.items():
        if t.dtype not in _DTYPES:
            raise ValueError(f"cannot {verb} {key}: dtype {t.dtype} (float32 or float64 only)")
        idx = _kernels.first_nonfinite(t)
        if idx is not None:
            raise ValueError(f"cannot {verb} {key}: it holds {t[idx]} at index {list(idx)}")


def _expected_shapes(spec: dict[str, Any], dtype: np.dtype) -> dict[str, tuple]:
    """The arrays (name -> (shape, dtype)) a layer spec needs, checked before building it, so
    that an edited header cannot make us allocate arrays larger than the file's own."""
    kind = spec.get("type")

    def width(key: str) -> int:
        v = spec.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{key} must be a positive integer, got {v!r}")
        return v

    if kind == "Dense":
        n_in, n_out = width("n_in"), width("n_out")
        return {"W": ((n_in, n_out), dtype), "b": ((n_out,), dtype)}
    if kind == "Standardize":
        n = width("n_features")
        f64 = np.dtype(np.float64)
        return {"mean": ((n,), f64), "scale": ((n,), f64)}
    if kind == "Dropout":
        return {}
    from backprop.nn.layers import LAYERS

    raise ValueError(f"unknown layer type {kind!r} (known: {sorted(LAYERS)})")


def network_from_contents(contents: FileContents, name: str = "<model>") -> Network:
    """Build the :class:`Network` described by a validated model file's contents.

    Raises :class:`ModelFileError` (prefixed with ``name``) when the header does not describe a
    valid network or the arrays do not fit it (missing, extra, wrong shape or dtype, NaN/inf).
    """
    from backprop.nn.layers import Standardize
    from backprop.nn.sequential import Network

    header, tensors = contents.header, contents.tensors
    config = header.get("network")
    try:
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError("'network' must be an object with a 'layers' list")
        dtype_name = config.get("dtype", "float32")
        if dtype_name not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype_name!r}")
        dtype = np.dtype(dtype_name)
        expected: dict[str, tuple] = {}
        for i, spec in enumerate(config["layers"]):
            if not isinstance(spec, dict):
                raise ValueError(f"layers[{i}] must be an object, got {spec!r}")
            try:
                shapes = _expected_shapes(spec, dtype)
            except ValueError as exc:
                raise ValueError(f"layers[{i}]: {exc}") from None
            expected.update({f"layers.{i}.{k}": v for k, v in shapes.items()})
    except ValueError as exc:
        raise ModelFileError(f"{name}: invalid architecture in the header: {exc}") from None
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        parts = ([f"missing array(s) {missing}"] if missing else []) + (
            [f"unexpected array(s) {extra}"] if extra else [])
        raise ModelFileError(f"{name}: arrays do not match the architecture: {'; '.join(parts)}")
    for key, (shape, dt) in expected.items():
        t = tensors[key]
        if t.shape != shape:
            raise ModelFileError(f"{name}: array {key} has shape {t.shape} but the architecture "
                                 f"needs {shape}")
        if t.dtype != dt:
            raise ModelFileError(f"{name}: array {key} has dtype {t.dtype}, expected {dt}")
        idx = _kernels.first_nonfinite(t)
        if idx is not None:
            raise ModelFileError(f"{name}: array {key} holds {t[idx]} at index {list(idx)}")
    try:
        net = Network.from_config(config, seed=0)
        for i, layer in enumerate(net.layers):
            for k, arr in _layer_arrays(layer).items():
                arr[...] = tensors[f"layers.{i}.{k}"]
            if isinstance(layer, Standardize):  # validates the statistics (scale > 0)
                net.layers[i] = Standardize(**layer.buffers, inverse=layer.inverse)
        metadata = header.get("metadata") or {}
        net = Network(net.layers, loss=net.loss, l2=net.l2, classes=header.get("classes"),
                      feature_names=header.get("feature_names"), metadata=metadata)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # untrusted JSON
        raise ModelFileError(f"{name}: the header does not describe a valid model: {exc}") from None
    return net


def load(path: PathLike) -> Network:
    """Load a model saved by :func:`save` / :meth:`Network.save`, ready to predict.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    Network
        Bit-exact weights, the architecture, loss, classes, feature names and metadata.

    Raises
    ------
    ModelFileError
        For every file that is not a valid model (see the module docstring).
    """
    name = os.fspath(path)
    return network_from_contents(read_safetensors(name, kind="model"), name)
