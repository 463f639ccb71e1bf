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


@pytest.mark.parametrize("sorted_first", [True, False])
def test_group_rows_makes_each_part_a_view_of_the_same_rows(sorted_first, monkeypatch):
    import importlib

    from backprop.data import group_rows

    # the module, not the function backprop.data.split that shadows it
    monkeypatch.setattr(importlib.import_module("backprop.data.split"), "_GROUP_ROWS", 4)
    rng = np.random.default_rng(1)
    for m in (1, 7, 300):
        perm = rng.permutation(m)
        k, j = sorted(rng.integers(0, m + 1, size=2))
        first = np.sort(perm[:k]) if sorted_first else perm[:k]
        parts = [first, perm[k:j], perm[j:]]
        X = rng.normal(size=(m, 3))
        y = rng.integers(0, 5, size=m)
        expected = [X[p] for p in parts]
        slices = group_rows(X, parts)  # in steps of 4 rows
        labels = y[np.concatenate(parts)]
        for part, rows, want in zip(parts, slices, expected):
            np.testing.assert_array_equal(X[rows], want)
            assert np.shares_memory(X[rows], X) or len(part) == 0
            np.testing.assert_array_equal(labels[rows], y[part])


def test_group_rows_refuses_parts_that_are_not_a_partition():
    from backprop.data import group_rows

    X = np.zeros((4, 2))
    with pytest.raises(ValueError, match="parts must hold each of the 4 row indices once"):
        group_rows(X, [np.array([0, 1]), np.array([1, 2, 3])])
    with pytest.raises(ValueError, match="got 3 indices"):
        group_rows(X, [np.array([0, 1]), np.array([3])])
