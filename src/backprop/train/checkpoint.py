"""Checkpoints: everything needed to continue a training run exactly where it stopped.

A checkpoint is the model file's container (:mod:`backprop.io`: safetensors, JSON header,
checksum, atomic write) with ``kind == "checkpoint"``.  Beside the network's arrays
(``layers.<i>.<name>``) it holds::

    optimizer.<i>.<slot>      the optimizer's state arrays (Adam's m and v, SGD's momentum ...)
    run.order                 this epoch's order of the training rows (a run stopped mid-epoch)
    run.train_rows, run.val_rows
                              the rows of a validation split
    callbacks.<j>.<name>      array state of callback j (EarlyStopping's best weights)

and in its JSON header: the model header (architecture, classes, feature names, metadata), the
optimizer's class, hyperparameters, step count and initial learning rate, the position in the
run (epoch, batches done in that epoch, the epoch's running loss and accuracy sums, global
step), the bit-generator states of the shuffling and of every Dropout layer, the history so
far, each callback's JSON state, and the run's *settings* (architecture, data shape and hash,
batch size, optimizer, schedule, seed ...).  Resuming compares the settings with the new call's
and refuses, listing every difference, when they disagree.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from backprop.io.model_file import (
    FileContents,
    ModelFileError,
    _model_header,
    check_weights,
    network_from_contents,
    network_tensors,
    read_safetensors,
    write_safetensors,
)

if TYPE_CHECKING:
    from backprop.nn.sequential import Network
    from backprop.train.callbacks import Callback

__all__ = ["Checkpoint", "save_checkpoint", "load_checkpoint", "data_fingerprint",
           "settings_differences", "check_restorable", "KIND"]

Array = np.ndarray
PathLike = str | os.PathLike[str]
KIND = "checkpoint"


@dataclass
class Checkpoint:
    """The state of a training run between two steps.

    Attributes
    ----------
    network : Network
        Weights, architecture, classes, feature names, metadata.
    optimizer : dict
        ``{"class": str, "hyperparameters": dict, "base_lr": float, "step": int,
        "slots": list of dict of arrays, or None}``.
    progress : dict
        ``{"epoch": int, "batch": int, "loss_sum": float, "acc_sum": float,
        "global_step": int}``: ``batch`` batches of epoch ``epoch`` are done.
    rng_state : dict
        The shuffling generator's ``bit_generator.state``.
    dropout_states : list of dict
        Each Dropout layer's generator state, in layer order.
    history : dict
        ``{"history": {key: [floats]}, "epoch": [ints]}``.
    callbacks : list of dict
        ``{"class": str, "state": dict, "arrays": dict of arrays}`` per callback.
    settings : dict
        What must not change on resume.
    order, train_rows, val_rows : ndarray or None
    """

    network: Network
    optimizer: dict[str, Any]
    progress: dict[str, Any]
    rng_state: dict[str, Any]
    dropout_states: list[dict[str, Any]]
    history: dict[str, Any]
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    order: Array | None = None
    train_rows: Array | None = None
    val_rows: Array | None = None


def data_fingerprint(*arrays: Array | None) -> str:
    """SHA-256 over the shapes, dtypes and bytes of ``arrays`` (None counts as absent)."""
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"none|")
            continue
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}|{list(a.shape)}|".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()


def settings_differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Human-readable lines, one per setting that differs (empty when they agree)."""
    lines = []
    for key in sorted(set(saved) | set(current)):
        a, b = saved.get(key), current.get(key)
        if a != b:
            lines.append(f"{key}: checkpoint has {a!r}, this run has {b!r}")
    return lines


