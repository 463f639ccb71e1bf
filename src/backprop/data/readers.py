"""File readers for data sets: CSV/TSV and Parquet (pyarrow), NPZ (NumPy, no pickles) and IDX
(the MNIST format).  Each returns raw contents; :mod:`backprop.data.datasets` turns them into
features and targets.  Every failure raises :class:`DataError` with a message that starts with
the file name.

Row numbers in messages count data rows from 1 (the CSV header is not a row); a ragged CSV row
is reported by its line number in the file.

CSV files are read as spreadsheets write them: the delimiter, decimal mark and encoding are
sniffed from the first lines unless given (:mod:`backprop.data.csv_dialect`), and a file that
still cannot be read gets an error naming the delimiter it looks like or the encoding it has.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import re
import sys
import zipfile
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from backprop._utils import clip_repr, optional_import
from backprop.data.csv_dialect import (
    Dialect,
    TextProblem,
    check_decimal,
    check_encoding,
    parse_sep,
    read_grouped_numbers,
    sep_flag,
    sep_word,
    sniff,
    undecodable,
)

__all__ = [
    "DataError",
    "FORMATS",
    "data_format",
    "read_table",
    "read_csv_part",
    "read_npz",
    "npz_members",
    "read_idx",
    "idx_labels_path",
    "file_sha256",
]

Array = np.ndarray

#: Recognised data file formats and the file names that select them.
FORMATS = {
    "csv": ".csv (also .csv.gz, .csv.bz2)",
    "tsv": ".tsv or .tab (tab-separated)",
    "parquet": ".parquet or .pq",
    "npz": ".npz with arrays X and y",
    "idx": "IDX files as MNIST's (...-idx3-ubyte, ...-idx1-ubyte, optionally .gz)",
    "idx-dir": "a folder with MNIST-style train-/t10k- IDX files",
}
_COMPRESSED = (".gz", ".bz2")
_IDX_NAME = re.compile(r"idx\d+-ubyte$|\.idx\d*$")
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DataError(ValueError):
    """A data file or data set cannot be used.  ``str(err)`` starts with the file name and names
    the problem (the row and column for a bad value)."""


def data_format(path: str | os.PathLike[str]) -> str:
    """The format of a data file, from its name: one of :data:`FORMATS`' keys.

    Raises :class:`DataError` for a name no format claims.
    """
    name = os.fspath(path)
    if os.path.isdir(name):
        return "idx-dir"
    base = os.path.basename(name).lower()
    for ext in _COMPRESSED:
        if base.endswith(ext):
            base = base[: -len(ext)]
    if base.endswith(".csv"):
        return "csv"
    if base.endswith((".tsv", ".tab")):
        return "tsv"
    if base.endswith((".parquet", ".pq")):
        return "parquet"
    if base.endswith(".npz"):
        return "npz"
    if _IDX_NAME.search(base):
        return "idx"
    raise DataError(
        f"{name}: cannot tell the file format from its name; use one of: "
        + "; ".join(FORMATS.values())
    )


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _check_file(name: str) -> None:
    if not os.path.exists(name):
        raise DataError(f"{name}: no such file")
    if os.path.isdir(name):
        raise DataError(f"{name}: is a folder, not a data file")
    if os.path.getsize(name) == 0:
        raise DataError(f"{name}: empty file")


def read_table(path: str | os.PathLike[str], fmt: str | None = None, *, sep: str | None = None,
               decimal: str | None = None, encoding: str | None = None) -> Any:
    """Read a CSV/TSV (header row required) or Parquet file into a pandas DataFrame.

    CSV cells ``""``, ``NA``, ``NaN``, ``null`` (pyarrow's defaults) become missing values.
    Column names must be distinct; rows must all have the header's number of fields.

    Parameters
    ----------
    path : str or path-like
    fmt : str, optional
        One of :data:`FORMATS`' keys (default: from the file name).
    sep : str, optional
        CSV/TSV field delimiter: one character, or ``"comma"``, ``"semicolon"``, ``"tab"``
        (also ``"\\t"``), ``"pipe"``, ``"space"``.  Default: sniffed among ``,`` ``;`` tab
        ``|`` from the first lines (the format's own, comma or tab, when it fits them).
    decimal : ``"."`` or ``","``, optional
        Decimal mark of CSV numbers.  Default: ``","`` when the file is not comma-delimited and
        its numbers are written ``3,14``, as European spreadsheets write them.
    encoding : str, optional
        A Python codec name (``"cp1252"``, ``"latin-1"``, ``"utf-16"``...).  Default: the
        byte-order mark's (UTF-8, UTF-16, UTF-32), else UTF-8.

    The options apply to CSV/TSV files; Parquet stores its own types.

    Raises
    ------
    DataError
        Missing or empty file, unreadable content, text that is not in the encoding (the byte,
        its line and a likely encoding named), a delimiter sniffing cannot choose, ragged rows
        (line named, and the delimiter the file looks written with), duplicate column names,
        no data rows.
    ValueError
        An invalid ``sep`` or ``decimal``, or an unknown ``encoding``.
    """
    pa = optional_import("pyarrow")
    optional_import("pandas")
    sep = None if sep is None else parse_sep(sep)
    decimal = None if decimal is None else check_decimal(decimal)
    encoding = None if encoding is None else check_encoding(encoding)
    name = os.fspath(path)
    fmt = fmt or data_format(name)
    _check_file(name)
    table = _read_arrow(name, fmt, sep, decimal, encoding)
    _check_columns(name, table)
    try:
        return table.to_pandas()
    except MemoryError:  # pyarrow's is also an ArrowException: the CLI names the file for it
        raise
    except (pa.ArrowException, ValueError) as exc:
        raise DataError(f"{name}: cannot convert the table ({' '.join(str(exc).split())})") \
            from None


def _read_arrow(name: str, fmt: str, sep: str | None, decimal: str | None,
                encoding: str | None) -> Any:
    """The file as a pyarrow Table; unreadable content and ragged rows raise DataError."""
    pa = optional_import("pyarrow")
    bad_rows: list[Any] = []
    dialect = None
    default_sep = "\t" if fmt == "tsv" else ","
    try:
        if fmt == "parquet":
            return optional_import("pyarrow.parquet").read_table(name)
        dialect = sniff(name, default_sep, sep, decimal, encoding)
        table = _read_csv(name, dialect, bad_rows)
    except TextProblem as exc:
        raise DataError(f"{name}: {exc}") from None
    except MemoryError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        msg = " ".join(str(exc).split())
        if "Empty CSV file" in msg:
            raise DataError(f"{name}: empty file (no header row)") from None
        why = _undecodable(name, dialect.encoding) if dialect is not None else None
        raise DataError(f"{name}: {why or f'cannot read as {fmt.upper()} ({msg})'}") from None
    _check_text(name, table, dialect)
    if dialect.decimal == ",":
        table = read_grouped_numbers(table)
    if bad_rows:
        r = bad_rows[0]
        more = f" (and {len(bad_rows) - 1} more ragged rows)" if len(bad_rows) > 1 else ""
        where = f"line {r.number}" if r.number is not None else f"row {clip_repr(r.text)}"
        raise DataError(
            f"{name}: ragged rows: {where} has {r.actual_columns} fields but the header has "
            f"{r.expected_columns}{more}{_sep_hint(dialect, default_sep)}"
        )
    if table.num_columns == 1 and dialect.looks_like is not None:
        raise DataError(f"{name}: with {sep_flag(dialect.sep)} each line is a single field"
                        f"{_sep_hint(dialect, default_sep)}")
    return table


def _read_csv(name: Any, dialect: Dialect, bad_rows: list[Any]) -> Any:
    """pyarrow's CSV reader on a path or a stream, with rows of the wrong width skipped and
    collected in ``bad_rows`` (so that the error can name them all)."""
    csv = optional_import("pyarrow.csv")

    def on_invalid(row: Any) -> str:
        bad_rows.append(row)
        return "skip"

    # pyarrow decodes a ragged row's text before calling on_invalid; when that text is
    # not UTF-8 the decode error is only "ignored" (printed) and the read then fails
    # with its own message, which we report.  Keep that print off the user's stderr.
    hook, sys.unraisablehook = sys.unraisablehook, lambda _: None
    try:
        return csv.read_csv(
            name,
            # a UTF-8 file is read as is (pyarrow skips its byte-order mark); others are
            # transcoded to UTF-8 by pyarrow through the Python codec
            read_options=csv.ReadOptions(use_threads=False, encoding=dialect.encoding),
            parse_options=csv.ParseOptions(delimiter=dialect.sep,
                                           invalid_row_handler=on_invalid),
            convert_options=csv.ConvertOptions(strings_can_be_null=True,
                                               decimal_point=dialect.decimal),
        )
    finally:
        sys.unraisablehook = hook


def _check_text(name: str, table: Any, dialect: Dialect) -> None:
    """Text pyarrow kept as bytes (a header or cells that are not UTF-8) is an encoding error
    naming the first bad byte."""
    pa = optional_import("pyarrow")
    try:
        table.column_names  # noqa: B018  (decodes the header)
        as_bytes = any(pa.types.is_binary(t) or pa.types.is_large_binary(t)
                       for t in table.schema.types)
    except UnicodeDecodeError:
        as_bytes = True
    if as_bytes:
        why = _undecodable(name, dialect.encoding)
        if why is not None:
            raise DataError(f"{name}: {why}")


def _undecodable(name: str, encoding: str) -> str | None:
    """:func:`~backprop.data.csv_dialect.undecodable`, or None when the file cannot even be
    read through (a damaged compressed file: the reader's own message says so)."""
    pa = optional_import("pyarrow")
    try:
        return undecodable(name, encoding)
    except (pa.ArrowException, OSError, LookupError):
        return None


def _sep_hint(dialect: Dialect, default_sep: str) -> str:
    """What a reading error owes to the delimiter: the one the file looks written with, when
    a given ``sep`` disagrees, or the sniffed one, when it is not ``default_sep``."""
    if dialect.looks_like is not None:
        return (f"; the file looks {sep_word(dialect.looks_like)}-delimited: pass "
                f"{sep_flag(dialect.looks_like)}")
    if not dialect.sep_given and dialect.sep != default_sep:
        return f" (sniffed as {sep_word(dialect.sep)}-delimited; pass --sep if it is not)"
    return ""


def _check_columns(name: str, table: Any) -> None:
    """A readable header of distinct names, and at least one data row."""
    try:
        names = table.column_names
    except UnicodeDecodeError:
        raise DataError(f"{name}: the header is not valid UTF-8 text") from None
    seen: dict[str, int] = {}
    for j, col in enumerate(names):
        if col in seen:
            raise DataError(
                f"{name}: duplicate column name {col!r} (columns {seen[col] + 1} and {j + 1})"
            )
        seen[col] = j
    if table.num_rows == 0:
        shown = ", ".join(clip_repr(c) for c in names[:20]) + (", ..." if len(names) > 20 else "")
        raise DataError(f"{name}: header only, no data rows (columns: {shown})")


def read_csv_part(path: str | os.PathLike[str], data: bytes, dialect: Dialect,
                  lines_before: int = 0) -> Any:
    """Read part of a CSV file as :func:`read_table` reads all of it, into a DataFrame.

    ``data`` is the file's header line followed by some of its lines (whole lines: one
    process's share, :mod:`backprop.data.shares`), ``dialect`` the file's (sniffed once from
    its start); ``lines_before`` lines of the file come between the header and ``data``'s
    first row, so that a ragged row is reported by its line in the file.  A part may hold no
    row.  Raises :class:`DataError` as :func:`read_table` does.
    """
    pa = optional_import("pyarrow")
    name = os.fspath(path)
    bad_rows: list[Any] = []
    try:
        table = _read_csv(pa.BufferReader(data), dialect, bad_rows)
    except (pa.ArrowException, OSError, ValueError) as exc:
        msg = " ".join(str(exc).split())
        why = _undecodable(name, dialect.encoding)
        raise DataError(f"{name}: {why or f'cannot read as CSV ({msg})'}") from None
    _check_text(name, table, dialect)
    if dialect.decimal == ",":
        table = read_grouped_numbers(table)
    if bad_rows:
        r = bad_rows[0]
        more = f" (and {len(bad_rows) - 1} more ragged rows)" if len(bad_rows) > 1 else ""
        where = (f"line {r.number + lines_before}" if r.number is not None
                 else f"row {clip_repr(r.text)}")
        raise DataError(f"{name}: ragged rows: {where} has {r.actual_columns} fields but the "
                        f"header has {r.expected_columns}{more}")
    if table.num_rows:
        _check_columns(name, table)
    try:
        return table.to_pandas()
    except (pa.ArrowException, ValueError) as exc:
        raise DataError(f"{name}: cannot convert the table ({' '.join(str(exc).split())})") \
            from None


def read_npz(path: str | os.PathLike[str], keys: Sequence[str] | None = None
             ) -> dict[str, Array]:
    """Read the arrays ``keys`` (default: every array) of an ``.npz`` file, without unpickling
    (object arrays are refused); a key the file lacks is left out of the result."""
    name = os.fspath(path)
    _check_file(name)
    try:
        loaded = np.load(name, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):  # np.load also reads .npy files
            raise DataError(f"{name}: cannot read as NPZ (it is a single .npy array, not an "
                            f"archive of named arrays; write it with np.savez(path, X=..., y=...))")
        with loaded as npz:
            wanted = npz.files if keys is None else [k for k in keys if k in npz.files]
            arrays = {k: npz[k] for k in wanted}
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        if isinstance(exc, DataError):
            raise
        reason = " ".join(str(exc).split())
        if "allow_pickle" in reason:
            reason = "it holds object arrays, which are refused (they would need unpickling)"
        raise DataError(f"{name}: cannot read as NPZ ({reason})") from None
    for key, value in arrays.items():  # a member without the .npy header comes back as bytes
        if not isinstance(value, np.ndarray):
            raise DataError(f"{name}: cannot read as NPZ (member {key!r} is not a .npy array)")
    return arrays


def npz_members(path: str | os.PathLike[str]) -> list[str]:
    """The names of the arrays an ``.npz`` file holds, from its zip directory alone (no array
    is read); ``DataError`` when it is not a readable archive."""
    name = os.fspath(path)
    _check_file(name)
    try:
        with zipfile.ZipFile(name) as archive:
            return [m[:-4] if m.endswith(".npy") else m for m in archive.namelist()]
    except (OSError, zipfile.BadZipFile) as exc:
        raise DataError(f"{name}: cannot read as NPZ ({exc})") from None


def read_idx(path: str | os.PathLike[str]) -> Array:
    """Read an IDX file (gzipped or not): magic ``0 0 <dtype> <ndim>``, ``ndim`` big-endian
    uint32 sizes, then the values in big-endian order.  Returns a native-endian array."""
    name = os.fspath(path)
    _check_file(name)
    try:
        with open(name, "rb") as f:
            data = f.read()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{name}: cannot read as gzipped IDX ({exc})") from None
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in _IDX_DTYPES or data[3] == 0:
        raise DataError(f"{name}: not an IDX file (bad magic number {data[:4].hex() or 'none'})")
    ndim = data[3]
    start = 4 + 4 * ndim
    if len(data) < start:
        raise DataError(f"{name}: truncated IDX header")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    count = math.prod(dims)  # exact: int64 would wrap for a forged header
    if len(data) - start != count * dtype.itemsize:
        raise DataError(
            f"{name}: truncated or corrupted IDX file: its header promises shape {dims} "
            f"({count * dtype.itemsize} bytes of data) but it holds {len(data) - start}"
        )
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=start).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))


def idx_labels_path(images: str) -> str | None:
    """The MNIST naming convention's labels file for an images file
    (``train-images-idx3-ubyte.gz`` -> ``train-labels-idx1-ubyte.gz``), if it exists."""
    folder, base = os.path.split(images)
    guess = re.sub(r"idx\d+-ubyte", "idx1-ubyte", base.replace("images", "labels"))
    if guess == base:
        return None
    stem = guess[:-3] if guess.endswith(".gz") else guess
    for candidate in (guess, stem, stem + ".gz"):
        if os.path.isfile(os.path.join(folder, candidate)):
            return os.path.join(folder, candidate)
    return None
