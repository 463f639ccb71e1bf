"""Class weights in ``fit``: the same training as the equivalent sample weights, scikit-learn's
"balanced" weights over the training rows, clear errors, and exact resume."""

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

import backprop as bp
from backprop.train.class_weight import class_weights, row_class_weights


def imbalanced(rng, m=200, minority=0.1):
    """Two features; class 1 is the ``minority`` share of the rows, shifted by 1.5."""
    y = (np.arange(m) < int(minority * m)).astype(np.int64)
    rng.shuffle(y)
    X = rng.normal(size=(m, 2)) + 1.5 * y[:, None]
    return X, y


def three_classes(rng, m=150):
    y = rng.choice(3, size=m, p=[0.7, 0.2, 0.1])
    X = rng.normal(size=(m, 3)) + np.eye(3)[y]
    return X, y


def assert_same_weights(a, b):
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        for key in wa:
            np.testing.assert_array_equal(wa[key], wb[key], err_msg=key)


def fit_args(**changes):
    """The fit arguments of these tests (a fresh optimizer each time), with ``changes``."""
    return dict(dict(epochs=3, batch_size=16, seed=4, verbose=0, optimizer=bp.Adam(lr=0.01)),
                **changes)


@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
def test_balanced_trains_as_the_sample_weights_sklearn_computes(rng, output):
    X, y = imbalanced(rng) if output == "sigmoid" else three_classes(rng)
    k = int(y.max()) + 1
    expected = compute_class_weight("balanced", classes=np.arange(k), y=y)
    sizes = [X.shape[1], 6, 1 if output == "sigmoid" else k]
    a = bp.mlp(sizes, output=output, seed=1)
    a.fit(X, y, class_weight="balanced", **fit_args())
    b = bp.mlp(sizes, output=output, seed=1)
    b.fit(X, y, sample_weight=expected[y], **fit_args())
    assert_same_weights(a, b)
    got = class_weights(a, a.check_targets(y, len(y)), "balanced")
    np.testing.assert_allclose(got, expected, rtol=1e-15)
    # each class then carries the same total weight
    np.testing.assert_allclose(np.bincount(y, weights=expected[y]), len(y) / k)


def test_a_dict_multiplies_into_sample_weight_and_is_keyed_by_class_label(rng):
    X, y = imbalanced(rng)
    w = rng.uniform(0.5, 2.0, size=len(y))
    labels = ["no", "yes"]
    a = bp.Network(bp.mlp([2, 6, 1], seed=1).layers, loss="binary_crossentropy",
                   classes=labels)
    a.fit(X, y, sample_weight=w, class_weight={"yes": 4.0, "no": 0.5}, **fit_args())
    b = bp.mlp([2, 6, 1], seed=1)
    b.fit(X, y, sample_weight=w * np.where(y == 1, 4.0, 0.5), **fit_args())
    assert_same_weights(a, b)
    # without class names, the keys are class indices
    c = bp.mlp([2, 6, 1], seed=1)
    c.fit(X, y, sample_weight=w, class_weight={1: 4.0, 0: 0.5}, **fit_args())
    assert_same_weights(a, c)


def test_one_hot_and_probability_rows_weigh_by_their_class(rng):
    X, y = three_classes(rng)
    onehot = np.eye(3)[y]
    a = bp.mlp([3, 6, 3], output="softmax", seed=1)
    a.fit(X, onehot, class_weight="balanced", **fit_args())
    b = bp.mlp([3, 6, 3], output="softmax", seed=1)
    b.fit(X, y, class_weight="balanced", **fit_args())
    assert_same_weights(a, b)
    # a soft row weighs the classes' weights by its probabilities
    soft = np.array([[0.5, 0.5, 0.0], [0.0, 0.25, 0.75]])
    np.testing.assert_allclose(row_class_weights(soft, np.array([1.0, 3.0, 5.0])), [2.0, 4.5])


def test_balanced_counts_the_training_rows_only(rng, tmp_path):
    X, y = three_classes(rng, m=120)
    a = bp.mlp([3, 6, 3], output="softmax", seed=1)
    ckpt = tmp_path / "run.ckpt"
    a.fit(X, y, class_weight="balanced", validation_split=0.25, checkpoint=ckpt, **fit_args())
    rows = bp.load_checkpoint(ckpt).train_rows
    expected = compute_class_weight("balanced", classes=np.arange(3), y=y[rows])
    assert not np.allclose(expected, compute_class_weight("balanced", classes=np.arange(3),
                                                          y=y))
    b = bp.mlp([3, 6, 3], output="softmax", seed=1)
    b.fit(X, y, sample_weight=expected[y], validation_split=0.25, **fit_args())
    assert_same_weights(a, b)


