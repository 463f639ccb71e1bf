"""Data files: one file's feature matrix, feature names and raw target, before the target is
encoded.

One function per format (:func:`table_contents` for CSV/TSV/Parquet, :func:`npz_contents`,
:func:`idx_contents`); each reads with :mod:`backprop.data.readers` (big numeric data block by
block with :mod:`backprop.data.blocks`), chooses the columns with :mod:`backprop.data.columns`
and hashes what it read, so that a saved model can name its data.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from backprop.data.blocks import read_npz_matrix, read_numeric_table, table_columns
from backprop.data.columns import (
    as_matrix,
    choose_columns,
    frame_features,
    labels_vector,
    names_list,
    pixel_names,
    take_columns,
)
from backprop.data.readers import (
    DataError,
    file_sha256,
    idx_labels_path,
    npz_members,
    read_idx,
    read_npz,
    read_table,
)
from backprop.data.tabular import TablePreprocessor, needs_preprocessing

__all__ = ["FileContents", "table_contents", "npz_contents", "idx_contents", "combined_sha256"]

Array = np.ndarray


class FileContents(NamedTuple):
    """What a data file holds before its target is encoded."""

    X: Array | None  # None for a table that needs preprocessing (see ``frame``)
    names: list[str]
    y: Any  # raw target values of shape (m,), or None when not read
    target: str | None
    sha256: str
    #: the raw feature columns of a table that a TablePreprocessor must encode
    frame: Any = None
    preprocessor: TablePreprocessor | None = None


def table_contents(src: str, fmt: str, target: str | None, features: Sequence[str] | None,
                   require_target: bool, preprocessor: TablePreprocessor | None = None,
                   dtype: Any = np.float32, progress: bool = False,
                   **csv_options: str | None) -> FileContents:
    """A CSV/TSV or Parquet file: the target column and the feature columns, as ``dtype``
    (``csv_options``: :func:`~backprop.data.readers.read_table`'s ``sep``, ``decimal`` and
    ``encoding``).

    A table of clean numbers is read block by block straight into one matrix.  Columns that are
    not all clean numbers (text, categories, dates, empty cells) are encoded by
    ``preprocessor`` (fitted here on every row unless it is fitted already; a default
    :class:`TablePreprocessor` when None), as are all columns when it sets column options.
    """
    plain = preprocessor is None or not (preprocessor.is_fitted or preprocessor.uses_options)
    if plain and all(v is None for v in csv_options.values()):
        # a file that is not comma (tab) separated UTF-8 numbers is declined here and read
        # the general way, which sniffs its dialect
        numeric = _numeric_table(src, fmt, target, features, require_target, dtype, progress)
        if numeric is not None:
            return numeric
    df = read_table(src, fmt, **csv_options)
    columns = [str(c) for c in df.columns]
    df.columns = columns
    # a column without a name and without a value (a spreadsheet's trailing separator) holds
    # nothing: it is not a feature to refuse
    blank = [c for c in columns if not c.strip() and df[c].isna().all()]
    if blank:
        df = df.drop(columns=blank)
        columns = [c for c in columns if c not in blank]
    if target is None and require_target:
        raise DataError(f"{src}: no target column given (--target COLUMN); the file has "
                        f"{names_list(columns)}")
    if target is not None and target not in columns:
        raise DataError(f"{src}: no target column {target!r}; the file has "
                        f"{names_list(columns)}")
    names = [columns[j] for j in choose_columns(columns, features, target, src)]
    y_raw = df[target] if target is not None else None
    digest = file_sha256(src)
    if preprocessor is None and needs_preprocessing(df[names]):
        preprocessor = TablePreprocessor()
    if preprocessor is not None and (preprocessor.is_fitted or preprocessor.uses_options
                                     or needs_preprocessing(df[names])):
        frame = df[names]
        try:
            if not preprocessor.is_fitted:
                preprocessor.fit(frame)
            X = preprocessor.transform(frame, dtype=dtype)
        except ValueError as exc:
            raise DataError(f"{src}: {exc}") from None
        return FileContents(X, list(preprocessor.feature_names_out_), y_raw, target, digest,
                            frame, preprocessor)
    X = frame_features(df, names, src, dtype)
    return FileContents(X, names, y_raw, target, digest)


def _numeric_table(src: str, fmt: str, target: str | None, features: Sequence[str] | None,
                   require_target: bool, dtype: Any, progress: bool) -> FileContents | None:
    """The fast path for a table of numbers: the feature columns read block by block straight
    into one matrix of ``dtype`` (:mod:`backprop.data.blocks`); None for any other table (text
    or empty cells, a missing column ...), which :func:`table_contents` reads the general way
    and which says what is wrong."""
    columns = table_columns(src, fmt)
    if columns is None or (target is None and require_target) or (
            target is not None and target not in columns):
        return None
    try:
        names = [columns[j] for j in choose_columns(columns, features, target, src)]
    except DataError:
        return None
    keep = [target] if target is not None else []
    read = read_numeric_table(src, fmt, names, keep, dtype, progress)
    if read is None:
        return None
    X, kept = read
    return FileContents(X, names, kept.get(target), target, file_sha256(src))


def npz_contents(src: str, target: str | None, features: Sequence[str] | None,
                 require_target: bool, dtype: Any = np.float32,
                 progress: bool = False) -> FileContents:
    """An NPZ file: array ``X`` (any shape (m, ...)), the target array (``y`` by default) and
    optional ``feature_names``.  ``X`` is read a block of rows at a time into a matrix of
    ``dtype``; the other arrays of the file are not read."""
    tkey = target if target is not None else "y"
    wants_target = target is not None or require_target
    reads_target = wants_target and tkey not in ("X", "feature_names")
    small = read_npz(src, ["feature_names"] + ([tkey] if reads_target else []))
    members = npz_members(src)
    if "X" not in members:
        raise DataError(f"{src}: no array named 'X' (the file has {sorted(members)})")
    X, shape = read_npz_matrix(src, "X", dtype, progress)
    names = _npz_feature_names(small, shape, src)
    y_raw = None
    if not wants_target:
        pass  # features only (for prediction): an unused target array is not read
    elif reads_target and tkey in small:
        y_raw = labels_vector(small[tkey], X.shape[0], f"array {tkey!r}", src)
    else:
        raise DataError(f"{src}: no target array {tkey!r} (the file has {sorted(members)})")
    X, names = take_columns(X, names, features, src)
    return FileContents(X, names, y_raw, target, file_sha256(src))


def _npz_feature_names(arrays: dict[str, Array], shape: tuple[int, ...], src: str) -> list[str]:
    """The NPZ's ``feature_names`` (n distinct strings), else names from the shape of X."""
    n = int(np.prod(shape[1:]))
    if "feature_names" not in arrays:
        return pixel_names(shape[1:]) if len(shape) > 2 else [f"x{j}" for j in range(n)]
    fn = arrays["feature_names"]
    if fn.dtype.kind != "U" or fn.shape != (n,):
        raise DataError(f"{src}: feature_names must be {n} strings, got "
                        f"dtype {fn.dtype} shape {fn.shape}")
    names = [str(v) for v in fn]
    dup = next((v for j, v in enumerate(names) if v in names[:j]), None)
    if dup is not None:
        raise DataError(f"{src}: feature_names lists {dup!r} twice")
    return names


