"""Gradient checks of backprop against central differences, across the whole registry.

Every registered activation (as hidden layer), every output/loss pairing, Dropout, L2, sample
weights, batch sizes 1 and 7 and one to three hidden layers: max relative error <= 1e-7 in
float64.  Guard tests fail when a registered activation, loss or layer is missing here.
"""

import numpy as np
import pytest

import backprop as bp
from backprop.nn.activations import ACTIVATIONS
from backprop.nn.layers import LAYERS
from backprop.nn.losses import LOSSES

TOL = 1e-7
HIDDEN_ACTIVATIONS = sorted(ACTIVATIONS)
# (output activation, loss, output units, one-hot targets?)
OUTPUT_PAIRS = [
    ("sigmoid", "binary_crossentropy", 1, False),
    ("sigmoid", "binary_crossentropy", 3, False),  # multi-label
    ("softmax", "categorical_crossentropy", 4, False),
    ("softmax", "categorical_crossentropy", 4, True),
    # scikit-learn's losses: summed over the outputs
    ("sigmoid", "multilabel_crossentropy", 3, False),
    ("linear", "half_squared_error", 2, False),
    ("exp", "poisson", 2, False),
] + [(act, "mse", 2, False) for act in sorted(ACTIVATIONS)]


def batchnorm_net():
    """Dense - BatchNorm - ReLU - Dense, with gamma and beta away from 1 and 0."""
    bn = bp.BatchNorm(5, dtype=np.float64)
    bn.params["gamma"][:] = [1.5, 0.5, -0.8, 1.0, 2.0]
    bn.params["beta"][:] = [0.3, -0.2, 0.1, 0.6, -0.4]
    bn.buffers["running_mean"][:] = [0.2, -0.1, 0.3, 0.0, 0.5]
    bn.buffers["running_var"][:] = [1.2, 0.7, 2.0, 0.9, 1.5]
    return bp.Network(
        [bp.Dense(3, 5, "linear", dtype=np.float64, seed=1), bn, bp.Activation("relu"),
         bp.Dense(5, 1, "sigmoid", dtype=np.float64, seed=2)], "binary_crossentropy")


# layer type -> a network factory that puts that layer in the middle of a small net
LAYER_CASES = {
    # as hidden activations and as the output, fused with its cross-entropy
    "Activation": lambda: bp.Network(
        [bp.Dense(3, 5, "linear", dtype=np.float64, seed=1), bp.Activation("tanh"),
         bp.Dense(5, 1, "linear", dtype=np.float64, seed=2), bp.Activation("sigmoid")],
        "binary_crossentropy"),
    # in training mode: the batch statistics' paths are checked too
    "BatchNorm": batchnorm_net,
    "Dense": lambda: bp.Network(
        [bp.Dense(3, 5, "tanh", dtype=np.float64, seed=1),
         bp.Dense(5, 1, "sigmoid", dtype=np.float64, seed=2)], "binary_crossentropy"),
    "Dropout": lambda: bp.Network(
        [bp.Dense(3, 6, "tanh", dtype=np.float64, seed=1), bp.Dropout(0.5, seed=3),
         bp.Dense(6, 4, "elu", dtype=np.float64, seed=2), bp.Dropout(0.3, seed=4),
         bp.Dense(4, 1, "sigmoid", dtype=np.float64, seed=5)], "binary_crossentropy"),
    # a scaler in front and, for a regression target, an inverse one after the output
    "Standardize": lambda: bp.Network(
        [bp.Standardize([1.0, -2.0, 0.5], [2.0, 0.5, 3.0]),
         bp.Dense(3, 5, "softplus", dtype=np.float64, seed=1),
         bp.Dense(5, 1, "linear", dtype=np.float64, seed=2),
         bp.Standardize([10.0], [4.0], inverse=True)], "mse"),
    # images (m, 2, 5, 4): odd sizes, overlapping windows, padding
    "Conv2D": lambda: bp.Network(
        [bp.Conv2D(2, 3, 3, padding=1, activation="tanh", dtype=np.float64, seed=1),
         bp.Conv2D(3, 2, (2, 3), stride=(2, 1), dtype=np.float64, seed=2), bp.Flatten(),
         bp.Dense(2 * 2 * 2, 1, "sigmoid", dtype=np.float64, seed=3)],
        "binary_crossentropy", input_shape=(2, 5, 4)),
    "MaxPool2D": lambda: bp.Network(
        [bp.Conv2D(2, 3, 2, activation="elu", dtype=np.float64, seed=1),
         bp.MaxPool2D(2, stride=1), bp.Flatten(),
         bp.Dense(3 * 3 * 2, 1, "sigmoid", dtype=np.float64, seed=2)],
        "binary_crossentropy", input_shape=(2, 5, 4)),
    "AvgPool2D": lambda: bp.Network(
        [bp.AvgPool2D(2, stride=1, padding=1),
         bp.Conv2D(2, 2, 3, activation="softplus", dtype=np.float64, seed=1), bp.Flatten(),
         bp.Dense(2 * 4 * 3, 1, "linear", dtype=np.float64, seed=2)],
        "mse", input_shape=(2, 5, 4)),
    "Flatten": lambda: bp.Network(
        [bp.Flatten(), bp.Dense(40, 2, "softmax", dtype=np.float64, seed=1)],
        "categorical_crossentropy", input_shape=(2, 5, 4)),
}


