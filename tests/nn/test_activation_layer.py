"""Activation as a layer of its own: the registry's functions applied to any shape, and as the
network's output layer with the fused cross-entropy gradient, the same numbers as a Dense
layer that carries the activation itself.  Also the activation record's new name."""

import numpy as np
import pytest

import backprop as bp
from backprop.nn.activations import ACTIVATIONS, ActivationFunction, get_activation


def test_the_record_is_activation_function_and_the_layer_is_activation():
    assert bp.ActivationFunction is ActivationFunction
    assert isinstance(get_activation("relu"), bp.ActivationFunction)
    assert all(isinstance(f, bp.ActivationFunction) for f in bp.ACTIVATIONS.values())
    assert issubclass(bp.Activation, bp.Layer) and "Activation" in bp.LAYERS
    layer = bp.Activation("relu")
    assert layer.params == {} and layer.activation is ACTIVATIONS["relu"]
    assert layer.decayed == () and layer.n_parameters() == 0 and layer.dtype is None
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        bp.Activation("swish")


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("shape", [(5, 4), (3, 2, 4, 3)])
def test_forward_and_backward_are_the_activation_function(name, shape, rng):
    f = ACTIVATIONS[name]
    layer = bp.Activation(name)
    z = rng.normal(size=shape)
    a, cache = layer.forward(z, training=True)
    np.testing.assert_array_equal(a, f.value(z))
    assert cache.z is z and cache.a is a  # what backward needs, not copies
    assert layer.preactivation(cache) is z
    da = rng.normal(size=shape)
    dz, grads = layer.backward(da, cache)
    assert grads == {}
    np.testing.assert_array_equal(dz, f.backward(da, z, a))
    # against central differences of J = sum(da * f(z)), element by element
    eps = 1e-6
    numeric = np.zeros_like(z)
    for idx in np.ndindex(shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += eps
        zm[idx] -= eps
        numeric[idx] = (np.sum(da * f.value(zp)) - np.sum(da * f.value(zm))) / (2 * eps)
    np.testing.assert_allclose(dz, numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(("name", "loss", "n_out", "targets"), [
    ("sigmoid", "binary_crossentropy", 1, "binary"),
    ("sigmoid", "binary_crossentropy", 3, "binary"),
    ("softmax", "categorical_crossentropy", 4, "labels"),
    ("linear", "mse", 2, "real"),
])
def test_a_final_activation_layer_equals_a_dense_output_with_that_activation(
        name, loss, n_out, targets, rng):
    """Dense(linear) + Activation(f) and Dense(f): the same cost, gradients and predictions;
    for sigmoid and softmax the network uses the fused dz = (a - y) / m from the cached z."""
    X = rng.normal(size=(9, 3))
    if targets == "binary":
        y = rng.integers(0, 2, size=(9, n_out)).astype(float)
    elif targets == "labels":
        y = rng.integers(0, n_out, size=9)
    else:
        y = rng.normal(size=(9, n_out))
    hidden = dict(n_in=3, n_out=5, activation="tanh", dtype=np.float64, seed=0)
    split = bp.Network([bp.Dense(**hidden), bp.Dense(5, n_out, "linear", dtype=np.float64,
                                                     seed=1), bp.Activation(name)], loss)
    joined = bp.Network([bp.Dense(**hidden), bp.Dense(5, n_out, name, dtype=np.float64,
                                                      seed=1)], loss)
    assert split.fused == joined.fused == (name != "linear")
    J_split, g_split = split.loss_and_grads(X, y)
    J_joined, g_joined = joined.loss_and_grads(X, y)
    assert J_split == pytest.approx(J_joined, rel=1e-14)
    assert g_split[2] == {}
    for a, b in zip(g_split[:2], g_joined):
        for key in a:
            np.testing.assert_allclose(a[key], b[key], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(split.predict(X), joined.predict(X), rtol=1e-14)
    assert bp.gradient_check(split, X, y).passed
    # the cost of a huge logit stays finite: it is computed from z, not from a = f(z)
    if name in ("sigmoid", "softmax"):
        split.layers[1].params["b"][:] = 800.0 * (1 if name == "sigmoid" else np.eye(n_out)[0])
        J, _ = split.loss_and_grads(X, y)
        assert np.isfinite(J) and J > 1.0


def test_a_final_activation_that_is_not_the_losses_partner_is_refused():
    layers = [bp.Dense(3, 2, "linear", seed=0), bp.Activation("relu")]
    with pytest.raises(ValueError, match="loss 'categorical_crossentropy' needs a final layer with "
                                         "'softmax' activation, got 'relu'"):
        bp.Network(layers, "categorical_crossentropy")


def test_an_activation_layer_trains_and_round_trips_through_a_model_file(tmp_path, rng):
    X = rng.normal(size=(120, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    net = bp.Network([bp.Dense(2, 16, "linear", seed=0), bp.Activation("tanh"),
                      bp.Dense(16, 2, "linear", seed=1), bp.Activation("softmax")],
                     "categorical_crossentropy")
    history = net.fit(X, y, epochs=60, batch_size=16, optimizer=bp.Adam(lr=2e-2), seed=0,
                      verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert net.evaluate(X, y)["accuracy"] > 0.9
    net.save(tmp_path / "act.safetensors")
    loaded = bp.load(tmp_path / "act.safetensors")
    assert [type(la).__name__ for la in loaded.layers] == ["Dense", "Activation", "Dense",
                                                           "Activation"]
    assert loaded.layers[3].activation.name == "softmax"
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
