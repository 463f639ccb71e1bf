"""Checkpoints: everything needed to continue a training run exactly where it stopped.

A checkpoint is the container of :mod:`backprop.saving.container` (safetensors, JSON header,
checksum, atomic write) with ``kind == "checkpoint"``.  Each part of the run is a state dict of
the one shape the project uses (names to arrays or JSON-able values): the network's
(``Sequential.state_dict``: parameters, buffers, layer generators), the optimizer's, each
callback's, and the run's own position.  The arrays become tensors named ``<part>.<name>``
(``network.layers.0.W``, ``optimizer.slots.0.m``, ``callbacks.0.best.layers.0.W``,
``run.order``); everything else goes to the JSON header, which also holds the model header
(architecture, classes, feature names, metadata), the optimizer's class, hyperparameters and
initial learning rate, the history so far, and the run's *settings* (architecture, data shape
and hash, batch size, optimizer, schedule, seed ...).  Resuming compares the settings with the
new call's and refuses, listing every difference, when they disagree; then every part is
checked against the live run before anything is restored into it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from backprop import _kernels
from backprop._utils import is_count, is_real
from backprop.nn.sequential import Sequential
from backprop.nn.state import array_names
from backprop.saving.container import (
    ModelFileError,
    check_weights,
    read_safetensors,
    write_safetensors,
)

if TYPE_CHECKING:
    from backprop.optim import Optimizer
    from backprop.train.callbacks import Callback

__all__ = ["Checkpoint", "save_checkpoint", "load_checkpoint", "check_restorable", "KIND",
           "LAYOUT"]

Array = np.ndarray
PathLike = str | os.PathLike[str]
KIND = "checkpoint"
#: How the parts of a run are laid out in the file (the container's format version is the
#: safetensors + JSON framing, shared with model files; this is the checkpoint's own schema).
LAYOUT = 2
_RUN_ARRAYS = ("order", "train_rows", "val_rows")


@dataclass
class Checkpoint:
    """The state of a training run between two steps.

    Attributes
    ----------
    network : dict
        ``Sequential.state_dict()``: parameters, buffers and layer generator states.
    model : dict
        The model header (architecture, classes, feature names, metadata).
    optimizer : dict
        ``{"class": str, "hyperparameters": dict, "base_lr": float, "state": dict}`` with the
        optimizer's ``state_dict()``.
    progress : dict
        ``{"epoch": int, "batch": int, "loss_sum": float, "acc_sum": float,
        "global_step": int}``: ``batch`` batches of epoch ``epoch`` are done.
    rng_state : dict
        The shuffling generator's ``bit_generator.state``.
    history : dict
        ``History.state_dict()``.
    callbacks : list of dict
        ``{"class": str, "state": Callback.state_dict()}`` per callback.
    settings : dict
        What must not change on resume.
    order, train_rows, val_rows : ndarray or None
    """

    network: dict[str, Any]
    model: dict[str, Any]
    optimizer: dict[str, Any]
    progress: dict[str, Any]
    rng_state: dict[str, Any]
    history: dict[str, Any]
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    order: Array | None = None
    train_rows: Array | None = None
    val_rows: Array | None = None

    def build_network(self, cls: type[Sequential] | None = None) -> Sequential:
        """The network the checkpoint holds, with its weights, buffers and generators (of class
        ``cls``: ``backprop.Network`` to train it further; the plain ``Sequential`` by
        default).  Raises ``ValueError`` when the model header and the state disagree."""
        model = self.model
        net = (cls or Sequential).from_config(
            model["network"], seed=0, classes=model.get("classes"),
            feature_names=model.get("feature_names"), metadata=model.get("metadata") or {})
        net.load_state_dict(self.network)
        return net


def _pack(prefix: str, state: dict[str, Any], tensors: dict[str, Array]) -> dict[str, Any]:
    """Move the arrays of a state dict into ``tensors`` (as ``<prefix>.<name>``); return the
    JSON part, with the array names listed under ``"arrays"``."""
    values, names = {}, []
    for key, value in state.items():
        if isinstance(value, np.ndarray):
            tensors[f"{prefix}.{key}"] = value
            names.append(key)
        else:
            values[key] = value
    return {"values": values, "arrays": sorted(names)}


def _unpack(prefix: str, part: Any, tensors: dict[str, Array], name: str) -> dict[str, Any]:
    """The state dict :func:`_pack` split."""
    if not (isinstance(part, dict) and isinstance(part.get("values"), dict)
            and isinstance(part.get("arrays"), list)
            and all(isinstance(key, str) for key in part["arrays"])):
        raise ModelFileError(f"{name}: checkpoint part {prefix!r} is missing or malformed")
    state = dict(part["values"])
    for key in part["arrays"]:
        if f"{prefix}.{key}" not in tensors:
            raise ModelFileError(f"{name}: checkpoint part {prefix!r} misses the array {key!r}")
        state[key] = tensors[f"{prefix}.{key}"]
    return state


def save_checkpoint(path: PathLike, ckpt: Checkpoint) -> None:
    """Write ``ckpt`` to ``path`` atomically (temp file, fsync, rename, fsync the folder).

    Raises ``ValueError`` for non-finite weights: a checkpoint never holds NaN or inf.
    """
    tensors: dict[str, Array] = {}
    network = _pack("network", ckpt.network, tensors)
    check_weights(tensors, "checkpoint")
    optimizer = {k: v for k, v in ckpt.optimizer.items() if k != "state"}
    optimizer["state"] = _pack("optimizer", ckpt.optimizer["state"], tensors)
    callbacks = [{"class": cb["class"], "state": _pack(f"callbacks.{j}", cb["state"], tensors)}
                 for j, cb in enumerate(ckpt.callbacks)]
    for key in _RUN_ARRAYS:
        arr = getattr(ckpt, key)
        if arr is not None:
            tensors[f"run.{key}"] = np.asarray(arr, dtype=np.int64)
    header = {
        "layout": LAYOUT,
        "model": ckpt.model,
        "network": network,
        "optimizer": optimizer,
        "progress": ckpt.progress,
        "rng_state": ckpt.rng_state,
        "history": ckpt.history,
        "callbacks": callbacks,
        "settings": ckpt.settings,
    }
    write_safetensors(path, tensors, header, kind=KIND)


def _require(header: dict[str, Any], key: str, kind: type, name: str) -> Any:
    value = header.get(key)
    if not isinstance(value, kind):
        raise ModelFileError(f"{name}: checkpoint header entry {key!r} is missing or malformed")
    return value


def load_checkpoint(path: PathLike) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` and check its structure.

    Raises :class:`backprop.ModelFileError` for a missing, truncated, corrupted or edited file.
    Whether it fits a given run is :func:`check_restorable`'s question.
    """
    name = os.fspath(path)
    contents = read_safetensors(name, kind=KIND)
    header, tensors = contents.header, contents.tensors
    layout = header.get("layout", 1)
    if layout != LAYOUT:
        raise ModelFileError(
            f"{name}: a checkpoint in layout {layout!r} (this version resumes layout {LAYOUT}, "
            "where each part of the run is stored by name): resume it with the numpy-backprop "
            "that wrote it, or train again")
    optimizer = dict(_require(header, "optimizer", dict, name))
    optimizer["state"] = _unpack("optimizer", optimizer.get("state"), tensors, name)
    callbacks = []
    for j, cb in enumerate(_require(header, "callbacks", list, name)):
        if not isinstance(cb, dict):
            raise ModelFileError(f"{name}: checkpoint callback {j} is malformed")
        callbacks.append({"class": cb.get("class"),
                          "state": _unpack(f"callbacks.{j}", cb.get("state"), tensors, name)})
    progress = _require(header, "progress", dict, name)
    for key in ("epoch", "batch", "global_step"):
        if not is_count(progress.get(key)):
            raise ModelFileError(f"{name}: checkpoint progress {key!r} is malformed")
    return Checkpoint(
        network=_unpack("network", header.get("network"), tensors, name),
        model=_require(header, "model", dict, name),
        optimizer=optimizer,
        progress=progress,
        rng_state=_require(header, "rng_state", dict, name),
        history=_require(header, "history", dict, name),
        callbacks=callbacks,
        settings=_require(header, "settings", dict, name),
        **{key: tensors.get(f"run.{key}") for key in _RUN_ARRAYS},
    )