def save_checkpoint(path: PathLike, ckpt: Checkpoint) -> None:
    """Write ``ckpt`` to ``path`` atomically (temp file, fsync, rename, fsync the folder).

    Raises ``ValueError`` for non-finite weights: a checkpoint never holds NaN or inf.
    """
    tensors: dict[str, Array] = dict(network_tensors(ckpt.network))
    check_weights(tensors, "checkpoint")
    slots = ckpt.optimizer.get("slots")
    slot_names: list[list[str]] | None = None
    if slots is not None:
        slot_names = []
        for i, s in enumerate(slots):
            slot_names.append(sorted(s))
            for name, arr in s.items():
                tensors[f"optimizer.{i}.{name}"] = arr
    for name in ("order", "train_rows", "val_rows"):
        arr = getattr(ckpt, name)
        if arr is not None:
            tensors[f"run.{name}"] = np.asarray(arr, dtype=np.int64)
    callbacks_json = []
    for j, cb in enumerate(ckpt.callbacks):
        for name, arr in cb["arrays"].items():
            tensors[f"callbacks.{j}.{name}"] = arr
        callbacks_json.append({"class": cb["class"], "state": cb["state"],
                               "arrays": sorted(cb["arrays"])})
    header = {
        "model": _model_header(ckpt.network),
        "optimizer": {k: v for k, v in ckpt.optimizer.items() if k != "slots"}
        | {"slot_names": slot_names},
        "progress": ckpt.progress,
        "rng_state": ckpt.rng_state,
        "dropout_states": ckpt.dropout_states,
        "history": ckpt.history,
        "callbacks": callbacks_json,
        "settings": ckpt.settings,
    }
    write_safetensors(path, tensors, header, kind=KIND)


def _require(header: dict[str, Any], key: str, kind: type, name: str) -> Any:
    value = header.get(key)
    if not isinstance(value, kind):
        raise ModelFileError(f"{name}: checkpoint header entry {key!r} is missing or malformed")
    return value


def load_checkpoint(path: PathLike) -> Checkpoint:
    """Read and validate a checkpoint written by :func:`save_checkpoint`.

    Raises :class:`backprop.ModelFileError` for a missing, truncated, corrupted or edited file.
    """
    name = os.fspath(path)
    contents = read_safetensors(name, kind=KIND)
    header, tensors = contents.header, contents.tensors
    model = _require(header, "model", dict, name)
    net = network_from_contents(
        FileContents({k: v for k, v in tensors.items() if k.startswith("layers.")}, model,
                     contents.format_version, "model", contents.size), name)
    opt = dict(_require(header, "optimizer", dict, name))
    slot_names = opt.pop("slot_names", None)
    try:
        opt["slots"] = None if slot_names is None else [
            {s: tensors[f"optimizer.{i}.{s}"] for s in names} for i, names in enumerate(slot_names)
        ]
        callbacks = [
            {"class": cb["class"], "state": cb["state"],
             "arrays": {a: tensors[f"callbacks.{j}.{a}"] for a in cb["arrays"]}}
            for j, cb in enumerate(_require(header, "callbacks", list, name))
        ]
    except (KeyError, TypeError) as exc:
        raise ModelFileError(f"{name}: checkpoint is missing the array {exc}") from None
    progress = _require(header, "progress", dict, name)
    for key in ("epoch", "batch", "global_step"):
        if not isinstance(progress.get(key), int) or progress[key] < 0:
            raise ModelFileError(f"{name}: checkpoint progress {key!r} is malformed")
    return Checkpoint(
        network=net,
        optimizer=opt,
        progress=progress,
        rng_state=_require(header, "rng_state", dict, name),
        dropout_states=_require(header, "dropout_states", list, name),
        history=_require(header, "history", dict, name),
        callbacks=callbacks,
        settings=_require(header, "settings", dict, name),
        order=tensors.get("run.order"),
        train_rows=tensors.get("run.train_rows"),
        val_rows=tensors.get("run.val_rows"),
    )


