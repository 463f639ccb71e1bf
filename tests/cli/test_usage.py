"""Usage errors exit 2 with argparse's message, before any work."""

import re


def test_usage_errors_exit_2(cli, iris_model):
    for args in (["fly"], ["train", "--data", "nonsense"], ["train", "--plot", "c.bmpx"],
                 ["predict", str(iris_model)], ["train", "--task", "ranking"],
                 ["train", "--features", "a,,b"]):
        code, _, err = cli(*args)
        assert code == 2, args
        assert "usage: backprop" in err
    _, _, err = cli("train", "--data", "nonsense")
    assert "'nonsense' is neither a built-in data set" in err
    assert cli("--help")[0] == 0


def test_numeric_options_out_of_range_are_usage_errors(cli, iris_model, iris_csv):
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
        code, out, err = cli(*args)
        assert code == 2 and out == "", args
        assert re.search(message, err), err
