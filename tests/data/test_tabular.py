"""TablePreprocessor: what each kind of column becomes, the numbers it computes, what it
refuses (every such column named, with a count), its JSON state, and its place in a network,
a model file and a scikit-learn Pipeline."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import backprop as bp
from backprop.data import DataError, TablePreprocessor
from helpers import titanic_like


@pytest.fixture(scope="module")
def passengers():
    df = titanic_like(400, seed=1)
    return df.drop(columns="Survived"), df["Survived"].to_numpy()


def plans(pre):
    return {p.name: p for p in pre.plans_}


def test_each_column_of_a_real_table_gets_a_kind_and_a_reason(passengers):
    X, _ = passengers
    pre = TablePreprocessor().fit(X)
    got = {name: (p.kind, p.reason) for name, p in plans(pre).items()}
    assert got["PassengerId"] == ("dropped", "an identifier (whole numbers, unique per row)")
    assert got["Name"][0] == "dropped" and got["Name"][1].startswith("free text (")
    assert got["Ticket"] == ("dropped", "an identifier (unique per row)")
    assert got["Cabin"][0] == "dropped" and "more than max_categories=50" in got["Cabin"][1]
    assert got["Sex"][0] == got["Embarked"][0] == "onehot"
    assert got["Boarded"][0] == "date"
    for name in ("Pclass", "Age", "SibSp", "Parch", "Fare"):
        assert got[name][0] == "numeric"
    p = plans(pre)
    assert p["Sex"].categories == ["female", "male"] and not p["Sex"].indicator
    assert p["Embarked"].categories == ["C", "Q", "S"]
    assert p["Embarked"].indicator == (X["Embarked"].isna().sum() > 0)
    assert p["Age"].missing == X["Age"].isna().sum() > 0 and p["Age"].indicator
    assert pre.columns_used == ["Pclass", "Sex", "Age", "SibSp", "Parch", "Fare", "Embarked",
                                "Boarded"]
    assert pre.feature_names_out_[:5] == ["Pclass", "Sex=female", "Sex=male", "Age", "Age_na"]
    assert pre.feature_names_out_[-4:] == ["Boarded_year", "Boarded_month", "Boarded_day",
                                           "Boarded_dayofweek"]
    lines = pre.describe()
    assert len(lines) == X.shape[1]
    assert any(line.startswith("Age ") and f"{p['Age'].missing} empty cell(s) filled with "
               f"{np.median(X['Age'].dropna()):.6g}, indicator Age_na" in line for line in lines)


def test_the_encoding_is_the_numbers_it_promises(passengers):
    X, _ = passengers
    pre = TablePreprocessor(scale=False).fit(X)
    Z = pre.transform(X)
    assert Z.dtype == np.float32 and Z.shape == (len(X), pre.n_features_out)
    col = {n: Z[:, j] for j, n in enumerate(pre.feature_names_out_)}
    age = X["Age"].to_numpy()
    median = np.median(age[~np.isnan(age)])
    np.testing.assert_array_equal(col["Age"], np.where(np.isnan(age), median, age)
                                  .astype(np.float32))
    np.testing.assert_array_equal(col["Age_na"], np.isnan(age))
    np.testing.assert_array_equal(col["Sex=female"], X["Sex"] == "female")
    np.testing.assert_array_equal(col["Sex=male"] + col["Sex=female"], 1)
    emb = X["Embarked"]
    np.testing.assert_array_equal(col["Embarked_na"], emb.isna())
    np.testing.assert_array_equal(col["Embarked=C"] + col["Embarked=Q"] + col["Embarked=S"],
                                  emb.notna())
    dates = pd.to_datetime(X["Boarded"])
    np.testing.assert_array_equal(col["Boarded_day"], dates.dt.day)
    np.testing.assert_array_equal(col["Boarded_dayofweek"], dates.dt.day_of_week)
    # scaled: numeric and date outputs standardized, one-hot and indicators left 0/1
    S = TablePreprocessor(impute="mean").fit_transform(X, dtype=np.float64)
    j = pre.feature_names_out_.index("Age")
    filled = np.where(np.isnan(age), np.mean(age[~np.isnan(age)]), age)
    np.testing.assert_allclose(S[:, j], (filled - filled.mean()) / filled.std(), rtol=1e-12)
    k = pre.feature_names_out_.index("Sex=male")
    np.testing.assert_array_equal(S[:, k], Z[:, k])


def test_new_rows_with_unseen_categories_gaps_and_shuffled_columns(passengers):
    X, _ = passengers
    pre = TablePreprocessor(scale=False).fit(X)
    new = X.head(4).copy()
    new.loc[new.index[0], "Sex"] = "unknown"
    new.loc[new.index[1], "Embarked"] = "Z"
    new.loc[new.index[2], "Age"] = None
    new.loc[new.index[3], "Fare"] = np.nan
    new = new[list(reversed(new.columns))].drop(columns=["Name", "Ticket"])  # unused columns
    with pytest.warns(UserWarning, match=r"'Sex': 1 row\(s\) \('unknown'\); 'Embarked': 1 "
                                         r"row\(s\) \('Z'\)"):
        Z = pre.transform(new)
    col = {n: Z[:, j] for j, n in enumerate(pre.feature_names_out_)}
    assert col["Sex=female"][0] == col["Sex=male"][0] == 0
    assert col["Embarked=C"][1] == col["Embarked=Q"][1] == col["Embarked=S"][1] == 0
    assert col["Age"][2] == np.float32(plans(pre)["Age"].fill[0]) and col["Age_na"][2] == 1
    assert col["Fare"][3] == np.float32(plans(pre)["Fare"].fill[0]) and col["Fare_na"][3] == 1
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['Age'\] the model was "
                                         r"trained on"):
        pre.transform(X.drop(columns="Age"))
    bad = X.head(3).astype({"Fare": object})
    bad.loc[bad.index[1], "Fare"] = "twelve"
    with pytest.raises(ValueError, match=r"column 'Fare' is numeric but 1 cell\(s\) are not "
                                         r"numbers \(row 2: 'twelve'\)"):
        pre.transform(bad)


def test_options_override_the_automatic_choice(passengers):
    X, _ = passengers
    pre = TablePreprocessor(categorical=["Cabin", "Pclass"], drop=["Sex"], dates="drop",
                            indicator=False, max_categories=5).fit(X)
    p = plans(pre)
    assert p["Sex"].kind == "dropped" and p["Sex"].reason == "left out as asked"
    assert p["Boarded"].kind == "dropped"
    assert p["Pclass"].kind == "onehot" and p["Pclass"].categories == [1, 2, 3]
    cabin = X["Cabin"].dropna().value_counts()
    top = sorted(cabin.index, key=lambda c: (-cabin[c], c))[:5]
    assert p["Cabin"].categories == sorted(top)
    assert "the 5 most frequent of" in p["Cabin"].reason
    assert not any(q.indicator for q in pre.plans_)
    with pytest.raises(DataError, match=r"categorical: no column\(s\) \['Nope'\]"):
        TablePreprocessor(categorical=["Nope"]).fit(X)
    with pytest.raises(DataError, match=r"column 'Age' is both categorical and drop"):
        TablePreprocessor(categorical=["Age"], drop=["Age"]).fit(X)
    with pytest.raises(ValueError, match=r"impute must be one of \['median', 'mean'\]"):
        TablePreprocessor(impute="mode").fit(X)


def test_what_it_cannot_handle_is_named_all_at_once():
    df = pd.DataFrame({"ok": np.arange(8.0), "age": ["1", "?", "3", "4", "?", "6", "7", "8"],
                       "blob": [[1], [2], [3], [4], [5], [6], [7], [8]],
                       "inf": [1.0, np.inf, 3, 4, 5, 6, 7, 8]})
    with pytest.raises(DataError) as err:
        TablePreprocessor().fit(df)
    msg = str(err.value)
    assert msg.startswith("3 column(s) cannot be used as they are: ")
    assert ("'age' is numbers except for 2 cell(s) that are not numbers (row 2: '?', row 5: "
            "'?'); mark them empty with --na-values '?'") in msg
    assert "'blob' holds 8 value(s) of type list (leave it out with --drop blob)" in msg
    assert "'inf' holds inf in 1 cell(s) (row 2 first)" in msg


def test_json_state_round_trips_and_bad_state_is_refused(passengers):
    X, _ = passengers
    pre = TablePreprocessor().fit(X)
    config = json.loads(json.dumps(pre.config()))
    again = TablePreprocessor.from_config(config)
    np.testing.assert_array_equal(again.transform(X), pre.transform(X))
    assert again.describe() == pre.describe()
    broken = json.loads(json.dumps(config))
    age = [c["name"] for c in config["columns"]].index("Age")
    broken["columns"][age]["fill"] = ["x"]
    with pytest.raises(ValueError, match="fill must be 1 finite numbers"):
        TablePreprocessor.from_config(broken)
    broken = json.loads(json.dumps(config))
    broken["columns"][0]["kind"] = "magic"
    with pytest.raises(ValueError, match="unknown kind 'magic'"):
        TablePreprocessor.from_config(broken)


def test_a_network_takes_raw_tables_and_its_model_file_keeps_the_encoding(passengers, tmp_path):
    X, y = passengers
    pre = TablePreprocessor().fit(X)
    net = bp.mlp([pre.n_features_out, 8, 1], output="sigmoid", seed=0, preprocessor=pre)
    assert net.feature_names == pre.feature_names_out_
    net.fit(X, y, epochs=5, batch_size=32, seed=0, verbose=0)
    np.testing.assert_array_equal(net.predict(X), net.predict(pre.transform(X)))
    path = tmp_path / "m.safetensors"
    net.save(path)
    back = bp.load(path)
    np.testing.assert_array_equal(back.predict(X.iloc[:, ::-1]), net.predict(X))
    np.testing.assert_array_equal(back.predict(X.to_numpy(dtype=object)), net.predict(X))
    assert back.preprocessor.describe() == pre.describe()
    with pytest.raises(ValueError, match="the preprocessor makes 17 columns but the network "
                                         "has n_in=3"):
        bp.mlp([3, 1], preprocessor=pre)
    with pytest.raises(ValueError, match="the preprocessor is not fitted"):
        bp.mlp([3, 1], preprocessor=TablePreprocessor())


def test_any_change_to_the_saved_encoding_is_a_model_file_error(passengers, tmp_path):
    X, y = passengers
    pre = TablePreprocessor().fit(X)
    net = bp.mlp([pre.n_features_out, 1], output="sigmoid", seed=0, preprocessor=pre)
    path = tmp_path / "m.safetensors"
    net.save(path)
    data = path.read_bytes()
    at = data.rfind(b"female")  # in the categories (the first is in the feature names)
    assert data.count(b"female") == 2 and at > data.find(b"female")
    path.write_bytes(data[:at] + b"fEmale" + data[at + 6:])
    with pytest.raises(bp.ModelFileError, match="checksum"):
        bp.load(path)


def test_it_is_a_scikit_learn_transformer(passengers):
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    X, y = passengers
    pipe = make_pipeline(TablePreprocessor(max_categories=10), LogisticRegression(max_iter=500))
    pipe.fit(X, y)
    assert pipe.score(X, y) > 0.7
    copy = clone(pipe)
    assert copy.steps[0][1].get_params()["max_categories"] == 10
    names = pipe[0].get_feature_names_out()
    assert list(names) == pipe[0].feature_names_out_
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pipe.predict(X.head(5))


def test_parquet_types_categorical_boolean_with_gaps_and_datetime(tmp_path):
    df = titanic_like(200, seed=3)
    df["Sex"] = df["Sex"].astype("category")
    df["Boarded"] = pd.to_datetime(df["Boarded"])
    df["Adult"] = (df["Age"] >= 18).astype("boolean")
    df.loc[df["Age"].isna(), "Adult"] = pd.NA
    path = tmp_path / "p.parquet"
    df.to_parquet(path)
    ds = bp.load_dataset(path, target="Survived")
    p = plans(ds.preprocessor)
    assert p["Sex"].kind == "onehot" and p["Sex"].categories == ["female", "male"]
    assert p["Adult"].categories == [False, True] and p["Adult"].indicator
    assert p["Boarded"].kind == "date"
    assert "Adult=False" in ds.feature_names and "Boarded_dayofweek" in ds.feature_names
    adult = ds.X[:, ds.feature_names.index("Adult=True")]
    np.testing.assert_array_equal(adult, df["Adult"].fillna(False).to_numpy(dtype=bool))
    json.dumps(ds.preprocessor.config())  # plain JSON: no NumPy scalars left


def test_a_spreadsheets_csv_thousands_separators_and_a_trailing_separator(tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text('name,age,income,city,bought,\nAnn,34,"52,000",Paris,yes,\n'
                    'Bob,,61000,Rome,no,\nCid,45,"1,048,000.5",,yes,\nDee,29,39000,Paris,no,\n')
    ds = bp.load_dataset(path, target="bought",
                         preprocessor=TablePreprocessor(scale=False, indicator=False))
    p = plans(ds.preprocessor)
    assert p["income"].kind == "numeric" and p["income"].thousands
    assert ds.X[:, ds.feature_names.index("income")].tolist() == [52000, 61000, 1048000.5,
                                                                   39000]
    assert "" not in ds.preprocessor.feature_names_in_  # the empty, unnamed last column
    new = pd.DataFrame({"age": [1], "income": ["2,500"], "city": ["Rome"]})
    assert ds.preprocessor.transform(new)[0].tolist() == [1, 2500, 0, 1]
