"""Training that survives: the divergence guard, checkpoints, exact resume, interruption."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import backprop as bp
from backprop.saving import read_safetensors, write_safetensors
from helpers import BlowUp

HERE = os.path.dirname(os.path.abspath(__file__))


def regression_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    return X, X @ np.array([1.0, 2.0, 3.0])


class KeepWeights(bp.Callback):
    """Records the weights after every step."""

    def __init__(self, net):
        self.net, self.snapshots = net, []

    def on_batch_end(self, step, logs):
        self.snapshots.append(self.net.get_weights())


def assert_weights_equal(a, b):
    for wa, wb in zip(a, b):
        assert wa.keys() == wb.keys()
        for k in wa:
            assert np.array_equal(wa[k], wb[k]), k


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_learning_rate_raises_training_diverged(dtype):
    X, y = regression_data()
    net = bp.mlp([3, 8, 8, 1], output="linear", dtype=dtype, seed=0)
    keep = KeepWeights(net)
    with pytest.raises(bp.TrainingDiverged) as info:
        net.fit(X, y, epochs=20, batch_size=16, optimizer=bp.SGD(lr=1e6), callbacks=[keep],
                seed=0, verbose=0)
    err = info.value
    assert len(keep.snapshots) >= 1  # some steps succeeded before it diverged
    for p in net.parameters():
        assert np.isfinite(p).all()
    assert_weights_equal(net.get_weights(), keep.snapshots[-1])  # the last good step's
    assert err.epoch == 0 and err.step == len(keep.snapshots) and err.layer is not None
    text = str(err)
    assert f"epoch 1/20, batch {err.step + 1}/4" in text
    assert f"layer {err.layer} (Dense)" in text
    assert "learning rate" in text and "1e+06" in text


def test_nonfinite_cost_on_the_first_step_restores_initial_weights():
    X, y = regression_data()
    X = X.astype(np.float32)
    X[3, 1] = 3e20  # float32: the squared error overflows on the first step
    net = bp.mlp([3, 4, 1], output="linear", seed=0)
    initial = net.get_weights()
    with pytest.raises(bp.TrainingDiverged) as info:
        net.fit(X, y, epochs=3, batch_size=64, verbose=0, optimizer=bp.SGD(lr=0.1))
    err = info.value
    assert err.global_step == 0 and err.layer == 1 and err.value == np.inf
    assert "the cost (mse of the output of layer 1 (Dense)) became inf" in str(err)
    assert "initial values" in str(err)
    assert "max |x| in this batch is 3e+20" in str(err)
    assert_weights_equal(net.get_weights(), initial)


def test_divergence_with_early_stopping_restores_best_validation_weights():
    X, y = regression_data()
    net = bp.mlp([3, 8, 1], output="linear", dtype=np.float64, seed=0)
    stopper = bp.EarlyStopping(patience=50)


    opt = bp.SGD(lr=0.01)
    with pytest.raises(bp.TrainingDiverged) as info:
        net.fit(X, y, epochs=10, batch_size=16, optimizer=opt, validation_split=0.25, seed=0,
                callbacks=[stopper, BlowUp(opt, 2)], verbose=0)
    assert "best validation weights" in str(info.value)
    assert_weights_equal(net.get_weights(), stopper.best_weights)


def classification_data():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(240, 4))
    y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int) + (X[:, 2] > 0.5).astype(int)
    return X, y


def make_run(opt_name):
    """A network and fit arguments with every source of state: dropout, a validation split,
    early stopping, a schedule and the optimizer's buffers."""
    opt = {"sgd": bp.SGD(lr=0.05, momentum=0.9, nesterov=True),
           "adam": bp.Adam(lr=3e-3), "adamw": bp.AdamW(lr=3e-3, weight_decay=0.05)}[opt_name]
    net = bp.mlp([4, 16, 16, 3], activation="relu", output="softmax", dropout=0.3, seed=3)
    kwargs = dict(batch_size=32, optimizer=opt, validation_split=0.2, seed=7, verbose=0,
                  callbacks=[bp.EarlyStopping(patience=20)],
                  lr_schedule=bp.CosineAnnealing(t_max=8))
    return net, kwargs