def test_guard_every_activation_is_checked():
    assert set(HIDDEN_ACTIVATIONS) == set(ACTIVATIONS)
    assert {pair[0] for pair in OUTPUT_PAIRS} == set(ACTIVATIONS)


def test_guard_every_loss_is_checked():
    assert {pair[1] for pair in OUTPUT_PAIRS} == set(LOSSES)


def test_guard_every_layer_is_checked():
    assert set(LAYER_CASES) == set(LAYERS)


def make_data(rng, m, n_in, out_act, loss, n_out, onehot=False):
    X = rng.normal(size=(m, n_in))
    if loss in ("binary_crossentropy", "multilabel_crossentropy"):
        y = rng.integers(0, 2, size=(m, n_out)).astype(float)
    elif loss == "poisson":
        y = rng.poisson(2.0, size=(m, n_out)).astype(float)
    elif loss == "categorical_crossentropy":
        y = rng.integers(0, n_out, size=m)
        if onehot:
            y = np.eye(n_out)[y]
    else:
        y = rng.normal(size=(m, n_out))
        if out_act in ("sigmoid", "softmax"):
            y = rng.uniform(size=(m, n_out))
    return X, y


def build(hidden, act, out_act, loss, n_in, n_out, l2=0.0, seed=0, l2_per_sample=False):
    rng = np.random.default_rng(seed)
    sizes = [n_in, *hidden, n_out]
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        last = i == len(sizes) - 2
        layers.append(bp.Dense(a, b, out_act if last else act, dtype=np.float64, seed=rng))
        if not last:  # non-zero biases, so a wrong db cannot hide
            layers[-1].params["b"][:] = rng.normal(scale=0.1, size=b)
    return bp.Network(layers, loss=loss, l2=l2, l2_per_sample=l2_per_sample)


def assert_passes(report):
    assert report.passed, str(report)
    assert report.max_relative_error <= TOL, str(report)
    checked = sum(r.checked for r in report.rows)
    skipped = sum(r.skipped for r in report.rows)
    assert checked > 0 and skipped <= 0.1 * checked, str(report)


@pytest.mark.parametrize("batch", [1, 7])
@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("act", HIDDEN_ACTIVATIONS)
def test_hidden_activations(act, depth, batch):
    rng = np.random.default_rng(100 * depth + batch)
    net = build([5, 4, 3][:depth], act, "sigmoid", "binary_crossentropy", 3, 1, seed=depth)
    X, y = make_data(rng, batch, 3, "sigmoid", "binary_crossentropy", 1)
    if act == "exp":  # three exps in a row reach logits of 1e7 from unit inputs; stay moderate
        X *= 0.2
    assert_passes(bp.gradient_check(net, X, y))


@pytest.mark.parametrize("batch", [1, 7])
@pytest.mark.parametrize("out_act, loss, n_out, onehot", OUTPUT_PAIRS)
def test_output_loss_pairs(out_act, loss, n_out, onehot, batch):
    rng = np.random.default_rng(batch)
    net = build([5], "tanh", out_act, loss, 3, n_out, seed=7)
    X, y = make_data(rng, batch, 3, out_act, loss, n_out, onehot)
    assert_passes(bp.gradient_check(net, X, y))


