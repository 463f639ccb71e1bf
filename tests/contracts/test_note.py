"""The founding note's own 2-layer network, ported to Python 3 with its column-vector shapes,
against the library: same loss and gradients to 1e-10.

The note (../shared/seed/000_c36dab2851098fd4.txt) writes ``z1 = W1 x + b1`` with ``x`` a column;
the library keeps one row per sample, ``z = a_prev @ W + b`` with ``W`` of shape (n_in, n_out),
so ``W_library = W_note.T`` and ``b_library = b_note[:, 0]``.
"""

from copy import copy

import numpy as np
import pytest

import backprop as bp


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def fprop(x, y, params):
    # Follows procedure given in notes
    W1, b1, W2, b2 = [params[key] for key in ("W1", "b1", "W2", "b2")]
    z1 = np.dot(W1, x) + b1
    a1 = sigmoid(z1)
    z2 = np.dot(W2, a1) + b2
    a2 = sigmoid(z2)
    loss = -(y * np.log(a2) + (1 - y) * np.log(1 - a2))
    ret = {"x": x, "y": y, "z1": z1, "a1": a1, "z2": z2, "a2": a2, "loss": loss}
    for key in params:
        ret[key] = params[key]
    return ret


def bprop(fprop_cache):
    # Follows procedure given in notes
    x, y, z1, a1, z2, a2, loss = [
        fprop_cache[key] for key in ("x", "y", "z1", "a1", "z2", "a2", "loss")
    ]
    dz2 = a2 - y
    dW2 = np.dot(dz2, a1.T)
    db2 = dz2
    dz1 = np.dot(fprop_cache["W2"].T, dz2)
    dz1 = dz1 * sigmoid(z1) * (1 - sigmoid(z1))
    dW1 = np.dot(dz1, x.T)
    db1 = dz1
    return {"b1": db1, "W1": dW1, "b2": db2, "W2": dW2}


def note_numeric_gradients(x, y, params, eps=1e-6):
    # the note's gradient-checking loop (xrange -> range)
    ng_cache = {}
    for key in params:
        param = params[key]
        ng = np.zeros(param.shape)
        for j in range(ng.shape[0]):
            for k in range(ng.shape[1]):
                add_eps = np.copy(param)
                min_eps = np.copy(param)
                add_eps[j, k] += eps
                min_eps[j, k] -= eps
                add_params = copy(params)
                min_params = copy(params)
                add_params[key] = add_eps
                min_params[key] = min_eps
                fprop_new = fprop(x, y, add_params)["loss"]
                fprop_min = fprop(x, y, min_params)["loss"]
                ng[j, k] = ((fprop_new - fprop_min) / (2 * eps)).item()
        ng_cache[key] = ng
    return ng_cache


def library_network(params):
    hidden = bp.Dense(2, 2, "sigmoid", dtype=np.float64)
    out = bp.Dense(2, 1, "sigmoid", dtype=np.float64)
    hidden.params["W"][:] = params["W1"].T
    hidden.params["b"][:] = params["b1"][:, 0]
    out.params["W"][:] = params["W2"].T
    out.params["b"][:] = params["b2"][:, 0]
    return bp.Network([hidden, out], loss="binary_crossentropy")


@pytest.mark.parametrize("seed", range(5))
def test_note_network_matches_library(seed):
    rs = np.random.default_rng(seed)
    # Initialize random parameters and inputs, as the note does
    params = {
        "W1": rs.random((2, 2)),
        "b1": rs.random((2, 1)),
        "W2": rs.random((1, 2)),
        "b2": rs.random((1, 1)),
    }
    x = rs.random((2, 1))
    y = int(rs.integers(0, 2))

    cache = fprop(x, y, params)
    note_grads = bprop(cache)

    net = library_network(params)
    J, grads = net.loss_and_grads(x.T, np.array([y]))  # one sample = one row
    assert J == pytest.approx(cache["loss"].item(), abs=1e-10)
    np.testing.assert_allclose(grads[0]["W"], note_grads["W1"].T, rtol=0, atol=1e-10)
    np.testing.assert_allclose(grads[0]["b"], note_grads["b1"][:, 0], rtol=0, atol=1e-10)
    np.testing.assert_allclose(grads[1]["W"], note_grads["W2"].T, rtol=0, atol=1e-10)
    np.testing.assert_allclose(grads[1]["b"], note_grads["b2"][:, 0], rtol=0, atol=1e-10)

    # the note's forward caches, layer by layer
    out, caches = net.forward(x.T)
    np.testing.assert_allclose(caches[0][1], cache["z1"].T, atol=1e-12)
    np.testing.assert_allclose(caches[0][2], cache["a1"].T, atol=1e-12)
    np.testing.assert_allclose(out, cache["a2"].T, atol=1e-12)

    # and the note's own numeric check agrees with both, as does the library's
    numeric = note_numeric_gradients(x, y, params)
    for key in ("W1", "W2", "b1", "b2"):
        np.testing.assert_allclose(numeric[key], note_grads[key], rtol=1e-5, atol=1e-9)
    report = bp.gradient_check(net, x.T, np.array([y]))
    assert report.passed and report.max_relative_error < 1e-7, str(report)


def test_note_da_formula_through_layer_backward():
    # Start backprop the note's way: da2 = -y/a + (1-y)/(1-a), then the layers' backward.
    rs = np.random.default_rng(7)
    params = {"W1": rs.random((2, 2)), "b1": rs.random((2, 1)),
              "W2": rs.random((1, 2)), "b2": rs.random((1, 1))}
    x, y = rs.random((2, 1)), 1
    note_grads = bprop(fprop(x, y, params))
    net = library_network(params)
    hidden, out = net.layers
    a1, c1 = hidden.forward(x.T)
    a2, c2 = out.forward(a1)
    da2 = bp.BinaryCrossEntropy().gradient(a2, np.array([[y]], dtype=float))
    da1, g2 = out.backward(da2, c2)
    _, g1 = hidden.backward(da1, c1)
    np.testing.assert_allclose(g2["W"], note_grads["W2"].T, atol=1e-10)
    np.testing.assert_allclose(g1["W"], note_grads["W1"].T, atol=1e-10)
    np.testing.assert_allclose(g1["b"], note_grads["b1"][:, 0], atol=1e-10)
