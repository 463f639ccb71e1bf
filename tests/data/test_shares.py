"""Shares of a data file, one per process: together they are the file's rows in order, and each
is read without the others (their bytes may be damaged: the share still reads)."""

import gzip
import zipfile

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from backprop.data import DataError
from backprop.data.shares import csv_share, even_share, npz_share, parquet_share, read_csv_share


def table(m=53, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(m, 3)).round(6), columns=["a", "b", "c"])
    df["label"] = rng.choice(["cat", "dog"], size=m)
    return df


def test_even_share_deals_contiguous_blocks():
    assert [even_share(10, r, 3) for r in range(3)] == [(0, 3), (3, 6), (6, 10)]
    assert [even_share(2, r, 4) for r in range(4)] == [(0, 0), (0, 1), (1, 1), (1, 2)]
    with pytest.raises(ValueError, match=r"rank must be in \[0, 3\), got 3"):
        even_share(10, 3, 3)


@pytest.mark.parametrize("save", ["savez", "savez_compressed", "fortran"])
@pytest.mark.parametrize("size", [1, 3, 7])
def test_npz_shares_are_the_rows_in_order(tmp_path, save, size):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 2, 3)).astype(np.float32)
    y = rng.integers(0, 4, 20)
    path = tmp_path / "d.npz"
    if save == "fortran":
        np.savez(path, X=np.asfortranarray(X), y=y, other=np.arange(3))
    else:
        getattr(np, save)(path, X=X, y=y, other=np.arange(3))
    parts = [npz_share(path, ["X", "y"], r, size) for r in range(size)]
    assert [p[1] for p in parts] == [even_share(20, r, size)[0] for r in range(size)]
    assert all(p[2] == 20 and set(p[0]) == {"X", "y"} for p in parts)
    np.testing.assert_array_equal(np.concatenate([p[0]["X"] for p in parts]), X)
    np.testing.assert_array_equal(np.concatenate([p[0]["y"] for p in parts]), y)
    assert parts[0][0]["X"].dtype == np.float32


def test_an_npz_share_does_not_read_the_other_rows(tmp_path):
    X = np.arange(40.0).reshape(10, 4)
    path = tmp_path / "d.npz"
    np.savez(path, X=X, y=np.arange(10))
    raw = bytearray(path.read_bytes())
    start = raw.find(X.tobytes())  # a stored member: the rows lie in the file as they are
    assert start > 0
    garbage = np.full(4, np.nan).tobytes()
    for row in (0, 1, 2, 6, 7, 8, 9):  # all but process 1's rows of 3 (rows 3, 4, 5)
        raw[start + 32 * row:start + 32 * (row + 1)] = garbage
    path.write_bytes(bytes(raw))
    arrays, first, m = npz_share(path, ["X"], 1, 3)
    assert (first, m) == (3, 10)
    np.testing.assert_array_equal(arrays["X"], X[3:6])
    with pytest.raises(zipfile.BadZipFile):  # the rest is damaged indeed: reading all fails
        np.load(path)["X"]


def test_npz_share_errors_name_the_file_and_array(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.zeros((5, 2)), y=np.zeros(4))
    with pytest.raises(DataError, match=r"d.npz: array 'y' has shape \(4,\), not 5 rows like "
                                        r"'X'"):
        npz_share(path, ["X", "y"], 0, 2)
    with pytest.raises(DataError, match=r"d.npz: no array named 'z' \(the file has \['X', 'y'\]"):
        npz_share(path, ["X", "z"], 0, 2)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(DataError, match=r"bad.npz: cannot read as NPZ"):
        npz_share(bad, ["X"], 0, 2)


@pytest.mark.parametrize("size", [1, 2, 4])
def test_parquet_shares_read_the_overlapping_row_groups(tmp_path, size):
    df = table()
    path = tmp_path / "d.parquet"
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, row_group_size=8)
    parts = [parquet_share(path, r, size, columns=["a", "label"]) for r in range(size)]
    whole = pd.concat([p[0] for p in parts], ignore_index=True)
    pd.testing.assert_frame_equal(whole, df[["a", "label"]])
    for r, (frame, first, m, read) in enumerate(parts):
        lo, hi = even_share(53, r, size)
        assert (first, m, len(frame)) == (lo, 53, hi - lo)
        assert hi - lo <= read <= hi - lo + 2 * 8  # at most a group's worth at each edge


