"""``train --class-weight`` on an imbalanced file, the balanced accuracy and recall lines of the
summary, the warning when a model answers the majority class only, and ``evaluate``'s report."""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score
from sklearn.utils.class_weight import compute_class_weight

import backprop as bp
from backprop.data import load_dataset, split

#: Few epochs at a high rate: the plain run settles on "no" for every row, the weighted one
#: does not (both in well under a second).
TRAIN = ["--epochs", "10", "--lr", "0.01", "--quiet", "--no-gradcheck"]


@pytest.fixture(scope="module")
def imbalanced_csv(tmp_path_factory):
    """600 rows, 5 % of them 'yes' (shifted by 1.5 in both features), 95 % 'no'."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 2))
    X[:30] += 1.5
    label = np.where(np.arange(600) < 30, "yes", "no")
    df = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "label": label}).sample(frac=1,
                                                                          random_state=0)
    path = tmp_path_factory.mktemp("imbalanced") / "imbalanced.csv"
    df.to_csv(path, index=False)
    return path


def metric(out, name):
    """The value of a ``name: value`` line of the summary."""
    return float(re.search(rf"^{name}: (\S+)$", out, re.M).group(1))


def test_a_plain_run_warns_and_balanced_weights_raise_balanced_accuracy(imbalanced_csv, cli,
                                                                          tmp_path):
    code, plain, err = cli("train", "--data", imbalanced_csv, "--target", "label", *TRAIN,
                           "--out", tmp_path / "plain.st")
    assert code == 0, err
    assert metric(plain, "test accuracy") == 0.95 and metric(plain, "train accuracy") == 0.95
    assert metric(plain, "test balanced accuracy") == 0.5
    assert "recall per class (test rows):\n  'no': 1.0000 (114 of 114 rows)\n" \
           "  'yes': 0.0000 (0 of 6 rows)\n" in plain
    for part in ("train", "test"):
        assert (f"warning: {part} accuracy 0.9500 equals the share of the majority class 'no' "
                f"(0.9500): the model may predict one class only; try --class-weight balanced"
                in plain)

    code, weighted, err = cli("train", "--data", imbalanced_csv, "--target", "label", *TRAIN,
                              "--class-weight", "balanced", "--out", tmp_path / "w.st")
    assert code == 0, err
    assert "warning" not in weighted
    assert metric(weighted, "test balanced accuracy") > metric(plain, "test balanced accuracy")
    assert metric(weighted, "test balanced accuracy") >= 0.9
    assert metric(weighted, "train balanced accuracy") >= 0.8

    # the header names the weights: scikit-learn's "balanced" ones over the training rows
    data = load_dataset(str(imbalanced_csv), target="label")
    train_rows, test_rows = split(len(data.y), 0.2, 0, data.y)
    w = compute_class_weight("balanced", classes=np.arange(2), y=data.y[train_rows])
    assert f"batch size 32, class weights balanced ('no' {w[0]:.4g}, 'yes' {w[1]:.4g})\n" \
        in weighted
    # the balanced accuracy printed is scikit-learn's on the test rows
    net = bp.load(tmp_path / "w.st")
    pred = net.predict_classes(data.X[test_rows])
    assert metric(weighted, "test balanced accuracy") == round(
        balanced_accuracy_score(data.y[test_rows], pred), 4)
    meta = net.metadata
    assert meta["training"]["class_weight"] == {"mode": "balanced",
                                                "weights": {"no": w[0], "yes": w[1]}}
    assert meta["metrics"]["test_balanced_accuracy"] == pytest.approx(
        balanced_accuracy_score(data.y[test_rows], pred))
    recall = (pred == data.y[test_rows])[data.y[test_rows] == 1].mean()
    assert meta["recall_per_class"]["test"]["yes"] == pytest.approx(recall)
    assert bp.load(tmp_path / "plain.st").metadata["training"]["class_weight"] is None


def test_class_weights_by_label_with_numeric_labels(imbalanced_csv, cli, tmp_path):
    df = pd.read_csv(imbalanced_csv)
    df["label"] = (df["label"] == "yes").astype(int)
    path = tmp_path / "numeric.csv"
    df.to_csv(path, index=False)
    code, out, err = cli("train", "--data", path, "--target", "label", *TRAIN,
                         "--class-weight", "1=19,0=1", "--out", tmp_path / "m.st")
    assert code == 0, err
    assert "class weights (0 1, 1 19)" in out
    assert bp.load(tmp_path / "m.st").metadata["training"]["class_weight"] == {
        "mode": "given", "weights": {"0": 1.0, "1": 19.0}}


def test_given_weights_equal_to_the_balanced_ones_train_the_same_model(imbalanced_csv, cli,
                                                                        tmp_path):
    data = load_dataset(str(imbalanced_csv), target="label")
    train_rows, _ = split(len(data.y), 0.2, 0, data.y)
    w = compute_class_weight("balanced", classes=np.arange(2), y=data.y[train_rows])
    runs = {"balanced": "balanced", "given": f"yes={float(w[1])!r},no={float(w[0])!r}"}
    for name, weights in runs.items():
        code, out, err = cli("train", "--data", imbalanced_csv, "--target", "label", *TRAIN,
                             "--class-weight", weights, "--out", tmp_path / f"{name}.st")
        assert code == 0, err
    a, b = bp.load(tmp_path / "balanced.st"), bp.load(tmp_path / "given.st")
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        for key in wa:
            np.testing.assert_array_equal(wa[key], wb[key])
    assert b.metadata["training"]["class_weight"] == {
        "mode": "given", "weights": {"no": w[0], "yes": w[1]}}


@pytest.mark.parametrize("weights, message", [
    ("yes=3", "error: --class-weight gives no weight for class(es) 'no'; give one for each "
              "class ('no', 'yes') or use --class-weight balanced"),
    ("maybe=1,no=1,yes=2", "error: --class-weight names class 'maybe', which the target "
                           "'label' does not have; its classes are 'no', 'yes'"),
])
def test_class_weight_errors_name_the_classes(imbalanced_csv, cli, weights, message):
    code, out, err = cli("train", "--data", imbalanced_csv, "--target", "label", *TRAIN,
                         "--class-weight", weights)
    assert code == 1 and err.strip() == message
    assert "training:" not in out  # refused before any work


def test_class_weight_on_a_regression_target_is_an_error(imbalanced_csv, cli):
    code, _, err = cli("train", "--data", imbalanced_csv, "--target", "a", "--features", "b",
                       *TRAIN, "--class-weight", "balanced")
    assert code == 1
    assert err.strip() == ("error: --class-weight needs a classification target, but 'a' is a "
                           "regression target; leave --class-weight out")


@pytest.mark.parametrize("text, message", [
    ("yes=0,no=1", "the weight of class 'yes' must be a positive number, got '0'"),
    ("yes=inf,no=1", "the weight of class 'yes' must be a positive number, got 'inf'"),
    ("yes", "expected 'balanced' or LABEL=WEIGHT pairs separated by commas"),
    ("yes=1,yes=2", "class 'yes' is given twice in 'yes=1,yes=2'"),
])
def test_class_weight_text_is_checked_before_anything_runs(cli, text, message):
    code, _, err = cli("train", "--class-weight", text)
    assert code == 2 and message in err


def test_evaluate_reports_balanced_accuracy_and_warns(imbalanced_csv, cli, tmp_path):
    model = tmp_path / "plain.st"
    code, _, err = cli("train", "--data", imbalanced_csv, "--target", "label", *TRAIN,
                       "--out", model)
    assert code == 0, err
    code, out, err = cli("evaluate", model, "--data", imbalanced_csv)
    assert code == 0, err
    df = pd.read_csv(imbalanced_csv)
    pred = bp.load(model).predict_labels(df[["a", "b"]].to_numpy())
    assert metric(out, "balanced accuracy") == round(balanced_accuracy_score(df["label"], pred),
                                                     4) == 0.5
    assert ("accuracy: 0.9500\nbalanced accuracy: 0.5000\nwarning: accuracy 0.9500 equals the "
            "share of the majority class 'no' (0.9500): the model may predict one class only; "
            "retrain with --class-weight balanced\n") in out


def test_evaluate_of_a_good_model_has_no_warning(iris_csv, iris_model, cli):
    code, out, err = cli("evaluate", iris_model, "--data", iris_csv)
    assert code == 0, err
    df = pd.read_csv(iris_csv)
    net = bp.load(iris_model)
    pred = net.predict_labels(df[net.feature_names].to_numpy())
    assert metric(out, "balanced accuracy") == round(balanced_accuracy_score(df["species"], pred),
                                                     4)
    assert "warning" not in out
