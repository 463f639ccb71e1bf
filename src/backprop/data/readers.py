"""File readers for data sets: CSV/TSV and Parquet (pyarrow), NPZ (NumPy, no pickles) and IDX
(the MNIST format).  Each returns raw contents; :mod:`backprop.data.datasets` turns them into
features and targets.  Every failure raises :class:`DataError` with a message that starts with
the file name.

Row numbers in messages count data rows from 1 (the CSV header is not a row); a ragged CSV row
is reported by its line number in the file.
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

__all__ = [
    "DataError",
    "FORMATS",
    "data_format",
    "read_table",
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


def read_table(path: str | os.PathLike[str], fmt: str | None = None) -> Any:
    """Read a CSV/TSV (header row required) or Parquet file into a pandas DataFrame.

    CSV cells ``""``, ``NA``, ``NaN``, ``null`` (pyarrow's defaults) become missing values.
    Column names must be distinct; rows must all have the header's number of fields.

    Raises
    ------
    DataError
        Missing or empty file, unreadable content, ragged rows (line named), duplicate column
        names, no data rows.
    """
    pa = optional_import("pyarrow")
    optional_import("pandas")
    name = os.fspath(path)
    fmt = fmt or data_format(name)
    _check_file(name)
    table = _read_arrow(name, fmt)
    _check_columns(name, table)
    try:
        return table.to_pandas()
    except MemoryError:  # pyarrow's is also an ArrowException: the CLI names the file for it
        raise
    except (pa.ArrowException, ValueError) as exc:
        raise DataError(f"{name}: cannot convert the table ({' '.join(str(exc).split())})") \
            from None


def _read_arrow(name: str, fmt: str) -> Any:
    """The file as a pyarrow Table; unreadable content and ragged rows raise DataError."""
    pa = optional_import("pyarrow")
    bad_rows: list[Any] = []
    try:
        if fmt == "parquet":
            table = optional_import("pyarrow.parquet").read_table(name)
        else:
            table = _read_csv(name, fmt, bad_rows)
    except MemoryError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        msg = " ".join(str(exc).split())
        if "Empty CSV file" in msg:
            raise DataError(f"{name}: empty file (no header row)") from None
        raise DataError(f"{name}: cannot read as {fmt.upper()} ({msg})") from None
    if bad_rows:
        r = bad_rows[0]
        more = f" (and {len(bad_rows) - 1} more ragged rows)" if len(bad_rows) > 1 else ""
        where = f"line {r.number}" if r.number is not None else f"row {clip_repr(r.text)}"
        raise DataError(
            f"{name}: ragged rows: {where} has {r.actual_columns} fields but the header has "
            f"{r.expected_columns}{more}"
        )
    return table


def _read_csv(name: str, fmt: str, bad_rows: list[Any]) -> Any:
    """pyarrow's CSV reader, with rows of the wrong width skipped and collected in
    ``bad_rows`` (so that the error can name them all)."""
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
            read_options=csv.ReadOptions(use_threads=False),
            parse_options=csv.ParseOptions(delimiter="\t" if fmt == "tsv" else ",",
                                           invalid_row_handler=on_invalid),
            convert_options=csv.ConvertOptions(strings_can_be_null=True),
        )
    finally:
        sys.unraisablehook = hook


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
