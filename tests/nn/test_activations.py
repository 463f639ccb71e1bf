"""Activations: values, derivatives against central differences, stability, softmax's Jacobian."""

import warnings

import numpy as np
import pytest

import backprop as bp
from backprop.nn.activations import ACTIVATIONS, get_activation, sigmoid, softplus

ELEMENTWISE = [name for name, act in ACTIVATIONS.items() if act.jvp is None]


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_backward_matches_central_differences(name, rng):
    act = ACTIVATIONS[name]
    z = rng.normal(size=(6, 5)) * 2
    z[np.abs(z) < 1e-3] += 0.01  # away from the ReLU kink
    da = rng.normal(size=z.shape)
    a = act.value(z)
    dz = act.backward(da, z, a)
    # numeric vector-Jacobian product: d/dz_ij of sum(da * f(z))
    eps = 1e-6
    num = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += eps
        zm[idx] -= eps
        num[idx] = (np.sum(da * act.value(zp)) - np.sum(da * act.value(zm))) / (2 * eps)
    np.testing.assert_allclose(dz, num, rtol=1e-6, atol=1e-8)


def test_known_values():
    z = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_allclose(ACTIVATIONS["relu"](z), [[0, 0, 3]])
    np.testing.assert_allclose(ACTIVATIONS["leaky_relu"](z), [[-0.02, 0, 3]])
    np.testing.assert_allclose(ACTIVATIONS["elu"](z), [[np.expm1(-2.0), 0, 3]])
    np.testing.assert_allclose(ACTIVATIONS["sigmoid"](z), 1 / (1 + np.exp(-z)))
    np.testing.assert_allclose(ACTIVATIONS["softplus"](z), np.log1p(np.exp(z)))
    np.testing.assert_allclose(ACTIVATIONS["tanh"](z), np.tanh(z))
    np.testing.assert_allclose(ACTIVATIONS["linear"](z), z)
    s = ACTIVATIONS["softmax"](z)
    np.testing.assert_allclose(s, np.exp(z) / np.exp(z).sum())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_softplus_stable_for_huge_inputs(dtype):
    z = np.array([[-1e4, -800.0, -50.0, 0.0, 50.0, 800.0, 1e4]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any overflow/invalid warning fails the test
        s = sigmoid(z)
        sp = softplus(z)
        soft = ACTIVATIONS["softmax"](z)
    assert s.dtype == dtype and sp.dtype == dtype
    np.testing.assert_array_equal(s[0, [0, -1]], [0.0, 1.0])
    assert s[0, 3] == 0.5
    assert np.all(np.isfinite(sp)) and sp[0, -1] == dtype(1e4) and sp[0, 0] == 0.0
    np.testing.assert_allclose(sp[0, 3], np.log(2), rtol=1e-6)
    assert np.all(np.isfinite(soft)) and soft[0, -1] == 1.0


def test_softmax_backward_is_full_jacobian_product(rng):
    z = rng.normal(size=(4, 5))
    da = rng.normal(size=z.shape)
    act = ACTIVATIONS["softmax"]
    a = act.value(z)
    dz = act.backward(da, z, a)
    for i in range(z.shape[0]):
        jac = np.diag(a[i]) - np.outer(a[i], a[i])
        np.testing.assert_allclose(dz[i], jac.T @ da[i], rtol=1e-12, atol=1e-15)
    # an element-wise guess a(1-a) would be different
    assert not np.allclose(dz, da * a * (1 - a))


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_activation_preserves_float32(name):
    z = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    act = ACTIVATIONS[name]
    a = act.value(z)
    assert a.dtype == np.float32
    assert act.backward(np.ones_like(z), z, a).dtype == np.float32


def test_unknown_activation_names_the_choices():
    with pytest.raises(ValueError, match=r"unknown activation 'swish'.*relu"):
        get_activation("swish")
    with pytest.raises(ValueError, match="unknown activation"):
        bp.Dense(3, 2, activation="Relu")
    with pytest.raises(TypeError, match="activation must be a name"):
        get_activation(3)