def check_restorable(ckpt: Checkpoint, params: list[Array], n_dropouts: int, m: int,
                     batch_size: int | None, path: PathLike,
                     callbacks: Sequence[Callback] = ()) -> None:
    """Check everything a resume will read from ``ckpt`` against the run it continues, so that
    resuming either succeeds or changes nothing (the JSON header is not covered by the file's
    checksum: an edited one must fail here, not halfway through restoring).

    ``params`` are the network's parameter arrays, ``m`` the number of rows of X (before a
    validation split); each of the run's ``callbacks`` checks its own saved state
    (:meth:`Callback.check_state`).  Raises :class:`ModelFileError`.
    """
    name = os.fspath(path)

    def bad(what: str) -> ModelFileError:
        return ModelFileError(f"{name}: cannot resume: {what}")

    slots = ckpt.optimizer.get("slots")
    if slots is not None:
        if len(slots) != len(params):
            raise bad(f"optimizer state for {len(slots)} arrays, the network has {len(params)}")
        for i, (s, p) in enumerate(zip(slots, params)):
            for k, v in s.items():
                if v.shape != p.shape or v.dtype != p.dtype:
                    raise bad(f"optimizer state {i}.{k} is {v.dtype}{list(v.shape)}, the "
                              f"parameter {p.dtype}{list(p.shape)}")
    if len(ckpt.dropout_states) != n_dropouts:
        raise bad(f"{len(ckpt.dropout_states)} dropout generator states for {n_dropouts} "
                  "Dropout layers")
    for state in [ckpt.rng_state, *ckpt.dropout_states]:
        try:
            np.random.default_rng().bit_generator.state = state
        except (TypeError, ValueError, KeyError) as exc:
            raise bad(f"invalid random generator state ({exc})") from None
    rows = m
    for key in ("train_rows", "val_rows"):
        arr = getattr(ckpt, key)
        if arr is not None and (arr.ndim != 1 or arr.size == 0 or arr.min() < 0
                                or arr.max() >= m):
            raise bad(f"{key} are not row indices of the {m} training rows")
    if ckpt.train_rows is not None:
        rows = ckpt.train_rows.size
    p = ckpt.progress
    n_batches = 1 if batch_size is None else -(-rows // batch_size)
    if p["batch"] >= n_batches:
        raise bad(f"position batch {p['batch']} of an epoch of {n_batches} batches")
    # a run stopped inside a shuffled epoch saves that epoch's order, and only then
    if (ckpt.order is not None) != bool(p["batch"] and ckpt.settings.get("shuffle")):
        raise bad("this epoch's row order is " + ("missing" if ckpt.order is None
                                                   else "present although nothing uses it"))
    if ckpt.order is not None and not np.array_equal(np.sort(ckpt.order), np.arange(rows)):
        raise bad("this epoch's row order is not a permutation of the training rows")
    for key in ("loss_sum", "acc_sum", "base_lr"):
        value = p.get(key) if key != "base_lr" else ckpt.optimizer.get(key)
        if not _is_real(value):
            raise bad(f"{key} is {value!r}")
    hist = ckpt.history
    if not (isinstance(hist.get("history"), dict) and isinstance(hist.get("epoch"), list)
            and all(isinstance(v, list) and all(map(_is_real, v))
                    for v in hist["history"].values())
            and all(map(_is_count, hist["epoch"]))
            and (hist.get("stopped_epoch") is None or _is_count(hist["stopped_epoch"]))):
        raise bad("malformed history")
    for j, saved in enumerate(ckpt.callbacks):
        state = saved.get("state")
        if not isinstance(state, dict):
            raise bad(f"malformed state of callback {j}")
        if j < len(callbacks):
            # the checkpoint's network: its architecture is the run's (settings compared)
            problem = callbacks[j].check_state(state, saved["arrays"], ckpt.network)
            if problem is not None:
                raise bad(f"callback {j} ({saved.get('class')}): {problem}")


def _is_real(value: Any) -> bool:
    """A JSON number (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_count(value: Any) -> bool:
    """A non-negative JSON integer (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
