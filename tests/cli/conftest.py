"""Helpers for the command-line tests: the CLI run in-process and as a subprocess, and an iris
CSV file with a model trained on it."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris

from backprop.cli import main

SPECIES = np.array(["setosa", "versicolor", "virginica"])
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@pytest.fixture
def species():
    """The iris classes, in the model's order."""
    return SPECIES


@pytest.fixture
def features():
    """The iris feature columns."""
    return FEATURES


@pytest.fixture
def run():
    """``run(*args)``: the CLI as a user runs it, a subprocess whose stdout/stderr are not
    terminals; returns the ``CompletedProcess``."""

    def run(*args):
        return subprocess.run([sys.executable, "-m", "backprop", *map(str, args)],
                              capture_output=True, text=True, timeout=300)

    return run


@pytest.fixture
def cli(capsys):
    """``cli(*args)``: in-process ``main``; returns (exit code, stdout, stderr)."""

    def cli(*args):
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return cli


@pytest.fixture(scope="session")
def iris_csv(tmp_path_factory):
    """Iris as a CSV file: four feature columns and a text ``species`` column."""
    X, y = load_iris(return_X_y=True)
    df = pd.DataFrame(X, columns=FEATURES)
    df["species"] = SPECIES[y]
    path = tmp_path_factory.mktemp("iris") / "iris.csv"
    df.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def iris_model(iris_csv):
    """A 4-8-3 model trained on :func:`iris_csv` (30 epochs, no gradient check)."""
    path = iris_csv.parent / "iris.safetensors"
    code = main(["train", "--data", str(iris_csv), "--target", "species", "--hidden", "8",
                 "--epochs", "30", "--quiet", "--out", str(path), "--no-gradcheck"])
    assert code == 0
    return path
