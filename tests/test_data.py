"""Data loading: CSV/TSV, Parquet, NPZ, IDX and built-in sets; task and target handling as
files reach it; the errors a user's file can cause; the Standardize layer that carries the
scaler."""

import gzip
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import backprop as bp
from backprop.data.datasets import IDX_DATASETS, load_builtin, load_dataset
from backprop.data.readers import DataError, data_format, read_idx

FASHION = IDX_DATASETS["fashion-mnist"].folder


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def write_idx(path, arr, gz=False):
    """An IDX file as MNIST's: magic 0 0 <dtype code> <ndim>, big-endian sizes, big-endian data."""
    codes = {np.dtype(np.uint8): 0x08, np.dtype(np.int16): 0x0B, np.dtype(np.float32): 0x0D}
    arr = np.asarray(arr)
    head = bytes([0, 0, codes[arr.dtype], arr.ndim]) + np.array(arr.shape, ">u4").tobytes()
    data = head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    with open(path, "wb") as f:
        f.write(gzip.compress(data) if gz else data)
    return str(path)


# --------------------------------------------------------------------------- CSV and friends
def test_csv_with_string_labels(tmp_path):
    path = write(tmp_path, "pets.csv", "weight,height,kind\n4.5,30,cat\n30,60,dog\n5,25,cat\n"
                                       "25.5,55,dog\n3,20,bird\n")
    ds = load_dataset(path, target="kind")
    np.testing.assert_array_equal(ds.X, [[4.5, 30], [30, 60], [5, 25], [25.5, 55], [3, 20]])
    assert ds.X.dtype == np.float64
    assert ds.classes == ["bird", "cat", "dog"]  # sorted original labels
    np.testing.assert_array_equal(ds.y, [1, 2, 1, 2, 0])
    assert ds.task == "multiclass" and ds.task_reason == "text labels"
    assert ds.feature_names == ["weight", "height"] and ds.target == "kind"
    assert ds.name == "pets.csv" and ds.source == path and len(ds.sha256) == 64
    assert ds.n_outputs == 3 and ds.split is None


def test_binary_task_and_feature_selection_order(tmp_path):
    path = write(tmp_path, "d.csv", "a,b,c,y\n1,2,3,yes\n4,5,6,no\n7,8,9,yes\n")
    ds = load_dataset(path, target="y", features=["c", "a"])
    np.testing.assert_array_equal(ds.X, [[3, 1], [6, 4], [9, 7]])
    assert ds.feature_names == ["c", "a"]
    assert ds.task == "binary" and ds.classes == ["no", "yes"]
    np.testing.assert_array_equal(ds.y, [1, 0, 1])


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


def test_task_override_and_label_types(tmp_path):
    path = write(tmp_path, "d.csv", "x,y\n1,0.5\n2,1.5\n3,0.5\n4,1.5\n")
    assert load_dataset(path, target="y").task == "regression"
    ds = load_dataset(path, target="y", task="classification")
    assert ds.task == "binary" and ds.classes == [0.5, 1.5]
    assert all(type(c) is float for c in ds.classes)
    ints = write(tmp_path, "i.csv", "x,y\n1,3\n2,1\n3,2\n")
    ds = load_dataset(ints, target="y")
    assert ds.task == "multiclass" and ds.classes == [1, 2, 3]
    assert all(type(c) is int for c in ds.classes)
    reg = load_dataset(ints, target="y", task="regression")
    assert reg.task == "regression" and reg.y.dtype == np.float64
    np.testing.assert_array_equal(reg.y, [3, 1, 2])
    with pytest.raises(DataError, match="task 'binary' needs 2 classes, found 3"):
        load_dataset(ints, target="y", task="binary")
    with pytest.raises(ValueError, match="task must be one of"):
        load_dataset(ints, target="y", task="clustering")


def test_boolean_feature_columns_are_numbers(tmp_path):
    path = write(tmp_path, "d.csv", "flag,x,y\ntrue,1,a\nfalse,2,b\n")
    np.testing.assert_array_equal(load_dataset(path, target="y").X, [[1, 1], [0, 2]])


