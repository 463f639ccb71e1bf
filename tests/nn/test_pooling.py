"""MaxPool2D and AvgPool2D: forward and backward against a float64 reference written from the
definition, ties in max pooling (the gradient goes to the first maximum), padding semantics,
fast == plain, Flatten's order, argument and shape errors, parity with PyTorch when installed."""

import contextlib

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import backprop as bp
from backprop import _kernels
from backprop.nn.workspace import Workspace

# (kernel, stride, padding, H, W): odd sizes, overlapping windows, unequal pairs
CASES = [
    (2, None, 0, 6, 6),
    (2, None, 0, 7, 5),  # the last row and column are in no window
    (3, 2, 1, 7, 6),
    ((3, 2), (1, 2), (1, 1), 5, 7),
    (3, 1, 0, 3, 4),
]


def pair(v):
    return tuple(v) if isinstance(v, tuple) else (v, v)


def plain_if(plain):
    return _kernels.disabled() if plain else contextlib.nullcontext()


def windows(x, kernel, stride, padding, fill):
    """(m, C, Ho, Wo, kh kw): the cells of every window, padding ``fill`` included."""
    (kh, kw), (ph, pw) = pair(kernel), pair(padding)
    sh, sw = pair(stride if stride is not None else kernel)
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    win = sliding_window_view(x_pad, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    return win.reshape(*win.shape[:4], kh * kw)


def scatter(dwin, x_shape, kernel, stride, padding):
    """The adjoint of :func:`windows`: every window cell's value added to its input pixel."""
    (kh, kw), (ph, pw) = pair(kernel), pair(padding)
    sh, sw = pair(stride if stride is not None else kernel)
    m, C, H, W = x_shape
    Ho, Wo = dwin.shape[2:4]
    dx_pad = np.zeros((m, C, H + 2 * ph, W + 2 * pw))
    for i in range(kh):
        for j in range(kw):
            dx_pad[:, :, i:i + sh * Ho:sh, j:j + sw * Wo:sw] += dwin[..., i * kw + j]
    return dx_pad[:, :, ph:ph + H, pw:pw + W]


def max_reference(x, da, kernel, stride, padding):
    win = windows(x, kernel, stride, padding, -np.inf)
    first = win.argmax(axis=-1)  # NumPy's argmax: the first maximum
    onehot = np.arange(win.shape[-1]) == first[..., None]
    return win.max(axis=-1), scatter(onehot * da[..., None], x.shape, kernel, stride, padding)


def avg_reference(x, da, kernel, stride, padding):
    win = windows(x, kernel, stride, padding, 0.0)
    n = win.shape[-1]
    return win.mean(axis=-1), scatter(np.repeat(da[..., None] / n, n, axis=-1), x.shape,
                                      kernel, stride, padding)


LAYERS = {"max": (bp.MaxPool2D, max_reference), "avg": (bp.AvgPool2D, avg_reference)}


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "plain"])
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_forward_and_backward_equal_the_definition(kind, case, fast, rng):
    cls, ref = LAYERS[kind]
    k, s, p, H, W = case
    layer = cls(k, s, p)
    x = rng.normal(size=(3, 2, H, W))
    with plain_if(not fast):
        a, cache = layer.forward(x)
        assert cache.fast == fast
        da = rng.normal(size=a.shape)
        dx, grads = layer.backward(da, cache)
    a_ref, dx_ref = ref(x, da, k, s, p)
    assert grads == {} and a.shape == (3, *layer.output_shape((2, H, W)))
    np.testing.assert_allclose(a, a_ref, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_equals_plain_exactly(kind, dtype, rng):
    """Pooling does no rounding the two paths could order differently: equal bit for bit."""
    cls, _ = LAYERS[kind]
    for k, s, p, H, W in CASES:
        layer = cls(k, s, p)
        x = rng.normal(size=(4, 3, H, W)).astype(dtype)
        with _kernels.disabled():
            a_ref, cache_ref = layer.forward(x)
            da = rng.normal(size=a_ref.shape).astype(dtype)
            dx_ref, _ = layer.backward(da, cache_ref)
        ws = Workspace()
        a, cache = layer._forward(x, True, ws)
        dx, _ = layer._backward(da.copy(), cache, ws, True, True)
        assert a.dtype == dx.dtype == dtype
        np.testing.assert_array_equal(a, a_ref)
        np.testing.assert_array_equal(dx, dx_ref)


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "plain"])
def test_max_pool_ties_send_the_gradient_to_the_first_maximum(fast):
    """A flat background ties every cell of a window: the whole gradient goes to the window's
    first cell (row-major), as in PyTorch, never to every tied cell."""
    x = np.zeros((1, 1, 4, 6))
    x[0, 0, 2:, 4:] = 1.0  # one bright 2x2 block: tied maxima there too
    x[0, 0, 0, 3] = 0.5  # a window with a unique maximum
    layer = bp.MaxPool2D(2)
    with plain_if(not fast):
        a, cache = layer.forward(x)
        dx, _ = layer.backward(np.ones_like(a), cache)
    np.testing.assert_array_equal(a[0, 0], [[0, 0.5, 0], [0, 0, 1]])
    expected = np.zeros((4, 6))
    expected[[0, 0, 0, 2, 2, 2], [0, 3, 4, 0, 2, 4]] = 1.0
    np.testing.assert_array_equal(dx[0, 0], expected)
    assert dx.sum() == a.size  # one unit of gradient per window, not one per tied cell


