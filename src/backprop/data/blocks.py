"""Numeric data read straight into one feature matrix, a block of rows at a time.

A table of numbers read the plain way passes through three full copies: pyarrow's columns
(float64), a pandas frame, and the stacked float64 matrix.  Here each block of rows goes from
the file into the final matrix, in the dtype the network trains in:

- CSV/TSV: pyarrow's streaming reader, with every feature column parsed as that dtype;
- Parquet: blocks of the feature columns of each row group, cast on the way;
- NPZ: the ``.npy`` member's bytes, read (and inflated, when compressed) into the matrix.

So the peak memory is about one matrix plus one block.  A long read shows a progress bar
(:func:`progress_bar`) when asked to.

The table readers are a fast path that declines (returns None) for anything but clean numbers:
a text, boolean or empty cell, a value that is not finite, a ragged row, a header the caller
cannot use.  The caller then reads the file the general way (:func:`~backprop.data.readers.
read_table`), which says exactly what is wrong, or encodes what is not a number.
"""

from __future__ import annotations

import contextlib
import os
import sys
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from backprop import _kernels
from backprop._utils import optional_import
from backprop.data.columns import check_matrix_shape, convert_into
from backprop.data.readers import DataError

__all__ = [
    "PROGRESS_DELAY",
    "progress_bar",
    "RowChunks",
    "table_columns",
    "read_numeric_table",
    "read_npz_matrix",
]

Array = np.ndarray

#: Seconds a read runs before its progress bar appears (a quick read shows none).
PROGRESS_DELAY = 1.0
#: Bytes per chunk of :class:`RowChunks`: above glibc's largest mmap threshold (32 MiB), so
#: that each chunk is a mapping of its own and goes back to the system when freed.
CHUNK_BYTES = 64 * 2**20
#: Bytes of values per block: the columns of a Parquet read, the rows of an NPZ read.
BLOCK_BYTES = 16 * 2**20
#: Bytes of CSV text per block of pyarrow's streaming reader (its default; larger blocks
#: measured slower).
CSV_BLOCK_BYTES = 2**20


def progress_bar(enabled: bool, total: int, desc: str, unit: str = "B") -> Any:
    """A tqdm bar on stderr counting ``total`` ``unit`` (bytes are shown scaled), drawn only
    when ``enabled`` and only once :data:`PROGRESS_DELAY` seconds have passed; it is cleared
    when closed."""
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit == "B", unit_divisor=1024,
                leave=False, delay=PROGRESS_DELAY, disable=not enabled, file=sys.stderr,
                dynamic_ncols=True)


