"""The fast paths (fused kernels, workspace arrays) of layers and networks against the plain
NumPy ones.

Every buffered path must give the plain path's result to float rounding: one forward/backward
pass for each activation and loss, whole training runs, prediction.  Also: gradients from the
fast path pass a numerical gradient check, and training does not copy the data set.  The
kernels' own tests, the optimizers' included, are in ``tests/kernels``; the optimizers' step
plans in ``tests/optim``.
"""

import tracemalloc
import warnings

import numpy as np
import pytest

import backprop as bp
from backprop import _kernels
from backprop.data.split import minibatches
from backprop.nn.activations import ACTIVATIONS
from backprop.nn.workspace import Workspace
from helpers import DoubledGradDense, assert_close, tol

pytestmark = pytest.mark.skipif(not _kernels.available(), reason="numba is not installed")

DTYPES = [np.float32, np.float64]




# ----------------------------------------------------------------------------- output kernels
def test_fused_softmax_sets_underflowing_probabilities_to_zero(rng):
    net = bp.mlp([3, 4], output="softmax", seed=0)
    net.layers[0].params["W"][:] = np.array([200, 110, 0, 150], dtype=np.float32) / 3
    X = np.ones((5, 3), dtype=np.float32)  # logits (200, 110, 0, 150): exp(-90) is subnormal
    y = np.zeros(5, dtype=np.int64)
    J0, g0, out0, _ = net.forward_backward(X, y, None, True)
    J1, g1, out1, _ = net.forward_backward(X, y, None, True, workspace=Workspace())
    tiny = np.finfo(np.float32).tiny
    assert np.any((out0 > 0) & (out0 < tiny))  # the plain softmax leaves subnormals
    assert not np.any((out1 > 0) & (out1 < tiny))  # the kernel's are exactly 0
    np.testing.assert_allclose(out1, out0, rtol=1e-6, atol=tiny)
    assert J1 == pytest.approx(J0, rel=1e-6)
    for key in ("W", "b"):
        assert_close(g1[0][key], g0[0][key], np.float32, key)


def test_batch_accuracy_kernel_equals_the_losses_accuracy(rng):
    net = bp.mlp([3, 4], output="softmax", seed=0)
    a = rng.random((50, 4)).astype(np.float32)
    a[7] = 0.25  # ties: the first maximum wins, as in argmax
    a[9, 2] = np.nan  # a NaN counts as the maximum, as in argmax
    y = rng.integers(0, 4, size=50)
    y[7], y[9] = 0, 2
    plain = float(np.mean(a.argmax(axis=1) == y))  # the NumPy reference
    assert net.loss.accuracy(a, y) == plain
    assert net.loss.accuracy(a.astype(np.float64), y) == plain
    assert net.loss.accuracy(np.asfortranarray(a), y) == plain  # not the kernel's layout


# ----------------------------------------------------------------------------- one pass
OUTPUTS = [  # (output activation, loss, n_out, target kind)
    ("softmax", "categorical_crossentropy", 4, "labels"),
    ("softmax", "categorical_crossentropy", 3, "onehot"),
    ("sigmoid", "binary_crossentropy", 1, "binary"),
    ("sigmoid", "binary_crossentropy", 3, "binary"),
    ("linear", "mse", 2, "real"),
    ("tanh", "mse", 2, "real"),
]


def make_targets(rng, kind, m, k):
    if kind == "labels":
        return rng.integers(0, k, size=m)
    if kind == "onehot":
        return np.eye(k)[rng.integers(0, k, size=m)]
    if kind == "binary":
        return rng.integers(0, 2, size=(m, k)).astype(float)
    return rng.normal(size=(m, k))


def reseed_dropout(net, seed):
    for i, layer in enumerate(net.layers):
        if isinstance(layer, bp.Dropout):
            layer.rng = np.random.default_rng([seed, i])


