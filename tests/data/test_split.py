"""Splits: train/test and train/validation row indices (stratified when labels are given),
and the mini-batch order."""

import numpy as np
import pytest

from backprop.data import minibatches, split, stratify_labels, train_validation_split


def test_minibatches_cover_every_row_once_per_epoch():
    batches = list(minibatches(10, 3, np.random.default_rng(0)))
    assert [b.size for b in batches] == [3, 3, 3, 1]
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(10))
    assert [b.size for b in minibatches(10, None, None)] == [10]


def test_validation_split_is_stratified():
    labels = np.array([0] * 80 + [1] * 20)
    tr, va = train_validation_split(100, 0.25, np.random.default_rng(0), labels)
    assert len(va) == 25 and len(tr) == 75
    assert np.sum(labels[va] == 1) == 5 and np.sum(labels[tr] == 1) == 15
    assert len(np.intersect1d(tr, va)) == 0


def test_split_is_stratified_reproducible_and_checks_test_size():
    labels = np.array([0] * 30 + [1] * 10)
    tr, te = split(40, 0.25, 7, labels)
    assert len(te) == 10 and np.sum(labels[te] == 1) in (2, 3)  # its share of 10 ones
    assert len(np.intersect1d(tr, te)) == 0 and len(tr) + len(te) == 40
    tr2, te2 = split(40, 0.25, 7, labels)
    np.testing.assert_array_equal(tr, tr2)
    np.testing.assert_array_equal(te, te2)
    for bad in (0.0, 1.0, -0.5, True, float("nan")):
        with pytest.raises(ValueError, match=r"test_size must be a number in \(0, 1\)"):
            split(40, bad, 0)


def test_a_split_that_leaves_a_side_empty_is_refused():
    with pytest.raises(ValueError, match="validation_split=0.5 leaves 0 training and 1 "
                                         "validation rows out of 1"):
        train_validation_split(1, 0.5, np.random.default_rng(0))


def test_stratify_labels_only_for_single_label_targets():
    y = np.array([0, 1, 1])
    assert stratify_labels(y) is y
    np.testing.assert_array_equal(stratify_labels(y[:, None]), y)
    assert stratify_labels(np.zeros((3, 2))) is None