class RowChunks:
    """Rows of unknown number gathered into one (m, n) matrix of ``dtype``.

    Rows are written into chunks: the first holds ``expected_rows`` (an estimate; pages never
    written cost no memory), the others :data:`CHUNK_BYTES` each.  :meth:`matrix` returns the
    first chunk cut to size when every row fits in it (no copy), else copies the chunks into
    one matrix, freeing each as soon as it is copied, so that the peak is the matrix plus one
    chunk (never two matrices).
    """

    def __init__(self, n: int, dtype: Any, expected_rows: int = 0) -> None:
        self.n, self.dtype = n, np.dtype(dtype)
        self.capacity = max(1, CHUNK_BYTES // max(1, n * self.dtype.itemsize))
        self.first = max(self.capacity, expected_rows)
        self.chunks: list[Array] = []
        self.free = 0  # rows left in the last chunk
        self.m = 0

    def append(self, block: Array) -> None:
        """Add a (k, n) block of rows (converted to the chunks' dtype)."""
        start = 0
        while start < block.shape[0]:
            if not self.free:
                rows = self.capacity if self.chunks else self.first
                self.chunks.append(np.empty((rows, self.n), dtype=self.dtype))
                self.free = rows
            chunk = self.chunks[-1]
            used = chunk.shape[0] - self.free
            k = min(self.free, block.shape[0] - start)
            chunk[used:used + k] = block[start:start + k]
            self.free -= k
            start += k
        self.m += block.shape[0]

    def matrix(self) -> Array:
        """The (m, n) matrix of every row appended, in order."""
        if len(self.chunks) <= 1:
            return self.chunks[0][:self.m] if self.chunks else np.empty((0, self.n), self.dtype)
        out = np.empty((self.m, self.n), dtype=self.dtype)
        chunks, self.chunks = self.chunks[::-1], []
        row = 0
        while chunks:
            chunk = chunks.pop()
            k = min(chunk.shape[0], self.m - row)
            out[row:row + k] = chunk[:k]
            del chunk  # freed now, not at the end
            row += k
        return out


def _csv_rows_estimate(path: str, raw: Any, stream: Any) -> int:
    """About how many rows an uncompressed CSV holds, from the lines in its first MiB (0 for a
    compressed file, whose size says little); a little over, so that they fit."""
    if stream is not raw:
        return 0
    with open(path, "rb") as f:
        sample = f.read(CSV_BLOCK_BYTES)
    lines = sample.count(b"\n")
    if not lines or len(sample) < CSV_BLOCK_BYTES:
        return 0  # a small file: the chunks of CHUNK_BYTES do
    return int(os.path.getsize(path) / (len(sample) / lines) * 1.05) + 1024


# --------------------------------------------------------------------------- tables
def _pandas_index_columns(schema: Any) -> set[str]:
    """Columns of a Parquet file that pandas wrote from a DataFrame's index (not data)."""
    meta = schema.pandas_metadata or {}
    return {c for c in meta.get("index_columns", []) if isinstance(c, str)}


def _csv_options(fmt: str, bad_rows: list[Any]) -> tuple[Any, Any]:
    """pyarrow's read and parse options for a CSV/TSV, as the general reader sets them (ragged
    rows are skipped and counted in ``bad_rows``)."""
    csv = optional_import("pyarrow.csv")

    def on_invalid(row: Any) -> str:
        bad_rows.append(row)
        return "skip"

    read = csv.ReadOptions(use_threads=False, block_size=CSV_BLOCK_BYTES)
    parse = csv.ParseOptions(delimiter="\t" if fmt == "tsv" else ",",
                             invalid_row_handler=on_invalid)
    return read, parse


def _open_stream(path: str) -> tuple[Any, Any]:
    """``(raw, stream)``: the file, and the stream that decompresses it (.gz, .bz2) or the file
    itself; ``raw.tell()`` is how far the read has come."""
    pa = optional_import("pyarrow")
    raw = pa.OSFile(path)
    base = path.lower()
    for ext, codec in ((".gz", "gzip"), (".bz2", "bz2")):
        if base.endswith(ext):
            return raw, pa.CompressedInputStream(raw, codec)
    return raw, raw


def _read_errors() -> tuple[type[BaseException], ...]:
    """What a read of a file that is not clean numbers can raise (pyarrow's errors are also
    ValueError, OSError, TypeError ...; MemoryError is never among them)."""
    errors: tuple[type[BaseException], ...] = (ImportError, OSError, ValueError, TypeError,
                                               KeyError, IndexError, NotImplementedError)
    try:
        return errors + (optional_import("pyarrow").ArrowException,)
    except ImportError:
        return errors


@contextlib.contextmanager
def _quiet_unraisable() -> Iterator[None]:
    """Keep pyarrow's "ignored" decode errors (see :func:`read_numeric_table`) off stderr."""
    hook, sys.unraisablehook = sys.unraisablehook, lambda _: None
    try:
        yield
    finally:
        sys.unraisablehook = hook


def table_columns(path: str, fmt: str) -> list[str] | None:
    """The column names of a CSV/TSV (its header) or Parquet file (its schema, without pandas
    index columns), or None when they cannot be read or are not distinct (the general reader
    then says why)."""
    try:
        if fmt == "parquet":
            schema = optional_import("pyarrow.parquet").read_schema(path)
            index = _pandas_index_columns(schema)
            names = [n for n in schema.names if n not in index]
        else:
            read, parse = _csv_options(fmt, [])
            raw, stream = _open_stream(path)
            with raw, stream, _quiet_unraisable():
                reader = optional_import("pyarrow.csv").open_csv(
                    stream, read_options=read, parse_options=parse)
                names = list(reader.schema.names)
    except MemoryError:
        raise
    except _read_errors():
        return None
    if not names or len(set(names)) != len(names):
        return None
    return names


def read_numeric_table(path: str, fmt: str, features: Sequence[str], keep: Sequence[str],
                       dtype: Any = np.float32, progress: bool = False
                       ) -> tuple[Array, dict[str, Any]] | None:
    """The ``features`` columns of a CSV/TSV or Parquet file as an (m, n) matrix of ``dtype``,
    and the ``keep`` columns (a target) as pandas Series typed as the general reader types
    them; None unless every feature cell is a finite number, every row has the header's width
    and there is at least one row.

    Raises only ``MemoryError``: anything else wrong declines, for the general reader to
    report.
    """
    # pyarrow decodes a ragged row's text before calling the invalid-row handler; when that
    # text is not UTF-8 the decode error is "ignored" (printed).  This path then declines and
    # the general reader names the bytes: keep the print off the user's stderr.
    try:
        with _quiet_unraisable():
            if fmt == "parquet":
                result = _parquet(path, list(features), list(keep), np.dtype(dtype), progress)
            else:
                result = _csv(path, fmt, list(features), list(keep), np.dtype(dtype), progress)
    except MemoryError:
        raise
    except _read_errors():
        return None
    if result is None:
        return None
    X, kept = result
    if X.shape[0] == 0 or _kernels.first_nonfinite(X) is not None:
        return None
    return X, kept


def _batch_matrix(batch: Any) -> Array:
    """A record batch of columns of one float type as a (rows, columns) C-order array."""
    if hasattr(batch, "to_tensor"):  # pyarrow >= 16: one conversion in C++
        return np.asarray(batch.to_tensor(row_major=True))
    return np.column_stack([col.to_numpy() for col in batch.columns])


def _kept_series(arrays: dict[str, list[Any]]) -> dict[str, Any]:
    """The kept columns' pyarrow chunks as pandas Series, converted as a whole table is."""
    pa = optional_import("pyarrow")
    table = pa.table({name: pa.chunked_array(chunks) for name, chunks in arrays.items()})
    df = table.to_pandas()
    return {name: df[name] for name in arrays}


def _csv(path: str, fmt: str, features: list[str], keep: list[str], dtype: np.dtype,
         progress: bool) -> tuple[Array, dict[str, Any]] | None:
    """The streaming CSV read of :func:`read_numeric_table`."""
    pa = optional_import("pyarrow")
    csv = optional_import("pyarrow.csv")
    bad_rows: list[Any] = []
    read, parse = _csv_options(fmt, bad_rows)
    ftype = pa.float32() if dtype == np.float32 else pa.float64()
    convert = csv.ConvertOptions(column_types={name: ftype for name in features},
                                 include_columns=features + keep, strings_can_be_null=True)
    n = len(features)
    kept: dict[str, list[Any]] = {name: [] for name in keep}
    raw, stream = _open_stream(path)
    rows = RowChunks(n, dtype, _csv_rows_estimate(path, raw, stream))
    bar = progress_bar(progress, os.path.getsize(path), f"reading {os.path.basename(path)}")
    with raw, stream, bar:
        reader = csv.open_csv(stream, read_options=read, parse_options=parse,
                              convert_options=convert)
        for batch in reader:
            if bad_rows:
                return None
            block = batch.select(features)
            if any(col.null_count for col in block.columns):
                return None
            if batch.num_rows:
                rows.append(_batch_matrix(block))
            for name in keep:
                column = batch.column(name)
                if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
                    return None  # text that is not UTF-8: the general reader names its bytes
                kept[name].append(column)
            bar.update(raw.tell() - bar.n)
    if bad_rows or rows.m == 0:
        return None
    return rows.matrix(), _kept_series(kept)


def _parquet(path: str, features: list[str], keep: list[str], dtype: np.dtype,
             progress: bool) -> tuple[Array, dict[str, Any]] | None:
    """The Parquet read of :func:`read_numeric_table`: each row group a block of columns at a
    time (a file's row group may be all of its rows, and pyarrow decodes a whole row group of
    the columns it reads), each block cast on the way into its place in the matrix."""
    pa = optional_import("pyarrow")
    pq = optional_import("pyarrow.parquet")
    ftype = pa.float32() if dtype == np.float32 else pa.float64()
    with pq.ParquetFile(path) as pf:
        schema = pf.schema_arrow
        for name in features:
            kind = schema.field(name).type
            if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
                return None  # booleans, text, categories, dates: the general reader's
        meta = pf.metadata
        m, n = meta.num_rows, len(features)
        X = np.empty((m, n), dtype=dtype)
        kept: dict[str, list[Any]] = {name: [] for name in keep}
        bar = progress_bar(progress, m * n * dtype.itemsize, f"reading {os.path.basename(path)}")
        row = 0
        with bar:
            for g in range(meta.num_row_groups):
                k = meta.row_group(g).num_rows
                step = max(1, BLOCK_BYTES // max(1, 8 * k))  # columns per read
                for j in range(0, n, step):
                    names = features[j:j + step]
                    table = pf.read_row_group(g, columns=names, use_pandas_metadata=False)
                    cols = [table.column(name).combine_chunks() for name in names]
                    if any(col.null_count for col in cols) or table.num_rows != k:
                        return None
                    # a cast of float64 beyond float32's range gives inf, which declines
                    block = pa.RecordBatch.from_arrays(
                        [col.cast(ftype, safe=False) for col in cols], names=names)
                    X[row:row + k, j:j + len(names)] = _batch_matrix(block)
                    bar.update(k * len(names) * dtype.itemsize)
                if keep:
                    table = pf.read_row_group(g, columns=keep, use_pandas_metadata=False)
                    for name in keep:
                        kept[name].extend(table.column(name).chunks)
                row += k
    if row != m or m == 0:
        return None
    return X, _kept_series(kept)


# --------------------------------------------------------------------------- NPZ
def _npy_header(f: Any) -> tuple[tuple[int, ...], bool, np.dtype]:
    """``(shape, fortran_order, dtype)`` from the header of a ``.npy`` stream; ValueError when
    it is not one."""
    fmt = np.lib.format
    version = fmt.read_magic(f)
    if version == (1, 0):
        return fmt.read_array_header_1_0(f)
    if version == (2, 0):
        return fmt.read_array_header_2_0(f)
    raise ValueError(f".npy format version {version} is not read here")


def read_npz_matrix(path: str, key: str, dtype: Any = np.float32, progress: bool = False
                    ) -> tuple[Array, tuple[int, ...]]:
    """The NPZ array ``key`` of shape (m, ...) as an (m, n) matrix of ``dtype``, read from the
    archive a block of rows at a time straight into the matrix (inflated on the way when the
    archive is compressed); returns the matrix and the array's shape in the file.

    Raises :class:`DataError` naming the file: not an archive, no such member, a member that is
    not a ``.npy`` array, object or other non-numeric arrays, a shape that is no matrix, a
    truncated or damaged member, a value beyond ``dtype``'s range.
    """
    dtype = np.dtype(dtype)
    what = key
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            member = key + ".npy" if key + ".npy" in names else key
            if member not in names:
                raise DataError(f"{path}: no array named {key!r}")
            with archive.open(member) as f:
                try:
                    shape, fortran, src_dtype = _npy_header(f)
                except ValueError:
                    raise DataError(f"{path}: cannot read as NPZ (member {key!r} is not a .npy "
                                    f"array)") from None
                if src_dtype.hasobject:
                    raise DataError(f"{path}: cannot read as NPZ (it holds object arrays, which "
                                    f"are refused (they would need unpickling))")
                shape = tuple(shape)
                check_matrix_shape(shape, src_dtype, what, path)
                return _read_rows(f, path, what, shape, fortran, src_dtype, dtype,
                                  progress), shape
    except DataError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(f"{path}: cannot read as NPZ ({' '.join(str(exc).split())})") from None


def _read_exact(f: Any, nbytes: int, path: str, what: str, shape: tuple[int, ...]) -> bytes:
    """``nbytes`` bytes of an opened member; DataError when it ends before."""
    data = f.read(nbytes)
    if len(data) != nbytes:
        raise DataError(f"{path}: cannot read as NPZ ({what} is truncated: its header promises "
                        f"shape {shape} but the data ends early)")
    return data


def _read_rows(f: Any, path: str, what: str, shape: tuple[int, ...], fortran: bool,
               src_dtype: np.dtype, dtype: np.dtype, progress: bool) -> Array:
    """The data of an opened ``.npy`` member (header read) as an (m, n) matrix of ``dtype``.

    C-order data is read a block of rows at a time; Fortran-order data (``np.save`` writes it
    for a column-major array, such as ``X[:, columns]``) a block of columns at a time.
    """
    m = shape[0]
    trailing = shape[1:]
    n = int(np.prod(trailing))
    out = np.empty((m, n), dtype=dtype)
    line = (n if not fortran else m) * src_dtype.itemsize  # bytes of a row (of a column)
    step = max(1, BLOCK_BYTES // line)
    count = m if not fortran else n
    bar = progress_bar(progress, m * n * src_dtype.itemsize, f"reading {os.path.basename(path)}")
    with bar:
        for start in range(0, count, step):
            k = min(step, count - start)
            data = _read_exact(f, k * line, path, what, shape)
            if not fortran:
                block = np.frombuffer(data, dtype=src_dtype).reshape(k, n)
                convert_into(out[start:start + k], block, what, path, first_row=start)
            else:  # k columns of m values; column c is feature c of the Fortran-order index
                block = np.frombuffer(data, dtype=src_dtype).reshape(k, m).T
                cols = np.arange(start, start + k)
                if len(trailing) > 1:
                    cols = np.ravel_multi_index(np.unravel_index(cols, trailing, order="F"),
                                                trailing)
                part = np.empty((m, k), dtype=dtype)
                convert_into(part, block, what, path, columns=cols)
                out[:, cols] = part
            bar.update(len(data))
    f.read(1)  # at the end of the member: the archive's CRC check runs
    return out
