"""Conv2D: its forward and backward against a float64 reference written from the definition,
fast == plain in float32 and float64, stride/padding variants and odd sizes, initialisation,
argument and shape errors, and parity with PyTorch when it is installed."""

import contextlib

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import backprop as bp
from backprop import _kernels
from backprop.nn.layers import conv as conv_module
from backprop.nn.layers.conv import col2im, im2col
from backprop.nn.layers.windows import Window
from backprop.nn.workspace import Workspace

# (C, F, H, W, kernel, stride, padding): odd sizes, unequal pairs, windows that skip pixels
CASES = [
    (1, 4, 6, 6, 3, 1, 1),
    (3, 2, 7, 5, (3, 2), (2, 1), (1, 0)),
    (2, 3, 9, 8, 4, 3, 2),
    (2, 5, 5, 7, (1, 3), 2, (0, 1)),
    (4, 2, 3, 3, 3, 1, 0),  # a single output pixel
]


def windows(x, kernel, stride, padding):
    """Every window of ``x`` (m, C, H, W): (m, C, Ho, Wo, kh, kw), by the definition."""
    (kh, kw), (sh, sw), (ph, pw) = map(bp_pair, (kernel, stride, padding))
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    return sliding_window_view(x_pad, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]


def bp_pair(v):
    return tuple(v) if isinstance(v, tuple) else (v, v)


def plain_if(plain):
    """The plain reference inside the block when ``plain``, else the default (fast) path."""
    return _kernels.disabled() if plain else contextlib.nullcontext()


def reference(x, W, b, da, kernel, stride, padding):
    """Forward ``z`` and the gradients of ``sum(da * z)`` by the definition, in float64:
    ``z[n, f, p, q] = b[f] + sum_{c,i,j} W[f, c, i, j] x_pad[n, c, p sh + i, q sw + j]``."""
    win = windows(x, kernel, stride, padding)
    z = np.einsum("ncpqij,fcij->nfpq", win, W) + b[None, :, None, None]
    dW = np.einsum("nfpq,ncpqij->fcij", da, win)
    db = da.sum(axis=(0, 2, 3))
    # dx: every window position sends W-weighted da back to the pixels it read
    (kh, kw), (sh, sw), (ph, pw) = map(bp_pair, (kernel, stride, padding))
    m, C, H, Wd = x.shape
    Ho, Wo = z.shape[2:]
    dwin = np.einsum("nfpq,fcij->ncpqij", da, W)
    dx_pad = np.zeros((m, C, H + 2 * ph, Wd + 2 * pw))
    for i in range(kh):
        for j in range(kw):
            dx_pad[:, :, i:i + sh * Ho:sh, j:j + sw * Wo:sw] += dwin[..., i, j]
    return z, dW, db, dx_pad[:, :, ph:ph + H, pw:pw + Wd]


