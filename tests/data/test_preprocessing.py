"""Preprocessing: the Standardizer's statistics, the constant-feature rule, and the Standardize
layer a caller builds from them."""

import numpy as np
import pytest

import backprop as bp
from backprop.data import Standardizer, feature_scale


def test_standardizer_layer_applies_the_fitted_transform(rng):
    X = rng.normal(50, 7, size=(30, 4))
    scaler = bp.Standardizer().fit(X)
    layer = bp.Standardize(scaler.mean_, scaler.scale_)
    out, _ = layer.forward(X)
    np.testing.assert_allclose(out, scaler.transform(X), rtol=1e-14)
    back, grads = layer.backward(np.ones_like(X), None)
    np.testing.assert_allclose(back, np.ones_like(X) / scaler.scale_)
    assert grads == {} and layer.params == {}
    inv = bp.Standardize(scaler.mean_, scaler.scale_, inverse=True)
    np.testing.assert_allclose(inv.forward(out)[0], X, rtol=1e-12)
    out32, _ = layer.forward(X.astype(np.float32))
    assert out32.dtype == np.float32


def test_constant_features_get_scale_one_and_map_to_zero():
    X = np.array([[1e6, 0.0, 1.0], [1e6, 0.0, 3.0], [1e6, 0.0, 5.0]])
    X[1, 0] += 1e-7  # rounding-sized spread on a large constant
    s = Standardizer().fit(X)
    np.testing.assert_array_equal(s.scale_[:2], [1.0, 1.0])
    np.testing.assert_allclose(s.scale_[2], np.std([1.0, 3.0, 5.0]))
    out = s.transform(X)
    assert np.isfinite(out).all() and np.abs(out[:, :2]).max() < 1e-6
    np.testing.assert_allclose(s.inverse_transform(out), X)
    np.testing.assert_array_equal(feature_scale([0.0, 5.0, 2.0], [0.0, 1e-13, 0.5]),
                                  [1.0, 1.0, 0.5])


def test_unfitted_standardizer_refuses_to_transform():
    with pytest.raises(ValueError, match="Standardizer is not fitted; call fit first"):
        Standardizer().transform(np.ones((2, 2)))
