"""A dense layer's kernels against the NumPy activations they stand in for: the forward
kernel (bias + activation, softmax) and the backward one (derivative + bias gradient), for
every activation with kernels; leaky ReLU's slope comes from the caller."""

import numpy as np
import pytest

from backprop import _kernels
from backprop.nn.activations import ACTIVATIONS, LEAKY_RELU_SLOPE

pytestmark = pytest.mark.skipif(not _kernels.available(), reason="numba is not installed")

WITH_KERNELS = ["relu", "leaky_relu", "linear", "tanh", "sigmoid", "softmax"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", WITH_KERNELS)
def test_activation_kernels_equal_the_numpy_activation(name, dtype, rng):
    act = ACTIVATIONS[name]
    kernels = _kernels.activation_kernels(name, dtype, False, LEAKY_RELU_SLOPE)
    xw = rng.normal(size=(9, 6)).astype(dtype) * 3
    b = rng.normal(size=6).astype(dtype)
    z_ref = xw + b
    a_ref = act.value(z_ref)
    if kernels.forward is not None:
        z, a = xw.copy(), np.empty_like(xw)
        assert kernels.forward(z, b, a) is True
        np.testing.assert_array_equal(z, z_ref)
        if name == "softmax":  # exp in numba's libm: the same to rounding
            np.testing.assert_allclose(a, a_ref, rtol=1e-6 if dtype == np.float32 else 1e-14)
        else:  # one rounding per element, as NumPy: bit for bit
            np.testing.assert_array_equal(a, a_ref)
        bad = xw.copy()
        bad[2, 3] = np.nan
        assert kernels.forward(bad, b, np.empty_like(xw)) is False
    if kernels.backward is not None:
        da = rng.normal(size=xw.shape).astype(dtype)
        dz, db = da.copy(), np.empty_like(b)
        kernels.backward(dz, z_ref, a_ref, db)
        dz_ref = act.backward(da, z_ref, a_ref)
        np.testing.assert_allclose(dz, dz_ref, rtol=1e-6 if dtype == np.float32 else 1e-15)
        np.testing.assert_allclose(db, dz_ref.sum(axis=0),
                                   rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_exact_leaves_out_the_forward_kernels_that_round_differently():
    assert _kernels.activation_kernels("softmax", np.float32, True, LEAKY_RELU_SLOPE).forward \
        is None
    assert _kernels.activation_kernels("relu", np.float32, True, LEAKY_RELU_SLOPE).forward \
        is not None
    assert _kernels.activation_kernels("elu", np.float32, False, LEAKY_RELU_SLOPE) is None


def test_leaky_relu_slope_is_the_callers():
    kernels = _kernels.activation_kernels("leaky_relu", np.float64, False, 0.25)
    z, b = np.array([[-2.0, 3.0]]), np.zeros(2)
    a = np.empty_like(z)
    kernels.forward(z, b, a)
    np.testing.assert_array_equal(a, [[-0.5, 3.0]])
    dz, db = np.ones_like(z), np.empty(2)
    kernels.backward(dz, z, a, db)
    np.testing.assert_array_equal(dz, [[0.25, 1.0]])
