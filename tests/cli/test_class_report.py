"""The per-class report of ``train`` and ``evaluate``: scores as scikit-learn computes them,
recall lines summarised past twenty classes, and when the majority-class warning fires."""

import warnings

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, recall_score

from backprop.cli.class_report import class_scores, majority_warning, recall_lines


@pytest.mark.parametrize("k", [2, 5])
def test_scores_equal_scikit_learns(rng, k):
    y = rng.choice(k, size=300, p=np.r_[0.6, np.full(k - 1, 0.4 / (k - 1))])
    pred = np.where(rng.random(300) < 0.7, y, rng.choice(k, size=300))
    s = class_scores(y, pred, k)
    assert s.accuracy == pytest.approx(accuracy_score(y, pred), abs=1e-15)
    assert s.balanced_accuracy == pytest.approx(balanced_accuracy_score(y, pred), abs=1e-15)
    np.testing.assert_allclose(s.recall, recall_score(y, pred, labels=np.arange(k),
                                                      average=None), atol=1e-15)
    assert s.majority == 0 and s.majority_share == pytest.approx(np.mean(y == 0))


def test_a_class_without_rows_is_left_out_of_the_balanced_accuracy():
    y = np.array([0, 0, 0, 1])
    pred = np.array([0, 2, 0, 1])  # class 2 predicted, never true
    s = class_scores(y, pred, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns about the predicted-only class
        assert s.balanced_accuracy == pytest.approx(balanced_accuracy_score(y, pred))
    assert np.isnan(s.recall[2])
    assert recall_lines(s, ["a", "b", "c"], "test")[3] == "  'c': n/a (0 of 0 rows)"


def test_recall_lines_one_per_class_up_to_twenty():
    y = np.repeat(np.arange(20), 5)
    pred = np.where(np.arange(100) % 5 < y % 5, (y + 1) % 20, y)  # class c: (5 - c % 5) right
    lines = recall_lines(class_scores(y, pred, 20), [f"c{i}" for i in range(20)], "test")
    assert lines[0] == "recall per class (test rows):" and len(lines) == 21
    assert lines[1] == "  'c0': 1.0000 (5 of 5 rows)"
    assert lines[5] == "  'c4': 0.2000 (1 of 5 rows)"


def test_recall_lines_past_twenty_classes_show_the_worst_and_sum_up_the_rest(rng):
    k = 30
    y = np.repeat(np.arange(k - 2), 10)  # the last two classes have no rows
    recall_of = rng.permutation(np.arange(k - 2)) / 40  # distinct, 0 to 0.675
    right = rng.random(y.size) < recall_of[y]
    pred = np.where(right, y, (y + 1) % k)
    s = class_scores(y, pred, k)
    names = [f"c{i}" for i in range(k)]
    lines = recall_lines(s, names, "validation")
    assert lines[0] == "recall per class (validation rows), the 10 lowest of 30 classes:"
    recall = s.recall[: k - 2]
    worst = np.argsort(recall, kind="stable")[:10]
    for line, i in zip(lines[1:11], worst):
        assert line == f"  'c{i}': {recall[i]:.4f} ({s.correct[i]} of 10 rows)"
    rest = np.sort(recall)[10:]
    assert lines[11] == (f"  the other 18 classes with rows: recall {rest.min():.4f} to "
                         f"{rest.max():.4f}, median {np.median(rest):.4f}")
    assert lines[12] == "  2 classes have no validation rows"
    assert len(lines) == 13


def scores(y, pred, k=2):
    return class_scores(np.array(y), np.array(pred), k)


def test_the_warning_fires_for_a_model_that_answers_the_majority_class():
    names = ["no", "yes"]
    y = [0] * 19 + [1]
    only_no = majority_warning(scores(y, [0] * 20), names, "test", "; try X")
    assert only_no == ("warning: test accuracy 0.9500 equals the share of the majority class "
                       "'no' (0.9500): the model may predict one class only; try X")
    # one row off: one majority row wrong, or one minority row right
    assert "is within one row of" in majority_warning(scores(y, [0] * 18 + [1, 0]), names,
                                                      "test", "")
    y2 = [0] * 18 + [1, 1]
    assert "is within one row of" in majority_warning(scores(y2, [0] * 19 + [1]), names,
                                                      "train", "")
    assert majority_warning(scores(y2, [0] * 20), names, "", "").startswith(
        "warning: accuracy 0.9000 equals")


def test_no_warning_when_the_model_tells_the_classes_apart():
    names = ["no", "yes"]
    y = [0] * 18 + [1, 1]
    assert majority_warning(scores(y, y), names, "test", "") is None
    # the majority share's accuracy, reached by trading majority rows for minority ones
    assert majority_warning(scores(y, [1, 1] + [0] * 16 + [1, 1]), names, "test", "") is None
    # rows of one class only: nothing to compare with
    assert majority_warning(scores([0] * 5, [0] * 5), names, "test", "") is None
