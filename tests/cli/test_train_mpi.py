"""``mpiexec -n N backprop train``: each process reads its share of an NPZ, CSV or Parquet file,
the model is one process's (standardisation included), the first process alone prints and
writes, Ctrl-C stops every process and the run resumes bit-identically, and an error on one
process, or in one share, ends the job with one clear message."""

import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits

import backprop as bp
from backprop.cli import main
from helpers import child_env, mpiexec

JOB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mpi_main.py")
TRAIN = ["train", "--epochs", "3", "--hidden", "8", "--validation-split", "0.2", "--dropout",
         "0.1", "--l2", "0.001", "--quiet"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The same 203 rows (a text label) as NPZ, CSV and Parquet (row groups of 16)."""
    folder = tmp_path_factory.mktemp("shares")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(203, 5)) * [1, 10, 0.1, 1, 100] + [0, 5, 0, -3, 1000]
    label = np.where(X[:, 0] + X[:, 1] / 10 > 0.5, "yes", "no")
    df = pd.DataFrame(X, columns=list("abcde"))
    df["label"] = label
    np.savez(folder / "d.npz", X=X, label=label.astype("U3"))
    df.to_csv(folder / "d.csv", index=False)
    df.to_parquet(folder / "d.parquet", row_group_size=16)
    return folder


def job(n, *commands, env=None, timeout=120, **kwargs):
    argv = []
    for c in commands:
        argv += (["--next"] if argv else []) + [str(a) for a in c]
    return subprocess.run(mpiexec(n, sys.executable, JOB, *argv), capture_output=True, text=True,
                          timeout=timeout, env={**child_env(), **(env or {})}, **kwargs)


def relative_errors(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    return [float(np.linalg.norm(x[k] - y[k]) / np.linalg.norm(y[k]))
            for x, y in zip(wa, wb) for k in x if np.linalg.norm(y[k]) > 0]


def test_two_processes_train_one_process_s_model_from_each_format(files, tmp_path, capsys):
    n, formats = 2, ["npz", "csv", "parquet"]
    commands = []
    for fmt in formats:
        common = [*TRAIN, "--data", files / f"d.{fmt}", "--target", "label"]
        assert main([*map(str, common), "--out", str(tmp_path / f"one.{fmt}")]) == 0
        commands.append([*common, "--out", tmp_path / f"many.{fmt}",
                         "--history", tmp_path / f"many.{fmt}.csv"])
    one_out = capsys.readouterr().out
    result = job(n, *commands)
    assert result.returncode == 0, result.stderr
    # one process printed: each summary once, as one process prints it, with the processes
    assert result.stdout.count("summary:") == len(formats)
    assert result.stdout.count(f"processes: {n}, each reading its share") == len(formats)
    for key in ("test accuracy", "test balanced accuracy", "validation loss"):
        assert [line for line in result.stdout.splitlines() if line.startswith(key)] == \
            [line for line in one_out.splitlines() if line.startswith(key)]
    for fmt in formats:
        one, many = bp.load(tmp_path / f"one.{fmt}"), bp.load(tmp_path / f"many.{fmt}")
        # the standardisation of all processes' training rows, as one process fits it
        assert isinstance(many.layers[0], bp.Standardize)
        stats, ref = many.get_weights()[0], one.get_weights()[0]
        assert stats.keys() == ref.keys() and len(stats) == 2
        for k in ref:
            np.testing.assert_allclose(stats[k], ref[k], rtol=1e-12, err_msg=k)
        assert max(relative_errors(many, one)) < 1e-5, fmt
        assert many.metadata["data"]["rows"] == 203 and many.classes == ["no", "yes"]
        assert many.metadata["training"]["processes"] == n
        for key in ("test_loss", "train_accuracy", "validation_loss"):
            assert many.metadata["metrics"][key] == pytest.approx(one.metadata["metrics"][key],
                                                                  rel=1e-5)
    # the first process alone wrote: the files asked for, nothing else
    written = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("many"))
    assert written == sorted(f"many.{f}{s}" for f in formats for s in ("", ".csv"))


@pytest.fixture(scope="module")
def digits_npz(tmp_path_factory):
    X, y = load_digits(return_X_y=True)
    path = tmp_path_factory.mktemp("digits") / "digits.npz"
    np.savez(path, X=X[:600], y=y[:600])
    return path


def test_ctrl_c_stops_every_process_and_the_run_resumes_bit_identically(digits_npz, tmp_path):
    # not --quiet: process 0 prints the epoch lines, and every process must still have the
    # same callbacks, which the checkpoint records
    train = ["train", "--data", str(digits_npz), "--hidden", "32", "--epochs", "25",
             "--dropout", "0.2", "--no-gradcheck"]
    straight = tmp_path / "straight.st"
    ckpt, out = tmp_path / "run.ckpt", tmp_path / "model.st"
    proc = subprocess.Popen(mpiexec(2, sys.executable, JOB, *train, "--checkpoint", str(ckpt),
                                    "--out", str(out)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=child_env())
    end = time.monotonic() + 60
    while not ckpt.exists():  # written after the first epoch
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)  # as Ctrl-C: mpiexec passes it to every process
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stderr.count("interrupted by SIGINT") == 1  # said once, by the first process
    assert f"saved checkpoint {ckpt} and model {out}" in stderr
    state = bp.load_checkpoint(ckpt)  # loadable, and mid-run
    assert 1 <= state.progress["epoch"] < 25

    refused = job(3, [*train, "--checkpoint", ckpt, "--resume", ckpt, "--out", out])
    assert refused.returncode == 1
    assert refused.stderr.count("error:") == 1
    assert "written by a run on 2 processes, this run has 3" in refused.stderr

    # one job: the uninterrupted run, then the interrupted one resumed
    resumed = job(2, [*train, "--out", straight],
                  [*train, "--checkpoint", ckpt, "--resume", ckpt, "--out", out])
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.count("epoch 25/25: loss") == 2  # once per run, by process 0
    a, b = bp.load(straight), bp.load(out)
    for la, lb in zip(a.get_weights(), b.get_weights()):
        for k in la:
            assert np.array_equal(la[k], lb[k]), k


def test_an_error_on_one_process_ends_the_job_with_its_message(files):
    start = time.monotonic()
    result = job(2, [*TRAIN, "--data", files / "d.npz", "--target", "label", "--epochs", "500",
                     "--no-gradcheck"], env={"BACKPROP_TEST_FAIL": "1:5"}, timeout=60)
    assert time.monotonic() - start < 30
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "error (process 1 of 2): injected failure at step 5; stopping all 2 processes" \
        in result.stderr, (result.stdout, result.stderr)
    assert "summary:" not in result.stdout


def test_a_bad_value_in_one_share_is_one_error_naming_its_row(files, tmp_path):
    bad = tmp_path / "bad.csv"
    df = pd.read_csv(files / "d.csv")
    df.loc[150, "c"] = np.nan  # file row 151: in process 1's share of 2 (bytes 15k to 30k)
    df.to_csv(bad, index=False)
    npz = tmp_path / "bad.npz"
    X = np.load(files / "d.npz")["X"].copy()
    X[170, 2] = np.inf  # file row 171: process 1's share
    np.savez(npz, X=X, label=np.load(files / "d.npz")["label"])
    result = job(2, [*TRAIN, "--data", bad, "--target", "label"],
                 [*TRAIN, "--data", npz, "--target", "label"],
                 [*TRAIN, "--data", npz, "--target", "label", "--plot-gradients",
                  tmp_path / "g.png"])
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 3  # one line each, from the first process; no abort
    found = re.search(r"^error: .*bad.csv: columns that are not all clean numbers \(text, "
                      r"categories, dates or empty cells\) in rows (\d+) to (\d+) need "
                      r"encoding", errors[0])
    assert found and int(found[1]) <= 151 <= int(found[2]) and found[1] != "1"
    assert errors[1] == "error: " + str(npz) + ": row 171, column 'x2' holds inf; features " \
        "must be finite numbers"
    assert errors[2].startswith("error: --plot-gradients measures the network of one process; "
                                "run it without mpiexec")
    assert not (tmp_path / "g.png").exists()


def test_commands_other_than_train_refuse_several_processes(tmp_path):
    result = job(2, ["inspect", tmp_path / "model.st"])
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: backprop inspect runs on one process, not 2 processes: only 'train' is data "
        "parallel; run it without mpiexec/srun"]