# --------------------------------------------------------------------------- bad CSV input
BAD_CSV = [  # (file text, load_dataset kwargs, message pattern after "<file>: ")
    ("", {"target": "y"}, r"empty file"),
    ("a,b,y\n", {"target": "y"}, r"header only, no data rows"),
    ("a,b\n1,2\n", {"target": "y"}, r"no target column 'y'; the file has 'a', 'b'"),
    ("a,b\n1,2\n", {}, r"no target column given"),
    ("a,y\n1,2\n", {"target": "y", "features": ["a", "zz"]},
     r"missing feature column\(s\) 'zz'"),
    ("a,b,y\n1,2,p\n3,x7,q\n", {"target": "y"},
     r"non-numeric feature value\(s\): row 2, column 'b': 'x7'"),
    ("a,b,y\n1,2,p\n3,,q\n", {"target": "y"}, r"row 2, column 'b' is empty"),
    ("a,b,y\n1,nan,p\n3,4,q\n", {"target": "y"}, r"row 1, column 'b' is empty \(or NA/NaN\)"),
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
def test_bad_csv_raises_data_error_naming_file_and_problem(tmp_path, text, kwargs, message):
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(DataError, match="^" + path.replace("\\", "\\\\") + ": " + message) as e:
        load_dataset(path, **kwargs)
    assert "\n" not in str(e.value)


def test_non_numeric_columns_are_all_named(tmp_path):
    path = write(tmp_path, "d.csv", "color,x,city,y\nred,1,Paris,a\nblue,2,Rome,b\n")
    with pytest.raises(DataError, match=r"row 1, column 'color': 'red'; row 1, column 'city': "
                                        r"'Paris'"):
        load_dataset(path, target="y")


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(DataError, match=r"nope\.csv: no such file \(and not a built-in"):
        load_dataset(str(tmp_path / "nope.csv"), target="y")
    path = write(tmp_path, "d.xlsx", "a")
    with pytest.raises(DataError, match=r"d\.xlsx: cannot tell the file format from its name"):
        load_dataset(path, target="y")
    assert data_format("x.CSV.gz") == "csv" and data_format("a.pq") == "parquet"


def test_prediction_files_need_no_target(tmp_path):
    path = write(tmp_path, "d.csv", "a,b,extra\n1,2,x\n3,4,y\n")
    ds = load_dataset(path, features=["b", "a"], require_target=False)
    np.testing.assert_array_equal(ds.X, [[2, 1], [4, 3]])
    assert ds.y is None and ds.task is None


# --------------------------------------------------------------------------- NPZ
def test_npz_arrays_string_targets_and_feature_names(tmp_path):
    X = np.arange(12.0).reshape(4, 3)
    path = str(tmp_path / "d.npz")
    np.savez(path, X=X, y=np.array(["no", "yes", "no", "yes"]),
             feature_names=np.array(["f0", "f1", "f2"]))
    ds = load_dataset(path)
    np.testing.assert_array_equal(ds.X, X)
    assert ds.classes == ["no", "yes"] and ds.feature_names == ["f0", "f1", "f2"]
    np.testing.assert_array_equal(ds.y, [0, 1, 0, 1])
    images = str(tmp_path / "img.npz")
    np.savez(images, X=np.ones((5, 2, 3), np.uint8), label=np.array([0, 1, 2, 1, 0]))
    ds = load_dataset(images, target="label", features=["pixel_1_2"])
    assert ds.X.shape == (5, 1) and ds.task == "multiclass"


def test_npz_errors(tmp_path):
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


# --------------------------------------------------------------------------- IDX
def test_idx_images_with_labels_next_to_them(tmp_path, rng):
    images = rng.integers(0, 256, size=(6, 4, 3), dtype=np.uint8)
    labels = np.array([0, 1, 2, 1, 0, 2], np.uint8)
    img = write_idx(tmp_path / "train-images-idx3-ubyte.gz", images, gz=True)
    write_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    np.testing.assert_array_equal(read_idx(img), images)
    ds = load_dataset(img)
    np.testing.assert_array_equal(ds.X, images.reshape(6, 12))
    np.testing.assert_array_equal(ds.y, labels)
    assert ds.feature_names[:4] == ["pixel_0_0", "pixel_0_1", "pixel_0_2", "pixel_1_0"]
    assert ds.classes == [0, 1, 2] and ds.task == "multiclass"
    floats = write_idx(tmp_path / "f.idx", np.array([[1.5, -2.0]], np.float32))
    assert load_dataset(floats, require_target=False).X.tolist() == [[1.5, -2.0]]


def test_idx_errors(tmp_path):
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


def test_mnist_style_folder_has_the_official_split(tmp_path, rng):
    tr = rng.integers(0, 256, size=(8, 2, 2), dtype=np.uint8)
    te = rng.integers(0, 256, size=(3, 2, 2), dtype=np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", tr, gz=True)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(8, dtype=np.uint8) % 2, gz=True)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", te)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([1, 0, 1], np.uint8))
    ds = load_dataset(str(tmp_path))
    train, test = ds.split
    np.testing.assert_array_equal(train, np.arange(8))
    np.testing.assert_array_equal(test, np.arange(8, 11))
    np.testing.assert_array_equal(ds.X, np.concatenate([tr, te]).reshape(11, 4))
    assert ds.task == "binary" and ds.classes == [0, 1]