def plain_and_buffered(net, X, y, w, seed=3):
    """``_loss_and_grads`` without and with a workspace (after a larger batch, so the arrays
    of this one are views of the first rows), dropout masks drawn alike."""
    reseed_dropout(net, seed)
    plain = net.forward_backward(X, y, w, training=True)
    ws = Workspace()
    big = np.concatenate([X, X[::-1]])
    net.forward_backward(big, np.concatenate([y, y[::-1]]),
                        None if w is None else np.concatenate([w, w]), True, workspace=ws)
    reseed_dropout(net, seed)
    fast = net.forward_backward(X, y, w, training=True, workspace=ws)
    return plain, fast


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hidden", sorted(ACTIVATIONS))
def test_buffered_pass_equals_plain_for_every_hidden_activation(hidden, dtype, rng):
    net = bp.mlp([5, 8, 6, 4], activation=hidden, output="softmax", dtype=dtype, seed=1,
                 l2=0.01, dropout=0.25)
    X = rng.normal(size=(11, 5)).astype(dtype)
    y = net.check_targets(rng.integers(0, 4, size=11), 11)
    (J0, g0, out0, _), (J1, g1, out1, _) = plain_and_buffered(net, X, y, None)
    assert J1 == pytest.approx(J0, rel=tol(dtype))
    assert_close(out1, out0, dtype, "output")
    for layer_g0, layer_g1 in zip(g0, g1):
        assert set(layer_g0) == set(layer_g1)
        for key in layer_g0:
            assert layer_g1[key].dtype == dtype
            assert_close(layer_g1[key], layer_g0[key], dtype, key)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("output", "loss", "k", "kind"), OUTPUTS)
def test_buffered_pass_equals_plain_for_every_output(output, loss, k, kind, dtype, weighted,
                                                     rng):
    net = bp.mlp([4, 7, k], activation="relu", output=output, loss=loss, dtype=dtype, seed=2)
    X = rng.normal(size=(13, 4)).astype(dtype)
    y = net.check_targets(make_targets(rng, kind, 13, k), 13)
    w = rng.uniform(0.1, 2.0, size=13) if weighted else None
    for kernels_on in (True, False):  # the workspace path with and without kernels
        if kernels_on:
            (J0, g0, out0, _), (J1, g1, out1, _) = plain_and_buffered(net, X, y, w)
        else:
            with _kernels.disabled():
                (J0, g0, out0, _), (J1, g1, out1, _) = plain_and_buffered(net, X, y, w)
        assert J1 == pytest.approx(J0, rel=tol(dtype))
        assert_close(out1, out0, dtype, "output")
        for layer_g0, layer_g1 in zip(g0, g1):
            for key in layer_g0:
                assert_close(layer_g1[key], layer_g0[key], dtype, key)


def test_input_gradient_of_the_buffered_pass(rng):
    net = bp.mlp([3, 5, 2], activation="tanh", output="softmax", dtype=np.float64, seed=0)
    X = rng.normal(size=(6, 3))
    y = rng.integers(0, 2, size=6)
    _, _, _, dX_plain = net.forward_backward(X, y, None, True, need_input_grad=True)
    _, _, _, dX_fast = net.forward_backward(X, y, None, True, need_input_grad=True,
                                           workspace=Workspace())
    assert_close(dX_fast, dX_plain, np.float64, "dJ/dX")
    _, _, _, skipped = net.forward_backward(X, y, None, True, workspace=Workspace())
    assert skipped is None  # training never needs dJ/dX: the product is skipped


@pytest.mark.parametrize("hidden", ["relu", "tanh", "sigmoid", "leaky_relu", "linear"])
def test_buffered_gradients_pass_a_numerical_gradient_check(hidden, rng):
    """Central differences of J against the fast path's own gradients (float64)."""
    net = bp.mlp([3, 5, 4, 3], activation=hidden, output="softmax", dtype=np.float64, seed=4,
                 l2=0.05)
    X = rng.normal(size=(7, 3))
    y = rng.integers(0, 3, size=7)
    assert bp.gradient_check(net, X, y).passed  # the plain path, as the library checks it
    _, grads, _, _ = net.forward_backward(X, y, None, True, workspace=Workspace())
    eps = 1e-6
    for layer, g in zip(net.layers, grads):
        for key, p in layer.params.items():
            numeric = np.empty_like(p)
            for idx in np.ndindex(p.shape):
                orig = p[idx]
                p[idx] = orig + eps
                j_plus, _ = net.loss_and_grads(X, y)
                p[idx] = orig - eps
                j_minus, _ = net.loss_and_grads(X, y)
                p[idx] = orig
                numeric[idx] = (j_plus - j_minus) / (2 * eps)
            err = np.abs(g[key] - numeric) / np.maximum(np.abs(g[key]) + np.abs(numeric), 1e-7)
            assert err.max() < 1e-6, (hidden, key, err.max())


