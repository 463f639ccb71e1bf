"""Targets: task inference and target encoding, directly and as files reach them."""

import numpy as np
import pandas as pd
import pytest

from backprop.data import MAX_INTEGER_CLASSES, DataError, encode_target, infer_task, load_dataset


def test_task_inference_rules():
    assert infer_task(np.array(["a", "b"]))[0] == "classification"
    assert infer_task(np.array([True, False]))[0] == "classification"
    assert infer_task(np.arange(MAX_INTEGER_CLASSES) % 7)[0] == "classification"
    assert infer_task(np.arange(MAX_INTEGER_CLASSES + 1))[0] == "regression"
    # whole numbers written as decimals are labels, as scikit-learn's type_of_target reads them
    assert infer_task(np.array([0.0, 1.0, 0.0]))[0] == "classification"
    assert infer_task(np.array([0.0, 1.0, np.nan]))[0] == "classification"
    assert infer_task(np.arange(MAX_INTEGER_CLASSES + 1, dtype=float))[0] == "regression"
    assert infer_task(np.array([0.5, 1.0, 0.0]))[0] == "regression"


def test_a_target_of_numbers_but_for_a_few_cells_is_an_error_naming_them():
    values = np.array(["1.5", "2", "?", "3.25", "-", "4", "5", "6"], dtype=object)
    with pytest.raises(DataError, match=r"f\.csv: target column 'price': the column holds "
                                        r"numbers except for 2 cell\(s\) \(row 3: '\?', "
                                        r"row 5: '-'\)"):
        encode_target(values, source="f.csv", column="price")
    y, task, classes, _ = encode_target(values, task="classification")  # asked for: labels
    assert task == "multiclass" and len(classes) == 8
    labels = np.array(["a", "b", "1", "c"], dtype=object)  # mostly text: labels
    assert encode_target(labels)[1] == "multiclass"


def test_a_target_written_as_decimals_trains_a_classifier():
    y, task, classes, reason = encode_target(np.array([0.0, 1.0, 1.0, 0.0]))
    assert task == "binary" and classes == [0.0, 1.0]
    assert "2 distinct whole numbers written as decimals" in reason


def test_encode_target_with_known_classes():
    y, task, classes, _ = encode_target(["b", "a", "b"], classes=["a", "b"])
    np.testing.assert_array_equal(y, [1, 0, 1])
    assert task == "binary" and classes == ["a", "b"]
    # class "1" saved from a text column still matches the integer 1 read back from a file
    y, *_ = encode_target(np.array([1, 2]), classes=["1", "2", "x"])
    np.testing.assert_array_equal(y, [0, 1])
    with pytest.raises(DataError, match=r"f\.csv: target column 'species': row 2 holds label "
                                        r"'zebra', which is not one of the model's classes"):
        encode_target(["a", "zebra"], classes=["a", "b"], source="f.csv", column="species")


def test_encode_target_errors_name_the_row():
    with pytest.raises(DataError, match=r"d\.csv: target column 'y': row 3 is empty"):
        encode_target(np.array([1.0, 2.0, np.nan]), source="d.csv")
    with pytest.raises(DataError, match="a regression target needs numbers, but row 2 holds 'x'"):
        encode_target(np.array(["1.5", "x"], dtype=object), task="regression")
    with pytest.raises(DataError, match="has a single class 'a'"):
        encode_target(["a", "a"])
    with pytest.raises(ValueError, match="task must be one of"):
        encode_target([1, 2], task="clustering")
    y, task, classes, reason = encode_target(["b", "a", "c", "a"])
    np.testing.assert_array_equal(y, [1, 0, 2, 0])
    assert task == "multiclass" and classes == ["a", "b", "c"] and reason == "text labels"


def test_known_classes_still_check_the_requested_task():
    with pytest.raises(DataError, match="task 'binary' needs 2 classes, found 3"):
        encode_target(["a", "b"], task="binary", classes=["a", "b", "c"])
    with pytest.raises(DataError, match="task 'regression' requested, but the target holds"):
        encode_target(["a", "b"], task="regression", classes=["a", "b"])
    y, task, *_ = encode_target(["b", "a"], task="binary", classes=["a", "b"])
    assert task == "binary" and y.tolist() == [1, 0]


def test_byte_string_targets_name_the_row(tmp_path):
    # a CSV's bytes that are not UTF-8 stop its reader (tests/data/test_readers.py); a
    # Parquet file can hold a binary column
    path = str(tmp_path / "bad.parquet")
    pd.DataFrame({"a": [1, 3, 5], "y": [b"x", b"\xff\xfe", b"z"]}).to_parquet(path)
    with pytest.raises(DataError, match=r"bad\.parquet: target column 'y': row 2 holds "
                                        r"b'\\xff\\xfe', which is not UTF-8 text"):
        load_dataset(path, target="y")
    path = str(tmp_path / "s.npz")
    np.savez(path, X=np.ones((4, 2)), y=np.array([b"a", b"b", b"a", b"b"]))
    with pytest.raises(DataError, match=r"s\.npz: target column 'y': row 1 holds b'a', which "
                                        r"is a byte string, not text"):
        load_dataset(path)
