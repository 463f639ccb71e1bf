"""BatchNorm against a float64 NumPy reference written out here (forward in both modes, the
running statistics over several steps, backward against central differences), its fast path
against its plain one, its errors, and BatchNorm in networks: training, L2, model files, exact
resume and gradient checking with the batch statistics.  PyTorch's BatchNorm1d/2d is an extra
check where torch is installed."""

import re

import numpy as np
import pytest

import backprop as bp
from backprop import _kernels
from backprop.data.split import minibatches
from backprop.nn.workspace import Workspace
from helpers import assert_close, assert_state_equal

SHAPES = [(7, 3), (5, 3, 4, 2)]  # (m, C) rows and (m, C, H, W) images


def axes_of(x):
    return (0,) if x.ndim == 2 else (0, 2, 3)


def per_channel(v, x):
    """A (C,) array shaped to broadcast against x."""
    return v.reshape((1, -1) + (1,) * (x.ndim - 2))


def reference_step(x, gamma, beta, running_mean, running_var, momentum, eps, training):
    """PyTorch's documented BatchNorm, in float64: the output and the new running statistics."""
    if training:
        n = x.size // x.shape[1]
        mu, var = x.mean(axis=axes_of(x)), x.var(axis=axes_of(x))  # biased
        running_mean = (1 - momentum) * running_mean + momentum * mu
        running_var = (1 - momentum) * running_var + momentum * var * n / (n - 1)
    else:
        mu, var = running_mean, running_var
    a = per_channel(gamma, x) * (x - per_channel(mu, x)) / np.sqrt(per_channel(var, x) + eps)
    return a + per_channel(beta, x), running_mean, running_var


def drawn_layer(C, rng, dtype=np.float64, momentum=0.1):
    """A layer whose parameters and running statistics are away from their initial values."""
    layer = bp.BatchNorm(C, momentum=momentum, dtype=dtype)
    layer.params["gamma"][:] = rng.uniform(0.5, 2.0, size=C)
    layer.params["beta"][:] = rng.normal(size=C)
    layer.buffers["running_mean"][:] = rng.normal(size=C)
    layer.buffers["running_var"][:] = rng.uniform(0.5, 2.0, size=C)
    return layer


def numeric_gradient(f, arr, eps=1e-6):
    """Central differences of the scalar f() with respect to every entry of arr (in place)."""
    grad = np.zeros_like(arr)
    for idx in np.ndindex(arr.shape):
        orig = arr[idx]
        arr[idx] = orig + eps
        plus = f()
        arr[idx] = orig - eps
        minus = f()
        arr[idx] = orig
        grad[idx] = (plus - minus) / (2 * eps)
    return grad


# ----------------------------------------------------------------------------- construction
def test_starting_values_and_declared_arrays():
    layer = bp.BatchNorm(3)
    assert layer.params["gamma"].tolist() == [1, 1, 1] and layer.params["beta"].tolist() == [0] * 3
    assert layer.buffers["running_mean"].tolist() == [0] * 3
    assert layer.buffers["running_var"].tolist() == [1] * 3
    assert all(a.dtype == np.float32 for a in layer.arrays().values())
    assert layer.decayed == ()  # gamma and beta are not L2-decayed
    assert layer.config() == {"type": "BatchNorm", "num_features": 3, "momentum": 0.1,
                              "eps": 1e-5}
    assert layer.n_parameters() == 6


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"num_features": 0}, "num_features must be a positive integer, got 0"),
    ({"num_features": 2.0}, "num_features must be a positive integer, got 2.0"),
    ({"num_features": 2, "momentum": 1.5}, r"momentum must be a number in \[0, 1\], got 1.5"),
    ({"num_features": 2, "eps": 0.0}, "eps must be a positive number, got 0.0"),
    ({"num_features": 2, "dtype": np.int32}, "dtype must be float32 or float64"),
])
def test_invalid_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bp.BatchNorm(**kwargs)


def test_input_shapes_are_checked_with_a_clear_message():
    layer = bp.BatchNorm(3)
    for bad in [np.zeros((4, 2)), np.zeros((4, 3, 5)), np.zeros((4, 2, 3, 3))]:
        message = ("BatchNorm(3) expects inputs of shape (m, 3) or (m, 3, H, W); got an input of "
                   f"shape {bad.shape}")
        with pytest.raises(ValueError, match=re.escape(message)):
            layer.forward(bad)
    with pytest.raises(ValueError, match=r"more than one value per channel .* \(1, 3\)"):
        layer.forward(np.zeros((1, 3), dtype=np.float32), training=True)
    layer.forward(np.zeros((1, 3, 2, 1), dtype=np.float32), training=True)  # N = 2 is enough
    layer.forward(np.zeros((1, 3), dtype=np.float32), training=False)  # eval: any batch


