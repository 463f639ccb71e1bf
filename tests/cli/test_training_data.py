"""The rows ``backprop train`` works on: read in the training dtype and held once (each part of
the split a view of one standardized matrix), split exactly as before, scored as the saved
model scores the raw rows; a long read shows progress on a terminal only; running out of memory
names the data file."""

import re
import sys

import numpy as np
import pandas as pd
import pytest

import backprop as bp
import backprop.data.blocks as blocks
from backprop.cli.parser import build_parser
from backprop.cli.training_data import PARTS, prepare
from backprop.data import Standardizer, load_dataset


def _args(*argv):
    return build_parser().parse_args(["train", *map(str, argv)])


@pytest.fixture
def numeric_csv(tmp_path, rng):
    """300 rows: five float columns on different scales and a 0/1 target."""
    X = rng.normal(size=(300, 5)) * [1, 100, 0.01, 5, 1e3] + [0, 50, 1, -3, 1e4]
    df = pd.DataFrame(X, columns=list("abcde"))
    df["label"] = (X[:, 0] + X[:, 1] / 100 > 0.5).astype(int)
    path = tmp_path / "numbers.csv"
    df.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_data_stays_in_the_training_dtype_and_is_held_once(numeric_csv, dtype, monkeypatch,
                                                                cli):
    import backprop.train.loop as loop

    prep = prepare(_args("--data", numeric_csv, "--target", "label", "--validation-split",
                         "0.25", "--dtype", dtype))
    matrix = prep.data.X
    assert matrix.dtype == dtype and matrix.shape == (300, 5)
    assert prep.X.dtype == prep.X_val.dtype == dtype
    for name in PARTS:  # every part is a block of the one matrix
        X, _ = prep.part(name)
        assert X.base is matrix or X.base is matrix.base
        assert np.shares_memory(X, matrix)
    assert np.shares_memory(prep.X, matrix) and np.shares_memory(prep.X_val, matrix)
    assert sum(len(prep.part(name)[1]) for name in PARTS) == 300
    seen = {}
    real_fit = loop.fit

    def spy(network, X, y, **kwargs):  # what backprop train hands the network
        seen["X"], seen["dtype"] = X, network.dtype
        return real_fit(network, X, y, **kwargs)

    monkeypatch.setattr("backprop.model.fit", spy)
    code, _, err = cli("train", "--data", numeric_csv, "--target", "label", "--dtype", dtype,
                       "--validation-split", "0.25", "--epochs", "1", "--quiet")
    assert code == 0, err
    X = seen["X"]
    assert X.dtype == seen["dtype"] == dtype and X.flags.c_contiguous
    assert X.base is not None and X.base.shape[0] >= 300  # a view of the whole data's rows


def test_the_split_and_its_rows_are_those_of_the_seed():
    # indices recorded from the implementation that copied each part out of the data
    pinned = {
        "0.0": [(456, [0, 1, 2, 3, 4, 5], 126696, 38766534), (0, [], 0, 0),
                (113, [450, 272, 232, 87, 440, 346], 34900, 1902070)],
        "0.25": [(342, [0, 1, 2, 3, 4, 5], 94721, 21760824),
                 (114, [496, 204, 176, 129, 118, 287], 31975, 1767785),
                 (113, [450, 272, 232, 87, 440, 346], 34900, 1902070)],
    }
    raw = load_dataset("breast-cancer")
    for fraction, expected in pinned.items():
        prep = prepare(_args("--data", "breast-cancer", "--seed", "3", "--validation-split",
                             fraction))
        parts = (prep.train, prep.validation, prep.test)
        got = [(len(a), a[:6].tolist(), int(a.sum()), int((a * np.arange(len(a))).sum()))
               for a in parts]
        assert got == expected
        scaler = Standardizer().fit(raw.X[prep.train])
        np.testing.assert_array_equal(scaler.mean_, prep.x_scaler.mean_)
        for name, idx in zip(PARTS, parts):
            X, y = prep.part(name)
            np.testing.assert_array_equal(X, scaler.transform(raw.X[idx]))
            np.testing.assert_array_equal(y, raw.y[idx])


def _summary(out):
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r"^(\w[\w ]*): (-?[0-9.]+)$", out, re.M)}