def test_missing_fashion_mnist_says_how_to_get_it(tmp_path):
    with pytest.raises(DataError) as e:
        load_dataset("fashion-mnist", data_dir=str(tmp_path))
    msg = str(e.value)
    assert msg.startswith(f"{tmp_path}: fashion-mnist not found (missing train-images-idx3-ubyte")
    assert "sudo apt install dataset-fashion-mnist" in msg and "--data-dir FOLDER" in msg
    assert "https://github.com/zalandoresearch/fashion-mnist" in msg


@pytest.mark.skipif(not os.path.isdir(FASHION), reason="dataset-fashion-mnist not installed")
def test_fashion_mnist_official_split_and_class_names():
    ds = load_dataset("fashion-mnist")
    assert ds.X.shape == (70000, 784) and ds.split[0].size == 60000
    assert ds.classes[0] == "T-shirt/top" and ds.classes[9] == "Ankle boot"
    assert ds.y[0] == 9  # the first training image is an ankle boot
    assert ds.X.min() == 0 and ds.X.max() == 255


def test_builtin_sets_and_feature_selection():
    ds = load_dataset("iris", features=["petal length (cm)"])
    assert ds.X.shape == (150, 1) and ds.classes == ["setosa", "versicolor", "virginica"]
    np.testing.assert_array_equal(ds.y, load_builtin("iris").y)
    with pytest.raises(DataError, match="a built-in data set has its own target"):
        load_dataset("iris", target="species")


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
        assert ds.X.ndim == 2 and ds.X.dtype == np.float64 and ds.X.shape[0] >= 1
        assert np.isfinite(ds.X).all() and len(ds.feature_names) == ds.X.shape[1]


# --------------------------------------------------------------------------- the scaler
def test_standardizer_layer_applies_the_fitted_transform(rng):
    X = rng.normal(50, 7, size=(30, 4))
    scaler = bp.Standardizer().fit(X)
    layer = scaler.layer()
    out, _ = layer.forward(X)
    np.testing.assert_allclose(out, scaler.transform(X), rtol=1e-14)
    back, grads = layer.backward(np.ones_like(X), None)
    np.testing.assert_allclose(back, np.ones_like(X) / scaler.scale_)
    assert grads == {} and layer.params == {}
    inv = scaler.layer(inverse=True)
    np.testing.assert_allclose(inv.forward(out)[0], X, rtol=1e-12)
    out32, _ = layer.forward(X.astype(np.float32))
    assert out32.dtype == np.float32


