"""Bad input to the command line: every bad data file, model file or output path exits 1 with
one line on stderr and writes nothing; ``--debug`` adds the traceback."""

import json
import os
import re

import numpy as np
import pandas as pd
import pytest
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

import backprop as bp


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
    "numbers with a junk cell": (
        "a,b,species\n1,2,x\n3,?,y\n4,5,x\n", [],
        r"1 column\(s\) cannot be used as they are: 'b' is numbers except for 1 cell\(s\) "
        r"that are not numbers \(row 2: '\?'\); mark them empty with --na-values '\?', or "
        r"treat the column as categories with --categorical b$"),
    "text forced numeric": (
        "a,b,species\n1,u,x\n3,v,y\n4,w,x\n", ["--numeric", "b"],
        r"1 column\(s\) cannot be used as they are: 'b' given as --numeric but holds 3 "
        r"cell\(s\) that are not numbers \(row 1: 'u', row 2: 'v', row 3: 'w'\); it is text: "
        r"leave it out of --numeric$"),
    "inf cell": ("a,b,species\n1,2,x\n-inf,4,y\n", [], r"row 2, column 'a' holds -inf"),
    "no usable column": ("a,b,species\n1,,x\n1,,y\n", [],
                         r"no usable feature column: 'a' left out: constant \(1\); 'b' left out: "
                         r"all 2 cells are empty"),
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
def test_bad_data_exits_1_with_one_line_and_writes_nothing(tmp_path, cli, case):
    text, extra, message = BAD_DATA[case]
    path = tmp_path / "bad.csv"
    path.write_text(text)
    outputs = [tmp_path / "m.safetensors", tmp_path / "c.png", tmp_path / "h.csv"]
    code, _, err = cli("train", "--data", path, "--target", "species", *extra,
                       "--out", outputs[0], "--plot", outputs[1], "--history", outputs[2])
    assert_one_line_error(code, err, path, message)
    assert sorted(os.listdir(tmp_path)) == ["bad.csv"]


def test_missing_data_file(tmp_path, cli):
    path = tmp_path / "nope.csv"
    code, _, err = cli("train", "--data", path, "--target", "y")
    assert_one_line_error(code, err, path, "no such file")


def test_predict_file_with_other_columns(tmp_path, cli, iris_model):
    path = tmp_path / "new.csv"
    path.write_text("sepal_length,sepal_width,petal_len,petal_width\n5.1,3.5,1.4,0.2\n")
    out = tmp_path / "p.csv"
    code, _, err = cli("predict", iris_model, "--data", path, "--output", out)
    assert_one_line_error(code, err, path, r"missing feature column\(s\) 'petal_length' \(the "
                                           r"file has 'sepal_length', 'sepal_width', 'petal_len'")
    assert not out.exists()
    # extra columns (an id, the label) are fine, and the column order does not matter
    path.write_text("id,petal_width,petal_length,sepal_width,sepal_length\n7,0.2,1.4,3.5,5.1\n")
    code, _, err = cli("predict", iris_model, "--data", path, "--output", out)
    assert code == 0, err
    assert pd.read_csv(out)["prediction"].tolist() == list(
        bp.load(iris_model).predict_labels(np.array([[5.1, 3.5, 1.4, 0.2]])))


@pytest.mark.parametrize("damage", ["truncated", "garbage", "future version", "edited header"])
def test_bad_model_files_exit_1_with_one_line(tmp_path, cli, iris_csv, iris_model, damage):
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
        edit_model(iris_model, path, wider_first_layer)  # the header is under the checksum
        message = r"the arrays and header do not match the checksum recorded in the file"
    out = tmp_path / "p.csv"
    for command in (["predict", path, "--data", iris_csv, "--output", out],
                    ["evaluate", path, "--data", iris_csv], ["inspect", path],
                    ["gradcheck", path, "--data", iris_csv]):
        code, stdout, err = cli(*command)
        assert_one_line_error(code, err, path, message)
        assert stdout == ""
    assert not out.exists()


