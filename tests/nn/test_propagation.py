"""Propagation's edge cases: a Dense subclass's ``backward`` at the first layer, arrays kept by
a layer without a workspace path, the unused ``dJ/dX`` behind a leading Standardize/Dropout,
and checks that raise before modifying anything (``set_weights``, ``Optimizer.step``)."""

import contextlib
import re

import numpy as np
import pytest

import backprop as bp
from backprop import _kernels
from backprop.data.split import minibatches
from backprop.nn.workspace import Workspace
from helpers import DoubledGradDense


def two_layers(first_cls):
    return bp.Network([first_cls(3, 4, "tanh", dtype=np.float64, seed=0),
                       bp.Dense(4, 3, "softmax", dtype=np.float64, seed=1)],
                      "categorical_crossentropy")


@pytest.mark.parametrize("m", [1, 6])
def test_first_layer_subclass_backward_is_not_bypassed(m, rng):
    X, y = rng.normal(size=(m, 3)), rng.integers(0, 3, size=m)
    _, ref = two_layers(bp.Dense).loss_and_grads(X, y)
    net = two_layers(DoubledGradDense)
    _, plain = net.loss_and_grads(X, y)
    _, fast, _, _ = net.forward_backward(X, y, None, True, workspace=Workspace())
    for grads in (plain, fast):
        np.testing.assert_allclose(grads[0]["W"], 2 * ref[0]["W"], rtol=1e-12)
        np.testing.assert_allclose(grads[0]["b"], 2 * ref[0]["b"], rtol=1e-12)
        np.testing.assert_allclose(grads[1]["W"], ref[1]["W"], rtol=1e-12)


class KeepingDense(bp.Dense):
    """An output layer that keeps the dJ/da_prev it returns."""

    def backward(self, da, cache):
        da_prev, grads = super().backward(da, cache)
        self.kept, self.kept_copy = da_prev, da_prev.copy()
        return da_prev, grads


def test_array_kept_by_an_unbuffered_output_layer_is_not_overwritten(rng):
    net = bp.Network([bp.Dense(3, 4, "tanh", dtype=np.float64, seed=0),
                      KeepingDense(4, 2, "linear", dtype=np.float64, seed=1)], "mse")
    X, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    _, plain, _, _ = net.forward_backward(X, y, None, True)
    _, fast, _, _ = net.forward_backward(X, y, None, True, workspace=Workspace())
    np.testing.assert_array_equal(net.layers[1].kept, net.layers[1].kept_copy)
    np.testing.assert_allclose(fast[0]["W"], plain[0]["W"], rtol=1e-12)


class CountingStandardize(bp.Standardize):
    calls = 0

    def backward(self, da, cache):
        type(self).calls += 1
        return super().backward(da, cache)


