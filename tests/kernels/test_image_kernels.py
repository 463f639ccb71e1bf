"""The image kernels on their own: bias + activation parallel over images equals the NumPy
activation, the parallel kernels' serial twins compute the same, and the registry hands out
the serial twin for small work."""

import numpy as np
import pytest

from backprop import _kernels
from backprop.nn.activations import ACTIVATIONS, LEAKY_RELU_SLOPE

pytestmark = pytest.mark.skipif(not _kernels.available(), reason="numba is not installed")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["relu", "leaky_relu", "linear", "tanh", "sigmoid"])
def test_image_activation_kernels_equal_the_numpy_activation(name, dtype, rng):
    kernels = _kernels.image_activation_kernels(name, dtype, LEAKY_RELU_SLOPE)
    act = ACTIVATIONS[name]
    z0 = rng.normal(size=(6, 35, 7)).astype(dtype)
    b = rng.normal(size=7).astype(dtype)
    z_ref = z0 + b
    a_ref = act.value(z_ref)
    if kernels.forward is None:
        assert name in ("tanh", "sigmoid")  # NumPy's SIMD exp/tanh are faster
    else:
        z, a = z0.copy(), np.empty_like(z0)
        kernels.forward(z, b, a)
        np.testing.assert_array_equal(z, z_ref)
        np.testing.assert_array_equal(a, a_ref)
    da = rng.normal(size=z0.shape).astype(dtype)
    dz_ref = act.backward(da, z_ref, a_ref)
    dz, db = da.copy(), np.empty(7, dtype=dtype)
    kernels.backward(dz, z_ref, a_ref, db)
    np.testing.assert_allclose(dz, dz_ref, rtol=1e-6 if dtype == np.float32 else 1e-15)
    np.testing.assert_allclose(db, dz_ref.sum(axis=(0, 1)), rtol=1e-5 if dtype == np.float32
                               else 1e-12, atol=1e-6)


def test_no_image_kernels_for_softmax_or_unknown_activations():
    assert _kernels.image_activation_kernels("softmax", np.float32, 0.01) is None
    assert _kernels.image_activation_kernels("elu", np.float32, 0.01) is None


def test_small_work_gets_the_serial_twin_with_the_same_results(rng):
    parallel = _kernels.get("im2col")
    serial = _kernels.get("im2col", work=10)
    assert serial is not parallel and _kernels.get("im2col", work=1 << 20) is parallel
    assert _kernels.get("adam", work=10) is _kernels.get("adam")  # not a parallel kernel
    x = rng.normal(size=(3, 5, 4, 2))
    out = [np.empty((3, 5, 4, 3, 3, 2)) for _ in range(2)]
    parallel(x, out[0], 3, 3, 1, 1, 1, 1, 0.0)
    serial(x, out[1], 3, 3, 1, 1, 1, 1, 0.0)
    np.testing.assert_array_equal(out[0], out[1])
    assert out[0][0, 0, 0, 0, 0].tolist() == [0.0, 0.0]  # the padding corner
    np.testing.assert_array_equal(out[0][:, 1, 1, 1, 1], x[:, 1, 1])  # a window's centre