def test_network_chains_batchnorm_by_its_channels():
    dense = bp.Dense(4, 8, "linear", seed=0)
    with pytest.raises(ValueError, match=r"layers\[0\] \(Dense\) returns \(8,\) but layers\[1\] "
                                         r"\(BatchNorm\) expects inputs of shape \(m, 16\)"):
        bp.Network([dense, bp.BatchNorm(16), bp.Dense(8, 1, "linear", seed=1)], "mse")
    # first in a network: its input shape comes from the next layer, and is checked
    net = bp.Network([bp.BatchNorm(4), dense], "mse")
    assert net.input_shape == (4,)
    with pytest.raises(ValueError, match=r"the input shape is \(5,\) but layers\[0\] "
                                         r"\(BatchNorm\) expects"):
        bp.Network([bp.BatchNorm(4)], "mse", input_shape=(5,))
    assert bp.Network([bp.BatchNorm(2)], "mse", input_shape=(2, 3, 3)).n_out == 18


# ----------------------------------------------------------------------------- the reference
@pytest.mark.parametrize("shape", SHAPES)
def test_forward_and_running_statistics_equal_the_reference(shape, rng):
    C = shape[1]
    layer = drawn_layer(C, rng, momentum=0.3)
    gamma, beta = layer.params["gamma"].copy(), layer.params["beta"].copy()
    rm, rv = layer.buffers["running_mean"].copy(), layer.buffers["running_var"].copy()
    for _ in range(4):  # several training steps, then eval
        x = rng.normal(loc=2.0, scale=3.0, size=shape)
        a, _ = layer.forward(x, training=True)
        ref, rm, rv = reference_step(x, gamma, beta, rm, rv, 0.3, 1e-5, True)
        np.testing.assert_allclose(a, ref, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(layer.buffers["running_mean"], rm, rtol=1e-12)
        np.testing.assert_allclose(layer.buffers["running_var"], rv, rtol=1e-12)
        # the output is normalised per channel: mean beta, biased std gamma (to eps)
        np.testing.assert_allclose(a.mean(axis=axes_of(a)), beta, atol=1e-12)
    x = rng.normal(size=shape)
    a, _ = layer.forward(x, training=False)
    ref, _, _ = reference_step(x, gamma, beta, rm, rv, 0.3, 1e-5, False)
    np.testing.assert_allclose(a, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(layer.buffers["running_mean"], rm)  # eval: no update


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
def test_backward_equals_central_differences(shape, training, rng):
    """J = sum(G * a) for a fixed G, so dJ/da = G: the layer's dx, dgamma and dbeta against
    the differences of J, the batch statistics moving with x in training mode."""
    layer = drawn_layer(shape[1], rng)
    x = rng.normal(loc=1.0, scale=2.0, size=shape)
    G = rng.normal(size=shape)
    buffers = {k: v.copy() for k, v in layer.buffers.items()}

    def J():
        out = float(np.sum(G * layer.forward(x, training=training)[0]))
        for k, v in buffers.items():  # each pass from the same running statistics
            layer.buffers[k][...] = v
        return out

    _, cache = layer.forward(x, training=training)
    dx, grads = layer.backward(G, cache)
    for name, arr, analytic in [("x", x, dx), ("gamma", layer.params["gamma"], grads["gamma"]),
                                ("beta", layer.params["beta"], grads["beta"])]:
        numeric = numeric_gradient(J, arr)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8, err_msg=name)
    if training:  # the batch mean and variance see every row: dx sums to zero per channel
        np.testing.assert_allclose(dx.sum(axis=axes_of(dx)), 0.0, atol=1e-12)
    else:  # the fixed affine map: dx = G * gamma / sqrt(running_var + eps)
        scale = layer.params["gamma"] / np.sqrt(layer.buffers["running_var"] + 1e-5)
        np.testing.assert_allclose(dx, G * per_channel(scale, G), rtol=1e-12)


# ----------------------------------------------------------------------------- the fast path
needs_kernels = pytest.mark.skipif(not _kernels.available(), reason="numba is not installed")


@needs_kernels
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(9, 5), (6, 4, 5, 7), (3, 2, 1, 1)])
def test_kernels_equal_the_plain_numpy_pass(shape, dtype, training, rng):
    layer = drawn_layer(shape[1], rng, dtype=dtype)
    x = (rng.normal(loc=3.0, scale=2.0, size=shape)).astype(dtype)
    da = rng.normal(size=shape).astype(dtype)
    start = {k: v.copy() for k, v in layer.buffers.items()}
    x_before = x.copy()
    a_plain, cache = layer.forward(x, training=training)
    dx_plain, g_plain = layer.backward(da, cache)
    plain_buffers = {k: v.copy() for k, v in layer.buffers.items()}
    for k, v in start.items():
        layer.buffers[k][...] = v
    ws = Workspace()
    a_fast, cache = layer._forward(x, training, ws)
    assert cache.xhat is None  # the kernel path: xhat is recomputed, not stored
    assert_close(a_fast, a_plain, dtype, "a")
    for k in start:
        assert_close(layer.buffers[k], plain_buffers[k], dtype, k)
    dx_fast, g_fast = layer._backward(da.copy(), cache, ws, True, da_owned=False)
    assert_close(dx_fast, dx_plain, dtype, "dx")
    for key in ("gamma", "beta"):
        assert g_fast[key].dtype == dtype
        assert_close(g_fast[key], g_plain[key], dtype, key)
    scratch = da.copy()
    dx_owned, _ = layer._backward(scratch, cache, ws, True, da_owned=True)
    np.testing.assert_array_equal(dx_owned, dx_fast)
    assert layer._backward(da, cache, ws, False)[0] is None  # the first layer: no dx
    np.testing.assert_array_equal(x, x_before)  # the input is never written to


