"""A layer with a buffer that training changes (tests/helpers.py: RunningMean) is saved,
rewound and restored with the weights by everything that keeps a network's state, without any
of them knowing the layer."""

import numpy as np
import pytest

import backprop as bp
from helpers import BlowUp, RunningMean, assert_state_equal, registered


def make_net(seed=0):
    return bp.Network([RunningMean(4), bp.Dense(4, 8, "tanh", dtype=np.float64, seed=seed),
                       bp.Dropout(0.2, seed=seed),
                       bp.Dense(8, 3, "softmax", dtype=np.float64, seed=seed + 1)],
                      "categorical_crossentropy")


def data(m=96, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=3.0, size=(m, 4))
    return X, (X[:, 0] + X[:, 1] > 6).astype(int) + (X[:, 2] > 3.5)


def test_state_dict_holds_buffers_and_generators():
    net = make_net()
    state = net.state_dict()
    assert {"layers.0.mean", "layers.1.W", "layers.1.b", "layers.2.rng", "layers.3.W",
            "layers.3.b"} == set(state)
    X, y = data()
    net.fit(X, y, epochs=1, batch_size=32, verbose=0)
    assert (net.layers[0].buffers["mean"] > 0.5).all()  # training moved it towards 3
    net.load_state_dict(state)
    assert_state_equal(net.state_dict(), state)
    assert not net.layers[0].buffers["mean"].any()
    with pytest.raises(ValueError, match="layers.0.mean: expected shape"):
        net.load_state_dict({**state, "layers.0.mean": np.zeros(3)})
    assert_state_equal(net.state_dict(), state)  # checked first: nothing changed


def test_early_stopping_restores_the_buffer_of_the_best_epoch():
    X, y = data()
    net = make_net()
    seen = []

    class Record(bp.Callback):
        def on_epoch_end(self, epoch, logs, history):
            seen.append(net.state_dict())

    stopper = bp.EarlyStopping(patience=1, monitor="loss", min_delta=10.0)  # never improves
    net.fit(X, y, epochs=5, batch_size=32, verbose=0, callbacks=[Record(), stopper])
    assert stopper.best_epoch == 0 and len(seen) == 3
    assert_state_equal(net.state_dict(), seen[0])


def test_divergence_rewind_restores_the_buffer_of_the_last_good_step():
    """In the middle of an epoch: the mark, then the good steps since replayed, which move the
    buffer again."""
    X, _ = data()
    y = X.sum(axis=1, keepdims=True)
    net = bp.Network([RunningMean(4), bp.Dense(4, 8, "relu", dtype=np.float64, seed=0),
                      bp.Dense(8, 1, "linear", dtype=np.float64, seed=1)], "mse")
    good = []

    class Keep(bp.Callback):
        def on_batch_end(self, step, logs):
            good.append(net.state_dict())


    opt = bp.SGD(lr=0.01)
    with pytest.raises(bp.TrainingDiverged) as info:
        net.fit(X, y, epochs=5, batch_size=32, optimizer=opt, verbose=0, seed=1,
                callbacks=[Keep(), BlowUp(opt, 1)])
    assert info.value.step > 0  # good steps of that epoch were replayed after the mark
    assert_state_equal(net.state_dict(), good[-1])


def test_resume_and_model_files_carry_the_buffer(tmp_path):
    X, y = data()
    with registered(RunningMean):
        straight = make_net()
        straight.fit(X, y, epochs=4, batch_size=32, verbose=0, seed=3)

        class StopAt(bp.Callback):
            def on_batch_end(self, step, logs):
                return step == 5

        net, ckpt = make_net(), tmp_path / "run.ckpt"
        net.fit(X, y, epochs=4, batch_size=32, verbose=0, seed=3, checkpoint=ckpt,
                callbacks=[StopAt()])
        assert bp.load_checkpoint(ckpt).network["layers.0.mean"].any()
        resumed = make_net()
        resumed.fit(X, y, epochs=4, batch_size=32, verbose=0, seed=3, resume_from=ckpt,
                    callbacks=[StopAt()])
        assert_state_equal(resumed.state_dict(), straight.state_dict())

        straight.save(tmp_path / "m.safetensors")
        loaded = bp.load(tmp_path / "m.safetensors")
        np.testing.assert_array_equal(loaded.layers[0].buffers["mean"],
                                      straight.layers[0].buffers["mean"])
        np.testing.assert_array_equal(loaded.predict(X), straight.predict(X))