def layer_and_data(case, dtype, rng, activation="linear"):
    C, F, H, W, k, s, p = case
    layer = bp.Conv2D(C, F, k, stride=s, padding=p, activation=activation, dtype=dtype, seed=0)
    layer.params["b"][:] = rng.normal(size=F)
    x = rng.normal(size=(3, C, H, W)).astype(dtype)
    return layer, x


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "plain"])
@pytest.mark.parametrize("case", CASES)
def test_forward_and_backward_equal_the_definition(case, fast, rng):
    layer, x = layer_and_data(case, np.float64, rng)
    W, b = layer.params["W"], layer.params["b"]
    with plain_if(not fast):
        a, cache = layer.forward(x)
        assert cache.fast == fast
        da = rng.normal(size=a.shape)
        dx, grads = layer.backward(da, cache)
    z, dW, db, dx_ref = reference(x, W, b, da, *case[4:])
    assert a.shape == z.shape == (3, case[1], *layer.output_shape(x.shape[1:])[1:])
    np.testing.assert_allclose(a, z, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads["W"], dW, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(grads["b"], db, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("activation", ["relu", "tanh", "leaky_relu", "sigmoid", "linear"])
@pytest.mark.parametrize("case", CASES[:3])
def test_fast_equals_plain_in_float32(case, activation, rng):
    """The fast path (channels-last im2col, one GEMM, fused bias + activation, gather col2im)
    equals the plain reference to float32 rounding, through the workspace path that fit uses
    and the public methods alike."""
    layer, x = layer_and_data(case, np.float32, rng, activation)
    with _kernels.disabled():
        a_ref, cache_ref = layer.forward(x, training=True)
        da = rng.normal(size=a_ref.shape).astype(np.float32)
        dx_ref, g_ref = layer.backward(da, cache_ref)
    for ws in (None, Workspace()):
        a, cache = layer._forward(x, True, ws)
        assert cache.fast and a.dtype == np.float32
        dx, g = layer._backward(da.copy(), cache, ws, True, da_owned=True)
        scale = np.abs(a_ref).max()
        np.testing.assert_allclose(a, a_ref, rtol=1e-5, atol=1e-6 * scale)
        np.testing.assert_allclose(dx, dx_ref, rtol=1e-4, atol=1e-5 * np.abs(dx_ref).max())
        for k in ("W", "b"):
            assert g[k].dtype == np.float32 and g[k].flags.c_contiguous
            np.testing.assert_allclose(g[k], g_ref[k], rtol=1e-4,
                                       atol=1e-5 * np.abs(g_ref[k]).max())


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("images_per_chunk", [1, 2, None])
@pytest.mark.parametrize("case", [CASES[1], (1, 12, 6, 5, 3, 1, 1)],
                         ids=["windows unrolled again", "windows kept"])
def test_fast_path_in_chunks_of_images_equals_plain(case, images_per_chunk, n_threads,
                                                    monkeypatch, rng):
    """The fast path works through the batch a few images at a time (one image; two, with a
    short last chunk; all at once), on one thread or on several, and either unrolls the
    windows again in backward (many input channels) or keeps them (few): the same results
    every way."""
    monkeypatch.setattr(_kernels.threads, "count", lambda: n_threads)
    layer, x = layer_and_data(case, np.float64, rng, "relu")
    C, F, H, W, *_ = case
    Ho, Wo = layer.output_shape((C, H, W))[1:]
    per_image = Ho * Wo * max(C * np.prod(layer.window.kernel), F)
    if images_per_chunk is not None:
        monkeypatch.setattr(conv_module, "CHUNK_ELEMENTS", images_per_chunk * per_image)
    assert layer._chunk(Ho, Wo, 3) == (images_per_chunk or 3)
    with _kernels.disabled():
        a_ref, cache_ref = layer.forward(x)
        da = rng.normal(size=a_ref.shape)
        dx_ref, g_ref = layer.backward(da, cache_ref)
    ws = Workspace()
    for _ in range(2):  # the second pass reuses the workspace's arrays
        a, cache = layer._forward(x, True, ws)
        assert (cache.x_col is not None) == (C * np.prod(layer.window.kernel) <= F)
        dx, g = layer._backward(da.copy(), cache, ws, True, da_owned=True)
        np.testing.assert_allclose(a, a_ref, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dx, dx_ref, rtol=1e-11, atol=1e-12)
        for k in ("W", "b"):
            np.testing.assert_allclose(g[k], g_ref[k], rtol=1e-11, atol=1e-12)


def test_chunks_hold_about_a_mib_of_windows():
    layer = bp.Conv2D(32, 64, 3, padding=1)
    assert layer._chunk(14, 14, 128) == (1 << 18) // (14 * 14 * 288) == 4
    assert layer._chunk(14, 14, 3) == 3
    assert bp.Conv2D(1, 32, 3, padding=1)._chunk(28, 28, 128) == (1 << 18) // (784 * 32)


def test_fast_path_returns_channels_last_memory_and_skips_dx_when_not_needed(rng):
    layer, x = layer_and_data(CASES[1], np.float32, rng, "relu")
    ws = Workspace()
    a, cache = layer._forward(x, True, ws)
    assert a.transpose(0, 2, 3, 1).flags.c_contiguous  # NCHW view of NHWC memory
    dx, grads = layer._backward(np.ones_like(a), cache, ws, need_da_prev=False)
    assert dx is None and set(grads) == {"W", "b"}


def test_backward_from_dz_is_backward_without_the_activation(rng):
    layer, x = layer_and_data(CASES[0], np.float64, rng, "tanh")
    for fast in (True, False):
        with plain_if(not fast):
            a, cache = layer.forward(x)
            da = rng.normal(size=a.shape)
            dz = da * (1 - a ** 2)
            dx1, g1 = layer.backward(da, cache)
            dx2, g2 = layer.backward_from_dz(dz, cache)
            none, _ = layer.backward_from_dz(dz, cache, need_da_prev=False)
        np.testing.assert_allclose(dx1, dx2, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(g1["W"], g2["W"], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(layer.preactivation(cache), np.arctanh(a), rtol=1e-9,
                                   atol=1e-12)
        assert none is None


def test_im2col_and_col2im_are_adjoint(rng):
    """<im2col(x), c> == <x, col2im(c)> for any x and c: col2im is im2col's transpose."""
    window = Window((3, 2), (2, 1), (1, 1))
    x = rng.normal(size=(2, 3, 6, 5))
    cols = im2col(x, window)
    c = rng.normal(size=cols.shape)
    np.testing.assert_allclose(np.sum(cols * c), np.sum(x * col2im(c, x.shape, window)))


def test_other_float_dtypes_take_the_plain_path():
    layer = bp.Conv2D(1, 2, 2, dtype=np.float64, seed=0)
    x = np.ones((1, 1, 3, 3), dtype=np.longdouble)
    a, cache = layer.forward(x)
    assert not cache.fast and a.dtype == np.longdouble


def test_init_uses_the_fan_in_of_a_window():
    """He normal for ReLU: std sqrt(2 / (C kh kw)); Glorot uniform otherwise, limit
    sqrt(6 / (C kh kw + F kh kw)) (PyTorch's fans)."""
    he = bp.Conv2D(32, 64, 3, activation="relu", dtype=np.float64, seed=0).params["W"]
    assert he.shape == (64, 32, 3, 3)
    assert he.std() == pytest.approx(np.sqrt(2 / (32 * 9)), rel=0.03)
    glorot = bp.Conv2D(8, 16, (3, 5), dtype=np.float64, seed=0).params["W"]
    limit = np.sqrt(6 / (8 * 15 + 16 * 15))
    assert glorot.max() <= limit and glorot.max() > 0.95 * limit
    assert bp.Conv2D(8, 16, 3, seed=0).params["b"].tolist() == [0.0] * 16
    np.testing.assert_array_equal(bp.Conv2D(2, 3, 3, seed=7).params["W"],
                                  bp.Conv2D(2, 3, 3, seed=7).params["W"])


def test_config_describe_and_output_shape():
    layer = bp.Conv2D(3, 8, (5, 3), stride=2, padding=(2, 1), activation="relu")
    assert layer.config() == {"type": "Conv2D", "in_channels": 3, "out_channels": 8,
                              "kernel_size": [5, 3], "stride": [2, 2], "padding": [2, 1],
                              "activation": "relu", "init": "he_normal"}
    assert layer.describe() == "5x3 /2 pad 2,1, relu"
    assert layer.output_shape((3, 28, 28)) == (8, 14, 14)
    assert layer.output_shape((3, 5, 1)) == (8, 3, 1)
    assert layer.n_parameters() == 8 * 3 * 5 * 3 + 8


@pytest.mark.parametrize("kwargs, message", [
    ({"in_channels": 0}, "in_channels must be a positive integer, got 0"),
    ({"kernel_size": (3, 0)}, r"kernel_size must be a positive integer or a pair"),
    ({"kernel_size": (1, 2, 3)}, r"kernel_size must be .* got \(1, 2, 3\)"),
    ({"stride": 0}, "stride must be a positive integer or a pair"),
    ({"padding": -1}, "padding must be an integer >= 0 or a pair"),
    ({"padding": True}, "padding must be"),
    ({"activation": "softmax"}, "softmax is not an element-wise activation"),
    ({"activation": "swish"}, "swish"),
    ({"dtype": np.int32}, "dtype must be float32 or float64"),
])
def test_bad_arguments_are_named(kwargs, message):
    args = {"in_channels": 1, "out_channels": 2, "kernel_size": 3, **kwargs}
    with pytest.raises(ValueError, match=message):
        bp.Conv2D(**args)


def test_bad_inputs_name_the_layer_and_the_shape():
    layer = bp.Conv2D(3, 4, 5, padding=1)
    with pytest.raises(ValueError, match=r"takes images of shape \(m, C, H, W\), got shape "
                                         r"\(2, 75\)"):
        layer.forward(np.zeros((2, 75), np.float32))
    with pytest.raises(ValueError, match=r"expects 3 input channels, got 1 \(input of shape "
                                         r"\(2, 1, 8, 8\)\)"):
        layer.forward(np.zeros((2, 1, 8, 8), np.float32))
    with pytest.raises(ValueError, match=r"the 5x5 window does not fit in a 2x9 input with "
                                         r"padding 1,1"):
        layer.forward(np.zeros((2, 3, 2, 9), np.float32))
    with pytest.raises(ValueError, match=r"layers\[1\] \(Conv2D\): .*expects 3 input channels, "
                                         r"got 4"):
        bp.Network([bp.Conv2D(1, 4, 3), layer, bp.Flatten(), bp.Dense(4, 1, "linear")],
                   input_shape=(1, 9, 9))


def test_parity_with_pytorch():
    """An extra check against torch.nn.functional.conv2d in float64 (the tests above do not
    need torch)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    for C, F, H, W, k, s, p in CASES:
        layer = bp.Conv2D(C, F, k, stride=s, padding=p, activation="relu", dtype=np.float64,
                          seed=1)
        layer.params["b"][:] = rng.normal(size=F)
        x = rng.normal(size=(2, C, H, W))
        xt = torch.tensor(x, requires_grad=True)
        Wt = torch.tensor(layer.params["W"], requires_grad=True)
        bt = torch.tensor(layer.params["b"], requires_grad=True)
        out = torch.relu(torch.nn.functional.conv2d(xt, Wt, bt, stride=s, padding=p))
        a, cache = layer.forward(x)
        np.testing.assert_allclose(a, out.detach().numpy(), rtol=1e-12, atol=1e-12)
        da = rng.normal(size=a.shape)
        out.backward(torch.tensor(da))
        dx, grads = layer.backward(da, cache)
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(grads["W"], Wt.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(grads["b"], bt.grad.numpy(), rtol=1e-10, atol=1e-12)
