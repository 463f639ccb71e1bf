"""One process's share of a data file's rows, read without reading the other rows.

In data-parallel training on N processes (:mod:`backprop.train.distributed`,
``mpiexec -n N backprop train``) each process holds a contiguous block of the file's rows, and
the data set is the blocks in rank order.  Each process reads its own block only, so that no
process needs memory (or reading time) for the whole file:

* **NPZ** (``np.savez``): the rows ``[m r / N, m (r+1) / N)`` of each array.  An uncompressed
  member is memory-mapped and sliced; a compressed one (``np.savez_compressed``) is
  decompressed as a stream up to the end of the share, keeping only the share.
* **Parquet**: the same rows, from the row groups that overlap them (then sliced): a file
  whose row groups are small against a share is read with little waste (pyarrow writes groups
  of up to 1M rows by default: choose ``row_group_size``).
* **CSV/TSV**: a byte range cut at line boundaries.  The data lines of a file of ``S`` bytes
  whose header ends at byte ``h`` are dealt by their first byte: process ``r`` takes the lines
  that start in ``[h + (S - h) r / N, h + (S - h) (r + 1) / N)``.  A process then knows only
  how many lines and rows it has; its first row's global index comes from the counts of the
  processes before it (which the caller gathers).  A compressed file, or a UTF-16/UTF-32 one,
  cannot be cut by bytes and is refused with what to do instead.

Every function takes the process's ``rank`` and the number of processes ``size`` and knows
nothing of MPI.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from backprop._utils import optional_import
from backprop.data.csv_dialect import Dialect, TextProblem, sniff
from backprop.data.readers import DataError, data_format, read_csv_part

__all__ = ["even_share", "npz_share", "parquet_share", "CsvShare", "csv_share",
           "read_csv_share", "SHARED_FORMATS"]

Array = np.ndarray

#: The formats whose shares are read without reading the rest of the file.
SHARED_FORMATS = ("npz", "parquet", "csv", "tsv")
_SKIP_BLOCK = 1 << 24  # bytes decompressed and dropped at a time before a compressed share


def even_share(m: int, rank: int, size: int) -> tuple[int, int]:
    """``(first, stop)``: the rows of process ``rank`` of ``size`` when ``m`` rows are dealt
    in contiguous blocks that differ by at most one row."""
    _check_rank(rank, size)
    return m * rank // size, m * (rank + 1) // size


def _check_rank(rank: int, size: int) -> None:
    if not 0 <= rank < size:
        raise ValueError(f"rank must be in [0, {size}), got {rank}")


# --------------------------------------------------------------------------- NPZ
class _NpzMember(NamedTuple):
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran: bool
    data_offset: int | None  #: where the array's bytes start in the file (stored members)
    info: zipfile.ZipInfo


def npz_share(path: str | os.PathLike[str], names: Sequence[str], rank: int, size: int
              ) -> tuple[dict[str, Array], int, int]:
    """The share of process ``rank`` of ``size`` of the NPZ arrays ``names`` (which must all
    have the same number of rows ``m``): ``(arrays, first_row, m)``, each array holding rows
    ``[first_row, first_row + its rows)``.  Arrays in the file but not in ``names`` are not
    read.  Raises :class:`DataError` naming the file."""
    name = os.fspath(path)
    members = _npz_members(name, names)
    rows = {k: (v.shape[0] if v.shape else None) for k, v in members.items()}
    m = rows[names[0]]
    for k, n in rows.items():
        if n is None or n != m:
            raise DataError(f"{name}: array {k!r} has shape {members[k].shape}, not {m} rows "
                            f"like {names[0]!r}")
    first, stop = even_share(m, rank, size)
    out = {}
    for k, member in members.items():
        try:
            out[k] = _npz_rows(name, member, first, stop)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise DataError(f"{name}: cannot read array {k!r} ({exc})") from None
    return out, first, m


def _npz_members(name: str, names: Sequence[str]) -> dict[str, _NpzMember]:
    """The headers of the named arrays (nothing else is read)."""
    found = {}
    try:
        with zipfile.ZipFile(name) as archive, open(name, "rb") as raw:
            available = {n[:-4]: n for n in archive.namelist() if n.endswith(".npy")}
            for key in names:
                if key not in available:
                    raise DataError(f"{name}: no array named {key!r} (the file has "
                                    f"{sorted(available)})")
                info = archive.getinfo(available[key])
                offset = None
                if info.compress_type == zipfile.ZIP_STORED:
                    # the bytes lie in the file as they are: read the header there (the
                    # archive's reader would read on to the member's end to check its CRC)
                    raw.seek(info.header_offset)
                    local = raw.read(30)
                    if local[:4] != b"PK\x03\x04":
                        raise DataError(f"{name}: damaged zip entry for array {key!r}")
                    raw.seek(info.header_offset + 30 + int.from_bytes(local[26:28], "little")
                             + int.from_bytes(local[28:30], "little"))
                    shape, fortran, dtype = _npy_header(raw)
                    offset = raw.tell()
                else:
                    with archive.open(info) as stream:
                        shape, fortran, dtype = _npy_header(stream)
                if dtype.hasobject:
                    raise DataError(f"{name}: array {key!r} holds objects, which are refused "
                                    "(they would need unpickling)")
                found[key] = _NpzMember(tuple(shape), dtype, fortran, offset, info)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{name}: cannot read as NPZ ({' '.join(str(exc).split())})") from None
    return found


def _npy_header(stream: Any) -> tuple[tuple[int, ...], bool, np.dtype]:
    """``(shape, fortran_order, dtype)`` from a ``.npy`` header; the stream is left at the
    array's first byte."""
    fmt = np.lib.format
    version = fmt.read_magic(stream)
    read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
    return read(stream)


