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


def test_standardize_validates_its_statistics():
    with pytest.raises(ValueError, match="scale must be positive; entry 1 is 0.0"):
        bp.Standardize([0.0, 1.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="mean must be finite; entry 0 is nan"):
        bp.Standardize([np.nan], [1.0])
    with pytest.raises(ValueError, match=r"scale must have the shape of mean \(2,\)"):
        bp.Standardize([0.0, 1.0], [1.0])
    with pytest.raises(ValueError, match=r"expects input of shape \(m, 2\), got \(3, 1\)"):
        bp.Standardize([0.0, 1.0], [1.0, 1.0]).forward(np.ones((3, 1)))


def test_gradients_flow_through_standardize_layers(rng):
    X = rng.normal(10, 3, size=(12, 3))
    net = bp.Network([bp.Standardize(X.mean(0), X.std(0)),
                      bp.Dense(3, 4, "tanh", dtype=np.float64, seed=0),
                      bp.Dense(4, 1, "linear", dtype=np.float64, seed=1),
                      bp.Standardize([100.0], [20.0], inverse=True)], loss="mse")
    report = bp.gradient_check(net, X, rng.normal(100, 20, size=12))
    assert report.passed and report.max_relative_error < 1e-7
    assert [r.param for r in report.rows] == ["W", "b", "W", "b", "X"]
    chain = (r"layer sizes do not chain: layers\[0\] \(Standardize\) returns \(2,\) but "
             r"layers\[1\] \(Dense\) expects \(3,\)")
    with pytest.raises(ValueError, match=chain):
        bp.Network([bp.Standardize([0, 0], [1, 1]), bp.Dense(3, 1, "linear")], loss="mse")