def check_restorable(ckpt: Checkpoint, network: Sequential, optimizer: Optimizer, m: int,
                     batch_size: int | None, path: PathLike,
                     callbacks: Sequence[Callback] = ()) -> None:
    """Check everything a resume will read from ``ckpt`` against the run it continues, so that
    resuming either succeeds or changes nothing (the JSON header is not covered by the file's
    checksum: an edited one must fail here, not halfway through restoring).

    ``m`` is the number of rows of X (before a validation split); the network, the optimizer
    and each callback check their own saved state.  Raises :class:`ModelFileError`.
    """
    name = os.fspath(path)

    def bad(what: str) -> ModelFileError:
        return ModelFileError(f"{name}: cannot resume: {what}")

    problem = network.check_state(ckpt.network)
    if problem is not None:
        raise bad(f"the network state does not fit: {problem}")
    for key, arr in array_names(network.layers).items():
        saved = ckpt.network[key]
        if saved.dtype != arr.dtype:
            raise bad(f"the network state's {key} is {saved.dtype}, the network's {arr.dtype}")
        idx = _kernels.first_nonfinite(saved)
        if idx is not None:
            raise bad(f"the network state's {key} holds {saved[idx]} at index {list(idx)}")
    if len(ckpt.callbacks) != len(callbacks):
        raise bad(f"state for {len(ckpt.callbacks)} callbacks, the run has {len(callbacks)}")
    problem = optimizer.check_state(ckpt.optimizer["state"], network.parameters())
    if problem is not None:
        raise bad(f"the optimizer state does not fit: {problem}")
    try:
        np.random.default_rng().bit_generator.state = ckpt.rng_state
    except (TypeError, ValueError, KeyError) as exc:
        raise bad(f"invalid random generator state ({exc})") from None
    _check_position(ckpt, m, batch_size, bad)
    for key in ("loss_sum", "acc_sum"):
        if not is_real(ckpt.progress.get(key)):
            raise bad(f"{key} is {ckpt.progress.get(key)!r}")
    if not is_real(ckpt.optimizer.get("base_lr")):
        raise bad(f"base_lr is {ckpt.optimizer.get('base_lr')!r}")
    hist = ckpt.history
    if not (isinstance(hist.get("history"), dict) and isinstance(hist.get("epoch"), list)
            and all(isinstance(v, list) and all(map(is_real, v))
                    for v in hist["history"].values())
            and all(map(is_count, hist["epoch"]))
            and (hist.get("stopped_epoch") is None or is_count(hist["stopped_epoch"]))):
        raise bad("malformed history")
    for j, (cb, saved) in enumerate(zip(callbacks, ckpt.callbacks)):
        problem = cb.check_state(saved["state"], network)
        if problem is not None:
            raise bad(f"callback {j} ({saved.get('class')}): {problem}")


def _check_position(ckpt: Checkpoint, m: int, batch_size: int | None, bad: Any) -> None:
    """The rows of a validation split, the position in the epoch and the epoch's row order."""
    rows = m
    for key in ("train_rows", "val_rows"):
        arr = getattr(ckpt, key)
        if arr is not None and (arr.ndim != 1 or arr.size == 0 or arr.min() < 0
                                or arr.max() >= m):
            raise bad(f"{key} are not row indices of the {m} training rows")
    if ckpt.train_rows is not None:
        rows = ckpt.train_rows.size
    batch = ckpt.progress["batch"]
    n_batches = 1 if batch_size is None else -(-rows // batch_size)
    if batch >= n_batches:
        raise bad(f"position batch {batch} of an epoch of {n_batches} batches")
    # a run stopped inside a shuffled epoch saves that epoch's order, and only then
    if (ckpt.order is not None) != bool(batch and ckpt.settings.get("shuffle")):
        raise bad("this epoch's row order is " + ("missing" if ckpt.order is None
                                                   else "present although nothing uses it"))
    if ckpt.order is not None and not np.array_equal(np.sort(ckpt.order), np.arange(rows)):
        raise bad("this epoch's row order is not a permutation of the training rows")
