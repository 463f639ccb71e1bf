"""Losses: the note's formulas, the fused logits path, PyTorch's mean reductions, targets."""

import warnings

import numpy as np
import pytest

import backprop as bp
from backprop.nn.activations import ACTIVATIONS, sigmoid
from backprop.nn.losses import LOSSES, get_loss, loss_for_output


def numeric_gradient(f, a, eps=1e-6):
    g = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        ap, am = a.copy(), a.copy()
        ap[idx] += eps
        am[idx] -= eps
        g[idx] = (f(ap) - f(am)) / (2 * eps)
    return g


def test_bce_value_and_note_gradient(rng):
    loss = bp.BinaryCrossEntropy()
    a = rng.uniform(0.05, 0.95, size=(6, 1))
    y = loss.check_targets(rng.integers(0, 2, size=6), 1)
    expected = -np.mean(y * np.log(a) + (1 - y) * np.log(1 - a))
    assert loss.value(a, y) == pytest.approx(expected, rel=1e-12)
    # the note's dJ/da = -y/a + (1-y)/(1-a), averaged over the m samples
    np.testing.assert_allclose(loss.gradient(a, y), (-y / a + (1 - y) / (1 - a)) / 6)
    np.testing.assert_allclose(
        loss.gradient(a, y), numeric_gradient(lambda t: loss.value(t, y), a), rtol=1e-6
    )


def test_bce_fused_path_equals_composition(rng):
    loss = bp.BinaryCrossEntropy()
    z = rng.normal(size=(5, 3)) * 3
    y = loss.check_targets(rng.integers(0, 2, size=(5, 3)), 3)
    a = sigmoid(z)
    assert loss.value_from_logits(z, y) == pytest.approx(loss.value(a, y), rel=1e-12)
    # dJ/dz = dJ/da * a(1 - a) = (a - y) / (m k)
    np.testing.assert_allclose(loss.gradient_wrt_logits(a, y), (a - y) / 15)
    np.testing.assert_allclose(loss.gradient_wrt_logits(a, y), loss.gradient(a, y) * a * (1 - a))
    # PyTorch BCEWithLogitsLoss reference: z = 0, y = 1 -> log 2
    assert loss.value_from_logits(np.zeros((1, 1)), np.ones((1, 1))) == pytest.approx(np.log(2))


def test_ce_value_gradient_and_onehot(rng):
    loss = bp.CategoricalCrossEntropy()
    z = rng.normal(size=(7, 4))
    a = ACTIVATIONS["softmax"](z)
    labels = loss.check_targets(rng.integers(0, 4, size=7), 4)
    onehot = loss.check_targets(np.eye(4)[labels], 4)
    expected = -np.mean(np.log(a[np.arange(7), labels]))
    for y in (labels, onehot):
        assert loss.value(a, y) == pytest.approx(expected, rel=1e-12)
        assert loss.value_from_logits(z, y) == pytest.approx(expected, rel=1e-12)
        np.testing.assert_allclose(loss.gradient_wrt_logits(a, y), (a - np.eye(4)[labels]) / 7)
        np.testing.assert_allclose(
            loss.gradient(a, y), numeric_gradient(lambda t, y=y: loss.value(t, y), a), rtol=1e-6
        )
    # PyTorch CrossEntropyLoss reference: uniform logits over k classes -> log k
    assert loss.value_from_logits(np.zeros((3, 4)), np.array([0, 1, 3])) == pytest.approx(
        np.log(4)
    )


def test_mse(rng):
    loss = bp.MeanSquaredError()
    a, y = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    assert loss.value(a, y) == pytest.approx(np.mean((a - y) ** 2))
    np.testing.assert_allclose(loss.gradient(a, y), 2 * (a - y) / 8)
    np.testing.assert_allclose(
        loss.gradient(a, y), numeric_gradient(lambda t: loss.value(t, y), a), rtol=1e-6
    )


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_sample_weight_is_a_weighted_mean(name, rng):
    loss = get_loss(name)
    k = 3
    if name == "categorical_crossentropy":
        a = ACTIVATIONS["softmax"](rng.normal(size=(6, k)))
        y = rng.integers(0, k, size=6)
    else:
        a = rng.uniform(0.1, 0.9, size=(6, k))
        y = rng.integers(0, 2, size=(6, k)).astype(float)
    w = np.array([1, 2, 0, 1, 3, 1], dtype=float)
    # integer weights equal repeating rows
    rep = np.repeat(np.arange(6), w.astype(int))
    assert loss.value(a, y, w) == pytest.approx(loss.value(a[rep], y[rep]), rel=1e-12)
    g_w = loss.gradient(a, y, w)
    g_rep = loss.gradient(a[rep], y[rep])
    for i in range(6):
        if w[i]:
            np.testing.assert_allclose(g_w[i], g_rep[rep == i].sum(axis=0), rtol=1e-10)
        else:
            np.testing.assert_array_equal(g_w[i], 0)


def _logit_net(loss, n_out):
    act = "sigmoid" if loss == "binary_crossentropy" else "softmax"
    layer = bp.Dense(2, n_out, act, dtype=np.float64, seed=0)
    return bp.Network([layer], loss=loss)


@pytest.mark.parametrize("loss, n_out, y", [
    ("binary_crossentropy", 1, np.array([0, 1, 1, 0])),
    ("categorical_crossentropy", 3, np.array([0, 2, 1, 1])),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_saturated_logits_give_finite_loss_and_grads(loss, n_out, y, dtype):
    net = _logit_net(loss, n_out).astype(dtype)
    layer = net.layers[0]
    layer.params["W"][:] = np.array([[1000.0] * n_out, [-1000.0] * n_out], dtype=dtype)
    if n_out == 3:
        layer.params["W"][:, 1] *= -1
    X = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], dtype=dtype)  # logits of +-1000
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        J, grads = net.loss_and_grads(X, y)
    assert np.isfinite(J) and J > 100  # confidently wrong rows cost about 1000
    for g in grads[0].values():
        assert np.all(np.isfinite(g))
    assert np.abs(grads[0]["W"]).max() <= 1.0


