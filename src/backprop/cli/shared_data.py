"""The rows ``mpiexec -n N backprop train`` works on: each process reads only its share of the
data file's rows (:mod:`backprop.data.shares`), and the split and the standardisation are those
one process computes on all the rows.

What is shared, and what is not:

* the **features** never leave their process: process ``r`` holds rows ``[first_row,
  first_row + its rows)`` of the file;
* the **target column** (one value per row) is gathered on every process, so that the task,
  the classes and every split (stratified, or the data set's own) are exactly one process's;
* the **standardisation** is fitted on the training rows of all processes: their means, then
  their squared deviations from the means, summed in float64 over the processes (two
  Allreduces: the same two-pass formula as ``np.std``, so no cancellation).

Built-in and IDX data sets (small, and IDX files are usually compressed) are read whole by
every process, which then keeps its share.  A table whose columns need encoding (text,
categories, dates, empty cells) is refused: the encoding's statistics (categories, medians) are
not reduced across processes yet; encode it first, or train on one process.
"""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from backprop._utils import optional_import
from backprop.cli.training_data import split_rows
from backprop.data import (
    DataError,
    Dataset,
    Standardizer,
    data_format,
    feature_scale,
    load_dataset,
    needs_preprocessing,
)
from backprop.data.columns import (
    choose_columns,
    frame_features,
    labels_vector,
    names_list,
    pixel_names,
    take_columns,
)
from backprop.data.readers import file_sha256
from backprop.data.shares import (
    SHARED_FORMATS,
    csv_share,
    npz_share,
    parquet_share,
    read_csv_share,
)
from backprop.data.targets import encode_target
from backprop.train.processes import Processes

__all__ = ["SharedPrepared", "prepare_shares", "fit_standardizer"]

Array = np.ndarray
_ROW = re.compile(r"\brow (\d+)")


@dataclass
class SharedPrepared:
    """One process's rows of a data set split into training, validation and test rows.

    ``data`` is the data set as this process holds it: ``data.X`` its share of the file's
    rows (in the training dtype, unstandardized), ``data.y`` the target of *every* row.
    ``train``, ``validation`` and ``test`` are global row indices, the same on every process
    and as one process would draw them; :meth:`local` turns them into rows of ``data.X``.
    """

    procs: Processes
    data: Dataset
    first_row: int  #: the global index of ``data.X``'s first row
    m: int  #: rows of the whole data set
    train: Array
    validation: Array
    test: Array
    how: str
    x_scaler: Standardizer
    y_scaler: Standardizer | None
    X: Array  #: this process's training rows, standardized (in the global training order)
    y_fit: Array  #: their targets as the network fits them
    X_val: Array  #: this process's validation rows, standardized
    y_val_fit: Array

    def local(self, rows: Array) -> Array:
        """The entries of global ``rows`` in this process's share, as rows of ``data.X`` (in
        their order in ``rows``)."""
        lo, hi = self.first_row, self.first_row + self.data.X.shape[0]
        return rows[(rows >= lo) & (rows < hi)] - lo

    def mine(self, rows: Array) -> Array:
        """The entries of global ``rows`` in this process's share, as global indices."""
        lo, hi = self.first_row, self.first_row + self.data.X.shape[0]
        return rows[(rows >= lo) & (rows < hi)]

    @property
    def validation_data(self) -> tuple[Array, Array] | None:
        """``(X_val, y_val_fit)`` of this process, or None when the run has no validation
        rows (on any process)."""
        return (self.X_val, self.y_val_fit) if len(self.validation) else None


