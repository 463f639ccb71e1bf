"""The fast paths (fused kernels, workspace arrays) against the plain NumPy ones.

Every fused kernel and every buffered path must give the plain path's result to float rounding:
optimizer updates, one forward/backward pass for each activation and loss, whole training runs,
prediction.  Also: gradients from the fast path pass a numerical gradient check, subnormal
optimizer state is flushed, resuming from a saved optimizer state is bit-exact, and training
does not copy the data set.
"""

import copy as copy_module
import tracemalloc
import warnings

import numpy as np
import pytest

import backprop as bp
from backprop import _kernels
from backprop.data.split import minibatches
from backprop.nn.activations import ACTIVATIONS
from backprop.nn.workspace import Workspace
from backprop.optim import OPTIMIZERS

pytestmark = pytest.mark.skipif(not _kernels.available(), reason="numba is not installed")

DTYPES = [np.float32, np.float64]


def tol(dtype):
    """Agreement expected between fused and plain results, relative to an array's scale."""
    return 2e-5 if dtype == np.float32 else 1e-12


def assert_close(actual, desired, dtype, what=""):
    """``max |actual - desired| <= tol * max |desired|`` (float rounding of sums of products)."""
    actual, desired = np.asarray(actual), np.asarray(desired)
    assert actual.shape == desired.shape, what
    scale = max(float(np.max(np.abs(desired), initial=0.0)), np.finfo(dtype).tiny)
    err = float(np.max(np.abs(actual.astype(np.float64) - desired), initial=0.0))
    assert err <= tol(dtype) * scale, f"{what}: max abs diff {err:.3g} at scale {scale:.3g}"


# ----------------------------------------------------------------------------- optimizers
OPTIMIZER_CASES = {
    "gd": [{}],
    "sgd": [{}, {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
            {"momentum": 0.5, "dampening": 0.3}],
    "adam": [{}, {"weight_decay": 0.01}, {"amsgrad": True, "betas": (0.8, 0.99)}],
    "adamw": [{}, {"weight_decay": 0.1, "amsgrad": True}],
    "rmsprop": [{}, {"centered": True}, {"momentum": 0.9, "weight_decay": 0.01},
                {"centered": True, "momentum": 0.5}],
}
OPTIMIZER_PARAMS = [(name, kw) for name, cases in OPTIMIZER_CASES.items() for kw in cases]


def test_every_registered_optimizer_has_a_kernel_and_is_tested():
    assert set(OPTIMIZER_CASES) == set(OPTIMIZERS)
    for cls in OPTIMIZERS.values():
        assert _kernels.get(cls.kernel) is not None, cls


def run_optimizer(name, kw, dtype, steps, fused, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(6, 5), (5,), (3, 1)]
    params = [rng.normal(size=s).astype(dtype) for s in shapes]
    opt = OPTIMIZERS[name](lr=0.01, **kw)
    for _ in range(steps):
        grads = [rng.normal(size=s).astype(dtype) for s in shapes]
        grads[0][0] = 0.0  # a row whose gradient is always zero (its buffers decay)
        if fused:
            opt.step(params, grads)
        else:
            with _kernels.disabled():
                opt.step(params, grads)
    return params, opt


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("name", "kw"), OPTIMIZER_PARAMS)
def test_fused_optimizer_step_equals_plain(name, kw, dtype):
    p_fused, o_fused = run_optimizer(name, kw, dtype, 25, fused=True)
    p_plain, o_plain = run_optimizer(name, kw, dtype, 25, fused=False)
    for a, b in zip(p_fused, p_plain):
        assert a.dtype == dtype
        assert_close(a, b, dtype, "parameter")
    for sa, sb in zip(o_fused.state["slots"], o_plain.state["slots"]):
        assert set(sa) == set(sb)
        for key in sa:
            assert_close(sa[key], sb[key], dtype, key)


def test_fused_step_matches_plain_bit_for_bit_on_adam_float32():
    """Same expressions in the same order: Adam's kernel reproduces NumPy exactly."""
    p_fused, _ = run_optimizer("adam", {}, np.float32, 10, fused=True)
    p_plain, _ = run_optimizer("adam", {}, np.float32, 10, fused=False)
    for a, b in zip(p_fused, p_plain):
        np.testing.assert_array_equal(a, b)


def test_non_contiguous_parameters_take_the_plain_path():
    base = np.arange(12.0).reshape(3, 4)
    p = base.T  # Fortran-ordered view: the kernels need C order
    twin = p.copy()
    g = np.full((4, 3), 0.5)
    bp.Adam(lr=0.1).step([p], [g])
    bp.Adam(lr=0.1).step([twin], [g])
    np.testing.assert_array_equal(p, twin)
    assert not np.array_equal(base, np.arange(12.0).reshape(3, 4))  # updated in place


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("name", "kw"), [("adam", {}), ("sgd", {"momentum": 0.9}),
                                          ("rmsprop", {"centered": True, "momentum": 0.9})])