def test_max_pool_padding_is_never_the_maximum():
    """Padding is -inf: an all-negative image pools to its own values, never to 0."""
    x = -np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    a, _ = bp.MaxPool2D(2, stride=2, padding=1).forward(x)
    np.testing.assert_array_equal(a[0, 0], [[-1, -2], [-4, -5]])


def test_avg_pool_counts_the_zero_padding():
    x = np.ones((1, 1, 2, 2))
    a, _ = bp.AvgPool2D(2, stride=2, padding=1).forward(x)
    np.testing.assert_array_equal(a[0, 0], [[0.25, 0.25], [0.25, 0.25]])


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_on_channels_last_input_equals_pool_on_nchw(kind, rng):
    """The fast path takes both memory layouts of the same logical (m, C, H, W) array."""
    cls, _ = LAYERS[kind]
    x = rng.normal(size=(2, 3, 6, 5)).astype(np.float32)
    x_cl = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    layer = cls(2, 1)
    a, _ = layer.forward(x)
    a_cl, _ = layer.forward(x_cl)
    np.testing.assert_array_equal(a, a_cl)


def test_config_describe_and_defaults():
    layer = bp.MaxPool2D(3, padding=1)
    assert layer.config() == {"type": "MaxPool2D", "kernel_size": [3, 3], "stride": [3, 3],
                              "padding": [1, 1]}
    assert layer.describe() == "3x3 /3 pad 1"
    assert bp.AvgPool2D((2, 3), (1, 2)).describe() == "2x3 /1,2"
    assert layer.params == {} and layer.n_parameters() == 0 and layer.dtype is None
    assert bp.MaxPool2D(2).output_shape((5, 28, 28)) == (5, 14, 14)


@pytest.mark.parametrize("cls", [bp.MaxPool2D, bp.AvgPool2D])
def test_bad_arguments_and_inputs_are_named(cls):
    with pytest.raises(ValueError, match="kernel_size must be a positive integer or a pair"):
        cls(0)
    with pytest.raises(ValueError, match="stride must be a positive integer or a pair"):
        cls(2, stride=(1, -1))
    with pytest.raises(ValueError, match=r"padding must be at most half the kernel size, got "
                                         r"padding 2 for kernel_size 3"):
        cls(3, padding=2)
    layer = cls(3)
    with pytest.raises(ValueError, match=r"takes images of shape \(m, C, H, W\), got shape "
                                         r"\(4, 2, 9\)"):
        layer.forward(np.zeros((4, 2, 9)))
    with pytest.raises(ValueError, match=r"the 3x3 window does not fit in a 2x5 input"):
        layer.forward(np.zeros((4, 2, 2, 5)))


def test_flatten_is_torch_flatten_in_c_order_for_both_memory_layouts(rng):
    x = rng.normal(size=(2, 3, 4, 5))
    x_cl = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    layer = bp.Flatten()
    for inp in (x, x_cl):
        a, cache = layer.forward(inp)
        np.testing.assert_array_equal(a, np.stack([s.ravel() for s in x]))
        np.testing.assert_array_equal(a[1, 5 * 4 + 5 + 2], x[1, 1, 1, 2])  # c, h, w order
        da = rng.normal(size=a.shape)
        dx, grads = layer.backward(da, cache)
        assert grads == {}
        np.testing.assert_array_equal(dx, da.reshape(x.shape))
    assert layer.output_shape((3, 4, 5)) == (60,) and layer.config() == {"type": "Flatten"}
    with pytest.raises(ValueError, match=r"Flatten takes an input of shape \(m, \.\.\.\)"):
        layer.forward(np.zeros(3))


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_parity_with_pytorch(kind, rng):
    """An extra check against torch's pooling in float64 (ties included)."""
    torch = pytest.importorskip("torch")
    fn = {"max": torch.nn.functional.max_pool2d, "avg": torch.nn.functional.avg_pool2d}[kind]
    cls, _ = LAYERS[kind]
    for k, s, p, H, W in CASES:
        x = rng.normal(size=(2, 3, H, W))
        x[0, 0] = 0.0  # ties everywhere in one image
        x[1, 1, ::2] = 1.0
        xt = torch.tensor(x, requires_grad=True)
        out = fn(xt, k, s, p)
        layer = cls(k, s, p)
        for plain in (False, True):
            with plain_if(plain):
                a, cache = layer.forward(x)
                da = np.arange(a.size, dtype=np.float64).reshape(a.shape) % 7 - 3
                dx, _ = layer.backward(da, cache)
            np.testing.assert_allclose(a, out.detach().numpy(), rtol=1e-12, atol=1e-15)
            xt.grad = None
            out.backward(torch.tensor(da), retain_graph=True)
            np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12, atol=1e-15)
