"""Validation of the arrays and labels a network is given: feature matrices, class labels,
feature names.  Each check raises with a message that names the offending shape, row, column or
value; each returns the value in the form the network uses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from backprop import _kernels
from backprop.nn.losses import Loss

__all__ = ["check_X", "check_finite", "check_classes", "check_feature_names"]

Array = np.ndarray


def check_X(X: object, n_in: int | None = None, dtype: Any = None, name: str = "X",
            finite: bool = True) -> Array:
    """Validate a feature matrix: 2-D, numeric, finite and (optionally) ``n_in`` columns wide.

    Returns the array cast to ``dtype`` (no copy when it already is).  Raises ``ValueError``
    naming the shape, or the first row and column holding a NaN or inf.  ``finite=False``
    leaves out the NaN/inf check (for a caller that makes it another way; see
    :func:`check_finite`).
    """
    arr = np.asarray(X)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} has no rows (shape {arr.shape})")
    if n_in is not None and arr.shape[1] != n_in:
        raise ValueError(
            f"{name} has {arr.shape[1]} features (shape {arr.shape}) but the first layer "
            f"expects n_in={n_in}"
        )
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    if finite:
        check_finite(arr, name)
    return arr


def check_finite(arr: Array, name: str = "X", first_row: int = 0) -> None:
    """Raise ``ValueError`` naming the first row and column of the 2-D ``arr`` that holds a NaN
    or inf (rows counted from ``first_row``: ``arr`` may be a chunk of a larger matrix)."""
    bad = _kernels.first_nonfinite(arr)
    if bad is not None:
        i, j = bad
        raise ValueError(f"{name} contains {arr[i, j]} at row {first_row + i}, column {j}")


def check_classes(classes: Sequence[Any] | None, loss: Loss, n_out: int) -> list[Any] | None:
    """Validate class labels for a network's loss and output width; return them as a list of
    plain Python scalars (None passes through)."""
    if classes is None:
        return None
    if isinstance(classes, (str, bytes)) or not isinstance(classes, (Sequence, np.ndarray)):
        raise TypeError(f"classes must be a sequence of labels, got {type(classes).__name__}")
    out = [c.item() if isinstance(c, np.generic) else c for c in classes]
    for i, c in enumerate(out):
        if not isinstance(c, (str, int, float, bool)) or (isinstance(c, float)
                                                          and not np.isfinite(c)):
            raise TypeError(f"classes[{i}] must be a str, int, finite float or bool, got {c!r}")
    if len(set(out)) != len(out):
        raise ValueError(f"classes must be distinct, got {out}")
    if not loss.is_classifier:
        raise ValueError(f"classes need a classification loss, not {loss.name}")
    expected = 2 if loss.fused_activation == "sigmoid" and n_out == 1 else n_out
    if len(out) != expected:
        raise ValueError(f"{len(out)} classes given but the {loss.name} output with {n_out} "
                         f"unit(s) needs {expected}")
    return out


def check_feature_names(names: Sequence[str] | None, n_in: int) -> list[str] | None:
    """Validate feature names: ``n_in`` distinct strings (None passes through)."""
    if names is None:
        return None
    if isinstance(names, str) or not isinstance(names, (Sequence, np.ndarray)):
        raise TypeError(f"feature_names must be a sequence of str, got {type(names).__name__}")
    out = list(names)
    bad = [n for n in out if not isinstance(n, str)]
    if bad:
        raise TypeError(f"feature_names must be strings, got {bad[0]!r}")
    if len(out) != n_in:
        raise ValueError(f"{len(out)} feature_names given but the network has n_in={n_in}")
    if len(set(out)) != len(out):
        dup = next(n for n in out if out.count(n) > 1)
        raise ValueError(f"feature_names must be distinct; {dup!r} appears twice")
    return out
