"""The kernels' shared numerics and their registry: finiteness checks (kernel and NumPy
fallback agree), flat-array tests, dtype scalars and limits; every registered kernel compiles
and ``disabled`` switches them all off."""

import contextlib

import numpy as np
import pytest

from backprop import _kernels

pytestmark = pytest.mark.skipif(not _kernels.available(), reason="numba is not installed")

DTYPES = [np.float32, np.float64]


def test_every_registered_kernel_is_compiled_and_disabled_turns_them_off():
    names = {"adam", "sgd", "rmsprop", "add_scaled", "sum_squares", "all_finite",
             "bias_activation", "activation_backward", "softmax_forward", "softmax_xent",
             "argmax_hits", "batchnorm_stats", "batchnorm_affine", "batchnorm_backward_sums",
             "batchnorm_backward_dx", "im2col", "col2im", "max_pool_forward",
             "max_pool_backward", "avg_pool_forward", "avg_pool_backward",
             "image_bias_activation", "image_activation_backward", "standardize",
             "unstandardize"}
    assert set(_kernels.KERNELS) == names
    for name in names:
        assert _kernels.get(name) is not None, name
    with _kernels.disabled():
        assert not _kernels.enabled() and not _kernels.available()
        assert all(_kernels.get(name) is None for name in names)
        assert _kernels.activation_kernels("relu", np.float32, False, 0.01) is None
        assert _kernels.image_activation_kernels("relu", np.float32, 0.01) is None
    assert _kernels.enabled()


def test_a_kernel_name_is_registered_once():
    with pytest.raises(ValueError, match="'adam' is already registered"):
        _kernels.register("adam")(lambda: None)


@pytest.mark.parametrize("kernels", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
def test_all_finite_and_first_nonfinite(dtype, kernels, rng):
    x = rng.normal(size=(7, 5)).astype(dtype)
    with _kernels.disabled() if not kernels else contextlib.nullcontext():
        assert _kernels.all_finite(x) and _kernels.first_nonfinite(x) is None
        assert _kernels.all_finite(x.T)  # not C-contiguous: the NumPy path
        for bad, at in [(np.nan, (6, 4)), (np.inf, (3, 0)), (-np.inf, (0, 2))]:
            y = x.copy()
            y[at] = bad
            y[6, 4] = bad if at != (6, 4) else y[6, 4]  # a later one too: the first is named
            assert not _kernels.all_finite(y) and not _kernels.all_finite(y.T)
            assert _kernels.first_nonfinite(y) == at
        big = np.full(4, np.finfo(dtype).max, dtype=dtype)  # finite, its sum overflows
        assert _kernels.all_finite(big) and _kernels.first_nonfinite(big) is None
    assert _kernels.first_nonfinite(np.arange(5)) is None  # integers are always finite


def test_flat_scalars_and_limits():
    a = np.zeros((3, 4), np.float32)
    assert _kernels.flat(a, np.ones((2, 6), np.float32))
    assert not _kernels.flat(a, np.zeros((3, 4)))  # two dtypes
    assert not _kernels.flat(a.T)  # not C-contiguous
    assert not _kernels.flat(np.zeros(3, np.float16))  # a dtype without kernels
    assert not _kernels.flat(np.zeros(3, np.int64))
    zero, one = _kernels.scalars(np.float32, 0, 1)
    assert type(zero) is np.float32 and one == 1
    tiny = np.finfo(np.float32).tiny
    assert _kernels.smallest_normal(np.dtype(np.float32)) == tiny
    assert _kernels.square_floor(np.dtype(np.float32), 1e-3) == pytest.approx(
        np.sqrt(tiny / 1e-3))
    c = _kernels.constants(np.float32, 0.5, 2)
    assert c.dtype == np.float32 and c.tolist() == [0.5, 2.0]


def test_the_numpy_twins_of_the_subnormal_flush():
    tiny = np.finfo(np.float32).tiny
    x = np.array([tiny / 4, -tiny / 2, tiny, -1.0, 0.0], np.float32)
    _kernels.flush_subnormals(x)
    np.testing.assert_array_equal(x, [0, 0, tiny, -1, 0])
    g = np.array([1e-20, -1e-17, 1e-3], np.float32)
    np.testing.assert_array_equal(_kernels.moment_square(g, 1e-3), [0, g[1] * g[1], g[2] * g[2]])



@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("inverse", [False, True])
def test_standardize_kernels_give_numpys_numbers_bit_for_bit(dtype, inverse):
    import backprop as bp
    from backprop import _kernels

    rng = np.random.default_rng(0)
    X = (rng.normal(size=(300, 17)) * 100).astype(dtype)
    layer = bp.Standardize(rng.normal(size=17) * 5, rng.random(17) + 0.1, inverse=inverse)
    fast, _ = layer.forward(X)
    with _kernels.disabled():
        plain, _ = layer.forward(X)
    assert fast.dtype == plain.dtype == dtype
    np.testing.assert_array_equal(fast, plain)