def test_standardize_validates_its_statistics():
    with pytest.raises(ValueError, match="scale must be positive; entry 1 is 0.0"):
        bp.Standardize([0.0, 1.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="mean must be finite; entry 0 is nan"):
        bp.Standardize([np.nan], [1.0])
    with pytest.raises(ValueError, match=r"scale must have the shape of mean \(2,\)"):
        bp.Standardize([0.0, 1.0], [1.0])
    with pytest.raises(ValueError, match=r"expects input of shape \(m, 2\), got \(3, 1\)"):
        bp.Standardize([0.0, 1.0], [1.0, 1.0]).forward(np.ones((3, 1)))


def test_gradients_flow_through_standardize_layers(rng):
    X = rng.normal(10, 3, size=(12, 3))
    net = bp.Network([bp.Standardize(X.mean(0), X.std(0)),
                      bp.Dense(3, 4, "tanh", dtype=np.float64, seed=0),
                      bp.Dense(4, 1, "linear", dtype=np.float64, seed=1),
                      bp.Standardize([100.0], [20.0], inverse=True)], loss="mse")
    report = bp.gradient_check(net, X, rng.normal(100, 20, size=12))
    assert report.passed and report.max_relative_error < 1e-7
    assert [r.param for r in report.rows] == ["W", "b", "W", "b", "X"]
    with pytest.raises(ValueError, match="Standardize has 2 features but the adjacent Dense "
                                         "layer has width 3"):
        bp.Network([bp.Standardize([0, 0], [1, 1]), bp.Dense(3, 1, "linear")], loss="mse")


# --------------------------------------------------------------------------- review fixes
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


def test_npz_column_checks_name_the_file(tmp_path):
    path = str(tmp_path / "dup.npz")
    np.savez(path, X=np.ones((4, 2)), y=np.array([0, 1, 0, 1]),
             feature_names=np.array(["p", "p"]))
    with pytest.raises(DataError, match=r"dup\.npz: feature_names lists 'p' twice"):
        load_dataset(path)
    path = str(tmp_path / "nocols.npz")
    np.savez(path, X=np.ones((4, 0)), y=np.array([0, 1, 0, 1]))
    with pytest.raises(DataError, match=r"nocols\.npz: X has no columns \(shape \(4, 0\)\)"):
        load_dataset(path)


def test_idx_header_with_a_huge_shape_is_refused(tmp_path):
    path = tmp_path / "big-images-idx3-ubyte"  # 65536**4 == 2**64 wraps to 0 in int64
    path.write_bytes(bytes([0, 0, 8, 4]) + np.array([65536] * 4, ">u4").tobytes())
    with pytest.raises(DataError, match=r"promises shape \(65536, 65536, 65536, 65536\) "
                                        r"\(18446744073709551616 bytes of data\) but it holds 0"):
        read_idx(str(path))


def test_byte_string_targets_name_the_row(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"a,b,y\n1,2,x\n3,4,\xff\xfe\n5,6,z\n")
    with pytest.raises(DataError, match=r"bad\.csv: target column 'y': row 2 holds "
                                        r"b'\\xff\\xfe', which is not UTF-8 text"):
        load_dataset(str(path), target="y")
    path = str(tmp_path / "s.npz")
    np.savez(path, X=np.ones((4, 2)), y=np.array([b"a", b"b", b"a", b"b"]))
    with pytest.raises(DataError, match=r"s\.npz: target column 'y': row 1 holds b'a', which "
                                        r"is a byte string, not text"):
        load_dataset(path)


def test_features_only_loading_ignores_unused_targets(tmp_path, rng):
    X = rng.normal(size=(3, 2))
    path = str(tmp_path / "p.npz")
    np.savez(path, X=X, y=np.array([0.5, np.nan, 1.0]))  # would fail as a target
    ds = load_dataset(path, require_target=False)
    np.testing.assert_array_equal(ds.X, X)
    assert ds.y is None and ds.task is None
    with pytest.raises(DataError, match=r"row 2 is empty"):
        load_dataset(path)
    images = np.arange(12, dtype=np.uint8).reshape(3, 2, 2)
    img = write_idx(tmp_path / "t-images-idx3-ubyte", images)
    write_idx(tmp_path / "t-labels-idx1-ubyte", np.zeros(3, np.uint8))  # a single class
    ds = load_dataset(img, require_target=False)
    np.testing.assert_array_equal(ds.X, images.reshape(3, 4))
    assert ds.y is None
    with pytest.raises(DataError, match="single class"):
        load_dataset(img)


def test_fashion_mnist_rejects_a_task_its_classes_cannot_have(tmp_path, rng):
    # its official class names go through encode_target as known classes: a requested task
    # is still checked against them (it used to become binary with 10 classes, or multiclass)
    write_idx(tmp_path / "train-images-idx3-ubyte", rng.integers(0, 256, (20, 2, 2), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.arange(20, dtype=np.uint8) % 10)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", rng.integers(0, 256, (10, 2, 2), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.arange(10, dtype=np.uint8))
    assert load_dataset("fashion-mnist", data_dir=str(tmp_path)).task == "multiclass"
    with pytest.raises(DataError, match="task 'binary' needs 2 classes, found 10"):
        load_dataset("fashion-mnist", data_dir=str(tmp_path), task="binary")
    with pytest.raises(DataError, match="task 'regression' requested, but the target holds"):
        load_dataset("fashion-mnist", data_dir=str(tmp_path), task="regression")
