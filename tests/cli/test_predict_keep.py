"""``backprop predict --keep COLUMN``: id columns from the data file come first in the output,
exactly as written, from CSV, TSV, Parquet and NPZ files; a missing column is a clear error."""

import io

import numpy as np
import pandas as pd
import pytest

import backprop as bp
from backprop.cli import main

IDS = ["000123", "007", "", "12.50", "A-1"]  # as text: zeros, an empty cell, a "number"


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A model of features ``a, b`` with labels 'no'/'yes'."""
    folder = tmp_path_factory.mktemp("keep")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    df = pd.DataFrame({"a": X[:, 0], "b": X[:, 1],
                       "label": np.where(X[:, 0] > 0, "yes", "no")})
    df.to_csv(folder / "train.csv", index=False)
    path = folder / "m.st"
    code = main(["train", "--data", str(folder / "train.csv"), "--target", "label",
                        "--epochs", "2", "--quiet", "--no-gradcheck", "--out", str(path)])
    assert code == 0
    return path


@pytest.fixture
def rows(rng):
    """Five rows to predict: features ``a, b`` and an ``id`` and a ``name`` column."""
    X = rng.normal(size=(5, 2))
    return X, pd.DataFrame({"id": IDS, "a": X[:, 0], "b": X[:, 1],
                            "name": ["x", "a, b", "", "\u00e9t\u00e9", "z"]})


def expected_predictions(model, X):
    return list(bp.load(model).predict_labels(X))


def read_text(text):
    """A CSV output read back with every cell as text (empty cells as "")."""
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_keep_copies_text_columns_as_written(model, rows, tmp_path, cli, fmt):
    X, df = rows
    path = tmp_path / f"new.{fmt}"
    df.to_csv(path, index=False, sep="," if fmt == "csv" else "\t")
    code, out, err = cli("predict", model, "--data", path, "--keep", "id,name")
    assert code == 0, err
    got = read_text(out)
    assert list(got.columns) == ["id", "name", "prediction"]
    assert got["id"].tolist() == IDS
    assert got["name"].tolist() == ["x", "a, b", "", "\u00e9t\u00e9", "z"]
    assert got["prediction"].tolist() == expected_predictions(model, X)
    assert out.splitlines()[1] == f"000123,x,{got['prediction'][0]}"


def test_keep_reads_the_file_as_its_features_are_read(model, rows, tmp_path, cli):
    X, df = rows
    path = tmp_path / "excel.csv"  # semicolons, decimal commas, UTF-16: sniffed for both
    df.to_csv(path, index=False, sep=";", decimal=",", encoding="utf-16")
    code, out, err = cli("predict", model, "--data", path, "--keep", "id,name")
    assert code == 0, err
    got = read_text(out)
    assert got["id"].tolist() == IDS and got["name"][3] == "\u00e9t\u00e9"
    assert got["prediction"].tolist() == expected_predictions(model, X)


def test_keep_goes_into_the_output_file_with_probabilities(model, rows, tmp_path, cli):
    X, df = rows
    df.to_csv(tmp_path / "new.csv", index=False)
    code, out, err = cli("predict", model, "--data", tmp_path / "new.csv", "--keep", "id",
                         "--proba", "--output", tmp_path / "preds.csv")
    assert code == 0 and out == "", err
    got = read_text((tmp_path / "preds.csv").read_text())
    assert list(got.columns) == ["id", "prediction", "proba_no", "proba_yes"]
    assert got["id"].tolist() == IDS
    np.testing.assert_allclose(got["proba_yes"].astype(float), bp.load(model).predict(X)[:, 0],
                               rtol=1e-6)


def test_keep_from_parquet_keeps_the_files_types(model, rows, tmp_path, cli):
    X, df = rows
    df["count"] = pd.array([3, None, 10, 0, 7], dtype="Int64")  # an integer column with a gap
    df.to_parquet(tmp_path / "new.parquet")
    code, out, err = cli("predict", model, "--data", tmp_path / "new.parquet",
                         "--keep", "count,id")
    assert code == 0, err
    got = read_text(out)
    assert got["count"].tolist() == ["3", "", "10", "0", "7"]  # not 3.0, nan, ...
    assert got["id"].tolist() == IDS
    assert got["prediction"].tolist() == expected_predictions(model, X)


def test_keep_from_npz_takes_an_array_per_column(model, rows, tmp_path, cli):
    X, _ = rows
    ids = np.array(IDS)
    np.savez(tmp_path / "new.npz", X=X, feature_names=np.array(["a", "b"]), id=ids,
             number=np.arange(5) * 10, wide=np.zeros((5, 2)))
    code, out, err = cli("predict", model, "--data", tmp_path / "new.npz", "--keep", "id,number")
    assert code == 0, err
    got = read_text(out)
    assert list(got.columns) == ["id", "number", "prediction"]
    assert got["id"].tolist() == IDS
    assert got["number"].tolist() == ["0", "10", "20", "30", "40"]
    assert got["prediction"].tolist() == expected_predictions(model, X)

    code, out, err = cli("predict", model, "--data", tmp_path / "new.npz", "--keep", "wide")
    assert code == 1 and out == ""
    assert err.strip() == (f"error: {tmp_path / 'new.npz'}: array 'wide' has shape (5, 2); a "
                           "kept array holds one value per row, shape (5,)")
    code, _, err = cli("predict", model, "--data", tmp_path / "new.npz", "--keep", "ids")
    assert code == 1
    assert err.strip() == (f"error: {tmp_path / 'new.npz'}: no array 'ids' to keep; the file has "
                           "'X', 'feature_names', 'id', 'number', 'wide'")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_missing_column_names_the_files_columns(model, rows, tmp_path, cli, fmt):
    _, df = rows
    path = tmp_path / f"new.{fmt}"
    df.to_csv(path, index=False) if fmt == "csv" else df.to_parquet(path)
    code, out, err = cli("predict", model, "--data", path, "--keep", "id,customer,order")
    assert code == 1 and out == ""
    assert err.strip() == (f"error: {path}: no column 'customer', 'order' to keep; the file has "
                           "'id', 'a', 'b', 'name'")


def test_keep_needs_a_file_with_columns_and_names_free_of_the_outputs(model, rows, tmp_path,
                                                                       cli):
    code, _, err = cli("predict", model, "--data", "iris", "--keep", "id")
    assert code == 1
    assert err.strip() == ("error: iris: --keep takes columns from a CSV, TSV, Parquet or NPZ "
                           "file, and iris is not one")
    X, df = rows
    df["prediction"] = "old"
    df.to_csv(tmp_path / "new.csv", index=False)
    code, out, err = cli("predict", model, "--data", tmp_path / "new.csv", "--keep",
                         "id,prediction")
    assert code == 1 and out == ""
    assert err.strip() == (f"error: --keep 'prediction': the predictions have a column of that "
                           f"name; keep another column or rename it in {tmp_path / 'new.csv'}")
    code, _, err = cli("predict", model, "--data", tmp_path / "new.csv", "--keep", "id,id")
    assert code == 1
    assert err.strip() == f"error: {tmp_path / 'new.csv'}: column 'id' is asked for twice"