def prepare_shares(args: argparse.Namespace, procs: Processes) -> SharedPrepared:
    """Read this process's share of ``--data``, gather the target, split the rows as one
    process does, and standardize them with statistics of all processes' training rows."""
    data, first_row, m = _load_share(args, procs)
    train, validation, test, how = procs.everywhere(lambda: split_rows(args, data, m))
    prep = SharedPrepared(procs, data, first_row, m, train, validation, test, how,
                          Standardizer(), None, *(np.empty(0),) * 4)
    X_train = data.X[prep.local(train)]
    prep.x_scaler = fit_standardizer(procs, X_train, len(train))
    prep.X = prep.x_scaler.transform(X_train)
    prep.X_val = prep.x_scaler.transform(data.X[prep.local(validation)])
    y_train, y_val = data.y[prep.mine(train)], data.y[prep.mine(validation)]
    if data.task == "regression":  # the whole target is here: fitted as one process fits it
        prep.y_scaler = Standardizer().fit(data.y[train][:, None])
        y_train = prep.y_scaler.transform(y_train[:, None])[:, 0]
        y_val = prep.y_scaler.transform(y_val[:, None])[:, 0]
    prep.y_fit, prep.y_val_fit = y_train, y_val
    return prep


def fit_standardizer(procs: Processes, X: Array, n: int) -> Standardizer:
    """A :class:`~backprop.data.Standardizer` fitted on the rows ``X`` of all processes
    together (``n`` of them): the mean, then the mean squared deviation from it, each summed in
    float64 over the processes."""
    X = np.asarray(X, dtype=np.float64)
    mean = procs.sum(X.sum(axis=0)) / n
    std = np.sqrt(procs.sum(np.square(X - mean).sum(axis=0)) / n)
    scaler = Standardizer()
    scaler.mean_, scaler.scale_ = mean, feature_scale(mean, std)
    return scaler


# --------------------------------------------------------------------------- reading
def _load_share(args: argparse.Namespace, procs: Processes) -> tuple[Dataset, int, int]:
    """``(data, first_row, m)``: this process's rows of the features, every row's target."""
    src = args.data
    fmt = procs.everywhere(lambda: _format(src))
    dtype = np.dtype(args.dtype)
    if fmt not in SHARED_FORMATS:  # a named or IDX set: every process reads it, keeps a share
        data = procs.collective(lambda: load_dataset(
            src, target=args.target, features=args.features, task=args.task,
            data_dir=args.data_dir, dtype=dtype))
        m = data.X.shape[0]
        lo, hi = m * procs.rank // procs.size, m * (procs.rank + 1) // procs.size
        data.X = data.X[lo:hi]
        return data, lo, m
    _refuse_table_options(args, src)
    if fmt == "csv" or fmt == "tsv":
        share = procs.collective(lambda: csv_share(src, procs.rank, procs.size, sep=args.sep,
                                                   decimal=args.decimal,
                                                   encoding=args.encoding))
        before = sum(procs.allgather(share.lines)[:procs.rank])
        frame = procs.collective(lambda: read_csv_share(share, before))
    elif fmt == "parquet":
        frame = procs.collective(lambda: parquet_share(src, procs.rank, procs.size)[0])
    else:
        frame = None
    counts = procs.allgather(0 if frame is None else len(frame))
    first_row = sum(counts[:procs.rank])
    if frame is None:
        X, names, y_raw, target, first_row, m = procs.collective(lambda: _npz(args, procs))
    else:
        m = sum(counts)
        X, names, y_raw, target = procs.collective(
            lambda: _table(args, frame, first_row, m))
    raw = _gathered(procs, y_raw)
    y, kind, labels, reason = procs.everywhere(
        lambda: encode_target(raw, args.task, None, src, str(target)))
    sha = procs.on_root(lambda: file_sha256(src))
    # held in the training dtype, as one process holds it (statistics are float64 of these)
    X = X.astype(dtype, copy=False)
    data = Dataset(X, y, kind, names, labels, os.path.basename(src), target=str(target),
                   source=src, sha256=sha, task_reason=reason)
    return data, first_row, m


def _format(src: str) -> str:
    if not os.path.exists(src):
        return "named"
    return data_format(src)


