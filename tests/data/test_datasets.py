"""Data sets: CSV, NPZ, IDX files, MNIST-style folders and built-in sets as a Dataset (features
chosen and named, target encoded, official splits kept); prediction files without a target."""

import os

import numpy as np
import pytest

from backprop.data import IDX_DATASETS, DataError, load_builtin, load_dataset, read_idx
from backprop.data import TablePreprocessor as bp_table

FASHION = IDX_DATASETS["fashion-mnist"].folder


# --------------------------------------------------------------------------- tables
def test_csv_with_string_labels(tmp_path, write):
    path = write(tmp_path, "pets.csv", "weight,height,kind\n4.5,30,cat\n30,60,dog\n5,25,cat\n"
                                       "25.5,55,dog\n3,20,bird\n")
    ds = load_dataset(path, target="kind")
    np.testing.assert_array_equal(ds.X, [[4.5, 30], [30, 60], [5, 25], [25.5, 55], [3, 20]])
    assert ds.X.dtype == np.float32
    assert ds.classes == ["bird", "cat", "dog"]  # sorted original labels
    np.testing.assert_array_equal(ds.y, [1, 2, 1, 2, 0])
    assert ds.task == "multiclass" and ds.task_reason == "text labels"
    assert ds.feature_names == ["weight", "height"] and ds.target == "kind"
    assert ds.name == "pets.csv" and ds.source == path and len(ds.sha256) == 64
    assert ds.n_outputs == 3 and ds.split is None


def test_binary_task_and_feature_selection_order(tmp_path, write):
    path = write(tmp_path, "d.csv", "a,b,c,y\n1,2,3,yes\n4,5,6,no\n7,8,9,yes\n")
    ds = load_dataset(path, target="y", features=["c", "a"])
    np.testing.assert_array_equal(ds.X, [[3, 1], [6, 4], [9, 7]])
    assert ds.feature_names == ["c", "a"]
    assert ds.task == "binary" and ds.classes == ["no", "yes"]
    np.testing.assert_array_equal(ds.y, [1, 0, 1])


def test_task_override_and_label_types(tmp_path, write):
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


def test_boolean_feature_columns_are_numbers(tmp_path, write):
    path = write(tmp_path, "d.csv", "flag,x,y\ntrue,1,a\nfalse,2,b\n")
    np.testing.assert_array_equal(load_dataset(path, target="y").X, [[1, 1], [0, 2]])


def test_every_column_it_cannot_handle_is_named_with_a_count(tmp_path, write):
    rows = "".join(f"{i},{v},{w},{i % 2}\n" for i, (v, w) in enumerate(
        [("1", "7"), ("?", "8"), ("3", "-"), ("?", "9"), ("5", "6"), ("6", "-"), ("7", "1")]))
    path = write(tmp_path, "d.csv", "n,age,fare,y\n" + rows)
    with pytest.raises(DataError) as err:
        load_dataset(path, target="y")
    msg = str(err.value)
    assert msg.startswith(f"{path}: 2 column(s) cannot be used as they are: ")
    assert ("'age' is numbers except for 2 cell(s) that are not numbers (row 2: '?', row 4: '?')"
            in msg)
    assert "--na-values '?'" in msg and "--categorical age" in msg
    assert ("'fare' is numbers except for 2 cell(s) that are not numbers (row 3: '-', row 6: '-')"
            in msg)
    assert "--na-values '-'" in msg
    ds = load_dataset(path, target="y", preprocessor=bp_table(na_values=["?", "-"], scale=False))
    assert ds.feature_names == ["n", "age", "age_na", "fare", "fare_na"]
    np.testing.assert_array_equal(ds.X[:, 2], [0, 1, 0, 1, 0, 0, 0])
    # the gaps are filled with the column's median
    assert ds.X[1, 1] == np.median([1, 3, 5, 6, 7])


def test_prediction_files_need_no_target(tmp_path, write):
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


# --------------------------------------------------------------------------- IDX
def test_idx_images_with_labels_next_to_them(tmp_path, rng, write_idx):
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


def test_features_only_loading_ignores_unused_targets(tmp_path, rng, write_idx):
    X = rng.normal(size=(3, 2))
    path = str(tmp_path / "p.npz")
    np.savez(path, X=X, y=np.array([0.5, np.nan, 1.0]))  # would fail as a target
    ds = load_dataset(path, require_target=False)
    np.testing.assert_array_equal(ds.X, X.astype(np.float32))  # float32 unless asked
    np.testing.assert_array_equal(load_dataset(path, require_target=False,
                                               dtype=np.float64).X, X)
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


def test_mnist_style_folder_has_the_official_split(tmp_path, rng, write_idx):
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


def test_fashion_mnist_rejects_a_task_its_classes_cannot_have(tmp_path, rng, write_idx):
    # its official class names go through encode_target as known classes, and a requested
    # task is checked against them: ten named classes are neither binary nor a quantity
    write_idx(tmp_path / "train-images-idx3-ubyte", rng.integers(0, 256, (20, 2, 2), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.arange(20, dtype=np.uint8) % 10)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", rng.integers(0, 256, (10, 2, 2), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.arange(10, dtype=np.uint8))
    assert load_dataset("fashion-mnist", data_dir=str(tmp_path)).task == "multiclass"
    with pytest.raises(DataError, match="task 'binary' needs 2 classes, found 10"):
        load_dataset("fashion-mnist", data_dir=str(tmp_path), task="binary")
    with pytest.raises(DataError, match="task 'regression' requested, but the target holds"):
        load_dataset("fashion-mnist", data_dir=str(tmp_path), task="regression")


# --------------------------------------------------------------------------- built-in sets
def test_builtin_sets_and_feature_selection():
    ds = load_dataset("iris", features=["petal length (cm)"])
    assert ds.X.shape == (150, 1) and ds.classes == ["setosa", "versicolor", "virginica"]
    np.testing.assert_array_equal(ds.y, load_builtin("iris").y)
    with pytest.raises(DataError, match="a built-in data set has its own target"):
        load_dataset("iris", target="species")