@pytest.mark.parametrize("lead", ["standardize", "dropout"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_leading_layer_without_params_trains_like_the_plain_loop(lead, dtype, rng):
    """A network whose first layer is Standardize or an input Dropout: fit (workspace path,
    last batch smaller, a batch of one row) equals the plain public loop, with kernels off."""

    def build():
        first = (bp.Standardize([1.0, -2.0, 0.5, 0.0], [2.0, 0.5, 3.0, 1.0]) if lead ==
                 "standardize" else bp.Dropout(0.25, seed=3))
        return bp.Network([first, bp.Dense(4, 5, "relu", dtype=dtype, seed=0),
                           bp.Dropout(0.2, seed=4), bp.Dense(5, 3, "softmax", dtype=dtype, seed=1)],
                          "categorical_crossentropy")

    X = rng.normal(size=(21, 4)).astype(dtype)  # batches 10, 10, 1
    y = rng.integers(0, 3, size=21)
    w = rng.uniform(0.5, 1.5, size=21)
    fast, ref = build(), build()
    fast.fit(X, y, epochs=3, batch_size=10, optimizer=bp.Adam(lr=1e-2), seed=0, verbose=0,
             sample_weight=w)
    opt, order = bp.Adam(lr=1e-2), np.random.default_rng(0)
    with _kernels.disabled():
        for _ in range(3):
            for idx in minibatches(21, 10, order):
                _, grads = ref.loss_and_grads(X[idx], y[idx], sample_weight=w[idx])
                opt.step(ref.parameters(), [g for d in grads for g in d.values()])
    rtol = 1e-9 if dtype == np.float64 else 2e-4
    for a, b in zip(fast.parameters(), ref.parameters()):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * 1e-2)


def test_training_skips_the_unused_input_gradient_of_a_leading_standardize(rng):
    net = bp.Network([CountingStandardize([0.5, -1.0, 2.0], [1.5, 2.0, 0.5]),
                      bp.Dense(3, 4, "tanh", dtype=np.float64, seed=0),
                      bp.Dense(4, 1, "sigmoid", dtype=np.float64, seed=1)],
                     "binary_crossentropy")
    X, y = rng.normal(size=(8, 3)), rng.integers(0, 2, size=(8, 1)).astype(np.float64)
    CountingStandardize.calls = 0
    J, grads = net.loss_and_grads(X, y)
    _, _, _, dX = net.forward_backward(X, y, None, True, workspace=Workspace())
    assert CountingStandardize.calls == 0 and dX is None
    assert grads[0] == {} and grads[1]["W"].shape == (3, 4)
    report = bp.gradient_check(net, X, y)  # dJ/dX is still computed when asked for
    assert report.passed and CountingStandardize.calls == 1
    assert report.rows[-1].param == "X" and report.rows[-1].checked == X.size


def test_set_weights_leaves_the_network_unchanged_on_a_bad_entry():
    net = bp.mlp([2, 3, 1], seed=0)
    before = net.get_weights()
    new = [{k: v + 1 for k, v in d.items()} for d in before]
    new[1]["W"] = np.array([["a"], ["b"], ["c"]])
    with pytest.raises(ValueError, match="layer 1 W: expected numbers"):
        net.set_weights(new)
    for a, b in zip(net.get_weights(), before):
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])


@pytest.mark.parametrize(("sizes", "bad"), [([4, 2.5, 1], "sizes[1]"), ([4, 0.5, 1], "sizes[1]"),
                                            (["3", 2], "sizes[0]"), ([4, True], "sizes[1]")])
def test_mlp_rejects_a_width_that_is_not_a_positive_integer(sizes, bad):
    with pytest.raises(ValueError, match=re.escape(f"{bad} must be a positive integer")):
        bp.mlp(sizes)
    assert [la.n_out for la in bp.mlp([4, np.int64(3), 2]).layers] == [3, 2]


@pytest.mark.parametrize("kernels", [True, False])
@pytest.mark.parametrize("name", sorted(bp.OPTIMIZERS))
def test_optimizer_step_rejects_mismatched_arrays_before_changing_anything(name, kernels):
    opt = bp.get_optimizer(name, lr=0.1)
    W, b = np.ones((3, 2)), np.zeros(2)
    with _kernels.disabled() if not kernels else contextlib.nullcontext():
        # a gradient that would broadcast onto W
        with pytest.raises(ValueError, match=r"params\[0\] has shape \(3, 2\) but grads\[0\]"):
            opt.step([W, b], [np.ones(2), np.ones(2)])
        assert opt.state == {"step": 0, "slots": None}
        np.testing.assert_array_equal(W, 1.0)
        opt.step([W, b], [np.ones((3, 2)), np.ones(2)])
        W_after = W.copy()
        # the state belongs to two parameters: a third would be silently left out
        extra = np.ones(4)
        with pytest.raises(ValueError, match="state holds 2 parameters but 3"):
            opt.step([W, b, extra], [np.ones((3, 2)), np.ones(2), np.ones(4)])
        # or parameters of other shapes (a new network with the same number of arrays)
        if opt.slots:
            with pytest.raises(ValueError, match="optimizer's state for it has shape"):
                opt.step([np.ones((2, 3)), b], [np.ones((2, 3)), np.ones(2)])
        assert opt.state["step"] == 1
        np.testing.assert_array_equal(W, W_after)
        np.testing.assert_array_equal(extra, 1.0)

