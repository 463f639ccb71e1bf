"""``backprop gradcheck``: a saved model's gradients checked on rows of a data file or a
built-in set."""

import re

from backprop.cli import main


def test_gradcheck_a_saved_model(iris_csv, iris_model, cli):
    code, out, err = cli("gradcheck", iris_model, "--data", iris_csv, "--rows", "10",
                         "--entries", "20")
    assert code == 0, err
    assert "on 10 rows drawn from" in out and "gradient check PASSED" in out
    assert re.search(r"^input\s+X\s+10x4", out, re.M)


def test_gradcheck_on_a_builtin_set(tmp_path, cli):
    model = tmp_path / "bc.safetensors"
    assert main(["train", "--epochs", "2", "--quiet", "--no-gradcheck", "--out",
                 str(model)]) == 0
    code, out, err = cli("gradcheck", model, "--data", "breast-cancer", "--rows", "8",
                         "--entries", "10")
    assert code == 0, err
    assert "gradient check PASSED" in out
