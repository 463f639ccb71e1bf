"""The command line on your own data: train, predict, evaluate, inspect, gradcheck; progress
output; exit codes; every bad input the issue lists exits 1 with one line and writes nothing."""

import gzip
import io
import json
import os
import re
import subprocess
import sys
import threading

import numpy as np
import pandas as pd
import pytest
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save
from sklearn import metrics as skm
from sklearn.datasets import load_diabetes, load_iris

import backprop as bp
from backprop.cli import main

SPECIES = np.array(["setosa", "versicolor", "virginica"])
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def run(*args):
    """The CLI as a user runs it: a subprocess, stdout/stderr not terminals."""
    return subprocess.run([sys.executable, "-m", "backprop", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def cli(capsys, *args):
    """In-process ``main``: (exit code, stdout, stderr)."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def iris_csv(tmp_path_factory):
    X, y = load_iris(return_X_y=True)
    df = pd.DataFrame(X, columns=FEATURES)
    df["species"] = SPECIES[y]
    path = tmp_path_factory.mktemp("iris") / "iris.csv"
    df.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def iris_model(iris_csv):
    path = iris_csv.parent / "iris.safetensors"
    code = main(["train", "--data", str(iris_csv), "--target", "species", "--hidden", "8",
                 "--epochs", "30", "--quiet", "--out", str(path), "--no-gradcheck"])
    assert code == 0
    return path


# --------------------------------------------------------------------------- end to end
def test_end_to_end_as_a_subprocess(tmp_path, iris_csv):
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
    X = pd.read_csv(iris_csv)[FEATURES].to_numpy()
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


def test_progress_modes(iris_csv, capsys):
    code, out, _ = cli(capsys, "train", "--data", iris_csv, "--target", "species",
                       "--epochs", "3", "--no-gradcheck")
    assert code == 0 and len(re.findall(r"^epoch \d/3: ", out, re.M)) == 3
    code, out, err = cli(capsys, "train", "--data", iris_csv, "--target", "species",
                         "--epochs", "3", "--no-gradcheck", "--quiet")
    assert code == 0 and "epoch 1/3" not in out and err == ""


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_a_terminal_gets_a_tqdm_bar(iris_csv):
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # 120 columns
    proc = subprocess.Popen([sys.executable, "-m", "backprop", "train", "--data", str(iris_csv),
                             "--target", "species", "--epochs", "3", "--no-gradcheck"],
                            stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    chunks = []

    def drain():
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    out = proc.stdout.read()
    assert proc.wait(timeout=120) == 0
    reader.join(timeout=10)
    os.close(master)
    bar = b"".join(chunks).decode(errors="replace")
    assert "epoch 3/3" in bar and "12/12" in bar and "batch" in bar  # 4 batches x 3 epochs
    assert not re.search(r"^epoch \d/3: ", out, re.M)


# --------------------------------------------------------------------------- other formats
def test_train_on_npz_parquet_and_idx(tmp_path, capsys, rng):
    X = rng.normal(size=(60, 3))
    y = np.where(X[:, 0] + X[:, 1] > 0, "up", "down")
    np.savez(tmp_path / "d.npz", X=X, y=y)
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "t": y}).to_parquet(
        tmp_path / "d.parquet")
    for args in (["--data", tmp_path / "d.npz"], ["--data", tmp_path / "d.parquet",
                                                   "--target", "t"]):
        code, out, err = cli(capsys, "train", *args, "--epochs", "20", "--quiet",
                             "--out", tmp_path / "m.safetensors", "--gradcheck-entries", "5")
        assert code == 0, err
        assert "task binary (2 classes: 'down', 'up')" in out
        net = bp.load(tmp_path / "m.safetensors")
        assert net.classes == ["down", "up"]
        code, out, err = cli(capsys, "predict", tmp_path / "m.safetensors", *args[:2],
                             "--proba")
        assert code == 0, err
        table = pd.read_csv(io.StringIO(out))
        assert list(table.columns) == ["prediction", "proba_down", "proba_up"]
        p_up = net.predict(X)[:, 0]
        np.testing.assert_array_equal(table["proba_up"].to_numpy(np.float32), p_up)
        np.testing.assert_allclose(table["proba_down"], 1 - p_up, rtol=1e-6)
        np.testing.assert_array_equal(table["prediction"], np.where(p_up > 0.5, "up", "down"))
    images = rng.integers(0, 256, size=(40, 3, 3), dtype=np.uint8)
    labels = (images[:, 1, 1] > 127).astype(np.uint8)
    for name, arr in (("train-images-idx3-ubyte.gz", images),
                      ("train-labels-idx1-ubyte.gz", labels)):
        head = bytes([0, 0, 8, arr.ndim]) + np.array(arr.shape, ">u4").tobytes()
        (tmp_path / name).write_bytes(gzip.compress(head + arr.tobytes()))
    code, out, err = cli(capsys, "train", "--data", tmp_path / "train-images-idx3-ubyte.gz",
                         "--epochs", "5", "--quiet", "--no-gradcheck")
    assert code == 0, err
    assert "40 rows x 9 features, task binary (2 classes: 0, 1)" in out


# --------------------------------------------------------------------------- model commands
def test_evaluate_reports_per_class_metrics_and_confusion_matrix(iris_csv, iris_model, capsys):
    code, out, err = cli(capsys, "evaluate", iris_model, "--data", iris_csv, "--target",
                         "species")
    assert code == 0, err
    net = bp.load(iris_model)
    df = pd.read_csv(iris_csv)
    y = df["species"].to_numpy()
    pred = net.predict_labels(df[FEATURES].to_numpy())
    assert f"accuracy: {skm.accuracy_score(y, pred):.4f}" in out
    p, r, f, s = skm.precision_recall_fscore_support(y, pred, labels=SPECIES, zero_division=0)
    for i, name in enumerate(SPECIES):
        assert re.search(rf"^{name}\s+{p[i]:.4f}\s+{r[i]:.4f}\s+{f[i]:.4f}\s+{s[i]}$", out, re.M)
    cm = skm.confusion_matrix(y, pred, labels=SPECIES)
    for i, name in enumerate(SPECIES):
        assert re.search(rf"^{name}\s+" + r"\s+".join(map(str, cm[i])) + "$", out, re.M)
    assert "macro avg" in out and "weighted avg" in out
    for avg in ("macro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(y, pred, labels=SPECIES, average=avg,
                                                         zero_division=0)
        assert re.search(rf"^{avg} avg\s+{p:.4f}\s+{r:.4f}\s+{f:.4f}\s+150$", out, re.M)


def test_regression_end_to_end(tmp_path, capsys):
    X, y = load_diabetes(return_X_y=True)
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(10)])
    df["progression"] = y
    path = tmp_path / "diabetes.csv"
    df.to_csv(path, index=False)
    model = tmp_path / "r.safetensors"
    code, out, err = cli(capsys, "train", "--data", path, "--target", "progression", "--epochs",
                         "30", "--quiet", "--out", model, "--plot", tmp_path / "c.png")
    assert code == 0, err
    assert "task regression; target 'progression'; floating-point target" in out
    assert re.search(r"^test r2: 0\.[2-9]", out, re.M)
    code, out, err = cli(capsys, "evaluate", model, "--data", path)
    assert code == 0, err
    pred = bp.load(model).predict(X)[:, 0]  # original units: the model undoes the scaling
    assert f"mse: {skm.mean_squared_error(y, pred):.6f}" in out
    assert f"mae: {skm.mean_absolute_error(y, pred):.6f}" in out
    assert f"r2: {skm.r2_score(y, pred):.4f}" in out
    code, out, err = cli(capsys, "predict", model, "--data", path)
    assert code == 0, err
    np.testing.assert_array_equal(pd.read_csv(io.StringIO(out))["prediction"]
                                  .to_numpy(np.float32), pred)
    code, _, err = cli(capsys, "predict", model, "--data", path, "--proba")
    assert code == 1 and "--proba needs a classifier" in err


def test_inspect_json_and_gradcheck(iris_csv, iris_model, capsys):
    code, out, err = cli(capsys, "inspect", iris_model, "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["format_version"] == 1 and info["classes"] == list(SPECIES)
    assert info["metadata"]["target"] == "species" and info["parameters"] == 4 * 8 + 8 + 8 * 3 + 3
    training = info["metadata"]["training"]
    assert training["optimizer"] == "adam" and training["lr"] == 0.001  # Adam's own default
    assert training["epochs"] == 30 and training["hidden"] == [8] and training["seed"] == 0
    code, out, err = cli(capsys, "gradcheck", iris_model, "--data", iris_csv, "--rows", "10",
                         "--entries", "20")
    assert code == 0, err
    assert "on 10 rows drawn from" in out and "gradient check PASSED" in out
    assert re.search(r"^input\s+X\s+10x4", out, re.M)


def test_gradcheck_on_a_builtin_set(tmp_path, capsys):
    model = tmp_path / "bc.safetensors"
    assert main(["train", "--epochs", "2", "--quiet", "--no-gradcheck", "--out",
                 str(model)]) == 0
    code, out, err = cli(capsys, "gradcheck", model, "--data", "breast-cancer", "--rows", "8",
                         "--entries", "10")
    assert code == 0, err and "gradient check PASSED" in out


# --------------------------------------------------------------------------- bad input
def edit_model(src, dst, edit):
    data = src.read_bytes()
    tensors = st_load(data)
    n = int.from_bytes(data[:8], "little")
    meta = json.loads(data[8:8 + n])["__metadata__"]
    edit(meta)
    dst.write_bytes(st_save(tensors, metadata=meta))


def wider_first_layer(meta):
    header = json.loads(meta["header"])
    header["network"]["layers"][1]["n_out"] = 9
    meta["header"] = json.dumps(header)


BAD_DATA = {  # name -> (CSV text, extra train args, message after "error: <file>: ")
    "empty file": ("", [], "empty file"),
    "header only": ("a,b,species\n", [], r"header only, no data rows"),
    "missing target column": ("a,b,kind\n1,2,x\n", [], r"no target column 'species'"),
    "unknown feature column": ("a,b,species\n1,2,x\n3,4,y\n", ["--features", "a,zz"],
                               r"missing feature column\(s\) 'zz'"),
    "non-numeric feature value": ("a,b,species\n1,2,x\n3,four,y\n", [],
                                  r"non-numeric feature value\(s\): row 2, column 'b': 'four'"),
    "NaN cell": ("a,b,species\n1,NaN,x\n3,4,y\n", [], r"row 1, column 'b' is empty"),
    "inf cell": ("a,b,species\n1,2,x\n-inf,4,y\n", [], r"row 2, column 'a' holds -inf"),
    "empty cell": ("a,b,species\n1,2,x\n3,,y\n", [], r"row 2, column 'b' is empty"),
    "ragged rows": ("a,b,species\n1,2,x\n3,4,y,5\n", [],
                    r"ragged rows: line 3 has 4 fields but the header has 3"),
    "single class": ("a,b,species\n1,2,x\n3,4,x\n", [],
                     r"target column 'species' has a single class 'x'"),
    "regression target with strings": ("a,b,species\n1,2,1.5\n3,4,tall\n",
                                       ["--task", "regression"],
                                       r"target column 'species': a regression target needs "
                                       r"numbers, but row 2 holds 'tall'"),
}


def assert_one_line_error(code, err, file, message):
    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert re.match(rf"^error: {re.escape(str(file))}: {message}", lines[0]), lines[0]


@pytest.mark.parametrize("case", sorted(BAD_DATA))
def test_bad_data_exits_1_with_one_line_and_writes_nothing(tmp_path, capsys, case):
    text, extra, message = BAD_DATA[case]
    path = tmp_path / "bad.csv"
    path.write_text(text)
    outputs = [tmp_path / "m.safetensors", tmp_path / "c.png", tmp_path / "h.csv"]
    code, _, err = cli(capsys, "train", "--data", path, "--target", "species", *extra,
                       "--out", outputs[0], "--plot", outputs[1], "--history", outputs[2])
    assert_one_line_error(code, err, path, message)
    assert sorted(os.listdir(tmp_path)) == ["bad.csv"]


def test_missing_data_file(tmp_path, capsys):
    path = tmp_path / "nope.csv"
    code, _, err = cli(capsys, "train", "--data", path, "--target", "y")
    assert_one_line_error(code, err, path, "no such file")


def test_predict_file_with_other_columns(tmp_path, capsys, iris_model):
    path = tmp_path / "new.csv"
    path.write_text("sepal_length,sepal_width,petal_len,petal_width\n5.1,3.5,1.4,0.2\n")
    out = tmp_path / "p.csv"
    code, _, err = cli(capsys, "predict", iris_model, "--data", path, "--output", out)
    assert_one_line_error(code, err, path, r"missing feature column\(s\) 'petal_length' \(the "
                                           r"file has 'sepal_length', 'sepal_width', 'petal_len'")
    assert not out.exists()
    # extra columns (an id, the label) are fine, and the column order does not matter
    path.write_text("id,petal_width,petal_length,sepal_width,sepal_length\n7,0.2,1.4,3.5,5.1\n")
    code, _, err = cli(capsys, "predict", iris_model, "--data", path, "--output", out)
    assert code == 0, err
    assert pd.read_csv(out)["prediction"].tolist() == list(
        bp.load(iris_model).predict_labels(np.array([[5.1, 3.5, 1.4, 0.2]])))


@pytest.mark.parametrize("damage", ["truncated", "garbage", "future version", "edited shapes"])
def test_bad_model_files_exit_1_with_one_line(tmp_path, capsys, iris_csv, iris_model, damage):
    path = tmp_path / "bad.safetensors"
    if damage == "truncated":
        path.write_bytes(iris_model.read_bytes()[:500])
        message = "not a valid safetensors file, truncated or corrupted"
    elif damage == "garbage":
        path.write_bytes(b"PK\x03\x04 this is a zip, not a model" * 3)
        message = "not a valid safetensors file"
    elif damage == "future version":
        edit_model(iris_model, path, lambda m: m.update(format_version="99"))
        message = "written in format version 99 by a newer numpy-backprop"
    else:
        edit_model(iris_model, path, wider_first_layer)
        message = r"array layers\.1\.W has shape \(4, 8\) but the architecture needs \(4, 9\)"
    out = tmp_path / "p.csv"
    for command in (["predict", path, "--data", iris_csv, "--output", out],
                    ["evaluate", path, "--data", iris_csv], ["inspect", path],
                    ["gradcheck", path, "--data", iris_csv]):
        code, stdout, err = cli(capsys, *command)
        assert_one_line_error(code, err, path, message)
        assert stdout == ""
    assert not out.exists()


def test_output_in_a_missing_folder_fails_before_any_work(tmp_path, capsys, iris_csv,
                                                          iris_model):
    missing = tmp_path / "no" / "such"
    for option, name in (("--out", "m.safetensors"), ("--plot", "c.png"), ("--history", "h.csv")):
        code, out, err = cli(capsys, "train", "--data", iris_csv, "--target", "species", option,
                             missing / name)
        assert code == 1 and out == ""  # nothing trained, nothing printed
        assert err == f"error: cannot write {missing / name}: folder {missing} does not exist\n"
    code, out, err = cli(capsys, "predict", iris_model, "--data", iris_csv, "--output",
                         missing / "p.csv")
    assert code == 1 and out == "" and err.startswith(f"error: cannot write {missing}")
    assert not (tmp_path / "no").exists()


def test_usage_errors_exit_2(capsys, iris_model):
    for args in (["fly"], ["train", "--data", "nonsense"], ["train", "--plot", "c.bmpx"],
                 ["predict", str(iris_model)], ["train", "--task", "ranking"],
                 ["train", "--features", "a,,b"]):
        code, _, err = cli(capsys, *args)
        assert code == 2, args
        assert "usage: backprop" in err
    _, _, err = cli(capsys, "train", "--data", "nonsense")
    assert "'nonsense' is neither a built-in data set" in err
    assert cli(capsys, "--help")[0] == 0


def test_debug_shows_the_traceback(tmp_path, capsys):
    path = tmp_path / "e.csv"
    path.write_text("")
    code, _, err = cli(capsys, "train", "--data", path, "--target", "y", "--debug")
    assert code == 1
    assert "Traceback (most recent call last)" in err and "DataError" in err
    assert err.splitlines()[-1] == f"error: {path}: empty file"


def test_numeric_options_out_of_range_are_usage_errors(capsys, iris_model, iris_csv):
    for args, message in (
        (["train", "--seed", "-1"], "argument --seed: expected an integer >= 0, got '-1'"),
        (["gradcheck", iris_model, "--data", iris_csv, "--seed", "-3"],
         "argument --seed: expected an integer >= 0, got '-3'"),
        (["train", "--l2", "-0.5"], "argument --l2: expected a number >= 0, got '-0.5'"),
        (["train", "--l2", "nan"], "argument --l2: expected a number >= 0, got 'nan'"),
        (["train", "--test-size", "0"],
         r"argument --test-size: expected a number in \(0, 1\), got '0'"),
        (["train", "--lr", "inf"], "argument --lr: expected a positive number, got 'inf'"),
        (["train", "--dropout", "1"], r"argument --dropout: expected a number in \[0, 1\), "
                                      r"got '1'"),
        (["train", "--epochs", "1.5"], "argument --epochs: expected a positive integer, "
                                       "got '1.5'"),
    ):
        code, out, err = cli(capsys, *args)
        assert code == 2 and out == "", args
        assert re.search(message, err), err


def test_predict_ignores_an_unusable_target_array(tmp_path, capsys, rng):
    X = rng.normal(size=(40, 3))
    np.savez(tmp_path / "train.npz", X=X, y=(X[:, 0] > 0).astype(int))
    model = tmp_path / "m.safetensors"
    code, _, err = cli(capsys, "train", "--data", tmp_path / "train.npz", "--epochs", "2",
                       "--quiet", "--no-gradcheck", "--out", model)
    assert code == 0, err
    new = rng.normal(size=(3, 3))
    np.savez(tmp_path / "new.npz", X=new, y=np.zeros(3, int))  # one class: not a target
    code, out, err = cli(capsys, "predict", model, "--data", tmp_path / "new.npz")
    assert code == 0, err
    assert pd.read_csv(io.StringIO(out))["prediction"].tolist() == list(
        bp.load(model).predict_labels(new))


def test_inspect_reads_the_model_file_once(iris_model, capsys, monkeypatch):
    import backprop.io.model_file as bio

    reads = []
    real = bio.read_safetensors

    def counting(path, kind):
        reads.append(path)
        return real(path, kind)

    monkeypatch.setattr(bio, "read_safetensors", counting)
    monkeypatch.setattr("backprop.cli.model_commands.read_safetensors", counting)
    code, out, _ = cli(capsys, "inspect", iris_model)
    assert code == 0 and "parameters: 67 trainable" in out
    assert reads == [str(iris_model)]


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_predict_and_evaluate_run_the_network_once(command, iris_csv, iris_model, capsys,
                                                   monkeypatch):
    # labels, probabilities, loss and metrics all come from one forward pass over the data
    calls = []
    forward = bp.Network._forward

    def counting(self, *args, **kwargs):
        calls.append(args[0].shape[0])
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(bp.Network, "_forward", counting)
    extra = ["--proba"] if command == "predict" else ["--target", "species"]
    code, out, err = cli(capsys, command, iris_model, "--data", iris_csv, *extra)
    assert code == 0, err
    assert calls == [150]
    if command == "predict":
        df = pd.read_csv(io.StringIO(out))
        net = bp.load(iris_model)
        X = pd.read_csv(iris_csv)[FEATURES].to_numpy()
        assert df["prediction"].tolist() == list(net.predict_labels(X))
        np.testing.assert_allclose(df[[f"proba_{c}" for c in SPECIES]].to_numpy(),
                                   net.predict(X), rtol=1e-6)
