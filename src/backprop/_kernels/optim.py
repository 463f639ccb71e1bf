"""The optimizers' update kernels (Adam/AdamW, SGD/gradient descent, RMSprop) and the NumPy
twins of their subnormal handling.

Subnormal numbers: a moment estimate whose gradient stays zero (say, the weights of an input
pixel that is always 0) decays geometrically, ``m <- b1 m``, into the subnormal range below
``finfo.tiny``, where the CPU handles each number through a slow microcode path, and stays
there: ``b1 * (smallest subnormal)`` rounds back to the smallest subnormal, and whole epochs
slow down (``benchmarks/bench_train.py``, section ``drift``, watches for it).  The optimizers
flush a decayed buffer entry below ``tiny`` to exactly 0 (the NumPy reference does the same,
:func:`flush_subnormals`), which changes the update by less than ``lr * tiny / eps``, far below
float rounding of the parameter.  The same happens one step earlier to the squared gradient of
the second moment: late in training many gradient entries are below 1e-19, and
``(1 - b2) * g * g`` is then subnormal; such a term (smaller than ``tiny``, so below the
rounding of any normal ``v``) is taken as 0 by zeroing ``g`` in the square when
``|g| < sqrt(tiny / (1 - b2))`` (``g2_min``, :func:`~backprop._kernels.numerics.square_floor`;
the NumPy twin is :func:`moment_square`).  No process-wide FTZ/DAZ flag is touched.

The scalar hyperparameters arrive in one array ``c`` of the parameters' dtype
(:func:`constants`: cheaper to pass than a dozen scalars, and typed: numba would widen float32
arithmetic that meets a Python float or an integer literal to float64).  Each kernel returns
whether every updated entry of ``p`` is finite (``q - q`` is NaN exactly for inf and NaN): the
training loop's divergence check, for free while the entries pass through the registers.
"""

from __future__ import annotations

import numpy as np

from backprop._kernels.numerics import smallest_normal, square_floor
from backprop._kernels.registry import register

__all__ = ["constants", "moment_square", "flush_subnormals"]

Array = np.ndarray


@register("adam")
def _adam(p, g, m, v, v_max, amsgrad, c):
    """Adam / AdamW for one flat parameter: see :class:`backprop.optim.Adam`."""
    b1, b2, c1, c2, step_size, inv_bias2, eps, l2, decay, tiny, g2_min, zero = c
    bad = False
    for i in range(p.size):
        pi = p[i]
        if decay != 1:  # AdamW: p <- p (1 - lr wd) before the step
            pi = pi * decay
        gi = g[i]
        if l2 != 0:  # Adam: L2 added to the gradient
            gi = gi + l2 * pi
        mi = b1 * m[i] + c1 * gi
        gs = gi if abs(gi) >= g2_min else zero
        vi = b2 * v[i] + c2 * (gs * gs)
        if abs(mi) < tiny:
            mi = zero
        if vi < tiny:
            vi = zero
        m[i] = mi
        v[i] = vi
        if amsgrad:
            vi = max(v_max[i], vi)
            v_max[i] = vi
        q = pi - step_size * mi / (np.sqrt(vi) * inv_bias2 + eps)
        p[i] = q
        d = q - q
        bad |= d != d
    return not bad


@register("sgd")
def _sgd(p, g, buf, nesterov, first, c):
    """SGD with momentum / plain gradient descent: see :class:`backprop.optim.SGD`."""
    lr, momentum, c_damp, weight_decay, tiny, zero = c
    bad = False
    for i in range(p.size):
        pi = p[i]
        gi = g[i]
        if weight_decay != 0:
            gi = gi + weight_decay * pi
        if momentum != 0:
            if first:
                bi = gi
            else:
                bi = momentum * buf[i] + c_damp * gi
                if abs(bi) < tiny:
                    bi = zero
            buf[i] = bi
            if nesterov:
                gi = gi + momentum * bi
            else:
                gi = bi
        q = pi - lr * gi
        p[i] = q
        d = q - q
        bad |= d != d
    return not bad


@register("rmsprop")
def _rmsprop(p, g, v, g_avg, buf, centered, c):
    """RMSprop: see :class:`backprop.optim.RMSprop`."""
    lr, alpha, c_alpha, eps, weight_decay, momentum, tiny, g2_min, zero = c
    bad = False
    for i in range(p.size):
        gi = g[i]
        if weight_decay != 0:
            gi = gi + weight_decay * p[i]
        gs = gi if abs(gi) >= g2_min else zero
        vi = alpha * v[i] + c_alpha * (gs * gs)
        if vi < tiny:
            vi = zero
        v[i] = vi
        if centered:
            ga = alpha * g_avg[i] + c_alpha * gi
            if abs(ga) < tiny:
                ga = zero
            g_avg[i] = ga
            denom = np.sqrt(vi - ga * ga) + eps
        else:
            denom = np.sqrt(vi) + eps
        if momentum != 0:
            bi = momentum * buf[i] + gi / denom
            if abs(bi) < tiny:
                bi = zero
            buf[i] = bi
            q = p[i] - lr * bi
        else:
            q = p[i] - lr * gi / denom
        p[i] = q
        d = q - q
        bad |= d != d
    return not bad


def constants(dtype: np.dtype, *values: float) -> Array:
    """``values`` as one array of ``dtype``: the ``c`` argument of the optimizer kernels."""
    return np.array(values, dtype=dtype)


def moment_square(g: Array, c: float) -> Array:
    """``g * g`` with 0 where ``c * g * g`` would be subnormal (``|g| < sqrt(tiny / c)``): the
    NumPy twin of the kernels' squared gradient in a second moment ``v = b v + c g^2``."""
    return np.where(np.abs(g) >= square_floor(g.dtype, c), g * g, 0)


def flush_subnormals(x: Array) -> None:
    """Set the entries of ``x`` with ``|x| < finfo.tiny`` (subnormals) to 0, in place: the NumPy
    twin of the optimizer kernels' flush (see the module's note on subnormals)."""
    np.copyto(x, 0, where=np.abs(x) < smallest_normal(x.dtype))