def test_check_targets_errors():
    bce, ce, mse = bp.BinaryCrossEntropy(), bp.CategoricalCrossEntropy(), bp.MeanSquaredError()
    with pytest.raises(ValueError, match=r"labels must be 0 or 1; y has 2 at row 2"):
        bce.check_targets([0, 1, 2, 0], 1)
    with pytest.raises(ValueError, match=r"row 1, column 1"):
        bce.check_targets([[0, 1], [1, 0.5]], 2)
    with pytest.raises(ValueError, match=r"must be in \[0, 3\); y has 3 at row 1"):
        ce.check_targets([0, 3, 1], 3)
    with pytest.raises(ValueError, match=r"must be in \[0, 3\); y has -1 at row 0"):
        ce.check_targets([-1, 0], 3)
    with pytest.raises(ValueError, match=r"must be integers; y has 1.5 at row 2"):
        ce.check_targets([0.0, 1.0, 1.5], 3)
    with pytest.raises(ValueError, match="integer class labels"):
        ce.check_targets(["a", "b"], 3)
    with pytest.raises(ValueError, match=r"rows must sum to 1; row 1"):
        ce.check_targets([[1, 0, 0], [1, 1, 0]], 3)
    with pytest.raises(ValueError, match=r"non-finite value nan at row 1"):
        mse.check_targets([1.0, np.nan], 1)
    with pytest.raises(ValueError, match=r"shape \(m, 2\).*got \(4,\)"):
        mse.check_targets(np.zeros(4), 2)
    # accepted forms
    assert bce.check_targets([0, 1, 1], 1).shape == (3, 1)
    assert ce.check_targets(np.array([0.0, 2.0]), 3).dtype == np.int64
    assert ce.check_targets([[2], [1]], 3).tolist() == [2, 1]


def test_unknown_loss_name():
    with pytest.raises(ValueError, match=r"unknown loss 'hinge'"):
        bp.Network([bp.Dense(2, 1, "linear")], loss="hinge")
    with pytest.raises(TypeError, match="loss must be"):
        get_loss(3)
    assert isinstance(get_loss("bce"), bp.BinaryCrossEntropy)


# --------------------------------------------------------------------------- scikit-learn's
def test_multilabel_crossentropy_sums_the_labels(rng):
    z = rng.normal(size=(6, 3)) * 2
    a = sigmoid(z)
    y = rng.integers(0, 2, size=(6, 3)).astype(float)
    ml, bce = get_loss("multilabel_crossentropy"), bp.BinaryCrossEntropy()
    # the k labels' binary cross-entropies summed (scikit-learn's multi-label log loss)
    per_label = -(y * np.log(a) + (1 - y) * np.log(1 - a)).mean(axis=0)
    assert ml.value(a, y) == pytest.approx(per_label.sum(), rel=1e-12)
    assert ml.value_from_logits(z, y) == pytest.approx(3 * bce.value_from_logits(z, y), rel=1e-12)
    np.testing.assert_allclose(ml.gradient_wrt_logits(a, y), (a - y) / 6)
    np.testing.assert_allclose(ml.gradient(a, y), numeric_gradient(lambda t: ml.value(t, y), a),
                               rtol=1e-6)
    # for one label it is the binary cross-entropy
    assert ml.value(a[:, :1], y[:, :1]) == pytest.approx(bce.value(a[:, :1], y[:, :1]))


def test_half_squared_error_is_scikit_learns(rng):
    loss = get_loss("half_squared_error")
    a, y = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    assert loss.value(a, y) == pytest.approx(0.5 * np.sum((a - y) ** 2) / 5, rel=1e-12)
    np.testing.assert_allclose(loss.gradient(a, y), (a - y) / 5)
    np.testing.assert_allclose(loss.gradient(a, y),
                               numeric_gradient(lambda t: loss.value(t, y), a), rtol=1e-6)
    w = rng.uniform(0.5, 2.0, size=5)
    expected = np.dot(w, 0.5 * np.sum((a - y) ** 2, axis=1)) / w.sum()
    assert loss.value(a, y, w) == pytest.approx(expected, rel=1e-12)


def test_poisson_deviance_with_its_exp_output(rng):
    loss = get_loss("poisson")
    z = rng.normal(size=(6, 2))
    a = ACTIVATIONS["exp"](z)
    y = rng.poisson(2.0, size=(6, 2)).astype(float)
    y[0, 0] = 0.0  # 0 log 0 = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ylogy = np.where(y > 0, y * np.log(y / a), 0.0)
    expected = np.sum(ylogy - y + a) / 6
    assert loss.value(a, y) == pytest.approx(expected, rel=1e-12)
    assert loss.value_from_logits(z, y) == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(loss.gradient_wrt_logits(a, y), (a - y) / 6)
    np.testing.assert_allclose(loss.gradient_wrt_logits(a, y), loss.gradient(a, y) * a)
    np.testing.assert_allclose(loss.gradient(a, y),
                               numeric_gradient(lambda t: loss.value(t, y), a), rtol=1e-6)
    assert loss.fused_activation == "exp" and loss_for_output("exp") == "poisson"
    with pytest.raises(ValueError, match=r"poisson targets must be non-negative; y has -1.0 "
                                         r"at row 1, column 0"):
        loss.check_targets([[0, 1], [-1, 2]], 2)
