"""Numeric files read block by block: float32 from the file on (never widened to float64 on the
way), the same numbers in every format and block size, the fast path taken for clean numbers
and declined for the rest, values beyond float32's range named, and progress only when asked."""

import gzip

import numpy as np
import pandas as pd
import pytest

import backprop.data.blocks as blocks
import backprop.data.files as files
from backprop.data import DataError, load_dataset
from backprop.data.blocks import RowChunks, read_npz_matrix


@pytest.fixture
def table(rng):
    """200 rows of 7 float columns (some integers), a text target, as a DataFrame."""
    df = pd.DataFrame(rng.normal(size=(200, 7)) * [1, 10, 100, 1e4, 1e-3, 1, 1],
                      columns=[f"f{j}" for j in range(7)])
    df["f5"] = rng.integers(-5, 5, size=200)
    df["target"] = np.where(df["f0"] > 0, "up", "down")
    return df


def _write_all(df, tmp_path):
    paths = {"csv": tmp_path / "t.csv", "gz": tmp_path / "t.csv.gz", "tsv": tmp_path / "t.tsv",
             "parquet": tmp_path / "t.parquet"}
    df.to_csv(paths["csv"], index=False)
    df.to_csv(paths["gz"], index=False, compression="gzip")
    df.to_csv(paths["tsv"], index=False, sep="\t")
    df.to_parquet(paths["parquet"], row_group_size=64)  # several row groups
    return {k: str(v) for k, v in paths.items()}


def test_numeric_tables_take_the_fast_path_in_float32(tmp_path, table, monkeypatch):
    paths = _write_all(table, tmp_path)
    monkeypatch.setattr(blocks, "CHUNK_BYTES", 7 * 4 * 30)  # chunks of 30 rows
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 8 * 64 * 3)  # Parquet: 3 columns per read

    def no_general_path(*args, **kwargs):
        raise AssertionError("a table of numbers went through pandas")

    monkeypatch.setattr(files, "read_table", no_general_path)
    expected = table.drop(columns="target").to_numpy(np.float64)
    for path in paths.values():
        ds = load_dataset(path, target="target")
        assert ds.X.dtype == np.float32 and ds.X.shape == (200, 7)
        # parsed as float32: within float32 rounding of the float64 values
        np.testing.assert_allclose(ds.X, expected, rtol=2 ** -23, atol=0)
        assert ds.feature_names == [f"f{j}" for j in range(7)]
        assert ds.classes == ["down", "up"]
        np.testing.assert_array_equal(ds.y, (table["target"] == "up").to_numpy())
        wide = load_dataset(path, target="target", dtype=np.float64,
                            features=["f3", "f1"])
        assert wide.X.dtype == np.float64
        np.testing.assert_allclose(wide.X, expected[:, [3, 1]], rtol=1e-15)


def test_tables_that_are_not_clean_numbers_are_read_the_general_way(tmp_path, table,
                                                                      monkeypatch):
    calls = []
    general = files.read_table
    monkeypatch.setattr(files, "read_table",
                        lambda *a, **k: calls.append(a) or general(*a, **k))
    table.loc[150, "f2"] = np.nan  # an empty cell late in the file: the table is encoded
    paths = _write_all(table, tmp_path)
    for path in paths.values():
        ds = load_dataset(path, target="target")
        assert ds.preprocessor is not None and ds.X.dtype == np.float32
        assert ds.X[150, ds.feature_names.index("f2_na")] == 1
    assert len(calls) == 4
    flags = table.assign(f2=table["f0"] > 0)  # booleans: 0/1, as the general path reads them
    flags.to_parquet(tmp_path / "b.parquet")
    ds = load_dataset(str(tmp_path / "b.parquet"), target="target")
    np.testing.assert_array_equal(ds.X[:, 2], (table["f0"] > 0).astype(np.float32))
    assert ds.X.dtype == np.float32 and len(calls) == 5


def test_a_float64_value_beyond_float32_is_named_not_turned_into_inf(tmp_path):
    text = "a,b,y\n1,2,p\n3,1e300,q\n"
    (tmp_path / "big.csv").write_text(text)
    with pytest.raises(DataError, match=r"big\.csv: row 2, column 'b' holds 1e\+300, beyond "
                                        r"the range of float32 .*--dtype float64"):
        load_dataset(str(tmp_path / "big.csv"), target="y")
    assert load_dataset(str(tmp_path / "big.csv"), target="y", dtype=np.float64).X[1, 1] == 1e300
    X = np.ones((5, 3))
    X[3, 2] = -1e39
    np.savez(tmp_path / "big.npz", X=X, y=np.arange(5) % 2)
    with pytest.raises(DataError, match=r"big\.npz: row 4, column 3 of X holds -1e\+39, beyond"):
        load_dataset(str(tmp_path / "big.npz"))


