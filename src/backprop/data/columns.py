"""Columns: choosing the feature columns of a data file and turning them into a checked float
matrix.

Every reader's contents end here, whatever the format: a table's named columns, an NPZ array or
IDX images become ``X`` of shape (m, n), finite, in the dtype asked for (float32 unless the
caller wants float64), with one name per column.  A bad value raises
:class:`~backprop.data.readers.DataError` naming the source, the row and the column; so does a
float64 value that float32 cannot hold.
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
    "check_matrix_shape",
    "convert_into",
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


def frame_features(df: Any, names: list[str], source: str, dtype: Any = np.float32) -> Array:
    """The named DataFrame columns as an (m, n) matrix of ``dtype``, every value checked.

    Booleans become 0/1 and text that parses as numbers is read as numbers; any other text,
    and any missing or non-finite value, raises :class:`DataError` naming its row and column
    (so does a number beyond ``dtype``'s range).  The matrix is filled a column at a time: no
    float64 copy of the whole table is made.
    """
    X = np.empty((len(df), len(names)), dtype=dtype)
    bad: list[str] = []
    for j, name in enumerate(names):
        values = _numeric_column(df[name], name, bad)
        if values is not None:
            with np.errstate(over="ignore", invalid="ignore"):  # checked below
                X[:, j] = values
    if bad:
        raise DataError(f"{source}: non-numeric feature value(s): {'; '.join(bad[:5])}"
                        + (f"; and {len(bad) - 5} more columns" if len(bad) > 5 else "")
                        + " (choose numeric columns with --features, or encode them as numbers)")
    first = _kernels.first_nonfinite(X)
    if first is not None:
        i, j = first
        value = _numeric_column(df[names[j]], names[j], [])[i]
        if np.isfinite(value):
            raise DataError(_out_of_range(source, f"row {i + 1}, column {names[j]!r}",
                                          float(value), X.dtype))
    check_finite_features(X, names, source, tabular=True)
    return X


def _out_of_range(source: str, where: str, value: float, dtype: np.dtype) -> str:
    """The message for a finite value that ``dtype`` cannot hold."""
    return (f"{source}: {where} holds {value!r}, beyond the range of {dtype} (at most "
            f"{float(np.finfo(dtype).max):.4g}); load the data as float64 (--dtype float64)")


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


def check_matrix_shape(shape: tuple[int, ...], dtype: np.dtype, what: str, source: str) -> None:
    """Raise :class:`DataError` unless an array of ``shape`` and ``dtype`` can be a feature
    matrix: numeric, a row per sample, at least one row and one column."""
    if len(shape) < 2:
        raise DataError(f"{source}: {what} must have a row per sample and at least one column, "
                        f"got shape {shape}")
    if dtype.kind not in "biuf":
        raise DataError(f"{source}: {what} must be numeric, got dtype {dtype}")
    if shape[0] == 0:
        raise DataError(f"{source}: {what} has no rows")
    if int(np.prod(shape)) == 0:
        raise DataError(f"{source}: {what} has no columns (shape {shape})")


def convert_into(out: Array, values: Array, what: str, source: str, first_row: int = 0,
                 columns: Array | None = None) -> None:
    """``out[...] = values`` in ``out``'s dtype, for (rows, n) blocks of a matrix whose first
    row here is row ``first_row`` (and whose columns are the matrix's ``columns``, default all).
    A finite value that the narrower dtype cannot hold (1e300 in float32) raises
    :class:`DataError` naming its row and column instead of becoming inf."""
    with np.errstate(over="ignore", invalid="ignore"):  # checked below
        np.copyto(out, values, casting="unsafe")
    if values.dtype.kind == "f" and values.dtype.itemsize > out.dtype.itemsize:
        first = _kernels.first_nonfinite(out)
        if first is not None and np.isfinite(values[first]):
            i, j = first
            j = j if columns is None else int(columns[j])
            raise DataError(_out_of_range(source, f"row {first_row + i + 1}, column {j + 1} of "
                                          f"{what}", values[first].item(), out.dtype))


def as_matrix(arr: Array, what: str, source: str, dtype: Any = np.float32) -> Array:
    """A numeric array of shape (m, ...) as an (m, n) matrix of ``dtype`` (no copy when it
    already is one)."""
    check_matrix_shape(arr.shape, arr.dtype, what, source)
    flat = arr.reshape(arr.shape[0], -1)
    if flat.dtype == dtype:
        return flat
    out = np.empty(flat.shape, dtype=dtype)
    convert_into(out, flat, what, source)
    return out


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
