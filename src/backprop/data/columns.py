"""Columns: choosing the feature columns of a data file and turning them into a checked float64
matrix.

Every reader's contents end here, whatever the format: a table's named columns, an NPZ array or
IDX images become ``X`` of shape (m, n), float64 and finite, with one name per column.  A bad
value raises :class:`~backprop.data.readers.DataError` naming the source, the row and the column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from backprop import _kernels
from backprop._utils import clip_repr, optional_import
from backprop.data.readers import DataError

__all__ = [
    "names_list",
    "choose_columns",
    "frame_features",
    "check_finite_features",
    "as_matrix",
    "take_columns",
    "pixel_names",
    "labels_vector",
]

Array = np.ndarray


def names_list(names: Sequence[str], limit: int = 20) -> str:
    """Column names for a message: the first ``limit`` quoted, then how many more there are."""
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def choose_columns(available: list[str], features: Sequence[str] | None, exclude: str | None,
                   source: str) -> list[int]:
    """Indices into ``available`` of the requested feature names (all but ``exclude`` when
    ``features`` is None).

    Raises :class:`DataError` for a missing, duplicated or unnamed column, for the target
    requested as a feature, and when no column is left.
    """
    if features is None:
        chosen = [j for j, n in enumerate(available) if n != exclude]
    else:
        features = list(features)
        missing = [n for n in features if n not in available]
        if missing:
            raise DataError(f"{source}: missing feature column(s) {names_list(missing)} "
                            f"(the file has {names_list(available)})")
        if exclude is not None and exclude in features:
            raise DataError(f"{source}: column {exclude!r} is the target; it cannot also be a "
                            f"feature")
        if len(set(features)) != len(features):
            dup = next(n for n in features if features.count(n) > 1)
            raise DataError(f"{source}: feature column {dup!r} is listed twice")
        chosen = [available.index(n) for n in features]
    if not chosen:
        raise DataError(f"{source}: no feature columns left (the file has "
                        f"{names_list(available)})")
    unnamed = [j for j in chosen if not str(available[j]).strip()]
    if unnamed:
        raise DataError(f"{source}: column {unnamed[0] + 1} has no name in the header (an index "
                        f"written by pandas' to_csv?); name it or choose columns with --features")
    return chosen


def frame_features(df: Any, names: list[str], source: str) -> Array:
    """The named DataFrame columns as a float64 (m, n) matrix, every value checked.

    Booleans become 0/1 and text that parses as numbers is read as numbers; any other text,
    and any missing or non-finite value, raises :class:`DataError` naming its row and column.
    """
    cols, bad = [], []
    for name in names:
        values = _numeric_column(df[name], name, bad)
        if values is not None:
            cols.append(values)
    if bad:
        raise DataError(f"{source}: non-numeric feature value(s): {'; '.join(bad[:5])}"
                        + (f"; and {len(bad) - 5} more columns" if len(bad) > 5 else "")
                        + " (choose numeric columns with --features, or encode them as numbers)")
    X = np.column_stack(cols) if cols else np.empty((len(df), 0))
    check_finite_features(X, names, source, tabular=True)
    return X


def _numeric_column(s: Any, name: str, bad: list[str]) -> Array | None:
    """A pandas column as float64 values (missing ones NaN), or None after appending the
    first value that is not a number to ``bad``."""
    pd = optional_import("pandas")
    types = pd.api.types
    if types.is_bool_dtype(s.dtype):
        return s.astype(np.float64).to_numpy()
    if types.is_numeric_dtype(s.dtype) and not types.is_complex_dtype(s.dtype):
        return s.to_numpy(dtype=np.float64, na_value=np.nan)
    if types.is_object_dtype(s.dtype) or types.is_string_dtype(s.dtype) or isinstance(
            s.dtype, pd.CategoricalDtype):
        obj = s.astype(object)
        num = pd.to_numeric(obj, errors="coerce")
        wrong = (num.isna() & obj.notna()).to_numpy()
        if wrong.any():
            i = int(np.argmax(wrong))
            bad.append(f"row {i + 1}, column {name!r}: {clip_repr(obj.iloc[i])}")
            return None
        return num.to_numpy(dtype=np.float64, na_value=np.nan)
    bad.append(f"column {name!r} has type {s.dtype}, row 1: {clip_repr(s.iloc[0])}")
    return None


def check_finite_features(X: Array, names: list[str], source: str,
                          tabular: bool = False) -> None:
    """Raise :class:`DataError` naming the row and column of the first NaN or inf of ``X``
    (a NaN read from a table is reported as an empty cell)."""
    bad = _kernels.first_nonfinite(X)
    if bad is not None:
        i, j = bad
        what = "is empty (or NA/NaN)" if tabular and np.isnan(X[i, j]) else f"holds {X[i, j]}"
        raise DataError(f"{source}: row {i + 1}, column {names[j]!r} {what}; features must be "
                        f"finite numbers")


def as_matrix(arr: Array, what: str, source: str) -> Array:
    """A numeric array of shape (m, ...) as a float64 (m, n) matrix (one copy)."""
    if arr.ndim < 2:
        raise DataError(f"{source}: {what} must have a row per sample and at least one column, "
                        f"got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{source}: {what} must be numeric, got dtype {arr.dtype}")
    if arr.shape[0] == 0:
        raise DataError(f"{source}: {what} has no rows")
    if arr.size == 0:
        raise DataError(f"{source}: {what} has no columns (shape {arr.shape})")
    return arr.reshape(arr.shape[0], -1).astype(np.float64)


def take_columns(X: Array, names: list[str], features: Sequence[str] | None,
                 source: str) -> tuple[Array, list[str]]:
    """The requested columns of a float matrix (all of them without a copy), checked finite."""
    keep = choose_columns(names, features, None, source)
    if keep != list(range(len(names))):
        X, names = X[:, keep], [names[j] for j in keep]
    check_finite_features(X, names, source)
    return X, names


def pixel_names(shape: tuple[int, ...]) -> list[str]:
    """Column names for samples of ``shape``: ``x0, x1, ...`` for vectors, else
    ``pixel_<row>_<col>...`` (one index per axis)."""
    if len(shape) == 1:
        return [f"x{j}" for j in range(shape[0])]
    return ["pixel_" + "_".join(map(str, ix)) for ix in np.ndindex(*shape)]


def labels_vector(arr: Array, m: int, what: str, source: str) -> Array:
    """``arr`` as a vector of ``m`` labels (a single column is flattened), else DataError."""
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1 or arr.shape[0] != m:
        raise DataError(f"{source}: {what} must have shape ({m},) to match the {m} feature rows, "
                        f"got {arr.shape}")
    return arr
