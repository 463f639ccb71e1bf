"""``backprop train``: progress output, the data formats it reads, regression end to end, and
how it describes the network it builds."""

import gzip
import io
import os
import re
import subprocess
import sys
import threading

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.datasets import load_diabetes

import backprop as bp


def test_progress_modes(iris_csv, cli):
    code, out, _ = cli("train", "--data", iris_csv, "--target", "species",
                       "--epochs", "3", "--no-gradcheck")
    assert code == 0 and len(re.findall(r"^epoch \d/3: ", out, re.M)) == 3
    code, out, err = cli("train", "--data", iris_csv, "--target", "species",
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


def test_train_on_npz_parquet_and_idx(tmp_path, cli, rng):
    X = rng.normal(size=(60, 3))
    y = np.where(X[:, 0] + X[:, 1] > 0, "up", "down")
    np.savez(tmp_path / "d.npz", X=X, y=y)
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "t": y}).to_parquet(
        tmp_path / "d.parquet")
    for args in (["--data", tmp_path / "d.npz"], ["--data", tmp_path / "d.parquet",
                                                   "--target", "t"]):
        code, out, err = cli("train", *args, "--epochs", "20", "--quiet",
                             "--out", tmp_path / "m.safetensors", "--gradcheck-entries", "5")
        assert code == 0, err
        assert "task binary (2 classes: 'down', 'up')" in out
        net = bp.load(tmp_path / "m.safetensors")
        assert net.classes == ["down", "up"]
        code, out, err = cli("predict", tmp_path / "m.safetensors", *args[:2], "--proba")
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
    code, out, err = cli("train", "--data", tmp_path / "train-images-idx3-ubyte.gz",
                         "--epochs", "5", "--quiet", "--no-gradcheck")
    assert code == 0, err
    assert "40 rows x 9 features, task binary (2 classes: 0, 1)" in out


def test_regression_end_to_end(tmp_path, cli):
    X, y = load_diabetes(return_X_y=True)
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(10)])
    df["progression"] = y
    path = tmp_path / "diabetes.csv"
    df.to_csv(path, index=False)
    model = tmp_path / "r.safetensors"
    code, out, err = cli("train", "--data", path, "--target", "progression", "--epochs",
                         "30", "--quiet", "--out", model, "--plot", tmp_path / "c.png")
    assert code == 0, err
    assert "task regression; target 'progression'; 214 distinct whole numbers written as " \
           "decimals (more than" in out
    assert re.search(r"^test r2: 0\.[2-9]", out, re.M)
    code, out, err = cli("evaluate", model, "--data", path)
    assert code == 0, err
    pred = bp.load(model).predict(X)[:, 0]  # original units: the model undoes the scaling
    assert f"mse: {skm.mean_squared_error(y, pred):.6f}" in out
    assert f"mae: {skm.mean_absolute_error(y, pred):.6f}" in out
    assert f"r2: {skm.r2_score(y, pred):.4f}" in out
    code, out, err = cli("predict", model, "--data", path)
    assert code == 0, err
    np.testing.assert_array_equal(pd.read_csv(io.StringIO(out))["prediction"]
                                  .to_numpy(np.float32), pred)
    code, _, err = cli("predict", model, "--data", path, "--proba")
    assert code == 1 and "--proba needs a classifier" in err


def test_the_network_line_and_the_layer_table_describe_every_layer(tmp_path, cli):
    model = tmp_path / "m.safetensors"
    code, out, err = cli("train", "--data", "diabetes", "--hidden", "8", "--dropout", "0.25",
                         "--epochs", "1", "--quiet", "--no-gradcheck", "--out", model)
    assert code == 0, err
    assert ("network: 10 -> 8 (sigmoid) -> Dropout (rate 0.25) -> 1 (linear); loss mse; "
            "97 parameters; float32") in out
    code, out, err = cli("inspect", model)
    assert code == 0, err
    assert re.search(r"^0\s+Standardize\s+10 -> 10\s+\(x - mean\) / scale\s+"
                     r"mean 10, scale 10 \(fixed\)\s+0$", out, re.M)
    assert re.search(r"^1\s+Dense\s+10 -> 8\s+sigmoid\s+W 10x8, b 8\s+88$", out, re.M)
    assert re.search(r"^2\s+Dropout\s+8 -> 8\s+rate 0\.25\s+-\s+0$", out, re.M)
    assert re.search(r"^3\s+Dense\s+8 -> 1\s+linear\s+W 8x1, b 1\s+9$", out, re.M)
    assert re.search(r"^4\s+Standardize\s+1 -> 1\s+x \* scale \+ mean\s+"
                     r"mean 1, scale 1 \(fixed\)\s+0$", out, re.M)
