"""``backprop train`` on a real-looking table (text categories, empty cells, an id, free text,
a date): the choices printed, an accuracy at least scikit-learn's Pipeline's on the same split,
and ``predict``/``evaluate``/``inspect`` on raw rows."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import backprop as bp
from backprop.data import split
from helpers import titanic_like


@pytest.fixture(scope="module")
def passengers_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("titanic") / "passengers.csv"
    titanic_like(1200, seed=0).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def trained(passengers_csv):
    from backprop.cli import main

    model = passengers_csv.parent / "passengers.safetensors"
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["train", "--data", str(passengers_csv), "--target", "Survived", "--quiet",
                     "--out", str(model)])
    assert code == 0
    return model, out.getvalue()


def test_the_header_says_what_became_of_every_column(trained):
    _, out = trained
    assert "columns: 12 read, 8 used, encoded as 17 features (learnt from the training rows" in out
    lines = {m.group(1): m.group(2) for m in re.finditer(r"^  (\w+) +(.+)$", out, re.M)}
    assert lines["PassengerId"] == "left out: an identifier (whole numbers, unique per row)"
    assert lines["Name"].startswith("left out: free text (")
    assert lines["Sex"] == "one-hot, 2 categories ('female', 'male')"
    assert re.fullmatch(r"numeric; \d+ empty cell\(s\) filled with [\d.]+, indicator Age_na",
                        lines["Age"])
    assert lines["Boarded"] == "date, expanded to year, month, day, dayofweek"
    assert "gradient check PASSED" in out


def test_accuracy_is_at_least_a_scikit_learn_pipeline_on_the_same_split(trained, passengers_csv):
    _, out = trained
    ours = float(re.search(r"^test accuracy: ([\d.]+)$", out, re.M).group(1))
    df = pd.read_csv(passengers_csv)
    y = df.pop("Survived").to_numpy()
    train, test = split(len(df), 0.2, 0, y)  # the CLI's split: --test-size 0.2, --seed 0
    numeric = ["Pclass", "Age", "SibSp", "Parch", "Fare"]
    pipe = Pipeline([
        ("columns", ColumnTransformer([
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
             numeric),
            ("categories", OneHotEncoder(handle_unknown="ignore"), ["Sex", "Embarked"])])),
        ("mlp", MLPClassifier(random_state=0))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLPClassifier's ConvergenceWarning at 200 epochs
        pipe.fit(df.iloc[train], y[train])
    theirs = pipe.score(df.iloc[test], y[test])
    assert ours >= round(theirs, 4) > 0.7, (ours, theirs)


def test_predict_takes_raw_rows_with_unseen_categories_and_gaps(trained, cli, tmp_path):
    model, _ = trained
    raw = titanic_like(6, seed=7).drop(columns=["Survived", "Name"])
    raw.loc[0, "Sex"] = "unknown"
    raw.loc[1, "Embarked"] = "X"
    raw.loc[2, ["Age", "Fare", "Boarded"]] = [np.nan, np.nan, None]
    path = tmp_path / "new.csv"
    raw[raw.columns[::-1]].to_csv(path, index=False)
    code, out, err = cli("predict", model, "--data", path, "--proba")
    assert code == 0
    assert err == (f"warning: {path}: categories not seen in training (they set no one-hot "
                   f"column): 'Sex': 1 row(s) ('unknown'); 'Embarked': 1 row(s) ('X')\n")
    got = pd.read_csv(__import__("io").StringIO(out))
    net = bp.load(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = net.predict(pd.read_csv(path))[:, 0]
    np.testing.assert_allclose(got["proba_1"], expected, rtol=1e-6)
    assert list(got["prediction"]) == list((expected > 0.5).astype(int))


def test_evaluate_and_inspect_read_the_encoding_from_the_model(trained, passengers_csv, cli):
    model, _ = trained
    code, out, _ = cli("evaluate", model, "--data", passengers_csv)
    assert code == 0 and re.search(r"^accuracy: 0\.[7-9]\d+$", out, re.M)
    code, out, _ = cli("inspect", model)
    assert code == 0
    assert "preprocessing: raw table columns encoded inside the model (8 columns used):" in out
    assert "  Sex          one-hot, 2 categories ('female', 'male')" in out


def test_options_change_the_encoding(passengers_csv, cli):
    code, out, _ = cli("train", "--data", passengers_csv, "--target", "Survived", "--epochs", "1",
                       "--no-gradcheck", "--quiet", "--drop", "Sex", "--categorical",
                       "Cabin,Pclass", "--max-categories", "4", "--dates", "drop",
                       "--no-indicators", "--impute", "mean")
    assert code == 0
    lines = {m.group(1): m.group(2) for m in re.finditer(r"^  (\w+) +(.+)$", out, re.M)}
    assert lines["Sex"] == "left out: left out as asked"
    assert lines["Pclass"] == "one-hot, 3 categories (1, 2, 3)"
    assert lines["Cabin"].startswith("one-hot, 4 categories (")
    assert lines["Boarded"] == "left out: a date (dates='drop')"
    assert "indicator" not in out
    code, _, err = cli("train", "--data", passengers_csv, "--target", "Survived",
                       "--numeric", "Sex")
    assert code == 1
    assert ("'Sex' given as --numeric but holds 1200 cell(s) that are not numbers (row 1: "
            "'female', row 2: 'male', row 3: 'male', ...); it is text: leave it out of --numeric"
            in err)


def test_a_model_of_a_table_refuses_arrays_without_column_names(trained, cli, tmp_path):
    model, _ = trained
    path = tmp_path / "x.npz"
    np.savez(path, X=np.zeros((3, 17)))
    code, _, err = cli("predict", model, "--data", path)
    assert code == 1
    assert "encodes the columns of a table (8 columns: Pclass, Sex, Age" in err
