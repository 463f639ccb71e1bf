"""A dense layer's element-wise kernels: bias + activation forward, the activation's derivative
with the bias gradient, and the softmax forward.

``_bias_activation`` takes ``z = a_prev @ W`` of shape (m, n), adds the bias ``b`` in place,
writes ``a = f(z)`` into ``a`` and returns whether every entry of ``z`` is finite (``predict``
validates its input through this); ``_activation_backward`` turns ``da`` into
``dz = da * f'(z)`` in place and writes the bias gradient ``db = sum over rows of dz`` (the same
row-by-row order as ``dz.sum(axis=0)``).  ``kind`` selects the activation (a loop invariant:
LLVM compiles one loop per kind).  The forward kernel covers only the activations whose NumPy
form rounds once per element (so the kernel matches it bit for bit); tanh, sigmoid and
softmax's exp are faster in NumPy's SIMD code than in numba's scalar libm calls.  ``zero``,
``one`` and ``slope`` are scalars of the arrays' dtype: numba would widen a float32 expression
that meets an integer literal to float64.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from backprop._kernels.numerics import scalars
from backprop._kernels.registry import enabled, get, register

__all__ = ["ActivationKernels", "activation_kernels"]

Array = np.ndarray

RELU, LEAKY_RELU, LINEAR, TANH, SIGMOID = 0, 1, 2, 3, 4


@register("bias_activation")
def _bias_activation(z, b, a, kind, zero, one, slope):
    m, n = z.shape
    bad = False
    for i in range(m):
        zi, ai = z[i], a[i]
        # two loops over the row (in L1): one store each, which LLVM vectorises; a single
        # loop storing to both z and a (possibly overlapping, as far as it knows) it does not
        for j in range(n):
            x = zi[j] + b[j]
            zi[j] = x
            d = x - x  # NaN exactly for inf and NaN: whether z is finite, for free
            bad |= d != d
        for j in range(n):
            x = zi[j]
            if kind == RELU:  # np.maximum(z, 0)
                x = zero if x < zero else x
            elif kind == LEAKY_RELU:  # np.where(z > 0, z, slope * z)
                x = x if x > zero else slope * x
            ai[j] = x
    return not bad


@register("activation_backward")
def _activation_backward(da, z, a, db, kind, zero, one, slope):
    m, n = da.shape
    db[:] = zero
    for i in range(m):
        for j in range(n):
            d = da[i, j]
            if kind == RELU:
                d = d * (one if z[i, j] > zero else zero)
            elif kind == LEAKY_RELU:
                d = d * (one if z[i, j] > zero else slope)
            elif kind == TANH:
                d = d * (one - a[i, j] * a[i, j])
            elif kind == SIGMOID:
                d = d * (a[i, j] * (one - a[i, j]))
            da[i, j] = d
            db[j] += d


@register("softmax_forward")
def _softmax_forward(z, b, a, zero, log_tiny):
    """Row-wise softmax of ``z + b`` (row maximum subtracted first).  A probability below
    ``tiny`` (``z - max < log(tiny)``) is set to 0 rather than left subnormal: it is below the
    rounding of the row's sum, and subnormals slow down every later operation on them (the
    cross-entropy gradient, the products of the backward pass).  Returns whether ``z + b`` is
    finite, as :func:`_bias_activation` does."""
    m, n = z.shape
    bad = False
    for i in range(m):
        zmax = z[i, 0] + b[0]
        for j in range(n):
            x = z[i, j] + b[j]
            z[i, j] = x
            zmax = max(zmax, x)
            d = x - x
            bad |= d != d
        s = zero
        for j in range(n):
            x = z[i, j] - zmax
            e = zero if x < log_tiny else np.exp(x)
            a[i, j] = e
            s += e
        for j in range(n):
            a[i, j] = a[i, j] / s
    return not bad


#: activations with kernels: name -> (kind, forward kernel or None, backward kernel or None)
_ACTIVATIONS: dict[str, tuple[int, str | None, str | None]] = {
    "relu": (RELU, "bias_activation", "activation_backward"),
    "leaky_relu": (LEAKY_RELU, "bias_activation", "activation_backward"),
    "linear": (LINEAR, "bias_activation", "activation_backward"),
    "tanh": (TANH, None, "activation_backward"),
    "sigmoid": (SIGMOID, None, "activation_backward"),
    "softmax": (-1, "softmax_forward", None),  # its backward is fused with the loss
}


class ActivationKernels(NamedTuple):
    """``forward(z, b, a)`` (``z += b; a = f(z)``; returns whether ``z`` is finite) and
    ``backward(da, z, a, db)`` (``da *= f'(z)`` in place, ``db = sum of da over rows``), with
    their constant arguments bound; either may be None."""

    forward: Callable[[Array, Array, Array], bool] | None
    backward: Callable[[Array, Array, Array, Array], None] | None


def activation_kernels(name: str, dtype: Any, exact: bool, slope: float
                       ) -> ActivationKernels | None:
    """The kernels for the activation ``name`` on arrays of ``dtype``, or None when there are
    none (or kernels are unavailable).  ``exact=True`` leaves out a forward kernel that does
    not reproduce NumPy bit for bit (inference promises ``forward``'s numbers).  ``slope`` is
    leaky ReLU's slope for negative inputs (the activation's own constant: the kernels know no
    activation module)."""
    if not enabled() or name not in _ACTIVATIONS:
        return None
    return _activation_kernels(name, np.dtype(dtype), exact, slope)


@functools.cache
def _activation_kernels(name: str, dtype: np.dtype, exact: bool, slope: float
                        ) -> ActivationKernels | None:
    kind, forward, backward = _ACTIVATIONS[name]
    kernels = {k: get(k) for k in (forward, backward) if k is not None}
    if any(k is None for k in kernels.values()):
        return None  # numba cannot be imported
    zero, one, slope = scalars(dtype, 0, 1, slope)
    fwd = bwd = None
    if forward == "softmax_forward" and not exact:
        softmax = kernels[forward]
        log_tiny = scalars(dtype, math.log(np.finfo(dtype).tiny))[0]

        def fwd(z: Array, b: Array, a: Array) -> bool:
            return softmax(z, b, a, zero, log_tiny)

    elif forward == "bias_activation":
        bias_activation = kernels[forward]

        def fwd(z: Array, b: Array, a: Array) -> bool:
            return bias_activation(z, b, a, kind, zero, one, slope)

    if backward is not None:
        activation_backward = kernels[backward]

        def bwd(da: Array, z: Array, a: Array, db: Array) -> None:
            activation_backward(da, z, a, db, kind, zero, one, slope)

    return ActivationKernels(fwd, bwd)
