"""Prediction and evaluation: forward propagation in chunks (so that no activation of the whole
data set is held at once), and outputs turned into classes and labels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from backprop.nn.checks import check_finite, is_sparse
from backprop.nn.layers.base import Layer
from backprop.nn.losses import Loss
from backprop.nn.propagation import data_cost, forward_pass
from backprop.nn.workspace import NonFiniteZ, Workspace

__all__ = ["predict", "evaluate", "classes_from_output", "labels_from_output"]

Array = np.ndarray


def predict(layers: Sequence[Layer], X: Array, dtype: np.dtype, batch_size: int,
            watch: bool) -> Array:
    """``a[L]`` for checked inputs ``X`` in chunks of ``batch_size`` rows, dropout off, in
    ``dtype``.

    ``watch``: ``X`` has not been checked for NaN/inf, and the first layer watches its ``z``
    instead.  A NaN or inf in row i of X makes every entry of row i of the first layer's
    ``z = X W + b`` a NaN or inf (IEEE: inf * 0 is NaN), so the first layer finds out
    whether ``z`` is finite while it passes over it anyway (raising NonFiniteZ), and only then
    is X searched; a finite X whose ``z`` overflowed is predicted as usual.  This spares a pass
    over all of X (see the predict section of benchmarks/bench_train.py).
    """
    m = X.shape[0]
    ws = Workspace(inference=True)  # chunks reuse one set of arrays; forward's numbers
    result = None
    for start in range(0, m, batch_size):
        chunk = X[start:start + batch_size]
        if is_sparse(chunk):  # the first layer multiplies the rows' stored entries only
            chunk = chunk.astype(dtype, copy=False)
        elif chunk.dtype != dtype:
            cast = ws.get(predict, "X", chunk.shape, dtype)
            np.copyto(cast, chunk, casting="same_kind")
            chunk = cast
        ws.watch_z = watch
        try:
            a = forward_pass(layers, chunk, False, ws)[0]
        except NonFiniteZ:
            check_finite(X[start:start + batch_size], first_row=start)  # raises if X is bad
            a = forward_pass(layers, chunk, False, ws)[0]
        if start == 0 and a.shape[0] == m:
            return a  # one chunk: the workspace's own array, not shared with anyone
        if result is None:
            result = np.empty((m, *a.shape[1:]), dtype=a.dtype)
        result[start:start + a.shape[0]] = a
    return result


def evaluate(layers: Sequence[Layer], loss: Loss, fused: bool, X: Array, y: Array,
             w: Array | None, dtype: np.dtype, batch_size: int) -> tuple[float, Array]:
    """``(J, a[L])``: the data cost (without the L2 term) and the output for checked inputs
    ``X``, targets ``y`` and sample weights ``w``, dropout off, forward in chunks of
    ``batch_size`` rows, each cast to ``dtype``.

    The cost of several chunks is their costs' mean weighted by rows (by the sum of their
    sample weights), which equals the cost of one pass up to float64 rounding; up to
    ``batch_size`` rows it is that one pass.
    """
    m = X.shape[0]
    last = layers[-1]
    if m <= batch_size:
        out, caches = forward_pass(layers, X.astype(dtype, copy=False), False)
        return data_cost(loss, fused, last, out, caches[-1], y, w), out
    result = None
    total = 0.0
    for start in range(0, m, batch_size):
        rows = slice(start, start + batch_size)
        a, caches = forward_pass(layers, X[rows].astype(dtype, copy=False), False)
        if result is None:
            result = np.empty((m, *a.shape[1:]), dtype=a.dtype)
        result[rows] = a
        share = a.shape[0] if w is None else float(w[rows].sum())
        if share:  # a chunk whose rows all weigh 0 adds nothing (its own mean is 0/0)
            w_rows = None if w is None else w[rows]
            total += float(data_cost(loss, fused, last, a, caches[-1], y[rows], w_rows)) * share
    return total / (m if w is None else float(w.sum())), result


def classes_from_output(loss: Loss, a: Array) -> Array:
    """Class indices from an output ``a``: ``argmax`` for softmax outputs; ``a > 0.5`` for
    sigmoid outputs (shape (m,) for one unit, (m, k) for multi-label)."""
    if loss.fused_activation == "softmax":
        return a.argmax(axis=1)
    labels = (a > 0.5).astype(np.int64)
    return labels[:, 0] if labels.shape[1] == 1 else labels


def labels_from_output(loss: Loss, classes: list[Any] | None, out: Array) -> Array:
    """Predictions in the original label space from an output ``out`` (see
    ``Sequential.predict_labels``)."""
    if not loss.is_classifier:
        return out[:, 0] if out.shape[1] == 1 else out
    idx = classes_from_output(loss, out)
    if classes is None or idx.ndim == 2:
        return idx
    kinds = {type(c) for c in classes}
    labels = np.array(classes, dtype=object if len(kinds) > 1 else None)
    return labels[idx]