def _refuse_table_options(args: argparse.Namespace, src: str) -> None:
    given = [f"--{k.replace('_', '-')}" for k in ("categorical", "numeric", "drop", "na_values")
             if getattr(args, k, None)]
    if given:
        raise DataError(f"{src}: {', '.join(given)} encode a table, which is not done across "
                        "processes yet; encode the table first, or train on one process")


def _table(args: argparse.Namespace, df: Any, first_row: int, m: int
           ) -> tuple[Array, list[str], Any, str]:
    """A table's share: the feature matrix (numeric columns only), the names, the raw
    target, the target's name."""
    src = args.data
    columns = [str(c) for c in df.columns]
    df.columns = columns
    target = args.target
    if target is None:
        raise DataError(f"{src}: no target column given (--target COLUMN); the file has "
                        f"{names_list(columns)}")
    if target not in columns:
        raise DataError(f"{src}: no target column {target!r}; the file has "
                        f"{names_list(columns)}")
    names = [columns[j] for j in choose_columns(columns, args.features, target, src)]
    if len(df) and needs_preprocessing(df[names]):
        raise DataError(f"{src}: columns that are not all clean numbers (text, categories, dates"
                        f" or empty cells) in rows {first_row + 1} to {first_row + len(df)} "
                        "need encoding, which is not done across processes yet; encode the "
                        "table first (numbers only, no gaps), or train on one process")
    if len(df) == 0:
        return np.empty((0, len(names))), names, df[target], target
    try:
        X = frame_features(df, names, src)
    except DataError as exc:
        raise DataError(_shift_rows(str(exc), first_row)) from None
    return X, names, df[target], target


def _npz(args: argparse.Namespace, procs: Processes
         ) -> tuple[Array, list[str], Array, str, int, int]:
    """An NPZ file's share: features, names, raw target, target name, first row, rows."""
    src = args.data
    target = args.target or "y"
    arrays, first_row, m = npz_share(src, ["X", target], procs.rank, procs.size)
    X = arrays["X"]
    if X.ndim < 2 or X.dtype.kind not in "biuf":
        raise DataError(f"{src}: X must be numeric with a row per sample and at least one "
                        f"column, got dtype {X.dtype} and shape {X.shape[1:]} per row")
    shape = X.shape[1:]
    X = X.reshape(X.shape[0], -1).astype(np.float64)
    with np.load(src, allow_pickle=False) as npz:  # reads the one small member, if there
        names = ([str(v) for v in npz["feature_names"]] if "feature_names" in npz.files
                 else pixel_names(shape) if len(shape) > 1 else
                 [f"x{j}" for j in range(X.shape[1])])
    try:
        X, names = take_columns(X, names, args.features, src)
    except DataError as exc:
        raise DataError(_shift_rows(str(exc), first_row)) from None
    y = labels_vector(arrays[target], X.shape[0], f"array {target!r}", src)
    return X, names, y, target, first_row, m


def _shift_rows(message: str, first_row: int) -> str:
    """A share's error message with its row numbers (1-based within the share) made the
    file's."""
    return _ROW.sub(lambda mo: f"row {int(mo.group(1)) + first_row}", message)


def _gathered(procs: Processes, part: Any) -> Any:
    """Every process's part of the target column, joined in rank order (numbers as raw
    buffers, anything else pickled)."""
    values = part.to_numpy() if hasattr(part, "to_numpy") else np.asarray(part)
    numeric = values.dtype.kind in "biuf"
    if all(procs.allgather(numeric)):
        kinds = procs.allgather(values.dtype.str)
        common = np.result_type(*[np.dtype(k) for k in kinds])
        whole = procs.concatenate(values.astype(common, copy=False))
    else:
        whole = np.concatenate([np.asarray(p, dtype=object) for p in
                                procs.allgather(values.astype(object))])
    if hasattr(part, "to_numpy"):  # a table's column: the encoder reads pandas semantics
        pd = optional_import("pandas")
        same = len(set(procs.allgather(str(part.dtype)))) == 1
        return pd.Series(whole, name=part.name, dtype=part.dtype if same else None)
    return whole
