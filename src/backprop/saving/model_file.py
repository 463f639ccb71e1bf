"""Model files: a network saved in the container of :mod:`backprop.saving.container`.

Its tensors are the network's arrays, named as in the network's state
(``layers.<i>.<name>``: ``W`` and ``b`` of a Dense layer, the ``mean`` and ``scale`` buffers
of a Standardize layer ...).  Its JSON header is::

    {"network": Sequential.config(), "classes": [...] | null,
     "feature_names": [...] | null, "preprocessor": TablePreprocessor.config() | null,
     "metadata": {...}}

Loading checks the header against the layer registry before it allocates anything: each layer
class says which arrays its config needs (``param_shapes``), so an edited header cannot make
us allocate arrays larger than the file's own, and missing, extra, misshapen or non-finite
arrays are named.  Every failure raises :class:`ModelFileError` starting with the file name.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from backprop import _kernels
from backprop.data.tabular import TablePreprocessor
from backprop.nn.checks import check_classes, check_feature_names
from backprop.nn.layers import LAYERS
from backprop.nn.sequential import Sequential
from backprop.nn.state import array_names
from backprop.saving.container import (
    FileContents,
    ModelFileError,
    check_weights,
    read_safetensors,
    write_safetensors,
)

__all__ = ["KIND", "model_header", "save", "load", "network_from_contents", "expected_arrays"]

Array = np.ndarray
PathLike = str | os.PathLike[str]
KIND = "model"


def model_header(net: Sequential) -> dict[str, Any]:
    """The JSON header describing ``net`` (architecture, classes, feature names, preprocessor,
    metadata)."""
    if net.preprocessor is not None and not isinstance(net.preprocessor, TablePreprocessor):
        raise TypeError(f"a model file can hold a TablePreprocessor, not "
                        f"{type(net.preprocessor).__name__}")
    return {
        "network": net.config(),
        "classes": check_classes(net.classes, net.loss, net.n_out),
        "feature_names": check_feature_names(net.feature_names, net.n_in),
        "preprocessor": None if net.preprocessor is None else net.preprocessor.config(),
        "metadata": net.metadata,
    }


def save(net: Sequential, path: PathLike) -> None:
    """Save ``net`` to a safetensors model file, atomically (see the module docstring).

    Parameters
    ----------
    net : Sequential
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
    tensors = array_names(net.layers)
    check_weights(tensors, "save")
    write_safetensors(path, tensors, model_header(net), kind=KIND)


def expected_arrays(config: Any) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """``"layers.<i>.<name>" -> (shape, dtype)`` of every array a network config needs, from
    the layer classes alone; ``ValueError`` for a config that does not describe a network."""
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ValueError("'network' must be an object with a 'layers' list")
    dtype_name = config.get("dtype", "float32")
    if dtype_name not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype_name!r}")
    expected = {}
    for i, spec in enumerate(config["layers"]):
        if not isinstance(spec, dict):
            raise ValueError(f"layers[{i}] must be an object, got {spec!r}")
        kind = spec.get("type")
        if kind not in LAYERS:
            raise ValueError(f"layers[{i}]: unknown layer type {kind!r} (known: {sorted(LAYERS)})")
        try:
            shapes = LAYERS[kind].param_shapes(spec, np.dtype(dtype_name))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"layers[{i}]: {exc}") from None
        expected.update({f"layers.{i}.{k}": v for k, v in shapes.items()})
    return expected


def _check_tensors(tensors: dict[str, Array], expected: dict[str, tuple], name: str) -> None:
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


def network_from_contents(contents: FileContents, name: str = "<model>",
                          cls: type[Sequential] = Sequential) -> Sequential:
    """Build the network (of class ``cls``) described by a validated model file's contents.

    Raises :class:`ModelFileError` (prefixed with ``name``) when the header does not describe a
    valid network or the arrays do not fit it (missing, extra, wrong shape or dtype, NaN/inf).
    """
    header, tensors = contents.header, contents.tensors
    config = header.get("network")
    try:
        expected = expected_arrays(config)
    except ValueError as exc:
        raise ModelFileError(f"{name}: invalid architecture in the header: {exc}") from None
    _check_tensors(tensors, expected, name)
    try:
        pre = header.get("preprocessor")
        net = cls.from_config(config, seed=0, classes=header.get("classes"),
                              feature_names=header.get("feature_names"),
                              preprocessor=None if pre is None else
                              TablePreprocessor.from_config(pre),
                              metadata=header.get("metadata") or {})
        state = net.state_dict()
        state.update(tensors)
        problem = net.check_state(state)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # untrusted JSON
        raise ModelFileError(f"{name}: the header does not describe a valid model: {exc}") from None
    if problem is not None:
        raise ModelFileError(f"{name}: the arrays do not fit the model: {problem}")
    net.load_state_dict(state)
    return net


def load(path: PathLike, cls: type[Sequential] = Sequential) -> Sequential:
    """Load a model saved by :func:`save`, ready to predict.

    Parameters
    ----------
    path : str or path-like
    cls : the network class to build (``backprop.Network`` for :func:`backprop.load`)

    Returns
    -------
    Sequential (of class ``cls``)
        Bit-exact weights, the architecture, loss, classes, feature names and metadata.

    Raises
    ------
    ModelFileError
        For every file that is not a valid model (see the module docstring).
    """
    name = os.fspath(path)
    return network_from_contents(read_safetensors(name, kind=KIND), name, cls)