def test_decaying_state_is_flushed_instead_of_turning_subnormal(name, kw, dtype, fused):
    tiny = np.finfo(dtype).tiny
    p = np.ones(8, dtype=dtype)
    opt = OPTIMIZERS[name](lr=1e-3, **kw)
    g = np.full(8, 1e-3, dtype=dtype)
    opt.step([p], [g])  # buffers now hold ~1e-3-sized entries
    zero = np.zeros(8, dtype=dtype)
    steps = 4000 if dtype == np.float32 else 8000  # 0.9^t passes below tiny well before
    for _ in range(steps):
        if fused:
            opt.step([p], [zero])
        else:
            with _kernels.disabled():
                opt.step([p], [zero])
    for key, buf in opt.state["slots"][0].items():
        nonzero = np.abs(buf[buf != 0])
        assert np.all(nonzero >= tiny), (key, nonzero.min())
    momentum = opt.state["slots"][0]["m" if name == "adam" else "b"]
    np.testing.assert_array_equal(momentum, 0.0)  # decayed past tiny: exactly zero
    assert np.all(np.isfinite(p))


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize(("name", "kw"), [("adam", {}), ("rmsprop", {})])
def test_squares_of_tiny_gradients_do_not_enter_the_second_moment_as_subnormals(name, kw,
                                                                               fused):
    """Late in training many gradient entries are ~1e-20: (1 - b2) g^2 would be subnormal."""
    p = np.ones(4, dtype=np.float32)
    opt = OPTIMIZERS[name](lr=1e-3, **kw)
    g = np.array([1e-20, -1e-17, 1e-3, 0.0], dtype=np.float32)
    for _ in range(3):
        if fused:
            opt.step([p], [g])
        else:
            with _kernels.disabled():
                opt.step([p], [g])
    v = opt.state["slots"][0]["v"]
    assert v[0] == 0 and v[3] == 0  # (1 - b2) * 1e-40 is below tiny: taken as 0
    assert v[1] > np.finfo(np.float32).tiny and v[2] > 0  # 1e-17 squared still counts
    if name == "adam":
        assert opt.state["slots"][0]["m"][0] != 0  # the first moment keeps the tiny gradient


def test_fused_softmax_sets_underflowing_probabilities_to_zero(rng):
    net = bp.mlp([3, 4], output="softmax", seed=0)
    net.layers[0].params["W"][:] = np.array([200, 110, 0, 150], dtype=np.float32) / 3
    X = np.ones((5, 3), dtype=np.float32)  # logits (200, 110, 0, 150): exp(-90) is subnormal
    y = np.zeros(5, dtype=np.int64)
    J0, g0, out0, _ = net._loss_and_grads(X, y, None, True)
    J1, g1, out1, _ = net._loss_and_grads(X, y, None, True, ws=Workspace())
    tiny = np.finfo(np.float32).tiny
    assert np.any((out0 > 0) & (out0 < tiny))  # the plain softmax leaves subnormals
    assert not np.any((out1 > 0) & (out1 < tiny))  # the kernel's are exactly 0
    np.testing.assert_allclose(out1, out0, rtol=1e-6, atol=tiny)
    assert J1 == pytest.approx(J0, rel=1e-6)
    for key in ("W", "b"):
        assert_close(g1[0][key], g0[0][key], np.float32, key)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_kernels_report_whether_the_updated_parameters_are_finite(name):
    opt = OPTIMIZERS[name](lr=0.1)
    p = [np.ones((3, 4), np.float32), np.ones(4, np.float32)]
    opt.step(p, [np.full((3, 4), 0.5, np.float32), np.ones(4, np.float32)])
    assert opt.last_step_finite is True
    bad = np.full((3, 4), 0.5, np.float32)
    bad[1, 2] = np.nan if name != "gd" else np.inf
    opt.step(p, [bad, np.ones(4, np.float32)])
    assert opt.last_step_finite is False
    assert not np.isfinite(p[0][1, 2]) and np.isfinite(p[1]).all()
    with _kernels.disabled():  # the NumPy path does not look
        opt.step(p, [np.ones((3, 4), np.float32), np.ones(4, np.float32)])
    assert opt.last_step_finite is None


def test_batch_accuracy_kernel_equals_the_losses_accuracy(rng):
    net = bp.mlp([3, 4], output="softmax", seed=0)
    a = rng.random((50, 4)).astype(np.float32)
    a[7] = 0.25  # ties: the first maximum wins, as in argmax
    a[9, 2] = np.nan  # a NaN counts as the maximum, as in argmax
    y = rng.integers(0, 4, size=50)
    y[7], y[9] = 0, 2
    assert net._batch_accuracy(a, y) == net.loss.accuracy(a, y)
    assert net._batch_accuracy(a.astype(np.float64), y) == net.loss.accuracy(a, y)


