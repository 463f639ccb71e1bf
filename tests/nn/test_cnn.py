"""Networks of image layers: a convolutional network learns, its fast training equals the
plain one, its gradients pass a check, it survives a model file, and bad inputs are named."""

import contextlib

import numpy as np
import pytest

import backprop as bp
from backprop import _kernels


def bars(m=240, seed=0):
    """(m, 1, 8, 8) images of three classes: a horizontal bar, a vertical bar, a 3x3 blob,
    each at a random place, on a flat background with a little noise."""
    rng = np.random.default_rng(seed)
    X = np.zeros((m, 1, 8, 8))
    y = rng.integers(0, 3, size=m)
    at = rng.integers(1, 6, size=(m, 2))
    rows = np.arange(m)
    for k in range(-1, 2):
        X[rows[y == 0], 0, at[y == 0, 0], at[y == 0, 1] + k] = 1.0
        X[rows[y == 1], 0, at[y == 1, 0] + k, at[y == 1, 1]] = 1.0
        for j in range(-1, 2):
            X[rows[y == 2], 0, at[y == 2, 0] + k, at[y == 2, 1] + j] = 0.6
    X += 0.05 * rng.normal(size=X.shape)
    return X, y


def cnn(dtype=np.float32, seed=0, l2=0.0):
    return bp.Network([
        bp.Conv2D(1, 4, 3, padding=1, activation="relu", dtype=dtype, seed=seed),
        bp.MaxPool2D(2),
        bp.Conv2D(4, 6, 3, padding=1, activation="relu", dtype=dtype, seed=seed + 1),
        bp.AvgPool2D(2),
        bp.Flatten(),
        bp.Dense(6 * 2 * 2, 3, "softmax", dtype=dtype, seed=seed + 2),
    ], "categorical_crossentropy", l2=l2, input_shape=(1, 8, 8))


def test_a_tiny_cnn_learns_the_bars():
    X, y = bars()
    net = cnn()
    assert net.layer_shapes()[-2:] == [((6, 2, 2), (24,)), ((24,), (3,))]
    before = net.evaluate(X, y)["loss"]
    history = net.fit(X, y, epochs=15, batch_size=32, optimizer=bp.Adam(lr=0.02), seed=0,
                      verbose=0)
    after = net.evaluate(X, y)
    assert history.history["loss"][-1] < 0.3 * history.history["loss"][0]
    assert after["loss"] < 0.2 * before
    assert after["accuracy"] >= 0.95
    X_new, y_new = bars(90, seed=1)
    assert np.mean(net.predict_classes(X_new) == y_new) >= 0.9


def test_fit_on_the_fast_path_equals_fit_on_the_plain_path():
    """Training with the kernels (channels-last im2col, fused bias + ReLU, pooling kernels,
    the workspace) and without them (every layer's NumPy reference) ends at the same weights,
    in float64 to rounding."""
    X, y = bars(96)
    fast, plain = cnn(np.float64, l2=1e-3), cnn(np.float64, l2=1e-3)
    kw = {"epochs": 3, "batch_size": 32, "seed": 4, "verbose": 0}
    fast.fit(X, y, optimizer=bp.Adam(lr=0.01), **kw)
    with _kernels.disabled():
        plain.fit(X, y, optimizer=bp.Adam(lr=0.01), **kw)
    for a, b in zip(fast.parameters(), plain.parameters()):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10 * np.abs(b).max())
    np.testing.assert_allclose(fast.predict(X), plain.predict(X), rtol=1e-8, atol=1e-12)


def test_gradient_check_of_a_whole_cnn_with_l2():
    X, y = bars(6, seed=2)
    X += 0.3  # keep the ReLU inputs away from their kink
    report = bp.gradient_check(cnn(l2=0.01, seed=3), X, y)
    assert report.passed, str(report)
    assert {r.layer for r in report.rows if r.checked} == {0, 2, 5, -1}


def test_model_file_round_trip_of_a_trained_cnn(tmp_path):
    X, y = bars(64)
    net = cnn()
    net.fit(X, y, epochs=2, batch_size=16, verbose=0, seed=0)
    path = tmp_path / "cnn.safetensors"
    net.save(path)
    loaded = bp.load(path)
    assert loaded.config() == net.config()
    assert loaded.input_shape == (1, 8, 8)
    assert [type(la).__name__ for la in loaded.layers] == [
        "Conv2D", "MaxPool2D", "Conv2D", "AvgPool2D", "Flatten", "Dense"]
    for a, b in zip(loaded.parameters(), net.parameters()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    assert loaded.layers[0].params["W"].shape == (4, 1, 3, 3)


def test_predict_in_chunks_equals_one_pass_and_forward():
    X, _ = bars(50)
    net = cnn()
    whole = net.predict(X)
    np.testing.assert_allclose(net.predict(X, batch_size=7), whole, rtol=1e-6, atol=1e-7)
    out, _ = net.forward(X)
    np.testing.assert_allclose(out, whole, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("shape, message", [
    ((3, 64), r"X must have shape \(n_samples, 1, 8, 8\), got shape \(3, 64\)"),
    ((3, 8, 8), r"X must have shape \(n_samples, 1, 8, 8\), got shape \(3, 8, 8\)"),
    ((3, 1, 8, 9), r"X has shape \(3, 1, 8, 9\) but the first layer expects "
                   r"\(n_samples, 1, 8, 8\)"),
])
def test_inputs_of_the_wrong_shape_are_named(shape, message):
    with pytest.raises(ValueError, match=message):
        cnn().predict(np.zeros(shape))


def test_layers_that_do_not_chain_are_named():
    with pytest.raises(ValueError, match=r"layers\[2\] \(Dense\) expects \(10,\)"):
        bp.Network([bp.Conv2D(1, 2, 3), bp.Flatten(), bp.Dense(10, 2)], input_shape=(1, 5, 5))
    with pytest.raises(ValueError, match=r"layers\[1\] \(MaxPool2D\): .*the 3x3 window does "
                                         r"not fit in a 2x2 input"):
        bp.Network([bp.Conv2D(1, 2, 3), bp.MaxPool2D(3), bp.Flatten(), bp.Dense(2, 1)],
                   input_shape=(1, 4, 4))
    with pytest.raises(ValueError, match="give input_shape="):
        bp.Network([bp.Conv2D(1, 2, 3), bp.Flatten(), bp.Dense(18, 1)])


def test_passes_of_a_network_with_image_layers_keep_blas_on_one_thread():
    """Image layers run on threads of their own; OpenBLAS's spinning idle threads would take
    their cores, so a pass over a network that holds them limits BLAS to one thread, and only
    for the pass."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from backprop.nn import propagation

    def numpy_blas_threads():
        return {i["num_threads"] for i in threadpool_info()
                if i["user_api"] == "blas" and "numpy" in i["filepath"]}

    seen = []

    class Spy(bp.Flatten):
        def forward(self, a_prev, training=False):
            seen.append(numpy_blas_threads())
            return super().forward(a_prev, training)

    X, y = bars(8)
    with threadpool_limits(2, user_api="blas"):
        net = cnn()
        net.layers[4] = Spy()
        net.predict(X)
        net.loss_and_grads(X, y)
        assert numpy_blas_threads() == {2}
        mlp = bp.mlp([4, 3, 2], output="softmax", seed=0)
        assert isinstance(propagation.threads_for(mlp.layers), type(contextlib.nullcontext()))
    assert seen and all(s == {1} for s in seen)