@pytest.mark.parametrize("batch", [1, 7])
@pytest.mark.parametrize("kind", sorted(LAYER_CASES))
def test_layers(kind, batch):
    rng = np.random.default_rng(batch)
    net = LAYER_CASES[kind]()
    X = rng.normal(size=(batch, *net.input_shape))
    y = rng.integers(0, 2, size=batch) if net.loss.is_classifier else rng.normal(size=batch)
    if kind == "BatchNorm" and batch == 1:
        # one value per channel has no batch variance: only eval mode is defined
        with pytest.raises(ValueError, match="more than one value per channel"):
            bp.gradient_check(net, X, y)
        assert_passes(bp.gradient_check(net, X, y, training=False))
        return
    assert_passes(bp.gradient_check(net, X, y))


def test_dropout_check_uses_a_fixed_mask_that_is_not_the_identity(rng):
    net = LAYER_CASES["Dropout"]()
    X, y = rng.normal(size=(7, 3)), rng.integers(0, 2, size=7)
    report = bp.gradient_check(net, X, y)
    assert_passes(report)
    # with dropout the training-mode gradient differs from the prediction-mode gradient
    _, g_train = net.loss_and_grads(X, y, training=True)
    _, g_eval = net.loss_and_grads(X, y, training=False)
    assert not np.allclose(g_train[0]["W"], g_eval[0]["W"])


