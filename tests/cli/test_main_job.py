"""The main job, ``backprop train``, run as a user runs it: a subprocess."""

import re
import subprocess
import sys


def run(*args):
    return subprocess.run([sys.executable, "-m", "backprop", *args], capture_output=True,
                          text=True, timeout=300)


def test_default_train_prints_gradient_check_and_reaches_095():
    proc = run("train")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "gradient check PASSED" in out
    for column in ("layer", "param", "shape", "max rel err", "worst entry"):
        assert column in out
    assert re.search(r"^0 Dense\s+W\s+30x16", out, re.M)
    assert re.search(r"^input\s+X", out, re.M)
    assert "sigmoid" in out and "binary_crossentropy" in out
    train_acc = float(re.search(r"^train accuracy: ([0-9.]+)$", out, re.M).group(1))
    test_acc = float(re.search(r"^test accuracy: ([0-9.]+)$", out, re.M).group(1))
    assert test_acc >= 0.95 and train_acc >= 0.95
    assert re.search(r"^test loss: [0-9.]+$", out, re.M)


def test_usage_error_exits_2_with_argparse_message():
    proc = run("train", "--hidden", "16,x")
    assert proc.returncode == 2
    assert "--hidden must be comma-separated positive integers" in proc.stderr
    proc = run("train", "--optimizer", "newton")
    assert proc.returncode == 2 and "invalid choice: 'newton'" in proc.stderr
