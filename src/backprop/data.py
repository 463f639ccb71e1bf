"""Data sets and preprocessing: the bundled scikit-learn sets, splitting, standardisation.

A :class:`Dataset` holds ``X`` (float64, shape (m, n)), ``y`` and what is needed to read
predictions back: the task, feature names and class labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .layers import as_rng

__all__ = [
    "Dataset",
    "BUILTIN_DATASETS",
    "load_builtin",
    "split",
    "Standardizer",
]

Array = np.ndarray

#: Bundled data sets: name -> (scikit-learn loader name, task)
BUILTIN_DATASETS: dict[str, tuple[str, str]] = {
    "breast-cancer": ("load_breast_cancer", "binary"),
    "digits": ("load_digits", "multiclass"),
    "iris": ("load_iris", "multiclass"),
    "wine": ("load_wine", "multiclass"),
    "diabetes": ("load_diabetes", "regression"),
}


@dataclass
class Dataset:
    """Features, targets and their description.

    Attributes
    ----------
    X : ndarray of shape (m, n), float64
    y : ndarray of shape (m,) — integer class indices for classification, floats for regression
    task : ``"binary"``, ``"multiclass"`` or ``"regression"``
    feature_names : list of str
    classes : list of the original class labels (index ``i`` is class ``i``); empty for regression
    name : str
    """

    X: Array
    y: Array
    task: str
    feature_names: list[str]
    classes: list[Any] = field(default_factory=list)
    name: str = ""

    @property
    def n_outputs(self) -> int:
        """Output units: 1 for binary and regression, the class count for multi-class."""
        return len(self.classes) if self.task == "multiclass" else 1


def load_builtin(name: str) -> Dataset:
    """Load one of :data:`BUILTIN_DATASETS` (bundled with scikit-learn, no download)."""
    if name not in BUILTIN_DATASETS:
        raise ValueError(f"unknown data set {name!r}; choose one of {sorted(BUILTIN_DATASETS)}")
    from sklearn import datasets

    loader, task = BUILTIN_DATASETS[name]
    bunch = getattr(datasets, loader)()
    X = np.asarray(bunch.data, dtype=np.float64)
    names = [str(f) for f in getattr(bunch, "feature_names", [f"x{i}" for i in range(X.shape[1])])]
    if task == "regression":
        return Dataset(X, np.asarray(bunch.target, dtype=np.float64), task, names, [], name)
    classes = [str(c) for c in bunch.target_names]
    return Dataset(X, np.asarray(bunch.target, dtype=np.int64), task, names, classes, name)


def split(
    m: int, test_size: float, seed: int | np.random.Generator | None, stratify: Array | None = None
) -> tuple[Array, Array]:
    """Row indices ``(train, test)``; ``test_size`` is a fraction in (0, 1), stratified by the
    labels ``stratify`` when given."""
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be in (0, 1), got {test_size!r}")
    from .training import train_validation_split

    return train_validation_split(m, test_size, as_rng(seed), stratify)


class Standardizer:
    """Per-feature ``(x - mean) / scale``, fitted on training rows only.

    Constant features get ``scale = 1`` (they map to 0 rather than to NaN).
    """

    def __init__(self) -> None:
        self.mean_: Array | None = None
        self.scale_: Array | None = None

    def fit(self, X: Array) -> "Standardizer":
        """Learn mean and standard deviation of each column of ``X`` (m, n)."""
        X = np.asarray(X, dtype=np.float64)
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.scale_ = np.where(std > 1e-12 * np.maximum(np.abs(self.mean_), 1.0), std, 1.0)
        return self

    def transform(self, X: Array) -> Array:
        """Standardise ``X`` with the fitted statistics."""
        if self.mean_ is None:
            raise ValueError("Standardizer is not fitted; call fit first")
        return (np.asarray(X, dtype=np.float64) - self.mean_) / self.scale_

    def fit_transform(self, X: Array) -> Array:
        """:meth:`fit` then :meth:`transform`."""
        return self.fit(X).transform(X)

    def inverse_transform(self, X: Array) -> Array:
        """Undo :meth:`transform`."""
        return np.asarray(X, dtype=np.float64) * self.scale_ + self.mean_
