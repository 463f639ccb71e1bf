"""Readers: CSV/TSV, gzipped CSV and Parquet read the same; every way a file can be unreadable
(empty, ragged, bad NPZ or IDX, unknown name) raises DataError naming the file and the problem.
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backprop.data import DataError, data_format, load_dataset, read_idx


def test_tsv_gzipped_csv_and_parquet_read_the_same(tmp_path):
    df = pd.DataFrame({"x1": [0.5, 1.5, -2.0, 3.25], "x2": [1, 2, 3, 4],
                       "label": ["a", "b", "a", "b"]})
    csv = str(tmp_path / "d.csv")
    df.to_csv(csv, index=False)
    tsv = str(tmp_path / "d.tsv")
    df.to_csv(tsv, index=False, sep="\t")
    gz = str(tmp_path / "d.csv.gz")
    df.to_csv(gz, index=False, compression="gzip")
    pq = str(tmp_path / "d.parquet")
    df.to_parquet(pq)
    ref = load_dataset(csv, target="label")
    for path in (tsv, gz, pq):
        ds = load_dataset(path, target="label")
        np.testing.assert_array_equal(ds.X, ref.X)
        np.testing.assert_array_equal(ds.y, ref.y)
        assert ds.classes == ref.classes == ["a", "b"]
        assert ds.feature_names == ["x1", "x2"]


# --------------------------------------------------------------------------- bad CSV input
BAD_CSV = [  # (file text, load_dataset kwargs, message pattern after "<file>: ")
    ("", {"target": "y"}, r"empty file"),
    ("a,b,y\n", {"target": "y"}, r"header only, no data rows"),
    ("a,b\n1,2\n", {"target": "y"}, r"no target column 'y'; the file has 'a', 'b'"),
    ("a,b\n1,2\n", {}, r"no target column given"),
    ("a,y\n1,2\n", {"target": "y", "features": ["a", "zz"]},
     r"missing feature column\(s\) 'zz'"),
    ("a,b,y\n1,2,p\n3,x7,q\n5,6,p\n", {"target": "y"},
     r"1 column\(s\) cannot be used as they are: 'b' is numbers except for 1 cell\(s\) that "
     r"are not numbers \(row 2: 'x7'\)"),
    ("a,b,y\n1,2,p\n3,inf,q\n", {"target": "y"}, r"row 2, column 'b' holds inf"),
    ("a,b,y\n1,2,p\n3,4\n5,6,q\n", {"target": "y"},
     r"ragged rows: line 3 has 2 fields but the header has 3"),
    ("a,b,y\n1,2,p\n3,4,p,9\n", {"target": "y"},
     r"ragged rows: line 3 has 4 fields but the header has 3"),
    ("a,y\n1,p\n2,p\n", {"target": "y"}, r"target column 'y' has a single class 'p'"),
    ("a,y\n1,2.5\n2,high\n", {"target": "y", "task": "regression"},
     r"target column 'y': a regression target needs numbers, but row 2 holds 'high'"),
    ("a,y\n1,\n2,p\n", {"target": "y"}, r"target column 'y': row 1 is empty"),
    ("a,a,y\n1,2,p\n", {"target": "y"}, r"duplicate column name 'a' \(columns 1 and 2\)"),
    (",a,y\n0,1,p\n1,2,q\n", {"target": "y"}, r"column 1 has no name in the header"),
    ("a,y\n1,p\n", {"target": "y", "features": ["y"]}, r"column 'y' is the target"),
    ("y\np\nq\n", {"target": "y"}, r"no feature columns left"),
]


@pytest.mark.parametrize("text, kwargs, message", BAD_CSV)
def test_bad_csv_raises_data_error_naming_file_and_problem(tmp_path, text, kwargs, message, write):
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(DataError, match="^" + path.replace("\\", "\\\\") + ": " + message) as e:
        load_dataset(path, **kwargs)
    assert "\n" not in str(e.value)


def test_missing_file_and_unknown_format(tmp_path, write):
    with pytest.raises(DataError, match=r"nope\.csv: no such file \(and not a built-in"):
        load_dataset(str(tmp_path / "nope.csv"), target="y")
    path = write(tmp_path, "d.xlsx", "a")
    with pytest.raises(DataError, match=r"d\.xlsx: cannot tell the file format from its name"):
        load_dataset(path, target="y")
    assert data_format("x.CSV.gz") == "csv" and data_format("a.pq") == "parquet"


# --------------------------------------------------------------------------- NPZ and IDX
def test_npz_errors(tmp_path, write):
    path = str(tmp_path / "obj.npz")
    np.savez(path, X=np.array([[1, "a"]], dtype=object), y=np.array([1]))
    with pytest.raises(DataError, match="object arrays, which are refused"):
        load_dataset(path)
    path = str(tmp_path / "nox.npz")
    np.savez(path, data=np.ones((2, 2)))
    with pytest.raises(DataError, match=r"no array named 'X' \(the file has \['data'\]\)"):
        load_dataset(path)
    path = str(tmp_path / "nan.npz")
    np.savez(path, X=np.array([[1.0, 2.0], [3.0, np.nan]]), y=np.array([0, 1]))
    with pytest.raises(DataError, match=r"row 2, column 'x1' holds nan"):
        load_dataset(path)
    path = str(tmp_path / "short.npz")
    np.savez(path, X=np.ones((3, 2)), y=np.array([0, 1]))
    with pytest.raises(DataError, match=r"array 'y' must have shape \(3,\)"):
        load_dataset(path)
    path = write(tmp_path, "garbage.npz", "not a zip file")
    with pytest.raises(DataError, match="cannot read as NPZ"):
        load_dataset(path)


def test_npz_files_that_are_not_archives_of_arrays(tmp_path):
    import zipfile

    single = tmp_path / "single.npz"  # np.save writes .npy bytes whatever the name says
    with open(single, "wb") as f:
        np.save(f, np.ones((3, 2)))
    with pytest.raises(DataError, match=r"single\.npz: cannot read as NPZ \(it is a single "
                                        r"\.npy array"):
        load_dataset(str(single))
    raw = tmp_path / "raw.npz"  # a zip member without the .npy header
    with zipfile.ZipFile(raw, "w") as z:
        z.writestr("X", "hello")
    with pytest.raises(DataError, match=r"raw\.npz: cannot read as NPZ \(member 'X' is not a "
                                        r"\.npy array\)"):
        load_dataset(str(raw))
    broken = tmp_path / "broken.npz"  # a damaged deflate stream
    np.savez_compressed(broken, X=np.random.default_rng(0).random((200, 3)))
    data = bytearray(broken.read_bytes())
    start = data.index(b"X.npy") + len(b"X.npy")
    data[start + 5:start + 40] = bytes(range(35))
    broken.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"broken\.npz: cannot read as NPZ \(.*decompressing"):
        load_dataset(str(broken))


def test_idx_errors(tmp_path, write, write_idx):
    good = np.zeros((4, 2, 2), np.uint8)
    path = write_idx(tmp_path / "t-images-idx3-ubyte", good)
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[:-3])
    with pytest.raises(DataError, match=r"truncated or corrupted IDX file: its header promises "
                                        r"shape \(4, 2, 2\)"):
        load_dataset(path, require_target=False)
    bad = write(tmp_path, "x-images-idx3-ubyte", "hello world")
    with pytest.raises(DataError, match="not an IDX file"):
        load_dataset(bad, require_target=False)
    alone = write_idx(tmp_path / "alone-images-idx3-ubyte", good)
    with pytest.raises(DataError, match="no labels file found next to it"):
        load_dataset(alone)


def test_idx_header_with_a_huge_shape_is_refused(tmp_path):
    path = tmp_path / "big-images-idx3-ubyte"  # 65536**4 == 2**64 wraps to 0 in int64
    path.write_bytes(bytes([0, 0, 8, 4]) + np.array([65536] * 4, ">u4").tobytes())
    with pytest.raises(DataError, match=r"promises shape \(65536, 65536, 65536, 65536\) "
                                        r"\(18446744073709551616 bytes of data\) but it holds 0"):
        read_idx(str(path))


# --------------------------------------------------------------------------- property test
CELL = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**30, 10**30).map(str),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6),
    st.sampled_from(["", "NA", "nan", "inf", "-inf", "true", "1e999", '"1,2"', '"', "\t"]),
)


@st.composite
def csv_texts(draw):
    """CSV-like text: a header and rows of mixed cells, sometimes ragged or unquoted."""
    n_cols = draw(st.integers(1, 4))
    header = draw(st.lists(st.sampled_from(["a", "b", "c", "y", "", "a b"]), min_size=n_cols,
                           max_size=n_cols))
    rows = draw(st.lists(st.lists(CELL, min_size=max(n_cols - 1, 1), max_size=n_cols + 1),
                         max_size=5))
    return "\n".join(",".join(r) for r in [header, *rows]) + draw(st.sampled_from(["", "\n"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(csv_texts(), st.text(max_size=60), st.binary(max_size=60)))
def test_any_csv_text_gives_a_float_matrix_or_a_data_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("csv") / "f.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    for kwargs in ({"require_target": False}, {"target": "y"}):
        try:
            ds = load_dataset(str(path), **kwargs)
        except DataError as exc:
            assert str(exc).startswith(str(path)) and "\n" not in str(exc)
            continue
        assert ds.X.ndim == 2 and ds.X.dtype == np.float32 and ds.X.shape[0] >= 1
        assert np.isfinite(ds.X).all() and len(ds.feature_names) == ds.X.shape[1]