def idx_contents(src: str, target: str | None, features: Sequence[str] | None,
                 require_target: bool, dtype: Any = np.float32) -> FileContents:
    """A single IDX images file (as a matrix of ``dtype``), with labels from ``target`` or the
    MNIST-named file next to it."""
    images = read_idx(src)
    X = as_matrix(images, "the IDX array", src, dtype)
    names = pixel_names(images.shape[1:])
    labels_file = target if target is not None else (
        idx_labels_path(src) if require_target else None)
    y_raw = None
    if labels_file is not None:
        y_raw = labels_vector(read_idx(labels_file), X.shape[0],
                              f"the labels in {labels_file}", src)
    elif require_target:
        raise DataError(f"{src}: no labels file found next to it; name it with --target "
                        f"LABELS_FILE (target= in Python)")
    X, names = take_columns(X, names, features, src)
    digest = combined_sha256([src] + ([labels_file] if labels_file else []))
    return FileContents(X, names, y_raw, labels_file, digest)


def combined_sha256(paths: Sequence[str]) -> str:
    """One SHA-256 for several files: the hash of their hashes and base names, in order."""
    h = hashlib.sha256()
    for p in paths:
        h.update(f"{file_sha256(p)}  {os.path.basename(p)}\n".encode())
    return h.hexdigest()