def test_resume_with_class_weights_is_bit_identical(rng, tmp_path):
    X, y = three_classes(rng)
    kwargs = dict(class_weight="balanced", validation_split=0.2, epochs=4)
    straight = bp.mlp([3, 8, 3], output="softmax", dropout=0.2, seed=2)
    full = straight.fit(X, y, **fit_args(**kwargs))

    class StopAt(bp.Callback):
        def on_batch_end(self, step, logs):
            return step == 11  # inside the second epoch (8 batches each)

    ckpt = tmp_path / "run.ckpt"
    first = bp.mlp([3, 8, 3], output="softmax", dropout=0.2, seed=2)
    first.fit(X, y, checkpoint=ckpt, callbacks=[StopAt()],
              **fit_args(**kwargs))
    assert bp.load_checkpoint(ckpt).settings["class_weight"] == "balanced"
    resumed = bp.mlp([3, 8, 3], output="softmax", dropout=0.2, seed=2)
    history = resumed.fit(X, y, checkpoint=ckpt, resume_from=ckpt, callbacks=[StopAt()],
                          **fit_args(**kwargs))
    assert_same_weights(resumed, straight)
    assert history.history == full.history

    # another class weighting is another run: refused, naming the difference
    other = bp.mlp([3, 8, 3], output="softmax", dropout=0.2, seed=2)
    with pytest.raises(ValueError, match=r"class_weight: checkpoint has 'balanced', this run "
                                         r"has \[1.0, 2.0, 3.0\]"):
        other.fit(X, y, resume_from=ckpt, callbacks=[StopAt()],
                  **fit_args(**dict(kwargs, class_weight={0: 1, 1: 2, 2: 3})))


@pytest.mark.parametrize("class_weight, message", [
    ({"no": 1.0}, r"no weight for class\(es\) 'yes'; give one for each of the 2 classes "
                  r"\(class labels \(net.classes\)\)"),
    ({"no": 1.0, "yes": 2.0, "maybe": 1.0}, r"key\(s\) 'maybe' that are not classes of the "
                                            r"network; its keys are class labels \(net.classes\)"
                                            r": \['no', 'yes'\]"),
    ({0: 1.0, 1: 2.0}, r"key\(s\) 0, 1 that are not classes"),
    ({"no": 1.0, "yes": 0.0}, r"class_weight\['yes'\] must be a positive finite number, got 0"),
    ({"no": 1.0, "yes": float("inf")}, r"class_weight\['yes'\] must be a positive finite"),
    ("balance", r"class_weight must be 'balanced', a dict or None, got 'balance'"),
])
def test_bad_class_weights_are_refused_before_training(rng, class_weight, message):
    X, y = imbalanced(rng)
    net = bp.Network(bp.mlp([2, 6, 1], seed=1).layers, loss="binary_crossentropy",
                     classes=["no", "yes"])
    before = net.get_weights()
    with pytest.raises(ValueError, match=message):
        net.fit(X, y, class_weight=class_weight, **fit_args())
    for wa, wb in zip(net.get_weights(), before):
        np.testing.assert_array_equal(wa["W"], wb["W"])


def test_class_weights_need_a_single_label_classifier(rng):
    X, y = imbalanced(rng)
    reg = bp.mlp([2, 4, 1], output="linear", seed=0)
    with pytest.raises(ValueError, match=r"class_weight needs a classifier, but the network's "
                                         r"loss is mse \(a regression\)"):
        reg.fit(X, y.astype(float), class_weight="balanced", **fit_args())
    multilabel = bp.mlp([2, 4, 2], output="sigmoid", seed=0)
    with pytest.raises(ValueError, match=r"2 independent binary_crossentropy outputs "
                                         r"\(multi-label\)"):
        multilabel.fit(X, np.stack([y, 1 - y], axis=1), class_weight="balanced", **fit_args())
    with pytest.raises(TypeError, match="got list"):
        bp.mlp([2, 4, 1], seed=0).fit(X, y, class_weight=[1.0, 2.0], **fit_args())


def test_balanced_refuses_a_class_without_training_rows(rng):
    X, y = three_classes(rng)
    y[y == 2] = 1  # class 2 of the softmax output has no rows
    net = bp.mlp([3, 6, 3], output="softmax", seed=0)
    with pytest.raises(ValueError, match=r"needs training rows of every class, but class\(es\) "
                                         r"2 have none"):
        net.fit(X, y, class_weight="balanced", **fit_args())
