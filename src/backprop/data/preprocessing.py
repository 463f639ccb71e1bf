"""Preprocessing: per-feature standardisation fitted on training rows.

:class:`Standardizer` holds the statistics only.  A network that should take raw features
builds a :class:`backprop.nn.layers.Standardize` layer from ``mean_`` and ``scale_`` itself, so
that this package never depends on :mod:`backprop.nn`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Standardizer", "feature_scale"]

Array = np.ndarray


def feature_scale(mean: Array, std: Array) -> Array:
    """The scale to divide each feature by: its standard deviation, or 1 for a constant feature.

    A feature counts as constant when its spread is below ``1e-12`` of its magnitude (or of 1
    near zero): rounding alone leaves such a spread, and dividing by it would blow the feature
    up to noise, where 1 maps it to 0.
    """
    mean, std = np.asarray(mean), np.asarray(std)
    return np.where(std > 1e-12 * np.maximum(np.abs(mean), 1.0), std, 1.0)


class Standardizer:
    """Per-feature ``(x - mean) / scale``, fitted on training rows only.

    Constant features get ``scale = 1`` (they map to 0 rather than to NaN); see
    :func:`feature_scale`.
    """

    def __init__(self) -> None:
        self.mean_: Array | None = None
        self.scale_: Array | None = None

    def fit(self, X: Array) -> Standardizer:
        """Learn mean and standard deviation of each column of ``X`` (m, n)."""
        X = np.asarray(X, dtype=np.float64)
        self.mean_ = X.mean(axis=0)
        self.scale_ = feature_scale(self.mean_, X.std(axis=0))
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