def test_layer_subclass_overriding_backward_is_respected(rng):
    net = bp.Network([DoubledGradDense(3, 4, "tanh", dtype=np.float64, seed=0),
                      DoubledGradDense(4, 5, "relu", dtype=np.float64, seed=1),
                      bp.Dense(5, 2, "softmax", dtype=np.float64, seed=2)],
                     "categorical_crossentropy")
    X, y = rng.normal(size=(6, 3)), rng.integers(0, 2, size=6)
    _, plain, _, _ = net.forward_backward(X, y, None, True)
    _, fast, _, _ = net.forward_backward(X, y, None, True, workspace=Workspace())
    for a, b in zip(plain, fast):
        for key in a:
            np.testing.assert_allclose(b[key], a[key], rtol=1e-12)


# ----------------------------------------------------------------------------- fit / predict
def reference_fit(net, X, y, epochs, batch_size, optimizer, seed, sample_weight=None):
    """The training loop written with the public, plain API (kernels off)."""
    rng = np.random.default_rng(seed)
    with _kernels.disabled():
        for _ in range(epochs):
            for idx in minibatches(X.shape[0], batch_size, rng):
                w = None if sample_weight is None else sample_weight[idx]
                _, grads = net.loss_and_grads(X[idx], y[idx], sample_weight=w)
                optimizer.step(net.parameters(), [g for d in grads for g in d.values()])


@pytest.mark.parametrize(("dtype", "rtol"), [(np.float64, 1e-9), (np.float32, 2e-4)])
@pytest.mark.parametrize("case", ["relu-adam", "tanh-sgd-l2-weights", "dropout-adamw"])
def test_fit_equals_the_plain_training_loop(case, dtype, rtol, rng):
    hidden = case.split("-")[0]
    X = rng.normal(size=(100, 6)).astype(dtype)
    y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int) + (X[:, 2] > 0)
    w = rng.uniform(0.5, 1.5, size=100) if "weights" in case else None
    kw = {"activation": "tanh" if hidden == "tanh" else "relu", "output": "softmax",
          "dtype": dtype, "l2": 1e-3 if "l2" in case else 0.0,
          "dropout": 0.2 if hidden == "dropout" else 0.0}

    def optimizer():
        if "sgd" in case:
            return bp.SGD(lr=0.05, momentum=0.9)
        return bp.AdamW(lr=0.01) if "adamw" in case else bp.Adam(lr=0.01)

    fast_net, ref_net = bp.mlp([6, 16, 8, 3], seed=7, **kw), bp.mlp([6, 16, 8, 3], seed=7, **kw)
    fast_net.fit(X, y, epochs=4, batch_size=32, optimizer=optimizer(), seed=11, verbose=0,
                 sample_weight=w)
    reference_fit(ref_net, X, y, 4, 32, optimizer(), 11, sample_weight=w)
    for a, b in zip(fast_net.parameters(), ref_net.parameters()):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max())


def test_fit_validation_split_and_no_shuffle_paths_equal_plain(rng):
    X = rng.normal(size=(90, 5))
    y = (X[:, 0] > 0).astype(int)
    nets = [bp.mlp([5, 8, 2], output="softmax", dtype=np.float64, seed=3) for _ in range(2)]
    with _kernels.disabled():
        h_plain = nets[0].fit(X, y, epochs=3, batch_size=16, validation_split=0.2, seed=5,
                              shuffle=False, verbose=0)
    h_fast = nets[1].fit(X, y, epochs=3, batch_size=16, validation_split=0.2, seed=5,
                         shuffle=False, verbose=0)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(h_fast.history[key], h_plain.history[key], rtol=1e-10)
    for a, b in zip(nets[1].parameters(), nets[0].parameters()):
        np.testing.assert_allclose(a, b, rtol=1e-10)


def test_network_holding_one_layer_twice_trains_like_the_plain_loop(rng):
    shared = bp.Dense(4, 4, "tanh", dtype=np.float64, seed=0)

    def build(layer):
        return bp.Network([layer, layer, bp.Dense(4, 2, "softmax", dtype=np.float64, seed=1)],
                          "categorical_crossentropy")

    X, y = rng.normal(size=(40, 4)), rng.integers(0, 2, size=40)
    twin = bp.Dense(4, 4, "tanh", dtype=np.float64, seed=0)
    build(shared).fit(X, y, epochs=2, batch_size=8, optimizer=bp.SGD(lr=0.1), seed=0,
                      verbose=0)
    reference_fit(build(twin), X, y, 2, 8, bp.SGD(lr=0.1), 0)
    np.testing.assert_allclose(shared.params["W"], twin.params["W"], rtol=1e-10)


