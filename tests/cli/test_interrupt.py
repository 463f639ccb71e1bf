"""Ctrl-C and SIGTERM during ``backprop train``: finish the step, checkpoint, exit 130 / 143,
and a resumed run ends bit-identical to an uninterrupted one.  Divergence in the CLI."""

import os
import signal
import subprocess
import sys
import time

import numpy as np

import backprop as bp

TRAIN = ["train", "--data", "digits", "--hidden", "32", "--epochs", "40", "--dropout", "0.2",
         "--no-gradcheck", "--quiet"]


def command(*args):
    return [sys.executable, "-m", "backprop", *args]


def wait_for(path, proc, timeout=60.0):
    end = time.monotonic() + timeout
    while not os.path.exists(path):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, "no checkpoint appeared"
        time.sleep(0.005)


def assert_same_weights(a, b):
    for la, lb in zip(a.layers, b.layers):
        for k in la.params:
            assert np.array_equal(la.params[k], lb.params[k])


def test_sigint_checkpoints_and_resume_matches_a_straight_run(tmp_path):
    sig, code = signal.SIGINT, 130
    straight = tmp_path / "straight.st"
    subprocess.run(command(*TRAIN, "--out", str(straight)), check=True, capture_output=True,
                   timeout=120)
    ckpt, out = tmp_path / "run.ckpt", tmp_path / "model.st"
    proc = subprocess.Popen(command(*TRAIN, "--checkpoint", str(ckpt), "--out", str(out)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(ckpt, proc)  # written after the first epoch
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    assert f"interrupted by {signal.Signals(sig).name}" in stderr
    assert f"saved checkpoint {ckpt} and model {out}" in stderr
    state = bp.load_checkpoint(ckpt)
    assert 0 < state.progress["global_step"] < 40 * 45
    assert bp.load(out).n_in == 64  # the model written at the interruption loads
    resumed = subprocess.run(command(*TRAIN, "--checkpoint", str(ckpt), "--out", str(out),
                                     "--resume", str(ckpt)),
                             capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from checkpoint" in resumed.stdout
    assert_same_weights(bp.load(out), bp.load(straight))


def signal_long_run(ckpt, *signals):
    """Start a long training run, send ``signals`` once its first checkpoint exists; return
    ``(exit code, stderr)``."""
    proc = subprocess.Popen(command(*TRAIN, "--epochs", "400", "--checkpoint", str(ckpt)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(ckpt, proc)
    for sig in signals:
        proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    return proc.returncode, stderr


def test_sigterm_exits_143_with_a_loadable_checkpoint(tmp_path):
    ckpt = tmp_path / "run.ckpt"
    code, stderr = signal_long_run(ckpt, signal.SIGTERM)
    assert code == 143, stderr
    assert "interrupted by SIGTERM" in stderr
    assert "continue with the same command and --resume" in stderr
    assert bp.load_checkpoint(ckpt).progress["global_step"] > 0


def test_second_sigint_exits_at_once_without_corrupting_files(tmp_path):
    ckpt = tmp_path / "run.ckpt"
    code, stderr = signal_long_run(ckpt, signal.SIGINT, signal.SIGINT)
    assert code == 130, stderr
    bp.load_checkpoint(ckpt)  # whatever happened, the file on disk is whole
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_resume_with_other_settings_is_refused(tmp_path):
    ckpt = tmp_path / "run.ckpt"
    args = ["train", "--data", "iris", "--hidden", "8", "--epochs", "2", "--no-gradcheck",
            "--quiet", "--checkpoint", str(ckpt)]
    subprocess.run(command(*args), check=True, capture_output=True, timeout=120)
    proc = subprocess.run(command(*args, "--batch-size", "8", "--hidden", "4", "--resume",
                                  str(ckpt)), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"error: cannot resume from {ckpt}")
    assert "batch_size: checkpoint has 32, this run has 8" in proc.stderr
    assert "architecture" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_divergence_in_the_cli_is_one_line_and_keeps_the_last_good_model(tmp_path):
    out = tmp_path / "m.st"
    proc = subprocess.run(command("train", "--data", "diabetes", "--hidden", "16",
                                  "--activation", "relu", "--optimizer", "sgd", "--lr", "1e6",
                                  "--epochs", "5", "--no-gradcheck", "--quiet", "--out",
                                  str(out)), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("error: training diverged at epoch 1/5, batch ")
    assert "layer" in lines[0] and "learning rate" in lines[0]
    assert lines[1] == f"saved the last good model: {out}"
    model = bp.load(out)  # finite by construction: the loader rejects NaN/inf
    assert all(np.isfinite(p).all() for p in model.parameters())
