"""Numeric helpers the kernels share: finiteness checks, flat-array tests, dtype scalars and
limits, and the small reduction kernels of the L2 penalty (``sum_squares``, ``add_scaled``)."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from backprop._kernels.registry import get, register

__all__ = ["all_finite", "first_nonfinite", "flat", "smallest_normal", "square_floor",
           "scalars"]

Array = np.ndarray


@register("add_scaled")
def _add_scaled(g, c, p):
    """``g += c * p`` for flat arrays (the L2 penalty's gradient ``l2 W``)."""
    for i in range(g.size):
        g[i] = g[i] + c * p[i]


@register("all_finite")
def _all_finite(x):
    """True when no entry of the flat array ``x`` is inf or NaN (``x - x`` is NaN exactly for
    those; the or-reduction over booleans vectorises, unlike a float one)."""
    bad = False
    for i in range(x.size):
        d = x[i] - x[i]
        bad |= d != d
    return not bad


@register("sum_squares")
def _sum_squares(x):
    """``sum(x**2)`` accumulated in float64, for a flat array."""
    acc = 0.0
    for i in range(x.size):
        xi = np.float64(x[i])
        acc += xi * xi
    return acc


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def flat(*arrays: Array) -> bool:
    """Whether kernels may run on the ``reshape(-1)`` views of ``arrays``: every one
    C-contiguous, all of one float32 or float64 dtype."""
    dt = arrays[0].dtype
    return dt in _FLOATS and all(a.dtype == dt and a.flags.c_contiguous for a in arrays)


@functools.cache
def smallest_normal(dtype: np.dtype) -> float:
    """The smallest normal number of ``dtype`` (below it lie the slow subnormals)."""
    return float(np.finfo(dtype).tiny)


def square_floor(dtype: np.dtype, c: float) -> float:
    """``sqrt(tiny / c)``: below it, the term ``c g²`` of a second moment would be subnormal, so
    the optimizer kernels count ``g²`` as 0 (see :mod:`backprop._kernels.optim`)."""
    return math.sqrt(smallest_normal(dtype) / c)


def all_finite(arr: Array) -> bool:
    """True when ``arr`` holds no NaN or inf: one pass, no boolean temporary the size of
    ``arr`` (the ``all_finite`` kernel when numba is available; else a float64 sum, which is
    NaN or inf exactly when an entry is, confirmed element-wise in the rare case it overflows).
    Used for the input checks of fit/predict and by the divergence guard."""
    kernel = get("all_finite")
    if kernel is not None and flat(arr):
        return bool(kernel(arr.reshape(-1)))
    with np.errstate(over="ignore", invalid="ignore"):  # inf + -inf: NaN, which says it
        total = np.add.reduce(arr, axis=None, dtype=np.float64)
    return bool(np.isfinite(total)) or bool(np.isfinite(arr).all())


def first_nonfinite(arr: Array) -> tuple[int, ...] | None:
    """The index of the first NaN or inf of ``arr`` (in C order), or None when there is none:
    one :func:`all_finite` pass, and a search only when it fails."""
    if arr.dtype.kind != "f" or all_finite(arr):
        return None
    return tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])


def scalars(dtype: np.dtype, *values: float) -> tuple[Any, ...]:
    """``values`` as scalars of ``dtype``, so a kernel computes in the arrays' precision exactly
    as NumPy does with Python floats (NEP 50)."""
    t = np.dtype(dtype).type
    return tuple(t(v) for v in values)


@register("standardize")
def _standardize(x, mean, scale, out):
    """``out = (x - mean) / scale`` per column, in float64 and rounded once to ``out``'s dtype
    (the NumPy expression's numbers, without its float64 temporary)."""
    m, n = x.shape
    for i in range(m):
        for j in range(n):
            out[i, j] = (np.float64(x[i, j]) - mean[j]) / scale[j]


@register("unstandardize")
def _unstandardize(x, mean, scale, out):
    """``out = x * scale + mean`` per column, in float64 and rounded once to ``out``'s dtype."""
    m, n = x.shape
    for i in range(m):
        for j in range(n):
            out[i, j] = np.float64(x[i, j]) * scale[j] + mean[j]
