"""The command line on your own data, as a user runs it: train with validation curves, a plot
and a history; inspect, predict and evaluate the saved model."""

import io
import re

import numpy as np
import pandas as pd
import pytest

import backprop as bp


def test_end_to_end_as_a_subprocess(tmp_path, run, iris_csv, features):
    model, plot, hist = tmp_path / "m.safetensors", tmp_path / "c.png", tmp_path / "h.csv"
    proc = run("train", "--data", iris_csv, "--target", "species", "--hidden", "8", "--lr",
               "0.01", "--epochs", "25", "--validation-split", "0.2", "--out", model, "--plot",
               plot, "--history", hist)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "task multiclass (3 classes: 'setosa', 'versicolor', 'virginica')" in out
    assert "gradient check PASSED" in out
    assert len(re.findall(r"^epoch \d+/25: loss [0-9.]+ accuracy [0-9.]+ val_loss", out,
                          re.M)) == 25  # not a terminal: one plain line per epoch
    test_acc = float(re.search(r"^test accuracy: ([0-9.]+)$", out, re.M).group(1))
    assert test_acc >= 0.85
    assert plot.read_bytes()[:4] == b"\x89PNG"
    assert pd.read_csv(hist)["epoch"].tolist() == list(range(1, 26))

    proc = run("inspect", model)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^0\s+Standardize\s+4 -> 4", proc.stdout, re.M)
    assert re.search(r"^1\s+Dense\s+4 -> 8\s+sigmoid", proc.stdout, re.M)
    assert re.search(r"^2\s+Dense\s+8 -> 3\s+softmax", proc.stdout, re.M)
    assert "parameters: 67 trainable" in proc.stdout
    assert "classes: 'setosa', 'versicolor', 'virginica'" in proc.stdout
    assert f'sha256: "{bp.load_dataset(iris_csv, target="species").sha256}"' in proc.stdout

    preds = tmp_path / "preds.csv"
    proc = run("predict", model, "--data", iris_csv, "--output", preds, "--proba")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and f"to {preds}" in proc.stderr
    stdout_proc = run("predict", model, "--data", iris_csv)
    assert stdout_proc.returncode == 0, stdout_proc.stderr

    net = bp.load(model)
    X = pd.read_csv(iris_csv)[features].to_numpy()
    expected = net.predict_labels(X)
    table = pd.read_csv(preds)
    assert list(table.columns) == ["prediction", "proba_setosa", "proba_versicolor",
                                   "proba_virginica"]
    np.testing.assert_array_equal(table["prediction"].to_numpy(), expected)
    proba = table.iloc[:, 1:].to_numpy().astype(np.float32)
    np.testing.assert_array_equal(proba, net.predict(X))  # shortest float32 text round-trips
    from_stdout = pd.read_csv(io.StringIO(stdout_proc.stdout))
    np.testing.assert_array_equal(from_stdout["prediction"].to_numpy(), expected)

    proc = run("evaluate", model, "--data", iris_csv)  # target recorded in the model
    assert proc.returncode == 0, proc.stderr
    y = pd.read_csv(iris_csv)["species"].to_numpy()
    acc = float(re.search(r"^accuracy: ([0-9.]+)$", proc.stdout, re.M).group(1))
    assert acc == pytest.approx(np.mean(expected == y), abs=5e-5)