@pytest.mark.parametrize("layout", ["C", "F", "compressed", "images"])
@pytest.mark.parametrize("source", [np.float32, np.float64, np.uint8])
def test_npz_members_are_read_in_blocks_into_the_matrix(tmp_path, rng, monkeypatch, layout,
                                                        source):
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 100)  # a few rows (or columns) per read
    shape = (37, 4, 3) if layout == "images" else (37, 5)
    X = (rng.normal(size=shape) * 50).astype(source)
    if layout == "F":
        X = np.asfortranarray(X)  # np.save writes it column-major
    save = np.savez_compressed if layout == "compressed" else np.savez
    save(tmp_path / "d.npz", X=X)
    M, file_shape = read_npz_matrix(str(tmp_path / "d.npz"), "X", np.float32)
    assert M.dtype == np.float32 and file_shape == shape and M.flags.c_contiguous
    np.testing.assert_array_equal(M, X.reshape(37, -1).astype(np.float32))
    M64, _ = read_npz_matrix(str(tmp_path / "d.npz"), "X", np.float64)
    np.testing.assert_array_equal(M64, X.reshape(37, -1).astype(np.float64))


def test_a_truncated_npz_member_is_refused(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "cut.npz", "w") as z:  # a header promising 10 rows, 4 given
        with z.open("X.npy", "w") as f:
            np.lib.format.write_array_header_1_0(
                f, {"descr": "<f4", "fortran_order": False, "shape": (10, 2)})
            f.write(np.ones((4, 2), np.float32).tobytes())
    with pytest.raises(DataError, match=r"cut\.npz: cannot read as NPZ \(X is truncated: its "
                                        r"header promises shape \(10, 2\)"):
        read_npz_matrix(str(tmp_path / "cut.npz"), "X")


@pytest.mark.parametrize("expected", [0, 3, 8, 100])
def test_row_chunks_put_rows_together_in_order(monkeypatch, expected):
    monkeypatch.setattr(blocks, "CHUNK_BYTES", 3 * 4 * 2)  # two rows of 3 float32 per chunk
    rows = RowChunks(3, np.float32, expected_rows=expected)
    parts = [np.arange(k * 3, dtype=np.float64).reshape(k, 3) + 100 * k for k in (1, 4, 0, 3)]
    for part in parts:
        rows.append(part)
    assert rows.m == 8
    assert len(rows.chunks) == {0: 4, 3: 4, 8: 1, 100: 1}[expected]
    single = len(rows.chunks) == 1 and rows.chunks[0]
    out = rows.matrix()
    np.testing.assert_array_equal(out, np.concatenate(parts).astype(np.float32))
    assert out.dtype == np.float32 and out.shape == (8, 3)
    if expected >= 8:  # the rows fitted the estimate: the chunk itself, cut to size
        assert out.base is single
    else:
        assert rows.chunks == [] and out.base is None


def test_a_csv_s_rows_are_estimated_from_its_first_block(tmp_path, monkeypatch):
    monkeypatch.setattr(blocks, "CSV_BLOCK_BYTES", 1000)
    monkeypatch.setattr(blocks, "CHUNK_BYTES", 2 * 4 * 100)  # 100 rows a chunk after the first
    path = tmp_path / "long.csv"
    path.write_text("a,b,y\n" + "".join(f"{i % 10}.5,{i % 7}.25,{i % 2}\n" for i in range(5000)))
    raw, stream = blocks._open_stream(str(path))
    with raw:
        guess = blocks._csv_rows_estimate(str(path), raw, stream)
    assert 5000 <= guess <= 1.2 * 5000 + 1024
    ds = load_dataset(str(path), target="y")
    assert ds.X.shape == (5000, 2) and ds.X.base is not None  # the first chunk: no copy
    gz = tmp_path / "long.csv.gz"  # no estimate: chunks of 100 rows, copied together
    gz.write_bytes(gzip.compress(path.read_bytes()))
    packed = load_dataset(str(gz), target="y")
    assert packed.X.base is None
    np.testing.assert_array_equal(packed.X, ds.X)
    np.testing.assert_array_equal(ds.X[:3], [[0.5, 0.25], [1.5, 1.25], [2.5, 2.25]])


def test_progress_is_shown_only_when_asked(tmp_path, table, monkeypatch, capsys):
    monkeypatch.setattr(blocks, "PROGRESS_DELAY", 0)
    paths = _write_all(table, tmp_path)
    np.savez(tmp_path / "t.npz", X=table.drop(columns="target").to_numpy(),
             y=table["target"].to_numpy(str))
    paths["npz"] = str(tmp_path / "t.npz")
    for path in paths.values():
        load_dataset(path, target="target" if not path.endswith("npz") else None)
        assert capsys.readouterr().err == ""
        load_dataset(path, target="target" if not path.endswith("npz") else None,
                     progress=True)
        err = capsys.readouterr().err
        name = path.rsplit("/", 1)[1]
        assert f"\rreading {name}:" in err, err