def resume_in_this_process(opt_name, checkpoint, out_path, epochs):
    """Run by the subprocess: resume, finish, save the weights."""
    X, y = classification_data()
    net, kwargs = make_run(opt_name)
    history = net.fit(X, y, epochs=epochs, resume_from=checkpoint, checkpoint=checkpoint,
                      **kwargs)
    net.save(out_path)
    with open(out_path + ".json", "w") as f:
        json.dump(history.history, f)


def resume_in_fresh_process(opt_name, checkpoint, out_path, epochs):
    # the test folder too: this module imports tests/helpers.py
    code = (f"import sys; sys.path[:0] = [{HERE!r}, {os.path.dirname(HERE)!r}]; "
            f"import test_resume as t; "
            f"t.resume_in_this_process({opt_name!r}, {str(checkpoint)!r}, {str(out_path)!r}, "
            f"{epochs})")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    with open(str(out_path) + ".json") as f:
        return bp.load(out_path), json.load(f)


@pytest.mark.parametrize("opt_name", ["sgd", "adam", "adamw"])
def test_resume_in_a_fresh_process_is_bit_identical(opt_name, tmp_path):
    X, y = classification_data()
    straight, kwargs = make_run(opt_name)
    full = straight.fit(X, y, epochs=8, **kwargs)

    first, kwargs = make_run(opt_name)
    ckpt = tmp_path / "run.ckpt"
    first.fit(X, y, epochs=3, checkpoint=ckpt, **kwargs)
    resumed, history = resume_in_fresh_process(opt_name, ckpt, str(tmp_path / "model.st"), 8)
    assert_weights_equal(resumed.get_weights(), straight.get_weights())
    assert history == full.history


@pytest.mark.parametrize("stop_at", [5, 13])  # inside epoch 1, and inside epoch 2
def test_interrupt_mid_epoch_then_resume_is_bit_identical(stop_at, tmp_path):
    X, y = classification_data()
    straight, kwargs = make_run("adam")
    straight.fit(X, y, epochs=4, **kwargs)

    class StopAt(bp.Callback):
        def on_batch_end(self, step, logs):
            return step == stop_at

    net, kwargs = make_run("adam")
    ckpt = tmp_path / "run.ckpt"
    kwargs_stop = dict(kwargs, callbacks=kwargs["callbacks"] + [StopAt()])
    hist = net.fit(X, y, epochs=4, checkpoint=ckpt, **kwargs_stop)
    assert hist.interrupted
    state = bp.load_checkpoint(ckpt)
    assert state.progress["global_step"] == stop_at and state.progress["batch"] == stop_at % 6
    # resume with the same callbacks (the interrupting one does nothing past its step)
    resumed, kwargs = make_run("adam")
    kwargs["callbacks"] = kwargs["callbacks"] + [StopAt()]
    resumed.fit(X, y, epochs=4, resume_from=ckpt, **kwargs)
    assert_weights_equal(resumed.get_weights(), straight.get_weights())


def test_changed_settings_are_refused_with_a_list_of_differences(tmp_path):
    X, y = classification_data()
    net, kwargs = make_run("adam")
    ckpt = tmp_path / "run.ckpt"
    net.fit(X, y, epochs=1, checkpoint=ckpt, **kwargs)
    other = bp.mlp([4, 8, 3], activation="relu", output="softmax", dropout=0.3, seed=3)
    before = other.get_weights()
    kwargs["batch_size"] = 16
    with pytest.raises(ValueError) as info:
        other.fit(X[:200], y[:200], epochs=2, resume_from=ckpt, **kwargs)
    text = str(info.value)
    assert text.startswith(f"cannot resume from {ckpt}")
    for key in ("architecture:", "batch_size: checkpoint has 32, this run has 16", "data:"):
        assert key in text
    assert_weights_equal(other.get_weights(), before)  # nothing changed


def test_changed_callback_configuration_is_refused(tmp_path):
    X, y = classification_data()
    net, kwargs = make_run("adam")
    ckpt = tmp_path / "run.ckpt"
    net.fit(X, y, epochs=1, checkpoint=ckpt, **kwargs)
    other, kwargs = make_run("adam")
    before = other.get_weights()
    kwargs["callbacks"] = [bp.EarlyStopping(patience=2, monitor="val_accuracy")]
    with pytest.raises(ValueError) as info:
        other.fit(X, y, epochs=2, resume_from=ckpt, **kwargs)
    text = str(info.value)
    assert "callbacks[0] (EarlyStopping): checkpoint has" in text
    assert "'patience': 20" in text and "'monitor': 'val_accuracy'" in text
    assert_weights_equal(other.get_weights(), before)
    assert kwargs["optimizer"].state["step"] == 0
    other.fit(X, y, epochs=2, resume_from=ckpt, **make_run("adam")[1])  # the same one resumes