def _npz_rows(name: str, member: _NpzMember, first: int, stop: int) -> Array:
    """Rows ``[first, stop)`` of one member: a memory-mapped slice when it is stored, else
    the decompressed stream up to ``stop``."""
    shape, dtype = member.shape, member.dtype
    n = stop - first
    if n == 0:
        return np.empty((0, *shape[1:]), dtype=dtype)
    if member.data_offset is not None:
        mapped = np.memmap(name, dtype=dtype, mode="r", offset=member.data_offset, shape=shape,
                           order="F" if member.fortran else "C")
        try:
            return np.array(mapped[first:stop])
        finally:
            del mapped
    with zipfile.ZipFile(name) as archive, archive.open(member.info) as stream:
        if member.fortran and len(shape) > 1:  # rows are not contiguous: read it whole
            return np.lib.format.read_array(stream, allow_pickle=False)[first:stop].copy()
        _npy_header(stream)
        row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
        skip = first * row_bytes
        while skip:
            got = len(stream.read(min(skip, _SKIP_BLOCK)))
            if not got:
                raise EOFError("the array is shorter than its header says")
            skip -= got
        data = stream.read(n * row_bytes)
        if len(data) != n * row_bytes:
            raise EOFError("the array is shorter than its header says")
        return np.frombuffer(bytearray(data), dtype=dtype).reshape((n, *shape[1:]))


# --------------------------------------------------------------------------- Parquet
def parquet_share(path: str | os.PathLike[str], rank: int, size: int,
                  columns: Sequence[str] | None = None) -> tuple[Any, int, int, int]:
    """The share of process ``rank`` of ``size`` of a Parquet file's rows, as a pandas
    DataFrame of ``columns`` (default: all): ``(frame, first_row, m, rows_read)``, where
    ``rows_read`` counts the rows of the row groups read (at least the share's)."""
    pa = optional_import("pyarrow")
    pq = optional_import("pyarrow.parquet")
    name = os.fspath(path)
    try:
        pf = pq.ParquetFile(name)
        meta = pf.metadata
        m = meta.num_rows
        first, stop = even_share(m, rank, size)
        groups, start, offset = [], 0, 0
        for i in range(meta.num_row_groups):
            n = meta.row_group(i).num_rows
            if start < stop and start + n > first:
                if not groups:
                    offset = start
                groups.append(i)
            start += n
        cols = None if columns is None else list(columns)
        if groups:
            table = pf.read_row_groups(groups, columns=cols)
        else:
            schema = pf.schema_arrow
            table = schema.empty_table() if cols is None else schema.empty_table().select(cols)
        read = table.num_rows
        table = table.slice(first - offset, stop - first)
        return table.to_pandas(), first, m, read
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"{name}: cannot read as Parquet ({' '.join(str(exc).split())})") \
            from None