@pytest.mark.parametrize(("name", "kw"), [("adam", {"amsgrad": True}), ("sgd", {"momentum": 0.9}),
                                          ("rmsprop", {"momentum": 0.9})])
def test_resume_from_state_dict_is_bit_exact(name, kw):
    params, opt = run_optimizer(name, kw, np.float32, 7, fused=True)
    saved_params = [p.copy() for p in params]
    state = opt.state_dict()
    saved_state = {"step": state["step"],
                   "slots": [{k: v.copy() for k, v in s.items()} for s in state["slots"]]}
    rng = np.random.default_rng(99)
    later = [[rng.normal(size=p.shape).astype(np.float32) for p in params] for _ in range(5)]
    for grads in later:
        opt.step(params, grads)
    resumed = OPTIMIZERS[name](lr=0.01, **kw)
    resumed.load_state_dict(saved_state)
    for grads in later:
        resumed.step(saved_params, grads)
    for a, b in zip(params, saved_params):
        np.testing.assert_array_equal(a, b)


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
    plain = net._loss_and_grads(X, y, w, training=True)
    ws = Workspace()
    big = np.concatenate([X, X[::-1]])
    net._loss_and_grads(big, np.concatenate([y, y[::-1]]),
                        None if w is None else np.concatenate([w, w]), True, ws=ws)
    reseed_dropout(net, seed)
    fast = net._loss_and_grads(X, y, w, training=True, ws=ws)
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
    _, _, _, dX_plain = net._loss_and_grads(X, y, None, True, need_input_grad=True)
    _, _, _, dX_fast = net._loss_and_grads(X, y, None, True, need_input_grad=True,
                                           ws=Workspace())
    assert_close(dX_fast, dX_plain, np.float64, "dJ/dX")
    _, _, _, skipped = net._loss_and_grads(X, y, None, True, ws=Workspace())
    assert skipped is None  # training never needs dJ/dX: the product is skipped


@pytest.mark.parametrize("hidden", ["relu", "tanh", "sigmoid", "leaky_relu", "linear"])
def test_buffered_gradients_pass_a_numerical_gradient_check(hidden, rng):
    """Central differences of J against the fast path's own gradients (float64)."""
    net = bp.mlp([3, 5, 4, 3], activation=hidden, output="softmax", dtype=np.float64, seed=4,
                 l2=0.05)
    X = rng.normal(size=(7, 3))
    y = rng.integers(0, 3, size=7)
    assert bp.gradient_check(net, X, y).passed  # the plain path, as the library checks it
    _, grads, _, _ = net._loss_and_grads(X, y, None, True, ws=Workspace())
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


class DoubledGradDense(bp.Dense):
    """A subclass that changes backward: the workspace path must not bypass it."""

    def backward(self, da, cache):
        da_prev, grads = super().backward(da, cache)
        return da_prev, {k: 2 * v for k, v in grads.items()}


def test_layer_subclass_overriding_backward_is_respected(rng):
    net = bp.Network([DoubledGradDense(3, 4, "tanh", dtype=np.float64, seed=0),
                      DoubledGradDense(4, 5, "relu", dtype=np.float64, seed=1),
                      bp.Dense(5, 2, "softmax", dtype=np.float64, seed=2)],
                     "categorical_crossentropy")
    X, y = rng.normal(size=(6, 3)), rng.integers(0, 2, size=6)
    _, plain, _, _ = net._loss_and_grads(X, y, None, True)
    _, fast, _, _ = net._loss_and_grads(X, y, None, True, ws=Workspace())
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


# ----------------------------------------------------------------------------- optimizer plans
OPTIMIZER_SETTINGS = [("gd", {}), ("sgd", {"momentum": 0.9}), ("sgd", {}), ("adam", {}),
                      ("adam", {"amsgrad": True, "weight_decay": 0.1}), ("adamw", {}),
                      ("rmsprop", {"momentum": 0.5, "centered": True})]


def _arrays(rng, dtype=np.float32):
    params = [rng.normal(size=(5, 4)).astype(dtype), rng.normal(size=4).astype(dtype)]
    grads = [np.empty_like(p) for p in params]
    return params, grads


