"""Layers: shapes, the forward/backward pair, initialisation, dropout, validation."""

import numpy as np
import pytest

import backprop as bp
from backprop.nn.layers import INITIALIZERS


def test_dense_forward_backward_shapes_and_math(rng):
    layer = bp.Dense(4, 3, activation="tanh", dtype=np.float64, seed=0)
    assert layer.params["W"].shape == (4, 3) and layer.params["b"].shape == (3,)
    layer.params["b"][:] = rng.normal(size=3)
    X = rng.normal(size=(5, 4))
    a, cache = layer.forward(X)
    z = X @ layer.params["W"] + layer.params["b"]
    np.testing.assert_allclose(a, np.tanh(z))
    np.testing.assert_allclose(cache[1], z)
    da = rng.normal(size=(5, 3))
    da_prev, grads = layer.backward(da, cache)
    dz = da * (1 - np.tanh(z) ** 2)
    np.testing.assert_allclose(grads["W"], X.T @ dz)
    np.testing.assert_allclose(grads["b"], dz.sum(axis=0))
    np.testing.assert_allclose(da_prev, dz @ layer.params["W"].T)
    assert set(grads) == set(layer.params)
    for k in grads:
        assert grads[k].shape == layer.params[k].shape


def test_dense_default_init_follows_activation():
    assert bp.Dense(10, 5, "relu", seed=0).init == "he_normal"
    assert bp.Dense(10, 5, "leaky_relu", seed=0).init == "he_normal"
    for act in ("sigmoid", "tanh", "linear", "softmax"):
        assert bp.Dense(10, 5, act, seed=0).init == "glorot_uniform"
    assert bp.Dense(10, 5, "relu", init="xavier", seed=0).init == "glorot_uniform"


@pytest.mark.parametrize("init", sorted(INITIALIZERS))
def test_initialisers_have_the_documented_scale(init):
    n_in, n_out = 400, 300
    W = bp.Dense(n_in, n_out, "linear", init=init, dtype=np.float64, seed=1).params["W"]
    var = {
        "glorot_uniform": 2.0 / (n_in + n_out),
        "glorot_normal": 2.0 / (n_in + n_out),
        "he_uniform": 2.0 / n_in,
        "he_normal": 2.0 / n_in,
    }[init]
    assert abs(W.var() / var - 1) < 0.05
    if init == "glorot_uniform":
        assert np.abs(W).max() <= np.sqrt(6.0 / (n_in + n_out))


def test_seed_and_dtype():
    a = bp.Dense(6, 4, seed=3).params["W"]
    b = bp.Dense(6, 4, seed=3).params["W"]
    c = bp.Dense(6, 4, seed=4).params["W"]
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert bp.Dense(6, 4, dtype=np.float64, seed=3).params["W"].dtype == np.float64
    # a Generator is accepted as seed
    g = np.random.default_rng(3)
    assert bp.Dense(6, 4, seed=g).params["W"].shape == (6, 4)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_in": 0, "n_out": 3}, "n_in must be a positive integer"),
        ({"n_in": 3, "n_out": 2.5}, "n_out must be a positive integer"),
        ({"n_in": 3, "n_out": 2, "init": "zeros"}, "unknown init 'zeros'"),
        ({"n_in": 3, "n_out": 2, "dtype": np.int32}, "dtype must be float32 or float64"),
        ({"n_in": 3, "n_out": 2, "seed": "abc"}, "seed must be"),
    ],
)
def test_dense_rejects_bad_arguments(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        bp.Dense(**kwargs)


def test_dropout_inverted_scaling_and_identity(rng):
    layer = bp.Dropout(0.4, seed=0)
    assert layer.params == {}
    X = np.ones((2000, 50), dtype=np.float32)
    a, cache = layer.forward(X, training=True)
    assert a.dtype == np.float32
    kept = a != 0
    assert abs(kept.mean() - 0.6) < 0.01
    np.testing.assert_allclose(a[kept], 1 / 0.6, rtol=1e-6)
    da = rng.normal(size=X.shape).astype(np.float32)
    da_prev, grads = layer.backward(da, cache)
    assert grads == {}
    np.testing.assert_array_equal(da_prev, da * cache.mask)
    # prediction mode: the identity, no mask drawn
    out, cache = layer.forward(X, training=False)
    assert out is X and cache is None
    assert layer.backward(da, None)[0] is da


def test_dropout_is_reproducible_and_validated():
    X = np.ones((10, 10))
    m1 = bp.Dropout(0.5, seed=7).forward(X, training=True)[1]
    m2 = bp.Dropout(0.5, seed=7).forward(X, training=True)[1]
    np.testing.assert_array_equal(m1, m2)
    for bad in (-0.1, 1.0, 1.5, "0.5"):
        with pytest.raises(ValueError, match="dropout rate must be in"):
            bp.Dropout(bad)


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


def test_standardize_from_a_fitted_scaler():
    from sklearn.preprocessing import StandardScaler

    X = np.random.default_rng(0).normal(3.0, 2.0, size=(50, 3))
    for scaler in (bp.Standardizer().fit(X), StandardScaler().fit(X)):
        layer = bp.Standardize.from_standardizer(scaler)
        np.testing.assert_allclose(layer.forward(X)[0], scaler.transform(X), atol=1e-12)
        back = bp.Standardize.from_standardizer(scaler, inverse=True)
        np.testing.assert_allclose(back.forward(layer.forward(X)[0])[0], X, atol=1e-12)
    with pytest.raises(ValueError, match="StandardScaler is not fitted"):
        bp.Standardize.from_standardizer(StandardScaler())
