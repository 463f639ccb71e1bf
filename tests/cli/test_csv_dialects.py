"""The command line on CSV files as spreadsheets write them: semicolons and decimal commas,
UTF-16 "Unicode text", cp1252; ``--sep``, ``--decimal`` and ``--encoding`` on every command
that reads ``--data``, per run (a model trained on one kind of file predicts on another)."""

import io

import numpy as np
import pandas as pd
import pytest

import backprop as bp


def excel_csv(df, path, sep=";", decimal=",", encoding="utf-8-sig"):
    """``df`` as European Excel writes it: decimal commas, CRLF line ends, a byte-order mark."""
    df.to_csv(path, sep=sep, decimal=decimal, index=False, encoding=encoding, lineterminator="\r\n")
    return path


@pytest.fixture(scope="module")
def iris_frame(tmp_path_factory):
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    df = pd.DataFrame(X, columns=["Kelchlänge", "Kelchbreite", "Blütenlänge", "Blütenbreite"])
    df["Art"] = np.array(["setosa", "versicolor", "virginica"])[y]
    return df


def test_train_and_predict_on_semicolon_files(tmp_path, cli, iris_frame):
    data = excel_csv(iris_frame, tmp_path / "iris.csv")
    assert b"5,1;3,5" in data.read_bytes()
    model = tmp_path / "m.safetensors"
    code, out, err = cli("train", "--data", data, "--target", "Art", "--epochs", "5",
                         "--quiet", "--no-gradcheck", "--out", model)
    assert code == 0, err
    assert "150 rows x 4 features, task multiclass (3 classes" in out
    net = bp.load(model)
    assert net.feature_names == list(iris_frame.columns[:4])
    # new rows, a semicolon file again, columns in another order: sniffed, matched by name
    new = iris_frame.iloc[[0, 60, 120, 149], [3, 1, 0, 2]]
    expected = net.predict_labels(iris_frame.iloc[[0, 60, 120, 149], :4].to_numpy()).tolist()
    code, out, err = cli("predict", model, "--data", excel_csv(new, tmp_path / "new.csv"))
    assert code == 0, err
    assert pd.read_csv(io.StringIO(out))["prediction"].tolist() == expected
    # the same rows given with every option, and as a comma file with none: options are per
    # run, not saved with the model
    code, out, err = cli("predict", model, "--data", excel_csv(new, tmp_path / "n2.csv"),
                         "--sep", "semicolon", "--decimal", ",", "--encoding", "utf-8")
    assert code == 0, err
    assert pd.read_csv(io.StringIO(out))["prediction"].tolist() == expected
    new.to_csv(tmp_path / "plain.csv", index=False)
    code, out, err = cli("predict", model, "--data", tmp_path / "plain.csv")
    assert code == 0, err
    assert pd.read_csv(io.StringIO(out))["prediction"].tolist() == expected


def test_evaluate_and_gradcheck_read_unicode_text_and_cp1252(tmp_path, cli, iris_frame):
    plain = tmp_path / "iris.csv"
    iris_frame.to_csv(plain, index=False)
    model = tmp_path / "m.safetensors"
    code, _, err = cli("train", "--data", plain, "--target", "Art", "--epochs", "5", "--quiet",
                       "--no-gradcheck", "--out", model)
    assert code == 0, err
    code, reference, err = cli("evaluate", model, "--data", plain)
    assert code == 0, err
    # Excel's "Unicode text" (UTF-16 LE, tabs, decimal commas), sniffed
    unicode_text = excel_csv(iris_frame, tmp_path / "unicode.txt.csv", sep="\t",
                             encoding="utf-16")
    code, out, err = cli("evaluate", model, "--data", unicode_text)
    assert code == 0, err
    metrics = [line for line in reference.splitlines() if line.startswith(("loss", "accuracy"))]
    assert metrics and all(line in out for line in metrics)
    # cp1252 (the column names have umlauts): refused with the hint, read when told
    cp = excel_csv(iris_frame, tmp_path / "cp.csv", encoding="cp1252")
    code, _, err = cli("evaluate", model, "--data", cp)
    assert code == 1
    assert err == (f"error: {cp}: byte 0xe4 at line 1 is not UTF-8; it looks like cp1252: pass "
                   f"--encoding cp1252\n")
    code, out, err = cli("evaluate", model, "--data", cp, "--encoding", "cp1252")
    assert code == 0, err
    assert all(line in out for line in metrics)
    code, out, err = cli("gradcheck", model, "--data", cp, "--encoding", "cp1252", "--sep", ";",
                         "--decimal", ",", "--rows", "4", "--entries", "5")
    assert code == 0, err
    assert f"on 4 rows drawn from {cp} (150 rows)" in out and "check PASSED" in out


def test_errors_name_the_delimiter_and_the_encoding(tmp_path, cli, run, iris_frame):
    data = excel_csv(iris_frame, tmp_path / "iris.csv")
    code, _, err = cli("train", "--data", data, "--target", "Art", "--sep", "tab",
                       "--epochs", "1", "--quiet")
    assert code == 1
    assert err == (f"error: {data}: with --sep tab each line is a single field; the file looks "
                   f"semicolon-delimited: pass --sep ';'\n")
    code, _, err = cli("train", "--data", data, "--target", "Art", "--decimal", ".",
                       "--epochs", "1", "--quiet")
    assert code == 1 and ("'Kelchlänge' holds numbers written with a decimal comma (row 1: "
                          "'5,1'); read the file with --decimal ','") in err
    # usage errors (exit 2), before anything is read
    for args, message in ((["--encoding", "klingon"], "unknown text encoding 'klingon'"),
                          (["--sep", "ab"], "a delimiter must be one character"),
                          (["--decimal", ";"], "invalid choice: ';'")):
        result = run("train", "--data", data, "--target", "Art", *args)
        assert result.returncode == 2 and message in result.stderr, result.stderr
