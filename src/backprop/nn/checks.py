"""Validation of the arrays and labels a network is given: feature matrices, class labels,
feature names.  Each check raises with a message that names the offending shape, row, column or
value; each returns the value in the form the network uses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from backprop import _kernels
from backprop.nn.losses import Loss

__all__ = ["check_X", "check_finite", "check_classes", "check_feature_names", "match_columns",
           "check_preprocessor", "is_raw_table", "is_sparse"]


def is_sparse(X: object) -> bool:
    """Whether ``X`` is a SciPy sparse matrix or array."""
    return sp.issparse(X)

Array = np.ndarray


def check_X(X: object, shape: int | Sequence[int] | None = None, dtype: Any = None,
            name: str = "X", finite: bool = True) -> Array:
    """Validate a batch of inputs: numeric, finite, at least one row, and (optionally) of
    trailing shape ``shape`` (an int ``n`` means ``(n,)``: a 2-D feature matrix).

    Without ``shape`` a 2-D array is expected.  Returns the array cast to ``dtype`` (no copy
    when it already is).  Raises ``ValueError`` naming the shape, or the first row and column
    (or index) holding a NaN or inf.  ``finite=False`` leaves out the NaN/inf check (for a
    caller that makes it another way; see :func:`check_finite`).

    A SciPy sparse matrix is accepted for a 2-D shape and returned in CSR format (rows are
    sliced cheaply), its stored entries cast and checked; it is never densified.
    """
    if sp.issparse(X):
        return _check_sparse(X, shape, dtype, name)
    arr = np.asarray(X)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    trailing = None if shape is None else (
        (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape))
    if trailing is None or len(trailing) == 1:
        if arr.ndim != 2:
            raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {arr.shape}")
    elif arr.ndim != len(trailing) + 1:
        raise ValueError(f"{name} must have shape (n_samples, {', '.join(map(str, trailing))}), "
                         f"got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} has no rows (shape {arr.shape})")
    if trailing is not None and arr.shape[1:] != trailing:
        if len(trailing) == 1:
            raise ValueError(
                f"{name} has {arr.shape[1]} features (shape {arr.shape}) but the first layer "
                f"expects n_in={trailing[0]}"
            )
        raise ValueError(f"{name} has shape {arr.shape} but the first layer expects "
                         f"(n_samples, {', '.join(map(str, trailing))})")
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    if finite:
        check_finite(arr, name)
    return arr


def _check_sparse(X: Any, shape: int | Sequence[int] | None, dtype: Any, name: str) -> Any:
    """:func:`check_X` for a SciPy sparse matrix: 2-D, numeric, rows, features, finite."""
    n = None if shape is None else (
        int(shape) if isinstance(shape, (int, np.integer)) else tuple(shape))
    if isinstance(n, tuple):
        if len(n) != 1:
            raise ValueError(f"{name} is a sparse matrix, but the first layer expects inputs "
                             f"of shape (n_samples, {', '.join(map(str, n))})")
        n = n[0]
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got dtype {X.dtype}")
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} has no rows (shape {X.shape})")
    if n is not None and X.shape[1] != n:
        raise ValueError(f"{name} has {X.shape[1]} features (shape {X.shape}) but the first "
                         f"layer expects n_in={n}")
    X = X.tocsr()
    if dtype is not None:
        X = X.astype(dtype, copy=False)
    bad = _kernels.first_nonfinite(X.data)
    if bad is not None:
        # the row of stored entry k is the one whose indptr range holds k
        k = int(bad[0])
        row = int(np.searchsorted(X.indptr, k, side="right")) - 1
        raise ValueError(f"{name} contains {X.data[k]} at row {row}, column {X.indices[k]}")
    return X


def check_finite(arr: Array, name: str = "X", first_row: int = 0) -> None:
    """Raise ``ValueError`` naming the first row and column (or index past the row, for
    higher ranks) of ``arr`` that holds a NaN or inf (rows counted from ``first_row``: ``arr``
    may be a chunk of a larger batch)."""
    bad = _kernels.first_nonfinite(arr)
    if bad is not None:
        i, rest = bad[0], tuple(int(j) for j in bad[1:])
        where = f"column {rest[0]}" if len(rest) == 1 else f"index {rest}"
        raise ValueError(f"{name} contains {arr[bad]} at row {first_row + int(i)}, {where}")


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


def match_columns(X: object, feature_names: Sequence[str] | None, name: str = "X") -> object:
    """A table with named columns (a pandas DataFrame) reordered to ``feature_names``, so that
    columns are matched by name, never silently by position; ``ValueError`` naming the columns
    it lacks.  Anything else (an array, or no feature names) is returned as it is."""
    columns = getattr(X, "columns", None)
    if columns is None or feature_names is None:
        return X
    have = [str(c) for c in columns]
    missing = [f for f in feature_names if f not in have]
    if missing:
        raise ValueError(f"{name} lacks the network's feature column(s) {missing} "
                         f"(it has {have})")
    if have == list(feature_names):
        return X
    return X.iloc[:, [have.index(f) for f in feature_names]]


def check_preprocessor(preprocessor: Any, n_in: int) -> Any:
    """A fitted table preprocessor (an object with ``transform`` and ``feature_names_out_``,
    such as :class:`backprop.data.tabular.TablePreprocessor`) whose output has ``n_in``
    columns; None passes through."""
    if preprocessor is None:
        return None
    if not callable(getattr(preprocessor, "transform", None)):
        raise TypeError(f"preprocessor must have a transform method, got "
                        f"{type(preprocessor).__name__}")
    names = getattr(preprocessor, "feature_names_out_", None)
    if names is None:
        raise ValueError("the preprocessor is not fitted (no feature_names_out_); fit it on the "
                         "training table first")
    if len(names) != n_in:
        raise ValueError(f"the preprocessor makes {len(names)} columns but the network has "
                         f"n_in={n_in}")
    return preprocessor


def is_raw_table(X: object) -> bool:
    """True for a table a preprocessor encodes: a DataFrame (anything with ``columns``), a dict
    of columns, or a NumPy object array (mixed text and numbers)."""
    if hasattr(X, "columns") or isinstance(X, dict):
        return True
    return isinstance(X, np.ndarray) and X.dtype == object
