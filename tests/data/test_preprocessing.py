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


def test_standardizer_keeps_float32_and_rounds_the_float64_result_once(rng, monkeypatch):
    import backprop.data.preprocessing as preprocessing

    X = (rng.normal(1000.0, 3.0, size=(500, 6)) * [1, 10, 1e-3, 1, 1, 1]).astype(np.float32)
    X[:, 4] = 7.0  # a constant column
    X64 = X.astype(np.float64)
    mean, std = X64.mean(axis=0), X64.std(axis=0)
    reference = (X64 - mean) / feature_scale(mean, std)
    one_block = Standardizer().fit(X)
    np.testing.assert_array_equal(one_block.mean_, mean)  # NumPy's own float64 statistics
    np.testing.assert_array_equal(one_block.scale_, feature_scale(mean, std))
    monkeypatch.setattr(preprocessing, "BLOCK_BYTES", 8 * 6 * 7)  # blocks of 7 rows
    s = Standardizer().fit(X)
    assert s.mean_.dtype == np.float64
    np.testing.assert_allclose(s.mean_, mean, rtol=1e-14)
    np.testing.assert_allclose(s.scale_, feature_scale(mean, std), rtol=1e-12)
    out = s.transform(X)
    assert out.dtype == np.float32
    # the float64 computation, rounded once to float32 (no float32 arithmetic on the way)
    np.testing.assert_array_equal(out, ((X64 - s.mean_) / s.scale_).astype(np.float32))
    np.testing.assert_allclose(out, reference, atol=1e-6)
    same = X.copy()
    assert s.transform(same, out=same) is same  # in place
    np.testing.assert_array_equal(same, out)
    back = s.inverse_transform(out)
    assert back.dtype == np.float32
    np.testing.assert_allclose(back, X, rtol=1e-6)
    assert s.transform(X64).dtype == np.float64  # float64 stays float64
    assert s.transform(X.astype(np.int64)).dtype == np.float64
    with pytest.raises(ValueError, match=r"out must have the shape of X \(500, 6\), got \(2, 6\)"):
        s.transform(X, out=np.empty((2, 6), np.float32))
