"""``backprop predict`` and ``backprop evaluate`` on saved models: per-class metrics, targets
ignored when predicting, one forward pass for everything."""

import io
import re
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

import backprop as bp
import backprop.nn.propagation as propagation


def test_evaluate_reports_per_class_metrics_and_confusion_matrix(iris_csv, iris_model, cli,
                                                                  species, features):
    code, out, err = cli("evaluate", iris_model, "--data", iris_csv, "--target", "species")
    assert code == 0, err
    net = bp.load(iris_model)
    df = pd.read_csv(iris_csv)
    y = df["species"].to_numpy()
    pred = net.predict_labels(df[features].to_numpy())
    assert f"accuracy: {skm.accuracy_score(y, pred):.4f}" in out
    p, r, f, s = skm.precision_recall_fscore_support(y, pred, labels=species, zero_division=0)
    for i, name in enumerate(species):
        assert re.search(rf"^{name}\s+{p[i]:.4f}\s+{r[i]:.4f}\s+{f[i]:.4f}\s+{s[i]}$", out, re.M)
    cm = skm.confusion_matrix(y, pred, labels=species)
    for i, name in enumerate(species):
        assert re.search(rf"^{name}\s+" + r"\s+".join(map(str, cm[i])) + "$", out, re.M)
    assert "macro avg" in out and "weighted avg" in out
    for avg in ("macro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(y, pred, labels=species, average=avg,
                                                         zero_division=0)
        assert re.search(rf"^{avg} avg\s+{p:.4f}\s+{r:.4f}\s+{f:.4f}\s+150$", out, re.M)


def test_predict_ignores_an_unusable_target_array(tmp_path, cli, rng):
    X = rng.normal(size=(40, 3))
    np.savez(tmp_path / "train.npz", X=X, y=(X[:, 0] > 0).astype(int))
    model = tmp_path / "m.safetensors"
    code, _, err = cli("train", "--data", tmp_path / "train.npz", "--epochs", "2",
                       "--quiet", "--no-gradcheck", "--out", model)
    assert code == 0, err
    new = rng.normal(size=(3, 3))
    np.savez(tmp_path / "new.npz", X=new, y=np.zeros(3, int))  # one class: not a target
    code, out, err = cli("predict", model, "--data", tmp_path / "new.npz")
    assert code == 0, err
    assert pd.read_csv(io.StringIO(out))["prediction"].tolist() == list(
        bp.load(model).predict_labels(new))


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_predict_and_evaluate_run_the_network_once(command, iris_csv, iris_model, cli,
                                                   monkeypatch, species, features):
    # labels, probabilities, loss and metrics all come from one forward pass over the data
    calls = []
    forward_pass = propagation.forward_pass

    def counting(layers, a, *args, **kwargs):
        calls.append(a.shape[0])
        return forward_pass(layers, a, *args, **kwargs)

    # every name the pass is reached through: its module and those that import it by name
    for module in list(sys.modules.values()):
        if module is not None and module.__name__.startswith("backprop.") \
                and getattr(module, "forward_pass", None) is forward_pass:
            monkeypatch.setattr(module, "forward_pass", counting)
    extra = ["--proba"] if command == "predict" else ["--target", "species"]
    code, out, err = cli(command, iris_model, "--data", iris_csv, *extra)
    assert code == 0, err
    assert calls == [150]
    if command == "predict":
        df = pd.read_csv(io.StringIO(out))
        net = bp.load(iris_model)
        X = pd.read_csv(iris_csv)[features].to_numpy()
        assert df["prediction"].tolist() == list(net.predict_labels(X))
        np.testing.assert_allclose(df[[f"proba_{c}" for c in species]].to_numpy(),
                                   net.predict(X), rtol=1e-6)


def test_npz_columns_are_matched_by_name_when_the_file_names_them(tmp_path, cli):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] > 0).astype(int)
    np.savez(tmp_path / "named.npz", X=X, y=y, feature_names=np.array(["a", "b", "c"]))
    model = tmp_path / "m.safetensors"
    code, _, err = cli("train", "--data", tmp_path / "named.npz", "--epochs", "20",
                       "--no-gradcheck", "--quiet", "--out", model)
    assert code == 0, err
    np.savez(tmp_path / "reordered.npz", X=X[:, [2, 0, 1]], feature_names=np.array(["c", "a", "b"]))
    np.savez(tmp_path / "missing.npz", X=X[:, [2, 1]], feature_names=np.array(["c", "b"]))
    np.savez(tmp_path / "unnamed.npz", X=X)  # no names: by position
    predictions = {}
    for name in ("named", "reordered", "unnamed"):
        out = tmp_path / f"{name}.csv"
        code, _, err = cli("predict", model, "--data", tmp_path / f"{name}.npz", "--output", out)
        assert code == 0, err
        predictions[name] = pd.read_csv(out).iloc[:, 0].to_numpy()
    np.testing.assert_array_equal(predictions["reordered"], predictions["named"])
    np.testing.assert_array_equal(predictions["unnamed"], predictions["named"])
    code, _, err = cli("predict", model, "--data", tmp_path / "missing.npz")
    assert code == 1 and "missing feature column(s) 'a'" in err
