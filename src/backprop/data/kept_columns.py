"""Columns carried through unchanged (``backprop predict --keep ID``): values read from a data
file exactly as written, to stand next to the predictions.

An id column is not a number even when it looks like one: ``000123`` must come back as
``000123``, not ``123``, and an empty cell as an empty cell.  CSV/TSV columns are therefore read
as text, whatever they hold; Parquet columns keep the types the file gives them (a string stays
a string, an integer stays an integer, a missing value stays missing); an NPZ file gives one
array per name, with one value per row.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from backprop._utils import optional_import
from backprop.data.columns import names_list
from backprop.data.csv_dialect import TextProblem, sniff
from backprop.data.readers import DataError, data_format, npz_members

__all__ = ["KEEP_FORMATS", "read_kept_columns"]

#: The formats whose columns (or arrays) can be kept.
KEEP_FORMATS = ("csv", "tsv", "parquet", "npz")


def read_kept_columns(path: str | os.PathLike[str], columns: Sequence[str], m: int,
                      fmt: str | None = None, **csv_options: str | None) -> Any:
    """The ``columns`` of a data file as a pandas DataFrame of ``m`` rows, values as written.

    Parameters
    ----------
    path : data file (CSV/TSV, Parquet or NPZ)
    columns : names of columns (CSV/TSV, Parquet) or arrays (NPZ), distinct
    m : the number of rows the file's features have; every kept column must have as many
    fmt : the file's format (default: from its name, :func:`~backprop.data.data_format`)
    csv_options : ``sep``, ``decimal``, ``encoding`` of a CSV/TSV file, as for
        :func:`~backprop.data.readers.read_table` (sniffed when not given)

    Raises
    ------
    DataError
        A format without columns (IDX, a built-in data set), a name the file does not have
        (naming the ones it has), an NPZ array that is not one value per row, a column whose
        length is not ``m``, an unreadable file.
    """
    pd = optional_import("pandas")
    name = os.fspath(path)
    fmt = fmt or data_format(name)
    if fmt not in KEEP_FORMATS:
        raise DataError(f"{name}: columns can be kept from CSV, TSV, Parquet and NPZ files, not "
                        f"from {fmt.upper()} data")
    columns = list(columns)
    twice = next((c for j, c in enumerate(columns) if c in columns[:j]), None)
    if twice is not None:
        raise DataError(f"{name}: column {twice!r} is asked for twice")
    if fmt == "npz":
        frame = pd.DataFrame(_npz_columns(name, columns, m))
    else:
        frame = _table_columns(name, fmt, columns, csv_options).to_pandas(
            types_mapper=pd.ArrowDtype)
        if len(frame) != m:
            raise DataError(f"{name}: {len(frame)} rows in the kept columns, but {m} rows of "
                            f"features")
    return frame


def _missing(name: str, columns: list[str], available: list[str], what: str) -> None:
    """DataError naming the ``columns`` the file lacks and the ones it has."""
    absent = [c for c in columns if c not in available]
    if absent:
        raise DataError(f"{name}: no {what} {names_list(absent)} to keep; the file has "
                        f"{names_list(available)}")


def _table_columns(name: str, fmt: str, columns: list[str],
                   csv_options: dict[str, str | None]) -> Any:
    """The columns of a CSV/TSV file as text (empty cells as ``""``), or of a Parquet file
    with their own types, as a pyarrow Table."""
    pa = optional_import("pyarrow")
    try:
        if fmt == "parquet":
            pq = optional_import("pyarrow.parquet")
            _missing(name, columns, pq.read_schema(name).names, "column")
            return pq.read_table(name, columns=columns)
        csv = optional_import("pyarrow.csv")
        try:
            dialect = sniff(name, "\t" if fmt == "tsv" else ",", **csv_options)
        except TextProblem as exc:
            raise DataError(f"{name}: {exc}") from None
        read = csv.ReadOptions(use_threads=False, encoding=dialect.encoding)
        parse = csv.ParseOptions(delimiter=dialect.sep)
        with csv.open_csv(name, read_options=read, parse_options=parse,
                          convert_options=csv.ConvertOptions(
                              column_types={c: pa.string() for c in columns})) as reader:
            _missing(name, columns, reader.schema.names, "column")
        return csv.read_csv(name, read_options=read, parse_options=parse,
                            convert_options=csv.ConvertOptions(
                                include_columns=columns, strings_can_be_null=False,
                                column_types={c: pa.string() for c in columns}))
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{name}: cannot read the columns to keep "
                        f"({' '.join(str(exc).split())})") from None


def _npz_columns(name: str, columns: list[str], m: int) -> dict[str, np.ndarray]:
    """The arrays named ``columns``, each of shape (m,), read without unpickling."""
    _missing(name, columns, npz_members(name), "array")
    out = {}
    try:
        with np.load(name, allow_pickle=False) as npz:
            for c in columns:
                out[c] = npz[c]
    except (ValueError, OSError) as exc:
        reason = " ".join(str(exc).split())
        if "allow_pickle" in reason:
            reason = "it holds object arrays, which are refused (they would need unpickling)"
        raise DataError(f"{name}: cannot read the arrays to keep ({reason})") from None
    for c, values in out.items():
        if values.shape != (m,):
            raise DataError(f"{name}: array {c!r} has shape {values.shape}; a kept array holds "
                            f"one value per row, shape ({m},)")
    return out
