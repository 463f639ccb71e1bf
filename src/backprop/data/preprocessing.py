"""Preprocessing: per-feature standardisation fitted on training rows.

:class:`Standardizer` holds the statistics only.  A network that should take raw features
builds a :class:`backprop.nn.layers.Standardize` layer from ``mean_`` and ``scale_`` itself, so
that this package never depends on :mod:`backprop.nn`.

Large matrices are never copied whole: the statistics are accumulated in float64 a block of rows
at a time, and :meth:`Standardizer.transform` computes each block in float64 and writes it in
the input's own float dtype (in place with ``out=X``), so a float32 matrix costs no float64 copy
and gets the float64 result rounded once.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Standardizer", "feature_scale"]

Array = np.ndarray

#: Rows per block are chosen so that a block's float64 copy holds about this many bytes.
BLOCK_BYTES = 16 * 2**20


def feature_scale(mean: Array, std: Array) -> Array:
    """The scale to divide each feature by: its standard deviation, or 1 for a constant feature.

    A feature counts as constant when its spread is below ``1e-12`` of its magnitude (or of 1
    near zero): rounding alone leaves such a spread, and dividing by it would blow the feature
    up to noise, where 1 maps it to 0.
    """
    mean, std = np.asarray(mean), np.asarray(std)
    return np.where(std > 1e-12 * np.maximum(np.abs(mean), 1.0), std, 1.0)


def _row_blocks(X: Array) -> list[slice]:
    """Slices of consecutive rows of ``X`` whose float64 copies hold about ``BLOCK_BYTES``."""
    m = X.shape[0]
    rows = max(1, BLOCK_BYTES // max(1, 8 * int(np.prod(X.shape[1:]))))
    return [slice(start, min(start + rows, m)) for start in range(0, m, rows)]


def _float_dtype(X: Array) -> np.dtype:
    """The dtype of the result: ``X``'s for a float array, float64 otherwise."""
    return X.dtype if X.dtype.kind == "f" else np.dtype(np.float64)


class Standardizer:
    """Per-feature ``(x - mean) / scale``, fitted on training rows only.

    Constant features get ``scale = 1`` (they map to 0 rather than to NaN); see
    :func:`feature_scale`.  The statistics are float64 whatever the input's dtype;
    :meth:`transform` keeps a float input's dtype.
    """

    def __init__(self) -> None:
        self.mean_: Array | None = None
        self.scale_: Array | None = None

    def fit(self, X: Array) -> Standardizer:
        """Learn mean and (population) standard deviation of each column of ``X`` (m, n).

        Accumulated in float64 a block of rows at a time (two passes: the mean, then the
        squared deviations from it), so a float32 ``X`` is never copied whole.
        """
        X = np.asarray(X)
        blocks = _row_blocks(X)
        if len(blocks) == 1:  # NumPy's own float64 mean and std (the reference)
            X64 = X.astype(np.float64, copy=False)
            self.mean_ = X64.mean(axis=0)
            self.scale_ = feature_scale(self.mean_, X64.std(axis=0))
            return self
        m = X.shape[0]
        total = np.zeros(X.shape[1:], dtype=np.float64)
        for rows in blocks:
            total += X[rows].sum(axis=0, dtype=np.float64)
        mean = total / m
        squares = np.zeros_like(mean)
        for rows in blocks:
            dev = X[rows].astype(np.float64)
            dev -= mean
            np.multiply(dev, dev, out=dev)
            squares += dev.sum(axis=0)
        self.mean_ = mean
        self.scale_ = feature_scale(mean, np.sqrt(squares / m))
        return self

    def _apply(self, X: Array, out: Array | None, inverse: bool) -> Array:
        if self.mean_ is None or self.scale_ is None:
            raise ValueError("Standardizer is not fitted; call fit first")
        X = np.asarray(X)
        if out is None:
            out = np.empty(X.shape, dtype=_float_dtype(X))
        elif out.shape != X.shape:
            raise ValueError(f"out must have the shape of X {X.shape}, got {out.shape}")
        for rows in _row_blocks(X):
            block = X[rows].astype(np.float64)  # computed in float64, written rounded once
            if inverse:
                block *= self.scale_
                block += self.mean_
            else:
                block -= self.mean_
                block /= self.scale_
            out[rows] = block
        return out

    def transform(self, X: Array, out: Array | None = None) -> Array:
        """Standardise ``X`` with the fitted statistics, computed in float64 a block of rows
        at a time; the result has ``X``'s dtype when it is a float (float64 otherwise).

        ``out``: an array of ``X``'s shape to write into (``out=X`` standardises in place).
        """
        return self._apply(X, out, inverse=False)

    def fit_transform(self, X: Array) -> Array:
        """:meth:`fit` then :meth:`transform`."""
        return self.fit(X).transform(X)

    def inverse_transform(self, X: Array, out: Array | None = None) -> Array:
        """Undo :meth:`transform` (same dtype rule and ``out``)."""
        return self._apply(X, out, inverse=True)
