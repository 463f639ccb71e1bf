"""What must not change between a checkpointed run and its resumption: the run's settings
(architecture, data, batch size, optimizer, schedule, seed, callbacks) and each callback's
configuration, compared entry by entry so that a refusal can list every difference."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from backprop._utils import jsonable
from backprop.optim import LRSchedule, Optimizer
from backprop.train.callbacks import Callback
from backprop.train.checkpoint import Checkpoint, check_restorable, load_checkpoint

if TYPE_CHECKING:
    from backprop.nn.sequential import Sequential

__all__ = ["run_settings", "settings_differences", "callback_differences", "data_fingerprint",
           "normalised", "checked_checkpoint"]

Array = np.ndarray


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


def normalised(value: Any) -> Any:
    """``value`` as it reads back from a checkpoint's JSON header (tuples become lists ...)."""
    return json.loads(json.dumps(jsonable(value, "settings"), allow_nan=False))


def callback_differences(saved: list[dict[str, Any]], callbacks: list[Callback]) -> list[str]:
    """One line per callback whose configuration (the ``"config"`` entry of its state, such as
    EarlyStopping's patience and monitor) differs from the one saved in a checkpoint."""
    lines = []
    for j, (cb, entry) in enumerate(zip(callbacks, saved)):
        state = entry.get("state")
        if not isinstance(state, dict) or "config" not in state:
            continue
        config = normalised(cb.state_dict().get("config"))
        if state["config"] != config:
            lines.append(f"callbacks[{j}] ({type(cb).__name__}): checkpoint has "
                         f"{state['config']!r}, this run has {config!r}")
    return lines


def run_settings(network: Sequential, X: Array, y: Array, w: Array | None, X_val: Array | None,
              y_val: Array | None, batch_size: int | None, shuffle: bool,
              validation_split: float, optimizer: Optimizer, lr_schedule: LRSchedule | None,
              seed: Any, callbacks: list[Callback], class_weight: Any = None
              ) -> dict[str, Any]:
    """What must not change between a checkpointed run and its resumption (``class_weight``:
    None, ``"balanced"`` or the weights by class index)."""
    return normalised({
        "architecture": network.config(),
        "data": {"X": list(X.shape), "y": list(y.shape),
                 "sha256": data_fingerprint(X, y, w, X_val, y_val)},
        "batch_size": batch_size, "shuffle": bool(shuffle),
        "validation_split": validation_split,
        "optimizer": [type(optimizer).__name__, optimizer.hyperparameters()],
        "lr_schedule": None if lr_schedule is None else
        [type(lr_schedule).__name__, lr_schedule.config()],
        "seed": int(seed) if isinstance(seed, (int, np.integer)) else None,
        "callbacks": [type(cb).__name__ for cb in callbacks],
        "class_weight": class_weight,
    })


def checked_checkpoint(path: str | os.PathLike[str], settings: dict[str, Any],
                       network: Sequential, optimizer: Optimizer,
                       callbacks: Sequence[Callback], m: int, batch_size: int | None
                       ) -> Checkpoint:
    """The checkpoint at ``path``, read and compared with this run before any state changes:
    ``ValueError`` listing every setting that differs, :class:`ModelFileError` for a file
    whose contents do not fit the run (:func:`check_restorable`)."""
    ckpt = load_checkpoint(path)
    diffs = settings_differences(ckpt.settings, settings) + \
        callback_differences(ckpt.callbacks, list(callbacks))
    if diffs:
        raise ValueError(f"cannot resume from {os.fspath(path)}: the run's settings differ "
                         "from the checkpoint's:\n  " + "\n  ".join(diffs))
    check_restorable(ckpt, network, optimizer, m, batch_size, path, callbacks)
    return ckpt