@needs_kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_prediction_is_bit_for_bit_the_plain_eval_forward(dtype, rng):
    class Images(bp.Layer):
        """(m, 2, 3, 3) -> (m, 18), as torch.flatten(x, 1) (test only)."""

        params = {}

        def output_shape(self, input_shape):
            return (int(np.prod(input_shape)),)

        def forward(self, a_prev, training=False):
            return a_prev.reshape(a_prev.shape[0], -1), a_prev.shape

        def backward(self, da, cache):
            return da.reshape(cache), {}

    net = bp.Network([drawn_layer(2, rng, dtype=dtype), Images()], "mse", input_shape=(2, 3, 3))
    X = rng.normal(size=(40, 2, 3, 3)).astype(dtype)
    out, _ = net.forward(X)
    np.testing.assert_array_equal(net.predict(X), out)
    np.testing.assert_array_equal(net.predict(X, batch_size=7), out)


# ----------------------------------------------------------------------------- PyTorch
TORCH_DTYPES = [(np.float64, 1e-12), (np.float32, 2e-5)]


@pytest.mark.parametrize(("dtype", "rtol"), TORCH_DTYPES)
@pytest.mark.parametrize("shape", [(16, 5), (6, 4, 5, 3)])
@pytest.mark.parametrize("fast", [False, True])
def test_parity_with_pytorch(shape, dtype, rtol, fast, rng):
    """An extra check: torch.nn.BatchNorm1d / BatchNorm2d, step by step (the float64
    reference above is the test that always runs)."""
    torch = pytest.importorskip("torch")
    if fast and not _kernels.available():
        pytest.skip("numba is not installed")  # the plain pass is compared without it
    C = shape[1]
    layer = drawn_layer(C, rng, dtype=dtype, momentum=0.2)
    layer.buffers["running_mean"][:] = 0.0
    layer.buffers["running_var"][:] = 1.0
    cls = torch.nn.BatchNorm1d if len(shape) == 2 else torch.nn.BatchNorm2d
    ref = cls(C, momentum=0.2, eps=1e-5).to(torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(layer.params["gamma"]))
        ref.bias.copy_(torch.from_numpy(layer.params["beta"]))
    ws = Workspace() if fast else None

    def close(actual, desired, what):
        np.testing.assert_allclose(actual, desired, rtol=rtol, atol=rtol * np.abs(desired).max(),
                                   err_msg=what)

    for step in range(4):  # three training steps (running statistics accumulate), then eval
        training = step < 3
        x = rng.normal(loc=1.5, scale=2.0, size=shape).astype(dtype)
        da = rng.normal(size=shape).astype(dtype)
        ref.train(training)
        ref.weight.grad = ref.bias.grad = None
        xt = torch.from_numpy(x).requires_grad_(True)
        out = ref(xt)
        out.backward(torch.from_numpy(da))
        a, cache = layer._forward(x, training, ws)
        dx, grads = layer._backward(da.copy(), cache, ws, True)
        what = f"step {step} ({'training' if training else 'eval'})"
        close(a, out.detach().numpy(), f"{what}: a")
        close(dx, xt.grad.numpy(), f"{what}: dx")
        close(grads["gamma"], ref.weight.grad.numpy(), f"{what}: dgamma")
        close(grads["beta"], ref.bias.grad.numpy(), f"{what}: dbeta")
        close(layer.buffers["running_mean"], ref.running_mean.numpy(), f"{what}: running_mean")
        close(layer.buffers["running_var"], ref.running_var.numpy(), f"{what}: running_var")