def test_gradient_check_sees_the_same_buffer_in_every_pass():
    X, y = data(m=6)
    net = make_net()
    report = bp.gradient_check(net, X, y)
    assert report.passed, str(report)
    assert not net.layers[0].buffers["mean"].any()  # the network itself is untouched


def test_inputs_of_any_rank_match_the_first_layers_shape():
    class FlattenPairs(bp.Layer):
        """(m, 2, 3) -> (m, 6): a stand-in for an image layer."""

        params = {}

        @property
        def input_shape(self):
            return (2, 3)

        def output_shape(self, input_shape):
            return (6,)

        def forward(self, a_prev, training=False):
            return a_prev.reshape(a_prev.shape[0], -1), None

        def backward(self, da, cache):
            return da.reshape(da.shape[0], 2, 3), {}

    layers = [FlattenPairs(), bp.Dense(6, 1, "linear", dtype=np.float64, seed=0)]
    net = bp.Network(layers, "mse")
    X = np.random.default_rng(0).normal(size=(7, 2, 3))
    assert net.input_shape == (2, 3) and net.predict(X).shape == (7, 1)
    assert bp.gradient_check(net, X, X[:, 0, :1]).passed
    with pytest.raises(ValueError, match=r"X must have shape \(n_samples, 2, 3\)"):
        net.predict(X.reshape(7, 6))
    bad = X.copy()
    bad[4, 1, 2] = np.nan
    with pytest.raises(ValueError, match=r"X contains nan at row 4, index \(1, 2\)"):
        net.predict(bad)


def test_a_leading_layer_that_reshapes_needs_the_input_shape():
    class Flatten(bp.Layer):
        """Any (m, ...) -> (m, prod): no input shape of its own."""

        params = {}

        def output_shape(self, input_shape):
            return (int(np.prod(input_shape)),)

        def forward(self, a_prev, training=False):
            return a_prev.reshape(a_prev.shape[0], -1), a_prev.shape

        def backward(self, da, cache):
            return da.reshape(cache), {}

        def config(self):
            return {"type": "Flatten"}

    layers = [Flatten(), bp.Dense(16, 1, "linear", dtype=np.float64, seed=0)]
    with pytest.raises(ValueError, match=r"cannot be inferred through layers\[0\] \(Flatten\)"):
        bp.Network(layers, "mse")
    net = bp.Network(layers, "mse", input_shape=(1, 4, 4))
    assert net.layer_shapes() == [((1, 4, 4), (16,)), ((16,), (1,))]
    X = np.random.default_rng(0).normal(size=(10, 1, 4, 4))
    assert net.predict(X).shape == (10, 1)
    with pytest.raises(ValueError, match=r"X must have shape \(n_samples, 1, 4, 4\)"):
        net.predict(X.reshape(10, 16))
    assert net.config()["input_shape"] == [1, 4, 4]
    with pytest.raises(ValueError, match=r"input_shape\[1\] must be a positive integer"):
        bp.Network(layers, "mse", input_shape=(1, 0, 4))


def test_an_integer_buffer_is_saved_checkpointed_and_kept_integer(tmp_path):
    class Counter(bp.Layer):
        """Counts the training rows it has seen (an int64 buffer), as batch norm's counter."""

        def __init__(self, n):
            self.n = n
            self.params = {}
            self.buffers = {"seen": np.zeros(1, dtype=np.int64)}

        @property
        def input_shape(self):
            return (self.n,)

        def forward(self, a_prev, training=False):
            if training:
                self.buffers["seen"] += a_prev.shape[0]
            return a_prev, None

        def backward(self, da, cache):
            return da, {}

        @classmethod
        def param_shapes(cls, config, dtype):
            return {"seen": ((1,), np.dtype(np.int64))}

        def config(self):
            return {"type": "Counter", "n": self.n}

        @classmethod
        def from_config(cls, config, dtype=np.float32, seed=None):
            return cls(config["n"])

    X, y = data()
    with registered(Counter):
        net = bp.Network([Counter(4), bp.Dense(4, 3, "softmax", dtype=np.float64, seed=0)],
                         "categorical_crossentropy")
        net.fit(X, y, epochs=2, batch_size=32, verbose=0, checkpoint=tmp_path / "c.ckpt")
        assert net.layers[0].buffers["seen"][0] == 2 * len(X)
        net.save(tmp_path / "c.safetensors")
        assert bp.load(tmp_path / "c.safetensors").layers[0].buffers["seen"][0] == 2 * len(X)
        assert bp.load_checkpoint(tmp_path / "c.ckpt").network["layers.0.seen"][0] == 2 * len(X)
        assert net.astype(np.float64).layers[0].buffers["seen"].dtype == np.int64