# --------------------------------------------------------------------------- CSV
class CsvShare(NamedTuple):
    """The lines of a CSV file that one process reads (:func:`csv_share`), not yet parsed."""

    path: str
    dialect: Dialect
    header: bytes  #: the file's first line
    data: bytes  #: the process's whole lines
    lines: int  #: how many lines ``data`` holds
    start: int  #: the byte range of ``data`` in the file
    stop: int


def csv_share(path: str | os.PathLike[str], rank: int, size: int, *, sep: str | None = None,
              decimal: str | None = None, encoding: str | None = None) -> CsvShare:
    """The lines of process ``rank`` of ``size`` (see the module docstring), with the dialect
    of the file (``sep``, ``decimal``, ``encoding`` when given, else sniffed from its first
    lines as :func:`~backprop.data.readers.read_table` does).  Only the header, the share and
    the end of the line that straddles each edge are read."""
    _check_rank(rank, size)
    name = os.fspath(path)
    fmt = data_format(name)
    if fmt not in ("csv", "tsv"):
        raise DataError(f"{name}: not a CSV/TSV file")
    if name.lower().endswith((".gz", ".bz2")):
        raise DataError(f"{name}: a compressed CSV file cannot be cut into byte ranges, one per "
                        "process; decompress it, or convert it to Parquet, to train on several "
                        "processes")
    if not os.path.isfile(name) or os.path.getsize(name) == 0:
        raise DataError(f"{name}: {'empty file' if os.path.isfile(name) else 'no such file'}")
    try:
        dialect = sniff(name, "\t" if fmt == "tsv" else ",", sep, decimal, encoding)
    except TextProblem as exc:
        raise DataError(f"{name}: {exc}") from None
    codec = dialect.encoding.lower().replace("_", "-")
    if codec.startswith(("utf-16", "utf-32", "utf16", "utf32")):
        raise DataError(f"{name}: a {dialect.encoding.upper()} file cannot be cut into byte "
                        "ranges, one per process; save it as UTF-8 (or convert it to Parquet) "
                        "to train on several processes")
    total = os.path.getsize(name)
    with open(name, "rb") as f:
        header = f.readline()
        h = f.tell()
        lo = h + (total - h) * rank // size
        hi = h + (total - h) * (rank + 1) // size
        start, stop = _line_start(f, lo, h, total), _line_start(f, hi, h, total)
        f.seek(start)
        data = f.read(max(stop - start, 0))
    lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    return CsvShare(name, dialect, header, data, lines, start, max(start, stop))


def _line_start(f: Any, pos: int, h: int, total: int) -> int:
    """The first byte at or after ``pos`` that starts a line (``total`` at the end)."""
    if pos <= h:
        return h
    if pos >= total:
        return total
    f.seek(pos - 1)
    f.readline()  # to the end of the line holding byte pos - 1
    return f.tell()


def read_csv_share(share: CsvShare, lines_before: int) -> Any:
    """Parse a :func:`csv_share` into a pandas DataFrame (possibly of no row), as
    :func:`~backprop.data.readers.read_table` reads whole files; ``lines_before`` is the
    number of the file's lines between its header and this share (the lines of the shares
    of the processes before it), so that errors name lines of the file."""
    if share.header.strip() == b"":
        raise DataError(f"{share.path}: empty file (no header row)")
    return read_csv_part(share.path, share.header + share.data, share.dialect, lines_before)