# ----------------------------------------------------------------------------- in networks
def classification_data(m=240, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=[5.0, -3.0, 0.0, 10.0], scale=[1.0, 4.0, 0.5, 2.0], size=(m, 4))
    z = (X - [5.0, -3.0, 0.0, 10.0]) / [1.0, 4.0, 0.5, 2.0]
    y = np.argmax(z @ [[1.0, -1.0, 0.0], [0.5, 1.0, -1.0], [-1.0, 0.0, 1.0], [0.0, 0.5, 0.5]],
                  axis=1)
    return X, y


def bn_net(dtype=np.float32, seed=0):
    """Dense - BatchNorm - Activation - Dense: the canonical use."""
    return bp.Network([bp.Dense(4, 16, "linear", dtype=dtype, seed=seed),
                       bp.BatchNorm(16, dtype=dtype), bp.Activation("relu"),
                       bp.Dense(16, 3, "softmax", dtype=dtype, seed=seed + 1)],
                      "categorical_crossentropy")


def test_a_network_with_batchnorm_trains_and_predicts_with_the_running_statistics():
    X, y = classification_data()
    net = bn_net()
    before = net.evaluate(X, y)["loss"]
    history = net.fit(X, y, epochs=15, batch_size=32, optimizer=bp.Adam(lr=1e-2), seed=0,
                      verbose=0)
    assert history.history["loss"][-1] < 0.6 * history.history["loss"][0]
    assert net.evaluate(X, y)["loss"] < 0.6 * before
    assert net.evaluate(X, y)["accuracy"] > 0.85
    bn = net.layers[1]
    # the running statistics followed the batches: close to the statistics of all rows
    h = net.layers[0].forward(X.astype(np.float32))[0]
    np.testing.assert_allclose(bn.buffers["running_mean"], h.mean(axis=0), rtol=0.1,
                               atol=0.1 * h.std())
    np.testing.assert_allclose(bn.buffers["running_var"], h.var(axis=0), rtol=0.25)
    # predict uses them: each row's output does not depend on the other rows
    np.testing.assert_allclose(net.predict(X[:5]), net.predict(X)[:5], rtol=1e-6)
    ref, _, _ = reference_step(h.astype(np.float64), bn.params["gamma"], bn.params["beta"],
                               bn.buffers["running_mean"], bn.buffers["running_var"], 0.1, 1e-5,
                               False)
    np.testing.assert_allclose(net.layers[2].forward(bn.forward(h)[0])[0],
                               np.maximum(ref, 0), rtol=1e-4, atol=1e-5)


@needs_kernels
def test_fit_with_the_kernels_equals_the_plain_training_loop():
    """fit (workspace, kernels) against the loop written with the public API, kernels off:
    the same parameters and running statistics to float64 rounding."""
    X, y = classification_data()
    fast, plain = bn_net(np.float64), bn_net(np.float64)
    fast.fit(X, y, epochs=3, batch_size=32, optimizer=bp.SGD(lr=0.05, momentum=0.9), seed=4,
             verbose=0)
    rng, optimizer = np.random.default_rng(4), bp.SGD(lr=0.05, momentum=0.9)
    with _kernels.disabled():
        for _ in range(3):
            for idx in minibatches(X.shape[0], 32, rng):
                _, grads = plain.loss_and_grads(X[idx], y[idx])
                optimizer.step(plain.parameters(), [g for d in grads for g in d.values()])
    for key, value in plain.state_dict().items():
        np.testing.assert_allclose(fast.state_dict()[key], value, rtol=1e-9, atol=1e-12,
                                   err_msg=key)


