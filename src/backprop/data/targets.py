"""Targets: what a target column means and how it is encoded for training.

:func:`infer_task` reads the task from the values (unless told):

* text or boolean labels -> classification;
* integers with at most :data:`MAX_INTEGER_CLASSES` distinct values -> classification;
* other numbers -> regression.

:func:`encode_target` turns classification targets into class indices ``0 .. k-1`` into the
sorted original labels (strings allowed; two classes make a ``"binary"`` task, more a
``"multiclass"`` one) or, given a trained model's classes, into indices of those; regression
targets into finite float64 values.  Bad values raise :class:`DataError` naming the source, the
column and the row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from backprop import _kernels
from backprop._utils import clip_repr, optional_import
from backprop.data.readers import DataError

__all__ = ["TASKS", "MAX_INTEGER_CLASSES", "check_task", "infer_task", "encode_target"]

Array = np.ndarray

#: Accepted values of ``task`` (None and "auto" infer it from the target).
TASKS = ("auto", "classification", "regression", "binary", "multiclass")
#: Integer targets with at most this many distinct values are read as class labels.
MAX_INTEGER_CLASSES = 20


def _series(values: Any) -> Any:
    pd = optional_import("pandas")
    return values.reset_index(drop=True) if isinstance(values, pd.Series) else pd.Series(
        np.asarray(values).reshape(-1))


def infer_task(values: Any, where: str = "target") -> tuple[str, str]:
    """``("classification" | "regression", reason)`` for target values of shape (m,), by
    scikit-learn's ``type_of_target`` reading.

    Text and booleans are class labels; integers are class labels when there are at most
    :data:`MAX_INTEGER_CLASSES` distinct values, and so are decimals that are all whole
    numbers (``0.0``/``1.0``); other numbers are a regression target.  A text column whose
    cells are numbers but for a few is neither: :class:`DataError` (prefixed with ``where``)
    names those cells.
    """
    pd = optional_import("pandas")
    types = pd.api.types
    s = _series(values)
    if types.is_bool_dtype(s.dtype):
        return "classification", "boolean target"
    if types.is_numeric_dtype(s.dtype):
        return _numeric_task(s, types.is_integer_dtype(s.dtype))
    _check_not_mostly_numbers(pd, s, where)
    return "classification", "text labels"


def _numeric_task(s: Any, integer: bool) -> tuple[str, str]:
    values = s.to_numpy()
    whole = integer or bool(np.all(np.mod(values[np.isfinite(values)], 1) == 0))
    n = s.nunique()
    written = "integer values" if integer else "whole numbers written as decimals"
    if whole and n <= MAX_INTEGER_CLASSES:
        return "classification", (f"{n} distinct {written} (whole numbers with at most "
                                  f"{MAX_INTEGER_CLASSES} values are class labels)")
    if whole:
        return "regression", (f"{n} distinct {written} (more than {MAX_INTEGER_CLASSES}, so a "
                              f"quantity)")
    return "regression", "floating-point target"


def _check_not_mostly_numbers(pd: Any, s: Any, where: str) -> None:
    """A text column that is numbers except for a few cells ("?", "-", "n/a") is a numeric
    target with junk in it, not a classifier with a class per distinct number."""
    present = s.dropna()
    present = present[present.astype(str).str.strip() != ""]
    numeric = pd.to_numeric(present, errors="coerce")
    bad = numeric.isna()
    if len(present) == 0 or not bad.any() or bad.sum() * 2 > len(present):
        return
    rows = np.flatnonzero(s.index.isin(present.index[bad.to_numpy()]))
    shown = ", ".join(f"row {i + 1}: {clip_repr(_label(s.iloc[i]))}" for i in rows[:5])
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    raise DataError(f"{where}: the column holds numbers except for {len(rows)} cell(s) "
                    f"({shown}{more}); fix or drop those rows, or give the task "
                    f"('classification' if the values are labels)")


def _label(value: Any) -> Any:
    """A class label as a plain Python scalar."""
    return value.item() if isinstance(value, np.generic) else value


def _bytes_kind(value: Any) -> int:
    """0 for a value that is not bytes, 1 for UTF-8 bytes, 2 for bytes that are not UTF-8."""
    if not isinstance(value, bytes):
        return 0
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return 2
    return 1


def _sorted_labels(labels: list[Any]) -> list[Any]:
    try:
        return sorted(labels)
    except TypeError:  # mixed types: group by type, then by text
        return sorted(labels, key=lambda v: (type(v).__name__, str(v)))


def encode_target(
    values: Any,
    task: str | None = None,
    classes: Sequence[Any] | None = None,
    source: str = "<data>",
    column: str = "y",
) -> tuple[Array, str, list[Any], str]:
    """Encode target values of shape (m,) for training or evaluation.

    Parameters
    ----------
    values : array-like or pandas Series of shape (m,)
    task : None/"auto", "classification", "binary", "multiclass" or "regression"
    classes : sequence, optional
        Known class labels (a trained model's, or a data set's official ones): labels are mapped
        to their indices, and a label outside them is an error.  ``task`` may then not be
        "regression", and "binary" needs two classes.
    source, column : str
        Used in error messages.

    Returns
    -------
    y : ndarray of shape (m,)
        int64 class indices, or float64 values for regression.
    task : "binary", "multiclass" or "regression"
    classes : list
        Sorted distinct labels (empty for regression).
    reason : str
        Why the task was chosen.
    """
    task = check_task(task)
    s = _series(values)
    where = f"{source}: target column {column!r}"
    _check_labels_readable(s, where)
    if classes is not None:
        return _encode_known_classes(s, task, list(classes), where)
    if task is None:
        kind, reason = infer_task(s, where)
    else:
        kind = "regression" if task == "regression" else "classification"
        reason = f"task {task!r} requested"
    if kind == "regression":
        return _encode_regression(s, where), "regression", [], reason
    return (*_encode_classes(s, task, where), reason)


def check_task(task: str | None) -> str | None:
    """``task`` when it is one of :data:`TASKS` (None for "auto" or None); else ValueError."""
    if task is None or task == "auto":
        return None
    if task not in TASKS:
        raise ValueError(f"task must be one of {list(TASKS)}, got {task!r}")
    return task


def _check_labels_readable(s: Any, where: str) -> None:
    """No missing value, and no byte string (a CSV cell that is not UTF-8 text, or an NPZ
    byte-string array): the first one found is named by its row."""
    missing = s.isna().to_numpy()
    if missing.any():
        i = int(np.argmax(missing))
        raise DataError(f"{where}: row {i + 1} is empty (or NA/NaN)")
    if optional_import("pandas").api.types.infer_dtype(s, skipna=True) in ("bytes", "mixed"):
        kind = np.array([_bytes_kind(v) for v in s], dtype=np.int8)
        if kind.any():
            i = int(np.argmax(kind == kind.max()))
            what = "is not UTF-8 text" if kind[i] == 2 else "is a byte string, not text"
            raise DataError(f"{where}: row {i + 1} holds {clip_repr(bytes(s.iloc[i]))}, which "
                            f"{what}; labels must be numbers or text")


def _encode_known_classes(s: Any, task: str | None, known: list[Any],
                          where: str) -> tuple[Array, str, list[Any], str]:
    """Indices into ``known`` (a model's or a data set's classes), the requested task checked
    against them."""
    pd = optional_import("pandas")
    if task == "regression":
        raise DataError(f"{where}: task 'regression' requested, but the target holds the "
                        f"class labels {clip_repr(known, 200)}")
    if task == "binary" and len(known) != 2:
        raise DataError(f"{where}: task 'binary' needs 2 classes, found {len(known)}")
    idx = pd.Index(known).get_indexer(s)
    if (idx < 0).any():  # e.g. class "1" saved from a text column, read back as the int 1
        by_text = pd.Index([str(c) for c in known]).get_indexer(s.astype(str))
        idx = np.where(idx < 0, by_text, idx)
    if (idx < 0).any():
        i = int(np.argmax(idx < 0))
        raise DataError(f"{where}: row {i + 1} holds label {clip_repr(_label(s.iloc[i]))}, "
                        f"which is not one of the model's classes {clip_repr(known, 200)}")
    kind = task if task in ("binary", "multiclass") else (
        "binary" if len(known) == 2 else "multiclass")
    return idx.astype(np.int64), kind, known, "the model's classes"


def _encode_regression(s: Any, where: str) -> Array:
    """Finite float64 values; text or non-finite values are named by their row."""
    pd = optional_import("pandas")
    types = pd.api.types
    if types.is_bool_dtype(s.dtype):
        s = s.astype(np.float64)
    num = pd.to_numeric(s, errors="coerce") if not types.is_numeric_dtype(s.dtype) else s
    bad = num.isna().to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(f"{where}: a regression target needs numbers, but row {i + 1} holds "
                        f"{clip_repr(_label(s.iloc[i]))} (use task 'classification' for "
                        f"class labels)")
    y = num.to_numpy(dtype=np.float64)
    bad = _kernels.first_nonfinite(y)
    if bad is not None:
        raise DataError(f"{where}: row {bad[0] + 1} holds {y[bad]}")
    return y


def _encode_classes(s: Any, task: str | None, where: str) -> tuple[Array, str, list[Any]]:
    """Indices into the sorted distinct labels, and ``"binary"`` or ``"multiclass"``."""
    labels = _sorted_labels([_label(v) for v in s.unique()])
    if len(labels) < 2:
        raise DataError(f"{where} has a single class {clip_repr(labels[0])}; a classifier needs "
                        f"at least two")
    if task == "binary" and len(labels) != 2:
        raise DataError(f"{where}: task 'binary' needs 2 classes, found {len(labels)}")
    kind = "binary" if len(labels) == 2 and task != "multiclass" else "multiclass"
    idx = optional_import("pandas").Index(labels).get_indexer(s)
    return idx.astype(np.int64), kind, labels