def test_a_parquet_share_does_not_read_the_other_row_groups(tmp_path):
    df = table(m=40)
    path = tmp_path / "d.parquet"
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, row_group_size=10,
                   compression="none")
    meta = pq.ParquetFile(path).metadata
    raw = bytearray(path.read_bytes())
    for g in (0, 1):  # process 1 of 2 reads rows 20-39, groups 2 and 3: damage the others
        for j in range(meta.num_columns):
            col = meta.row_group(g).column(j)
            start = col.dictionary_page_offset or col.data_page_offset
            raw[start:start + col.total_compressed_size] = b"\xff" * col.total_compressed_size
    path.write_bytes(bytes(raw))
    frame, first, m, read = parquet_share(path, 1, 2)
    assert (first, m, read) == (20, 40, 20)
    pd.testing.assert_frame_equal(frame.reset_index(drop=True),
                                  df.iloc[20:].reset_index(drop=True))
    with pytest.raises(DataError, match=r"d.parquet: cannot read as Parquet"):
        parquet_share(path, 0, 2)  # its group 0 is damaged


def csv_shares(path, size):
    shares = [csv_share(path, r, size) for r in range(size)]
    before = np.concatenate([[0], np.cumsum([s.lines for s in shares])])
    return shares, [read_csv_share(s, int(b)) for s, b in zip(shares, before)]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 80])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_csv_shares_are_the_lines_in_order(tmp_path, size, newline):
    df = table()
    path = tmp_path / "d.csv"
    path.write_bytes(df.to_csv(index=False, lineterminator=newline).encode().rstrip(b"\r\n"))
    shares, frames = csv_shares(path, size)  # the last line has no newline
    assert sum(s.lines for s in shares) == 53
    assert [s.start for s in shares[1:]] == [s.stop for s in shares[:-1]]  # byte ranges tile
    whole = pd.concat([f for f in frames if len(f)], ignore_index=True)
    pd.testing.assert_frame_equal(whole, pd.read_csv(path))
    empty = [f for f in frames if not len(f)]
    assert bool(empty) == (size == 80)  # more processes than lines: some shares are empty
    assert all(list(f.columns) == list(df.columns) for f in empty)


def test_a_csv_share_does_not_read_the_other_lines_and_errors_name_the_file_line(tmp_path):
    lines = ["x,y"] + [f"{i},{i % 2}" for i in range(30)]
    lines[3] = "garbage,with,too,many,fields"  # line 4 of the file: in process 0's share
    path = tmp_path / "d.csv"
    path.write_text("\n".join(lines) + "\n")
    shares = [csv_share(path, r, 3) for r in range(3)]
    frame = read_csv_share(shares[2], shares[0].lines + shares[1].lines)
    assert frame["x"].tolist() == list(range(30 - len(frame), 30))
    with pytest.raises(DataError, match=r"d.csv: ragged rows: line 4 has 5 fields but the "
                                        r"header has 2"):
        read_csv_share(shares[0], 0)
    lines[3], lines[25] = "2,0", "x,y,z"  # line 26: in process 2's share
    path.write_text("\n".join(lines) + "\n")
    shares = [csv_share(path, r, 3) for r in range(3)]
    with pytest.raises(DataError, match=r"ragged rows: line 26 has"):
        read_csv_share(shares[2], shares[0].lines + shares[1].lines)


def test_csv_shares_follow_the_dialect(tmp_path):
    path = tmp_path / "eu.csv"
    path.write_text("a;b\n" + "".join(f"{i},5;{i}\n" for i in range(12)), encoding="cp1252")
    shares, frames = csv_shares(path, 2)
    assert shares[0].dialect.sep == ";" and shares[0].dialect.decimal == ","
    assert pd.concat(frames, ignore_index=True)["a"].tolist() == [i + 0.5 for i in range(12)]


def test_csv_files_that_cannot_be_cut_by_bytes_are_refused(tmp_path):
    gz = tmp_path / "d.csv.gz"
    gz.write_bytes(gzip.compress(b"a,b\n1,2\n"))
    with pytest.raises(DataError, match=r"d.csv.gz: a compressed CSV file cannot be cut into "
                                        r"byte ranges, one per process; decompress it"):
        csv_share(gz, 0, 2)
    wide = tmp_path / "u16.csv"
    wide.write_text("a,b\n1,2\n", encoding="utf-16")
    with pytest.raises(DataError, match=r"u16.csv: a UTF-16 file cannot be cut into byte "
                                        r"ranges.*save it as UTF-8"):
        csv_share(wide, 0, 2)