def test_l2_leaves_gamma_and_beta_alone(rng):
    X, y = classification_data(m=20)
    plain, decayed = bn_net(np.float64), bn_net(np.float64)
    decayed.l2 = 0.5
    _, g0 = plain.loss_and_grads(X, y)
    _, g1 = decayed.loss_and_grads(X, y)
    for key in ("gamma", "beta"):
        np.testing.assert_array_equal(g1[1][key], g0[1][key])
    np.testing.assert_allclose(g1[0]["W"], g0[0]["W"] + 0.5 * plain.layers[0].params["W"])
    assert set(decayed.l2_terms()) == {(0, "W"), (3, "W")}


def test_model_files_carry_the_running_statistics(tmp_path):
    X, y = classification_data()
    net = bn_net()
    net.fit(X, y, epochs=2, batch_size=32, seed=0, verbose=0)
    net.save(tmp_path / "bn.safetensors")
    loaded = bp.load(tmp_path / "bn.safetensors")
    assert_state_equal(loaded.state_dict(), net.state_dict())
    assert loaded.layers[1].buffers["running_var"].any()
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    # a running variance that would take a square root of a negative number is refused
    state = net.state_dict()
    state["layers.1.running_var"][3] = -1.0
    with pytest.raises(ValueError, match=r"layers.1 \(BatchNorm\): running_var must be finite "
                                         r"and non-negative; entry 3 is -1.0"):
        loaded.load_state_dict(state)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_resume_from_a_checkpoint_is_bit_identical(dtype, tmp_path):
    X, y = classification_data()
    straight = bn_net(dtype)
    straight.fit(X, y, epochs=3, batch_size=32, seed=3, verbose=0)

    class StopAt(bp.Callback):
        def on_batch_end(self, step, logs):
            return step == 4  # a global step: in the middle of the first epoch

    ckpt = tmp_path / "run.ckpt"
    interrupted = bn_net(dtype)
    interrupted.fit(X, y, epochs=3, batch_size=32, seed=3, verbose=0, checkpoint=ckpt,
                    callbacks=[StopAt()])
    saved = bp.load_checkpoint(ckpt).network
    assert saved["layers.1.running_mean"].any()  # the buffers are in the checkpoint
    np.testing.assert_array_equal(saved["layers.1.running_var"],
                                  interrupted.layers[1].buffers["running_var"])
    resumed = bn_net(dtype)
    resumed.fit(X, y, epochs=3, batch_size=32, seed=3, verbose=0, resume_from=ckpt,
                callbacks=[StopAt()])
    assert_state_equal(resumed.state_dict(), straight.state_dict())


# ----------------------------------------------------------------------------- gradient check
class FlattenImages(bp.Layer):
    """(m, C, H, W) -> (m, C*H*W), as torch.flatten(x, 1) (test only, unregistered)."""

    params = {}

    def output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)

    def forward(self, a_prev, training=False):
        return a_prev.reshape(a_prev.shape[0], -1), a_prev.shape

    def backward(self, da, cache):
        return da.reshape(cache), {}


def image_net():
    bn = drawn_layer(2, np.random.default_rng(3))
    return bp.Network([bn, bp.Activation("tanh"), FlattenImages(),
                       bp.Dense(18, 3, "softmax", dtype=np.float64, seed=0)],
                      "categorical_crossentropy", input_shape=(2, 3, 3))


@pytest.mark.parametrize("kind", ["rows", "images"])
def test_gradient_check_in_training_mode_passes_and_leaves_the_buffers(kind, rng):
    if kind == "rows":
        net = bn_net(np.float64)
        net.layers[1].params["gamma"][:] = rng.uniform(0.5, 2, size=16)
        net.layers[1].params["beta"][:] = rng.normal(size=16)
        X, y = rng.normal(size=(6, 4)), rng.integers(0, 3, size=6)
    else:
        net = image_net()
        X, y = rng.normal(size=(4, 2, 3, 3)), rng.integers(0, 3, size=4)
    before = net.state_dict()
    report = bp.gradient_check(net, X, y)
    assert report.passed, str(report)
    assert report.max_relative_error < 1e-7, str(report)
    by_param = {(r.layer, r.param): r for r in report.rows}
    bn = 1 if kind == "rows" else 0
    assert by_param[(bn, "gamma")].checked > 0 and by_param[(bn, "beta")].checked > 0
    assert by_param[(-1, "X")].checked + by_param[(-1, "X")].skipped == X.size
    assert_state_equal(net.state_dict(), before)  # parameters and running statistics