@pytest.mark.parametrize("name,kwargs", OPTIMIZER_SETTINGS)
def test_a_reused_step_plan_updates_exactly_as_a_fresh_one(name, kwargs, rng):
    # Optimizer.step reuses last step's kernel arguments when it gets the same arrays; the
    # result must equal a step that rebuilds them (plan dropped before every step)
    planned, fresh = OPTIMIZERS[name](lr=0.01, **kwargs), OPTIMIZERS[name](lr=0.01, **kwargs)
    p1, g1 = _arrays(rng)
    p2 = [p.copy() for p in p1]
    g2 = [np.empty_like(g) for g in g1]
    for t in range(6):
        for g, h in zip(g1, g2):
            g[...] = h[...] = rng.normal(size=g.shape)
        planned.step(p1, g1)
        fresh._plan = fresh._last = None
        fresh.step(p2, g2)
        assert (planned._plan is not None) == (t >= 1)  # made by the second step
        assert planned.last_step_finite is True and fresh._plan is None
        for a, b in zip(p1, p2):
            np.testing.assert_array_equal(a, b)
    assert planned.state["step"] == fresh.state["step"] == 6


def test_a_step_plan_is_dropped_when_its_arrays_or_settings_change(rng):
    opt = bp.SGD(lr=0.1)
    params, grads = _arrays(rng)
    for g in grads:
        g[...] = 1.0
    opt.step(params, grads)
    assert opt._plan is None  # made only when a second step brings the same arrays
    opt.step(params, grads)
    plan = opt._plan
    assert plan is not None
    opt.step(params, grads)
    assert opt._plan is plan  # reused
    # a new gradient array: the plan is dropped, and that array's values are used
    grads = [grads[0], np.full(4, 2.0, np.float32)]
    before = params[1].copy()
    opt.step(params, grads)
    assert opt._plan is None
    np.testing.assert_allclose(params[1], before - 0.1 * 2.0, rtol=1e-6)
    opt.step(params, grads)
    assert opt._plan is not None and opt._plan is not plan
    # momentum switched on after the start: the buffer is used from now on (no stale plan
    # passing the parameter as its buffer); the result equals the NumPy rule's
    opt.momentum = 0.9
    opt.state["slots"] = [{"b": np.zeros_like(p)} for p in params]
    ref = [p.copy() for p in params]
    with _kernels.disabled():
        twin = bp.SGD(lr=0.1, momentum=0.9)
        twin.state = {"step": opt.state["step"], "slots": [{"b": np.zeros_like(p)}
                                                           for p in params]}
        twin.step(ref, grads)
    opt.step(params, grads)
    for a, b in zip(params, ref):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert opt.state["slots"][1]["b"][0] != 0
    # a state restored from a checkpoint replaces the buffers: they are the ones updated
    state = opt.state_dict()
    opt.load_state_dict(state)
    opt.step(params, grads)
    assert opt.state["slots"][0]["b"] is not state["slots"][0]["b"]
    assert not np.array_equal(opt.state["slots"][0]["b"], state["slots"][0]["b"])
    # kernels switched off: the NumPy path runs (it reports None, the kernels True)
    with _kernels.disabled():
        opt.step(params, grads)
        assert opt.last_step_finite is None
    opt.step(params, grads)
    assert opt.last_step_finite is True


def test_no_step_plan_for_new_gradient_arrays_every_step(rng):
    # a manual loop whose gradients are new arrays each step (loss_and_grads) never makes a
    # plan (it would cost time and never be reused), and updates as without plans
    net = bp.mlp([4, 5, 3], output="softmax", seed=0)
    X, y = rng.normal(size=(16, 4)), rng.integers(0, 3, 16)
    opt = bp.Adam(lr=0.01)
    for _ in range(3):
        _, grads = net.loss_and_grads(X, y)
        opt.step(net.parameters(), [g for layer in grads for g in layer.values()])
        assert opt._plan is None
    assert opt.state["step"] == 3


def test_a_reused_plan_still_checks_shapes(rng):
    opt = bp.SGD(lr=0.1)
    params, grads = _arrays(rng)
    for _ in range(3):
        opt.step(params, grads)
    assert opt._plan is not None
    params[0].shape = (4, 5)  # reshaped in place: the same array object
    with pytest.raises(ValueError, match=r"params\[0\] has shape \(4, 5\) but grads\[0\]"):
        opt.step(params, grads)


@pytest.mark.parametrize("copy", ["deepcopy", "pickle"])
def test_a_copied_optimizer_updates_the_copied_arrays(copy, rng):
    # the plan's flat views would turn into arrays of their own in a copy: it is left out
    import pickle

    opt = bp.Adam(lr=0.1)
    params, grads = _arrays(rng)
    for g in grads:
        g[...] = 1.0
    for _ in range(3):
        opt.step(params, grads)
    assert opt._plan is not None
    bundle = (opt, params, grads)
    c_opt, c_params, c_grads = (copy_module.deepcopy(bundle) if copy == "deepcopy"
                                else pickle.loads(pickle.dumps(bundle)))
    assert c_opt._plan is None
    before = [p.copy() for p in c_params]
    for _ in range(3):
        c_opt.step(c_params, c_grads)
    for p, b in zip(c_params, before):
        assert np.all(p < b)  # every copied parameter moved (gradient +1)
    assert c_opt.state["step"] == 6
