"""How well a classifier does on each class, for the reports of ``train`` and ``evaluate``:
balanced accuracy, recall per class, and a warning when the accuracy is no better than always
answering the most frequent class.

On imbalanced data accuracy alone misleads: a model that always answers "no" scores 0.95 where
95 % of the rows are "no".  Balanced accuracy, the mean recall over the classes present
(scikit-learn's ``balanced_accuracy_score``), scores that model 0.5.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ClassScores", "class_scores", "recall_lines", "majority_warning", "MAX_CLASS_LINES"]

Array = np.ndarray

#: Up to this many classes the recall is shown class by class; more are summarised.
MAX_CLASS_LINES = 20

#: With more classes, how many of the worst (lowest recall) are still shown one per line.
_WORST_SHOWN = 10


@dataclass(frozen=True)
class ClassScores:
    """The counts behind a classifier's per-class metrics on ``n`` rows of ``k`` classes."""

    support: Array  #: (k,) rows of each class
    correct: Array  #: (k,) rows of each class predicted as that class

    @property
    def n(self) -> int:
        """Rows scored."""
        return int(self.support.sum())

    @property
    def accuracy(self) -> float:
        """Fraction of rows predicted right."""
        return float(self.correct.sum() / self.n)

    @property
    def recall(self) -> Array:
        """(k,) ``correct / support`` per class; NaN for a class with no rows."""
        return np.where(self.support > 0, self.correct / np.maximum(self.support, 1), np.nan)

    @property
    def balanced_accuracy(self) -> float:
        """Mean recall over the classes that have rows (as scikit-learn's
        ``balanced_accuracy_score``)."""
        return float(np.nanmean(self.recall))

    @property
    def majority(self) -> int:
        """Index of the most frequent class (the first of equals)."""
        return int(np.argmax(self.support))

    @property
    def majority_share(self) -> float:
        """Fraction of the rows in the most frequent class."""
        return float(self.support.max() / self.n)


def class_scores(y: Array, pred: Array, k: int) -> ClassScores:
    """Scores of predicted class indices ``pred`` against true ones ``y`` (both shape (m,),
    values in ``0 .. k-1``, m >= 1)."""
    y = np.asarray(y, dtype=np.int64)
    hit = y[np.asarray(pred) == y]
    return ClassScores(support=np.bincount(y, minlength=k), correct=np.bincount(hit, minlength=k))


def _recall_line(scores: ClassScores, names: Sequence[Any], i: int) -> str:
    n_i, ok = int(scores.support[i]), int(scores.correct[i])
    value = "n/a" if n_i == 0 else f"{ok / n_i:.4f}"
    return f"  {names[i]!r}: {value} ({ok} of {n_i} rows)"


def recall_lines(scores: ClassScores, names: Sequence[Any], part: str) -> list[str]:
    """``"recall per class (PART rows):"`` and one line per class; beyond
    :data:`MAX_CLASS_LINES` classes, the ones with the lowest recall and a line that sums up
    the rest (their range and median)."""
    k = len(names)
    lines = [f"recall per class ({part} rows):"]
    if k <= MAX_CLASS_LINES:
        return lines + [_recall_line(scores, names, i) for i in range(k)]
    recall = scores.recall
    present = np.flatnonzero(scores.support > 0)
    worst = present[np.argsort(recall[present], kind="stable")][:_WORST_SHOWN]
    lines[0] = f"recall per class ({part} rows), the {len(worst)} lowest of {k} classes:"
    lines += [_recall_line(scores, names, i) for i in worst]
    rest = np.setdiff1d(present, worst)
    if rest.size:
        r = recall[rest]
        lines.append(f"  the other {rest.size} classes with rows: recall {r.min():.4f} to "
                     f"{r.max():.4f}, median {np.median(r):.4f}")
    if present.size < k:
        lines.append(f"  {k - present.size} classes have no {part} rows")
    return lines


def majority_warning(scores: ClassScores, names: Sequence[Any], part: str, hint: str
                     ) -> str | None:
    """A warning when the accuracy on ``part`` is that of always answering its most frequent
    class: equal to that class's share, or within one row of it, while that class's own rows
    are all (but for one) predicted right, so that the other classes' rows are (nearly) all
    wrong.  The second condition keeps the warning off a model that trades a few majority
    rows for the minority ones and lands on the same accuracy by chance.  None otherwise, and
    when ``part`` has rows of one class only (the comparison says nothing there).  ``part``
    (``"test"``, or ``""`` for all the rows scored) names the rows; ``hint`` ends the line
    (``"; try ..."``)."""
    if np.count_nonzero(scores.support) < 2:
        return None
    major = scores.majority
    gap = abs(int(scores.correct.sum()) - int(scores.support[major]))
    if gap > 1 or scores.correct[major] < scores.support[major] - 1:
        return None
    relation = "equals" if gap == 0 else "is within one row of"
    what = f"{part} accuracy" if part else "accuracy"
    return (f"warning: {what} {scores.accuracy:.4f} {relation} the share of the "
            f"majority class {names[major]!r} ({scores.majority_share:.4f}): the model may "
            f"predict one class only{hint}")