def test_checkpoint_file_is_validated(tmp_path):
    X, y = classification_data()
    net, kwargs = make_run("adam")
    ckpt = tmp_path / "run.ckpt"
    net.fit(X, y, epochs=1, checkpoint=ckpt, **kwargs)
    data = ckpt.read_bytes()
    ckpt.write_bytes(data[: len(data) // 2])
    with pytest.raises(bp.ModelFileError, match="run.ckpt"):
        bp.load_checkpoint(ckpt)
    net2, kwargs = make_run("adam")
    with pytest.raises(bp.ModelFileError):
        net2.fit(X, y, epochs=2, resume_from=ckpt, **kwargs)
    with pytest.raises(bp.ModelFileError, match="holds a 'model', not a 'checkpoint'"):
        net2.save(tmp_path / "m.st")
        bp.load_checkpoint(tmp_path / "m.st")


def test_checkpoint_every_and_contents(tmp_path):
    X, y = classification_data()
    net, kwargs = make_run("sgd")
    ckpt = tmp_path / "run.ckpt"
    seen = []

    class Look(bp.Callback):
        def on_epoch_end(self, epoch, logs, history):
            seen.append(bp.load_checkpoint(ckpt).progress["epoch"] if ckpt.exists() else None)

    kwargs["callbacks"] = kwargs["callbacks"] + [Look()]
    net.fit(X, y, epochs=5, checkpoint=ckpt, checkpoint_every=2, **kwargs)
    assert seen == [None, None, 2, 2, 4]  # written after epochs 2 and 4 (then after the last)
    state = bp.load_checkpoint(ckpt)
    assert state.progress["epoch"] == 5 and state.progress["batch"] == 0
    assert state.optimizer["class"] == "SGD" and state.optimizer["state"]["step"] == 5 * 6
    assert sum(k.endswith(".rng") for k in state.network) == 2  # the two dropout generators
    assert state.val_rows.size == 48
    assert state.history["epoch"] == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="checkpoint_every must be a positive integer"):
        net.fit(X, y, checkpoint=ckpt, checkpoint_every=0, verbose=0)


def test_divergence_report_describes_the_offending_batch_after_the_replay():
    X, y = regression_data()
    X = X.astype(np.float32)
    X[3, 1] = 3e20  # its batch's squared error overflows float32
    net = bp.mlp([3, 4, 1], output="linear", seed=0)
    keep = KeepWeights(net)
    with pytest.raises(bp.TrainingDiverged) as info:
        net.fit(X, y, epochs=2, batch_size=16, verbose=0, seed=4, callbacks=[keep],
                optimizer=bp.SGD(lr=1e-3))
    err = info.value
    assert err.step > 0  # earlier steps of the epoch were replayed to rebuild the weights
    assert "max |x| in this batch is 3e+20" in str(err)
    assert_weights_equal(net.get_weights(), keep.snapshots[-1])


def written_checkpoint(tmp_path, epochs):
    """``(X, y, path, header, tensors)`` of a checkpoint of ``make_run("adam")`` after
    ``epochs`` epochs, read back for a test to edit (as a tamperer would)."""
    X, y = classification_data()
    net, kwargs = make_run("adam")
    ckpt = tmp_path / "run.ckpt"
    net.fit(X, y, epochs=epochs, checkpoint=ckpt, **kwargs)
    contents = read_safetensors(ckpt, kind="checkpoint")
    return X, y, ckpt, contents.header, contents.tensors


@pytest.mark.parametrize("edit", ["rng", "slots", "position", "best_weights", "best_names",
                                  "history", "early_stopping", "order"])
def test_an_edited_checkpoint_header_fails_before_anything_changes(edit, tmp_path):
    X, y, ckpt, header, tensors = written_checkpoint(tmp_path, epochs=2)
    if edit == "rng":
        header["rng_state"] = {"bit_generator": "PCG64", "state": "garbage"}
    elif edit == "slots":
        tensors["optimizer.slots.0.m"] = tensors["optimizer.slots.0.m"][:2]
    elif edit == "position":
        header["progress"]["batch"] = 99
    elif edit == "best_weights":
        tensors.pop("callbacks.0.best.layers.0.W")
        header["callbacks"][0]["state"]["arrays"].remove("best.layers.0.W")
    elif edit == "best_names":  # the right shapes under the wrong names
        tensors["callbacks.0.best.layers.0.Q"] = tensors.pop("callbacks.0.best.layers.0.W")
        header["callbacks"][0]["state"]["arrays"] = sorted(
            "best.layers.0.Q" if a == "best.layers.0.W" else a
            for a in header["callbacks"][0]["state"]["arrays"])
    elif edit == "history":
        header["history"]["history"]["loss"][0] = "x"
    elif edit == "early_stopping":
        header["callbacks"][0]["state"]["values"]["wait"] = "x"
    else:  # a position inside a shuffled epoch, without that epoch's row order
        header["progress"]["batch"] = 2
    write_safetensors(ckpt, tensors, header, kind="checkpoint")  # a valid file, edited
    other, kwargs = make_run("adam")
    before = other.get_weights()
    with pytest.raises(bp.ModelFileError, match="cannot resume"):
        other.fit(X, y, epochs=4, resume_from=ckpt, **kwargs)
    assert_weights_equal(other.get_weights(), before)
    assert kwargs["optimizer"].state["step"] == 0


@pytest.mark.parametrize("edit", ["earlier layout", "part missing", "array missing"])
def test_a_checkpoint_of_another_layout_or_with_a_missing_part_is_named(edit, tmp_path):
    X, y, ckpt, header, tensors = written_checkpoint(tmp_path, epochs=1)
    if edit == "earlier layout":  # as an earlier version wrote them: no layout entry
        del header["layout"]
        message = "a checkpoint in layout 1 \\(this version resumes layout 2"
    elif edit == "part missing":
        del header["optimizer"]["state"]
        message = "checkpoint part 'optimizer' is missing or malformed"
    else:
        del tensors["network.layers.0.W"]
        message = "checkpoint part 'network' misses the array 'layers.0.W'"
    write_safetensors(ckpt, tensors, header, kind="checkpoint")
    with pytest.raises(bp.ModelFileError, match=message):
        bp.load_checkpoint(ckpt)


@pytest.mark.parametrize("edit", ["nan", "float64", "int32"])
def test_a_checkpoint_with_bad_network_arrays_is_refused_before_anything_changes(edit, tmp_path):
    X, y, ckpt, header, tensors = written_checkpoint(tmp_path, epochs=1)
    W = tensors["network.layers.0.W"]
    if edit == "nan":
        W[0, 3] = np.nan
        message = r"network state's layers.0.W holds nan at index \[0, 3\]"
    else:
        tensors["network.layers.0.W"] = W.astype(edit)
        message = f"network state's layers.0.W is {edit}, the network's float32"
    write_safetensors(ckpt, tensors, header, kind="checkpoint")
    other, kwargs = make_run("adam")
    before = other.get_weights()
    with pytest.raises(bp.ModelFileError, match="cannot resume: the " + message):
        other.fit(X, y, epochs=2, resume_from=ckpt, **kwargs)
    assert_weights_equal(other.get_weights(), before)


def test_the_network_a_checkpoint_holds(tmp_path):
    X, y = classification_data()
    net, kwargs = make_run("adam")
    ckpt = tmp_path / "run.ckpt"
    net.fit(X, y, epochs=2, checkpoint=ckpt, **kwargs)
    state = bp.load_checkpoint(ckpt)
    held = state.build_network(bp.Network)
    assert isinstance(held, bp.Network) and held.config() == net.config()
    for key, value in held.state_dict().items():
        saved = state.network[key]
        assert np.array_equal(value, saved) if isinstance(value, np.ndarray) else value == saved
    assert held.predict(X).shape == (X.shape[0], 3)
    generators = [la.rng for la in held.layers if la.rng is not None]
    assert len(generators) == 2 and generators[0] is not generators[1]  # one per Dropout