@pytest.mark.parametrize("batch", [1, 7])
def test_l2_regularisation(batch, rng):
    net = build([5, 4], "softplus", "softmax", "categorical_crossentropy", 3, 3, l2=0.3)
    X, y = make_data(rng, batch, 3, "softmax", "categorical_crossentropy", 3)
    assert_passes(bp.gradient_check(net, X, y))
    # and the penalty is really in J: (l2/2) sum ||W||^2
    J_with, _ = net.loss_and_grads(X, y)
    net.l2 = 0.0
    J_without, _ = net.loss_and_grads(X, y)
    penalty = 0.15 * sum(np.sum(la.params["W"] ** 2) for la in net.layers)
    assert J_with - J_without == pytest.approx(penalty, rel=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_l2_per_sample_is_divided_by_the_batch_weight(weighted, rng):
    # scikit-learn's alpha: (l2 / 2 S) sum ||W||^2 with S the batch's rows (or total weight)
    net = build([5], "tanh", "sigmoid", "binary_crossentropy", 3, 1, l2=0.6,
                l2_per_sample=True)
    X, y = make_data(rng, 7, 3, "sigmoid", "binary_crossentropy", 1)
    w = rng.uniform(0.1, 2.0, size=7) if weighted else None
    assert_passes(bp.gradient_check(net, X, y, sample_weight=w))
    S = 7.0 if w is None else w.sum()
    J_with, g_with = net.loss_and_grads(X, y, w)
    net.l2 = 0.0
    J_without, g_without = net.loss_and_grads(X, y, w)
    W = [la.params["W"] for la in net.layers]
    assert J_with - J_without == pytest.approx(0.3 / S * sum(np.sum(v ** 2) for v in W),
                                               rel=1e-12)
    for i in range(2):
        np.testing.assert_allclose(g_with[i]["W"] - g_without[i]["W"], 0.6 / S * W[i],
                                   rtol=1e-10)


def test_sample_weight(rng):
    net = build([4], "relu", "linear", "mse", 3, 2)
    X, y = make_data(rng, 7, 3, "linear", "mse", 2)
    w = rng.uniform(0.1, 2.0, size=7)
    assert_passes(bp.gradient_check(net, X, y, sample_weight=w))


class WrongDense(bp.Dense):
    """A Dense layer whose backward forgets the activation's derivative (dz = da)."""

    def backward(self, da, cache):
        return self.backward_from_dz(da, cache)


class WrongInputGradDense(bp.Dense):
    """Correct dW and db, but da_prev scaled by 2: only the dJ/dX check can see it."""

    def backward(self, da, cache):
        da_prev, grads = super().backward(da, cache)
        return 2 * da_prev, grads


def test_wrong_backward_is_reported(rng):
    X, y = rng.normal(size=(7, 3)), rng.integers(0, 2, size=7)
    good = build([5], "tanh", "sigmoid", "binary_crossentropy", 3, 1)
    wrong = bp.Network([WrongDense(3, 5, "tanh", dtype=np.float64, seed=1),
                        bp.Dense(5, 1, "sigmoid", dtype=np.float64, seed=2)],
                       "binary_crossentropy")
    assert bp.gradient_check(good, X, y).passed
    report = bp.gradient_check(wrong, X, y)
    assert not report.passed
    assert report.max_relative_error > 1e-3
    bad_rows = [(r.layer, r.param) for r in report.rows if not r.passed(report.threshold)]
    assert (0, "W") in bad_rows and (-1, "X") in bad_rows
    assert "FAILED" in str(report)


def test_wrong_input_gradient_of_first_layer_cannot_hide(rng):
    X, y = rng.normal(size=(7, 3)), rng.integers(0, 2, size=7)
    net = bp.Network([WrongInputGradDense(3, 5, "tanh", dtype=np.float64, seed=1),
                      bp.Dense(5, 1, "sigmoid", dtype=np.float64, seed=2)],
                     "binary_crossentropy")
    report = bp.gradient_check(net, X, y)
    assert not report.passed
    by_param = {(r.layer, r.param): r for r in report.rows}
    assert by_param[(0, "W")].passed(1e-7) and by_param[(1, "W")].passed(1e-7)
    assert by_param[(-1, "X")].max_relative_error > 0.1


def test_relu_kink_entries_are_skipped_not_failed():
    # a zero input row and zero biases put every hidden z exactly on the kink
    layers = [bp.Dense(3, 4, "relu", dtype=np.float64, seed=1),
              bp.Dense(4, 1, "sigmoid", dtype=np.float64, seed=2)]
    net = bp.Network(layers, "binary_crossentropy")
    X = np.array([[0.0, 0.0, 0.0], [1.0, -0.5, 0.3]])
    report = bp.gradient_check(net, X, [1, 0])
    by_param = {(r.layer, r.param): r for r in report.rows}
    assert by_param[(0, "b")].skipped > 0
    assert report.passed, str(report)


def test_original_network_untouched_and_sampling(rng):
    net = bp.mlp([6, 8, 3], activation="relu", output="softmax", seed=0)  # float32
    before = net.get_weights()
    X, y = rng.normal(size=(5, 6)), rng.integers(0, 3, size=5)
    report = bp.gradient_check(net, X, y, max_entries=10, seed=1)
    assert net.dtype == np.float32
    for b, layer in zip(before, net.layers):
        for k in b:
            np.testing.assert_array_equal(b[k], layer.params[k])
    by_param = {(r.layer, r.param): r for r in report.rows}
    assert by_param[(0, "W")].checked + by_param[(0, "W")].skipped == 10
    assert by_param[(1, "b")].checked + by_param[(1, "b")].skipped == 3  # fewer than 10
    assert by_param[(-1, "X")].checked + by_param[(-1, "X")].skipped == 10
    assert report.passed, str(report)
    text = str(report)
    for header in ("layer", "param", "shape", "max rel err", "worst entry"):
        assert header in text
    assert "6x8" in text and "input" in text


def test_plain_float64_differences_are_available(rng):
    net = build([4], "tanh", "sigmoid", "binary_crossentropy", 3, 1)
    X, y = rng.normal(size=(7, 3)), rng.integers(0, 2, size=7)
    report = bp.gradient_check(net, X, y, numeric_dtype=np.float64)
    assert report.numeric_dtype == "float64"
    assert report.max_relative_error < 1e-4  # float64's rounding floor, still far from a bug


def test_gradcheck_validates_arguments(rng):
    net = build([4], "tanh", "sigmoid", "binary_crossentropy", 3, 1)
    X, y = rng.normal(size=(4, 3)), rng.integers(0, 2, size=4)
    with pytest.raises(ValueError, match="eps must be positive"):
        bp.gradient_check(net, X, y, eps=0)
    with pytest.raises(ValueError, match="max_entries"):
        bp.gradient_check(net, X, y, max_entries=0)
    with pytest.raises(ValueError, match="4 features.*n_in=3"):
        bp.gradient_check(net, rng.normal(size=(4, 4)), y)