def test_output_in_a_missing_folder_fails_before_any_work(tmp_path, cli, iris_csv, iris_model):
    missing = tmp_path / "no" / "such"
    for option, name in (("--out", "m.safetensors"), ("--plot", "c.png"), ("--history", "h.csv")):
        code, out, err = cli("train", "--data", iris_csv, "--target", "species", option,
                             missing / name)
        assert code == 1 and out == ""  # nothing trained, nothing printed
        assert err == f"error: cannot write {missing / name}: folder {missing} does not exist\n"
    code, out, err = cli("predict", iris_model, "--data", iris_csv, "--output",
                         missing / "p.csv")
    assert code == 1 and out == "" and err.startswith(f"error: cannot write {missing}")
    assert not (tmp_path / "no").exists()


def test_debug_shows_the_traceback(tmp_path, cli):
    path = tmp_path / "e.csv"
    path.write_text("")
    code, _, err = cli("train", "--data", path, "--target", "y", "--debug")
    assert code == 1
    assert "Traceback (most recent call last)" in err and "DataError" in err
    assert err.splitlines()[-1] == f"error: {path}: empty file"


@pytest.mark.parametrize("option", ["--out", "--history", "--checkpoint"])
def test_train_outputs_never_replace_the_data_file(tmp_path, cli, iris_csv, option):
    data = tmp_path / "iris.csv"
    data.write_bytes(iris_csv.read_bytes())
    before = data.read_bytes()
    code, stdout, err = cli("train", "--data", data, "--target", "species", "--epochs", "1",
                            "--no-gradcheck", "--quiet", option, data)
    assert code == 1 and stdout == ""
    assert f"error: {option} {data} is the input --data {data}: an output never replaces an " \
           "input" in err
    assert data.read_bytes() == before


def test_two_train_outputs_on_one_path_are_refused(tmp_path, cli, iris_csv):
    out = tmp_path / "same.out"
    code, _, err = cli("train", "--data", iris_csv, "--target", "species", "--epochs", "1",
                       "--no-gradcheck", "--quiet", "--out", out, "--history", out)
    assert code == 1 and f"--out and --history are the same file {out}" in err
    assert not out.exists()


def test_resuming_into_the_same_checkpoint_is_allowed(tmp_path, cli, iris_csv):
    ckpt = tmp_path / "run.ckpt"
    base = ("train", "--data", iris_csv, "--target", "species", "--no-gradcheck", "--quiet",
            "--checkpoint", ckpt)
    assert cli(*base, "--epochs", "1")[0] == 0
    code, _, err = cli(*base, "--epochs", "2", "--resume", ckpt)
    assert code == 0, err


@pytest.mark.parametrize("which", ["data", "model"])
def test_predict_output_never_replaces_an_input(tmp_path, cli, iris_csv, iris_model, which):
    data, model = tmp_path / "rows.csv", tmp_path / "model.safetensors"
    data.write_bytes(iris_csv.read_bytes())
    model.write_bytes(iris_model.read_bytes())
    target = data if which == "data" else model
    before = target.read_bytes()
    code, stdout, err = cli("predict", model, "--data", data, "--output", target)
    assert code == 1 and stdout == ""
    option = "--data" if which == "data" else "MODEL"
    assert f"error: --output {target} is the input {option} {target}" in err
    assert target.read_bytes() == before


def test_running_out_of_memory_is_one_line(monkeypatch, cli, iris_csv):
    import backprop.cli.train as train_command

    def no_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 14.6 GiB for an array with shape (200000, 2000)")

    monkeypatch.setattr(train_command, "prepare", no_memory)
    code, out, err = cli("train", "--data", iris_csv, "--target", "species", "--quiet")
    assert code == 1
    assert err == (f"error: {iris_csv}: not enough memory (Unable to allocate 14.6 GiB for an "
                   "array with shape (200000, 2000)); try a smaller file or a machine with more "
                   "memory\n")