@pytest.mark.parametrize("hidden", ["relu", "tanh", "leaky_relu"])
def test_predict_equals_forward_exactly_across_chunks(hidden, rng):
    net = bp.mlp([6, 9, 5, 3], activation=hidden, output="softmax", seed=0)
    X = rng.normal(size=(50, 6)).astype(np.float32)
    out, _ = net.forward(X)
    np.testing.assert_array_equal(net.predict(X), out)
    np.testing.assert_array_equal(net.predict(X, batch_size=7), out)
    np.testing.assert_array_equal(net.predict(X.astype(np.float64), batch_size=16), out)
    with pytest.raises(ValueError, match="batch_size"):
        net.predict(X, batch_size=0)


def test_large_input_with_nan_is_rejected_by_position():
    X = np.zeros((2048, 600), dtype=np.float32)  # past the size where the kernel check runs
    net = bp.mlp([600, 2], output="softmax")
    X[1500, 17] = np.nan
    with pytest.raises(ValueError, match="row 1500, column 17"):
        net.predict(X)
    X[1500, 17] = 0
    X[3, 599] = -np.inf
    with pytest.raises(ValueError, match="row 3, column 599"):
        net.fit(X, np.zeros(2048, dtype=int), epochs=1, verbose=0)
    X[3, 599] = 0
    assert net.predict(X).shape == (2048, 2)


def test_fit_does_not_copy_the_data_set(rng):
    """Traced peak memory during fit stays far below the size of X (with a validation split,
    whose rows are the only copy), so no epoch copies or permutes the data."""
    X = rng.random((20000, 100), dtype=np.float32)  # 8 MB
    y = (X[:, 0] > 0.5).astype(np.int64)
    net = bp.mlp([100, 64, 2], output="softmax", seed=0)
    net.fit(X[:256], y[:256], epochs=1, batch_size=128, verbose=0)  # compile the kernels
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        net.fit(X, y, epochs=2, batch_size=128, validation_split=0.1, seed=0, verbose=0)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak < 0.35 * X.nbytes, peak


@pytest.mark.parametrize("hidden", ["relu", "tanh"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_predict_finds_a_non_finite_input_through_the_first_layer(hidden, bad, rng):
    # predict checks X through the first Dense layer's z (a NaN or inf in a row of X spoils
    # every entry of that row of z, even through an all-zero row of W, since inf * 0 is NaN);
    # the error must name the same row and column as check_X, in any chunk, with no warning
    net = bp.mlp([5, 4, 3], activation=hidden, output="softmax", seed=0)
    net.layers[0].params["W"][2] = 0.0  # input column 2 reaches nothing
    net.layers[0].params["W"][4] = np.abs(net.layers[0].params["W"][4])  # all positive
    X = rng.normal(size=(30, 5)).astype(np.float32)
    for row, col in [(0, 0), (29, 2), (17, 4), (8, 2)]:
        Xb = X.copy()
        Xb[row, col] = bad
        for batch_size in (8192, 7):
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                with pytest.raises(ValueError, match=f"X contains {bad} at row {row}, column "
                                                     f"{col}$"):
                    net.predict(Xb, batch_size=batch_size)
    np.testing.assert_array_equal(net.predict(X), net.forward(X)[0])


def test_predict_of_a_finite_input_that_overflows_is_not_an_input_error():
    # z = X W overflows float32 for a finite X: not an input error; predict returns what
    # forward computes (inf and NaN), as without the check through z
    net = bp.mlp([2, 3, 2], activation="relu", output="softmax", seed=0)
    net.layers[0].params["W"][:] = 1.0  # 3e38 + 3e38 overflows
    X = np.full((4, 2), 3e38, dtype=np.float32)
    with np.errstate(all="ignore"):
        out = net.predict(X)
        ref, caches = net.forward(X)
    assert not np.isfinite(caches[0][1]).all()  # the first layer's z did overflow
    np.testing.assert_array_equal(out, ref)


def test_softmax_row_max_is_numpys_max(rng):
    from backprop.nn.activations import _row_max

    for shape in [(1000, 10), (7, 64), (5, 65), (3, 1), (0, 4)]:
        z = rng.normal(size=shape).astype(np.float32) * 50
        if z.size:
            z[0, -1] = np.nan
        np.testing.assert_array_equal(_row_max(z), z.max(axis=1, keepdims=True))