@pytest.mark.parametrize("task", ["classifier", "regression"])
def test_the_summary_scores_what_the_saved_model_scores_on_the_raw_rows(tmp_path, cli,
                                                                         numeric_csv, task):
    model = tmp_path / "m.safetensors"
    extra = ["--task", "regression", "--target", "e"] if task == "regression" else [
        "--target", "label"]
    argv = ["--data", numeric_csv, *extra, "--epochs", "5", "--seed", "2",
            "--validation-split", "0.2", "--no-gradcheck"]
    code, out, err = cli("train", *argv, "--quiet", "--out", model)
    assert code == 0, err
    summary = _summary(out)
    net = bp.load(model)
    prep = prepare(_args(*argv))
    target = "e" if task == "regression" else "label"
    raw = load_dataset(str(numeric_csv), target=target, task=extra[1] if task == "regression"
                       else None)
    for name, idx in zip(PARTS, (prep.train, prep.validation, prep.test)):
        X, y = raw.X[idx], raw.y[idx]
        if task == "regression":
            pred = net.predict(X)[:, 0]
            assert summary[f"{name} mse"] == pytest.approx(np.mean((pred - y) ** 2), rel=1e-4)
        else:
            logs = net.evaluate(X, y)
            assert summary[f"{name} loss"] == pytest.approx(logs["loss"], abs=1e-6)
            assert summary[f"{name} accuracy"] == round(logs["accuracy"], 4)


def test_a_long_read_shows_progress_on_a_terminal_only(tmp_path, numeric_csv, cli, run,
                                                        monkeypatch):
    model = tmp_path / "m.safetensors"
    code, _, err = cli("train", "--data", numeric_csv, "--target", "label", "--epochs", "1",
                       "--no-gradcheck", "--quiet", "--out", model)
    assert code == 0 and err == ""
    result = run("predict", model, "--data", numeric_csv)  # a pipe: no bar
    assert result.returncode == 0 and result.stderr == ""
    monkeypatch.setattr(blocks, "PROGRESS_DELAY", 0)  # even a short read shows its bar
    for command in (["predict", model], ["evaluate", model], ["gradcheck", model],
                    ["train", "--target", "label", "--epochs", "1", "--no-gradcheck"]):
        monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
        code, _, err = cli(*command, "--data", numeric_csv)
        assert code == 0 and "reading numbers.csv:" in err, (command, err)
        code, _, err = cli(*command, "--data", numeric_csv, "--quiet")
        assert code == 0 and "reading numbers.csv" not in err, (command, err)


def test_running_out_of_memory_while_reading_names_the_data_file(tmp_path, numeric_csv, cli,
                                                                 monkeypatch):
    model = tmp_path / "m.safetensors"
    assert cli("train", "--data", numeric_csv, "--target", "label", "--epochs", "1",
               "--no-gradcheck", "--quiet", "--out", model)[0] == 0

    def no_memory(self, block):
        raise MemoryError("Unable to allocate 1.49 GiB for an array with shape (200000, 2000)")

    monkeypatch.setattr(blocks.RowChunks, "append", no_memory)  # inside the fast path
    for command in (["train", "--target", "label"], ["predict", model], ["evaluate", model]):
        code, out, err = cli(*command, "--data", numeric_csv)
        assert code == 1
        assert err == (f"error: {numeric_csv}: not enough memory (Unable to allocate 1.49 GiB "
                       "for an array with shape (200000, 2000)); try a smaller file or a machine "
                       "with more memory\n")


def test_pyarrow_running_out_of_memory_is_not_a_file_error(tmp_path, cli, monkeypatch):
    import pyarrow as pa
    import pyarrow.csv

    gaps = tmp_path / "gaps.csv"  # an empty cell: read the general way, whole
    gaps.write_text("a,b,label\n1,2,0\n3,,1\n")

    def no_memory(*args, **kwargs):
        raise pa.ArrowMemoryError("malloc of size 1048576 failed")

    monkeypatch.setattr(pyarrow.csv, "read_csv", no_memory)
    code, _, err = cli("train", "--data", gaps, "--target", "label")
    assert code == 1
    assert err.startswith(f"error: {gaps}: not enough memory (malloc of size 1048576 failed)")