class ConstantStatisticsBatchNorm(bp.BatchNorm):
    """A wrong backward that treats the batch mean and variance as constants (the eval-mode
    formula after a training-mode forward): only a check that moves the batch statistics
    with each perturbation can see it."""

    def backward(self, da, cache):
        return super().backward(da, cache._replace(training=False))


def test_gradient_check_sees_the_batch_statistics(rng):
    X, y = rng.normal(size=(6, 4)), rng.integers(0, 3, size=6)
    net = bn_net(np.float64)
    net.layers[1] = ConstantStatisticsBatchNorm(16, dtype=np.float64)
    report = bp.gradient_check(net, X, y)
    assert not report.passed
    by_param = {(r.layer, r.param): r for r in report.rows}
    assert by_param[(-1, "X")].max_relative_error > 1e-2  # dx misses the statistics' paths
    assert by_param[(0, "W")].max_relative_error > 1e-2
    # in eval mode that same formula is the right one
    assert bp.gradient_check(net, X, y, training=False).passed


def test_gradient_check_in_eval_mode_uses_the_running_statistics(rng):
    net = image_net()
    X, y = rng.normal(size=(1, 2, 3, 3)), rng.integers(0, 3, size=1)
    report = bp.gradient_check(net, X, y, training=False)  # a batch of one: eval mode only
    assert report.passed, str(report)
    _, g_train = net.loss_and_grads(np.repeat(X, 2, axis=0), np.repeat(y, 2), training=True)
    _, g_eval = net.loss_and_grads(np.repeat(X, 2, axis=0), np.repeat(y, 2), training=False)
    assert not np.allclose(g_train[0]["gamma"], g_eval[0]["gamma"])


def test_a_bias_before_batchnorm_has_a_zero_gradient_that_the_check_accepts(rng):
    """Training-mode batch norm removes any constant shift, so dJ/db of the Dense before it
    is 0; its difference quotient is rounding noise, which the check must not fail on, while a
    wrong non-zero gradient there is still reported."""
    X, y = rng.normal(size=(6, 4)), rng.integers(0, 3, size=6)
    net = bn_net(np.float64)
    _, grads = net.loss_and_grads(X, y)
    assert np.abs(grads[0]["b"]).max() < 1e-15
    report = bp.gradient_check(net, X, y)
    row = next(r for r in report.rows if (r.layer, r.param) == (0, "b"))
    assert row.checked == 16 and row.max_relative_error == 0.0
    assert report.passed, str(report)

    class BiasedDense(bp.Dense):
        def backward(self, da, cache):
            da_prev, grads = super().backward(da, cache)
            return da_prev, {**grads, "b": grads["b"] + 1e-6}

    wrong = bn_net(np.float64)
    wrong.layers[0] = BiasedDense(4, 16, "linear", dtype=np.float64, seed=0)
    report = bp.gradient_check(wrong, X, y)
    row = next(r for r in report.rows if (r.layer, r.param) == (0, "b"))
    assert not report.passed and row.max_relative_error > 0.5


def test_fit_joins_a_last_lone_row_to_the_batch_before_it():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(129, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    net = bp.Network([bp.Dense(4, 8, seed=0), bp.BatchNorm(8), bp.Activation("relu"),
                      bp.Dense(8, 1, "sigmoid", seed=1)], loss="binary_crossentropy")
    steps = []
    history = net.fit(X, y, epochs=2, batch_size=64, verbose=0, seed=0,
                      callbacks=[_Steps(steps)])
    assert steps == [1, 2, 3, 4]  # two batches an epoch: 64 rows, then 65 (not 64, 64, 1)
    assert np.isfinite(history["loss"]).all()
    plain = bp.mlp([4, 8, 1], seed=0)  # without batch statistics the lone row is a batch
    plain_steps = []
    plain.fit(X, y, epochs=1, batch_size=64, verbose=0, seed=0, callbacks=[_Steps(plain_steps)])
    assert plain_steps == [1, 2, 3]


class _Steps(bp.Callback):
    def __init__(self, steps):
        self.steps = steps

    def on_batch_end(self, step, logs):
        self.steps.append(step)
