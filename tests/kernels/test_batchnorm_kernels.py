"""Batch normalisation's kernels against the NumPy expressions they stand in for, on (m, C, S)
arrays with S = 1 (rows) and S > 1 (images): the statistics and the backward sums to float64
rounding (another summation order), the element-wise maps bit for bit."""

import numpy as np
import pytest

from backprop import _kernels

pytestmark = pytest.mark.skipif(not _kernels.available(), reason="numba is not installed")

SHAPES = [(11, 4, 1), (5, 3, 1), (6, 3, 29), (2, 5, 64)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_statistics(shape, dtype, rng):
    x = rng.normal(loc=100.0, scale=0.5, size=shape).astype(dtype)  # mean >> std
    mean, var = np.empty(shape[1]), np.empty(shape[1])
    _kernels.get("batchnorm_stats")(x, mean, var)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(mean, x64.mean(axis=(0, 2)), rtol=1e-14)
    np.testing.assert_allclose(var, x64.var(axis=(0, 2)), rtol=1e-11)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_affine_map_and_backward(shape, dtype, rng):
    C = shape[1]
    x, dy = (rng.normal(size=shape).astype(dtype) for _ in range(2))
    mean, inv_std, gamma, beta, coef = (rng.normal(size=C).astype(dtype) for _ in range(5))
    b, g = (c[None, :, None] for c in (mean, inv_std))
    xhat = (x - b) * g
    y = np.empty_like(x)
    _kernels.get("batchnorm_affine")(x, mean, inv_std, gamma, beta, y)
    np.testing.assert_array_equal(y, xhat * gamma[None, :, None] + beta[None, :, None])

    dbeta, dgamma = np.empty(C), np.empty(C)
    _kernels.get("batchnorm_backward_sums")(dy, x, mean, inv_std, dbeta, dgamma)
    np.testing.assert_allclose(dbeta, dy.sum(axis=(0, 2), dtype=np.float64), rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(dgamma, (dy * xhat).sum(axis=(0, 2), dtype=np.float64),
                               rtol=1e-12, atol=1e-12)

    sb, sg = dbeta.astype(dtype), dgamma.astype(dtype)
    n = dtype(x.size // C)
    expected = coef[None, :, None] * (n * dy - sb[None, :, None] - xhat * sg[None, :, None])
    dx = np.empty_like(x)
    _kernels.get("batchnorm_backward_dx")(dy, x, mean, inv_std, coef, sb, sg, n, dx)
    np.testing.assert_array_equal(dx, expected)
    _kernels.get("batchnorm_backward_dx")(dy, x, mean, inv_std, coef, sb, sg, n, dy)  # in place
    np.testing.assert_array_equal(dy, expected)
