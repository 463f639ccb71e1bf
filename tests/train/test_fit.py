"""Training: learning real problems, determinism, mini-batching, validation, callbacks."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits

import backprop as bp
from backprop.data import Standardizer, split, train_validation_split


def standardized_split(X, y, stratify, seed=0):
    tr, te = split(X.shape[0], 0.2, seed, stratify)
    scaler = Standardizer().fit(X[tr])
    return scaler.transform(X[tr]), scaler.transform(X[te]), y[tr], y[te]


def test_xor_is_learned_exactly():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([0, 1, 1, 0])
    net = bp.mlp([2, 4, 1], activation="tanh", output="sigmoid", seed=0)
    hist = net.fit(X, y, epochs=500, batch_size=None, optimizer=bp.Adam(lr=0.05), verbose=0)
    np.testing.assert_array_equal(net.predict_classes(X), y)
    assert hist["accuracy"][-1] == 1.0 and hist["loss"][-1] < 0.05


def test_breast_cancer_test_accuracy():
    X, y = load_breast_cancer(return_X_y=True)
    Xtr, Xte, ytr, yte = standardized_split(X, y, y)
    net = bp.mlp([30, 16, 1], activation="sigmoid", output="sigmoid", seed=0)
    net.fit(Xtr, ytr, epochs=60, batch_size=32, optimizer=bp.Adam(lr=0.01), seed=0, verbose=0)
    assert net.evaluate(Xte, yte)["accuracy"] >= 0.96


def test_digits_test_accuracy():
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = standardized_split(X, y, y)
    net = bp.mlp([64, 64, 10], activation="relu", output="softmax", seed=0)
    net.fit(Xtr, ytr, epochs=30, batch_size=32, optimizer=bp.Adam(lr=1e-3), seed=0, verbose=0)
    assert net.evaluate(Xte, yte)["accuracy"] >= 0.95


def test_diabetes_regression_beats_the_mean():
    X, y = load_diabetes(return_X_y=True)
    Xtr, Xte, ytr, yte = standardized_split(X, y, None)
    mu, sd = ytr.mean(), ytr.std()
    net = bp.mlp([10, 16, 1], activation="relu", output="linear", l2=1e-3, seed=0)
    net.fit(Xtr, (ytr - mu) / sd, epochs=60, batch_size=32, optimizer=bp.Adam(lr=3e-3),
            seed=0, verbose=0)
    pred = net.predict(Xte)[:, 0] * sd + mu
    r2 = 1 - np.sum((yte - pred) ** 2) / np.sum((yte - yte.mean()) ** 2)
    assert r2 > 0.4


def _train_once():
    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    net = bp.mlp([30, 8, 8, 1], activation="relu", output="sigmoid", dropout=0.2, seed=5)
    hist = net.fit(X, y, epochs=5, batch_size=16, validation_split=0.2, seed=9, verbose=0,
                   optimizer=bp.AdamW(lr=1e-2))
    return net, hist


def test_same_seed_gives_bit_identical_weights():
    (a, ha), (b, hb) = _train_once(), _train_once()
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        for k in wa:
            assert np.array_equal(wa[k], wb[k])
    assert ha.history == hb.history
    # and a different shuffling seed really changes the result
    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    c = bp.mlp([30, 8, 8, 1], activation="relu", output="sigmoid", dropout=0.2, seed=5)
    c.fit(X, y, epochs=5, batch_size=16, validation_split=0.2, seed=10, verbose=0,
          optimizer=bp.AdamW(lr=1e-2))
    assert not np.array_equal(c.layers[0].params["W"], a.layers[0].params["W"])


def test_full_batch_is_the_notes_gradient_descent(rng):
    X, y = rng.normal(size=(12, 3)), rng.integers(0, 2, 12)
    net = bp.mlp([3, 4, 1], activation="sigmoid", dtype=np.float64, seed=0)
    manual = bp.Network.from_config(net.config())
    manual.set_weights(net.get_weights())
    net.fit(X, y, epochs=3, batch_size=None, optimizer=bp.GradientDescent(lr=0.5), verbose=0)
    for _ in range(3):  # θ <- θ - lr dJ/dθ on the whole set
        _, grads = manual.loss_and_grads(X, y)
        for layer, g in zip(manual.layers, grads):
            for k in g:
                layer.params[k] -= 0.5 * g[k]
    for wa, wb in zip(net.get_weights(), manual.get_weights()):
        for k in wa:
            np.testing.assert_allclose(wa[k], wb[k], rtol=1e-13)


def test_history_keys_and_validation(rng):
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    net = bp.mlp([3, 6, 1], seed=0)
    hist = net.fit(X, y, epochs=4, batch_size=8, validation_split=0.25, seed=0, verbose=0)
    assert set(hist.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert all(len(v) == 4 for v in hist.history.values())
    assert hist.epoch == [0, 1, 2, 3]
    reg = bp.mlp([3, 1], output="linear", seed=0)
    h2 = reg.fit(X, X[:, 0], epochs=2, validation_data=(X[:10], X[:10, 0]), verbose=0)
    assert set(h2.history) == {"loss", "val_loss", "lr"}
    val = reg.evaluate(X[:10], X[:10, 0])["loss"]
    assert h2["val_loss"][-1] == pytest.approx(val, rel=1e-6)


def test_early_stopping_restores_best_weights(rng):
    X = rng.normal(size=(40, 5))
    y = rng.integers(0, 2, 40)  # noise: validation loss soon rises
    Xv, yv = rng.normal(size=(40, 5)), rng.integers(0, 2, 40)
    net = bp.mlp([5, 64, 1], activation="relu", seed=0)
    snapshots = []
    keep = bp.LambdaCallback(lambda e, logs, h: snapshots.append(net.get_weights()))
    stopper = bp.EarlyStopping(patience=3)
    hist = net.fit(X, y, epochs=200, batch_size=8, optimizer=bp.Adam(lr=1e-2),
                   validation_data=(Xv, yv), callbacks=[keep, stopper], seed=0, verbose=0)
    assert hist.stopped_epoch is not None and len(hist.epoch) < 200
    best = int(np.argmin(hist["val_loss"]))
    assert stopper.best_epoch == best
    assert len(hist.epoch) == best + 1 + 3 + 1  # patience epochs without improvement, then stop
    for w_best, layer in zip(snapshots[best], net.layers):
        for k in w_best:
            np.testing.assert_array_equal(layer.params[k], w_best[k])
    assert net.evaluate(Xv, yv)["loss"] == pytest.approx(min(hist["val_loss"]), rel=1e-6)


def test_early_stopping_on_accuracy_and_without_validation(rng):
    X = rng.normal(size=(30, 2))
    y = (X[:, 0] > 0).astype(int)
    net = bp.mlp([2, 1], seed=0)
    stop = bp.EarlyStopping(patience=2, monitor="val_accuracy")
    hist = net.fit(X, y, epochs=50, callbacks=[stop], verbose=0)  # uses training accuracy
    assert stop.best == max(hist["accuracy"])  # maximised, not minimised
    assert stop.best_epoch == int(np.argmax(hist["accuracy"]))
    with pytest.raises(ValueError, match="patience must be"):
        bp.EarlyStopping(patience=-1)


def test_callback_can_stop_training(rng):
    X, y = rng.normal(size=(20, 2)), rng.integers(0, 2, 20)
    net = bp.mlp([2, 1], seed=0)
    seen = []

    class StopAtTwo(bp.Callback):
        def on_epoch_end(self, epoch, logs, history):
            seen.append((epoch, dict(logs), len(history.epoch)))
            return epoch == 2

    hist = net.fit(X, y, epochs=10, callbacks=[StopAtTwo()], verbose=0)
    assert len(hist.epoch) == 3 and hist.stopped_epoch == 2
    assert [s[0] for s in seen] == [0, 1, 2] and [s[2] for s in seen] == [1, 2, 3]
    assert seen[-1][1]["loss"] == hist["loss"][-1]


def test_l2_shrinks_weights(rng):
    X = rng.normal(size=(50, 4))
    y = X @ np.array([1.0, 2.0, -1.0, 0.5])
    norms = []
    for l2 in (0.0, 1.0):
        net = bp.mlp([4, 8, 1], output="linear", l2=l2, seed=0)
        net.fit(X, y, epochs=30, batch_size=10, seed=0, verbose=0, optimizer=bp.Adam(lr=1e-2))
        norms.append(sum(float(np.sum(la.params["W"] ** 2)) for la in net.layers))
    assert norms[1] < 0.5 * norms[0]


def test_zero_sample_weights_equal_dropping_rows(rng):
    X, y = rng.normal(size=(16, 3)), rng.integers(0, 2, 16)
    w = np.tile([1.0, 0.0], 8)
    a = bp.mlp([3, 4, 1], dtype=np.float64, seed=0)
    b = bp.mlp([3, 4, 1], dtype=np.float64, seed=0)
    opt = {"epochs": 5, "batch_size": None, "verbose": 0}
    a.fit(X, y, sample_weight=w, optimizer=bp.SGD(lr=0.3), **opt)
    b.fit(X[w == 1], y[w == 1], optimizer=bp.SGD(lr=0.3), **opt)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        for k in wa:
            np.testing.assert_allclose(wa[k], wb[k], rtol=1e-12)


def test_verbose_zero_is_silent_and_verbose_one_shows_progress(rng, capsys):
    X, y = rng.normal(size=(20, 2)), rng.integers(0, 2, 20)
    bp.mlp([2, 1], seed=0).fit(X, y, epochs=2, verbose=0)
    out, err = capsys.readouterr()
    assert out == "" and err == ""
    bp.mlp([2, 1], seed=0).fit(X, y, epochs=2, verbose=1)
    out, err = capsys.readouterr()
    assert "epoch 2/2" in err and "loss=" in err


@pytest.mark.parametrize("split", ["0.2", None, True, 1.0])
def test_validation_split_must_be_a_fraction(split, rng):
    X = rng.normal(size=(20, 3))
    net = bp.mlp([3, 4, 1], output="linear", seed=0)
    before = net.get_weights()
    with pytest.raises(ValueError, match=r"validation_split must be in \[0, 1\), got"):
        net.fit(X, X.sum(axis=1), epochs=1, validation_split=split, verbose=0)
    assert all(np.array_equal(a["W"], b["W"]) for a, b in zip(before, net.get_weights()))


def test_a_batch_of_zero_weights_takes_no_step(rng):
    # the first batch weighs nothing: its weighted mean cost would be 0/0 (it used to raise
    # TrainingDiverged); it is skipped, exactly as if its rows had been dropped
    X = rng.normal(size=(40, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    w = np.ones(40)
    w[:10] = 0.0
    kwargs = dict(epochs=3, batch_size=10, shuffle=False, optimizer="adam", verbose=0)
    net = bp.mlp([3, 4, 1], output="linear", seed=0)
    history = net.fit(X, y, sample_weight=w, **kwargs)
    dropped = bp.mlp([3, 4, 1], output="linear", seed=0)
    dropped.fit(X[10:], y[10:], sample_weight=w[10:], **kwargs)
    for a, b in zip(net.get_weights(), dropped.get_weights()):
        assert np.array_equal(a["W"], b["W"]) and np.array_equal(a["b"], b["b"])
    assert np.isfinite(history["loss"]).all()


@pytest.mark.parametrize("kwargs, match", [
    (dict(patience=True), "patience must be a non-negative integer, got True"),
    (dict(patience=-1), "patience must be a non-negative integer, got -1"),
    (dict(min_delta="x"), "min_delta must be a non-negative number, got 'x'"),
    (dict(min_delta=float("nan")), "min_delta must be a non-negative number, got nan"),
    (dict(min_delta=-0.1), "min_delta must be a non-negative number, got -0.1"),
    (dict(monitor=3), "monitor must be a metric name such as 'val_loss', got 3"),
])
def test_early_stopping_arguments_are_validated(kwargs, match):
    with pytest.raises(ValueError, match=match):
        bp.EarlyStopping(**kwargs)


def test_unshuffled_validation_split_trains_on_the_remaining_rows_in_order(rng):
    X = rng.normal(size=(50, 3))
    y = (X[:, 0] > 0).astype(int)
    kwargs = dict(epochs=3, batch_size=7, shuffle=False, verbose=0)
    net = bp.mlp([3, 5, 1], seed=0)
    hist = net.fit(X, y, validation_split=0.3, seed=1, **kwargs)
    tr, va = train_validation_split(50, 0.3, np.random.default_rng(1), y)
    same = bp.mlp([3, 5, 1], seed=0)
    hist2 = same.fit(X[tr], y[tr], validation_data=(X[va], y[va]), **kwargs)
    assert hist.history == hist2.history
    for a, b in zip(net.get_weights(), same.get_weights()):
        assert np.array_equal(a["W"], b["W"]) and np.array_equal(a["b"], b["b"])
