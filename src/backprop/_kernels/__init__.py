"""Fused element-wise kernels for the training hot path, compiled with numba.

Why this module exists.  One training step of an MLP is a handful of matrix products; everything
else is element-wise work: the bias and activation after each product, the activation's derivative
and the bias gradient before the next one, the output's softmax and loss, and the optimizer's
update.  In NumPy each of those operations is one more pass over memory and one more call
(about a microsecond each): Adam's update is a dozen passes over every parameter and, for a
784-256-128-10 network at batch 128, costs as much as all eight matrix products of the step.
Each kernel below does the work of several NumPy operations in a single pass, so that training
runs near the speed of its matrix products (``benchmarks/bench_train.py`` measures it).

Every kernel here has a plain NumPy twin, which stays the reference: the activations'
``value``/``backward``, the losses' ``value_from_logits``/``gradient_wrt_logits``, each optimizer's
``_update``.  ``tests/test_fast_paths.py`` checks that the two agree to float rounding.  The
kernels evaluate the same expressions in the same order and dtype as their twins.

The kernels are compiled on first use (then cached on disk by numba).  :func:`get` returns None
when numba cannot be imported, when the environment variable ``BACKPROP_DISABLE_NUMBA`` is set
to a non-empty value other than ``0``, or inside :func:`disabled`; callers then take the NumPy path.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np

__all__ = ["get", "available", "disabled", "activation_kernels", "all_finite"]

Array = np.ndarray

# ----------------------------------------------------------------------------- optimizers
# Subnormal numbers: a moment estimate whose gradient stays zero (say, the weights of an input
# pixel that is always 0) decays geometrically, m <- b1 m, into the subnormal range below
# ``finfo.tiny``, where the CPU handles each number through a slow microcode path, and stays
# there: b1 * (smallest subnormal) rounds back to the smallest subnormal.  Epochs then get ~65%
# slower.  The optimizers flush a decayed buffer entry below ``tiny`` to exactly 0 (the NumPy
# reference does the same), which changes the update by less than ``lr * tiny / eps``, far below
# float rounding of the parameter.  The same happens one step earlier to the squared gradient
# of the second moment: late in training many gradient entries are below 1e-19, and
# ``(1 - b2) * g * g`` is then subnormal; such a term (smaller than ``tiny``, so below the
# rounding of any normal ``v``) is taken as 0 by zeroing ``g`` in the square when
# ``|g| < sqrt(tiny / (1 - b2))`` (``g2_min``).  No process-wide FTZ/DAZ flag is touched.


# The scalar hyperparameters arrive in one array ``c`` of the parameters' dtype (cheaper to pass
# than a dozen scalars, and typed: numba would widen float32 arithmetic that meets a Python
# float or an integer literal to float64).  Each kernel returns whether every updated entry of
# ``p`` is finite (``q - q`` is NaN exactly for inf and NaN): the training loop's divergence
# check, for free while the entries pass through the registers.


def _adam(p, g, m, v, v_max, amsgrad, c):
    """Adam / AdamW for one flat parameter: see :class:`backprop.optimizers.Adam`."""
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


def _sgd(p, g, buf, nesterov, first, c):
    """SGD with momentum / plain gradient descent: see :class:`backprop.optimizers.SGD`."""
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


def _rmsprop(p, g, v, g_avg, buf, centered, c):
    """RMSprop: see :class:`backprop.optimizers.RMSprop`."""
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


def _add_scaled(g, c, p):
    """``g += c * p`` for flat arrays (the L2 penalty's gradient ``l2 W``)."""
    for i in range(g.size):
        g[i] = g[i] + c * p[i]


def _all_finite(x):
    """True when no entry of the flat array ``x`` is inf or NaN (``x - x`` is NaN exactly for
    those; the or-reduction over booleans vectorises, unlike a float one)."""
    bad = False
    for i in range(x.size):
        d = x[i] - x[i]
        bad |= d != d
    return not bad


def _sum_squares(x):
    """``sum(x**2)`` accumulated in float64, for a flat array."""
    acc = 0.0
    for i in range(x.size):
        xi = np.float64(x[i])
        acc += xi * xi
    return acc


# ----------------------------------------------------------------------------- activations
# ``_bias_activation`` takes z = a_prev @ W of shape (m, n), adds the bias b in place,
# writes a = f(z) into ``a`` and returns whether every entry of z is finite (``predict``
# validates its input through this, see ``Network.predict``); ``_activation_backward`` turns
# da into dz = da * f'(z) in place and writes the bias gradient db = sum over rows of dz (the
# same row-by-row order as ``dz.sum(axis=0)``).  ``kind`` selects the activation (a loop
# invariant: LLVM compiles one loop per kind).  The forward kernel covers only the
# activations whose NumPy form rounds once per element (so the kernel matches it bit for
# bit); tanh, sigmoid and softmax's exp are faster in NumPy's SIMD code than in numba's scalar
# libm calls.  ``zero``, ``one`` and ``slope`` are scalars of the arrays' dtype: numba would
# widen a float32 expression that meets an integer literal to float64.
RELU, LEAKY_RELU, LINEAR, TANH, SIGMOID = 0, 1, 2, 3, 4


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


def _softmax_xent(z, a, y, scale, w, dz, db, zero, one, log_tiny):
    """Softmax + categorical cross-entropy with integer labels ``y`` (m,), from the logits ``z``
    and the softmax ``a``: writes ``dz = (a - onehot(y)) * scale[i]`` and ``db = sum_i dz``, and
    returns the cost ``mean_i(logsumexp(z_i) - z_i[y_i])`` (``w``-weighted when ``w`` is not
    empty), accumulated in float64."""
    m, n = z.shape
    db[:] = zero
    total = 0.0
    for i in range(m):
        zmax = z[i, 0]
        for j in range(n):
            zmax = max(zmax, z[i, j])
        s = zero
        for j in range(n):
            x = z[i, j] - zmax
            if x >= log_tiny:  # a subnormal term is below the rounding of s >= 1
                s += np.exp(x)
        loss_i = -((z[i, y[i]] - zmax) - np.log(s))
        total += np.float64(loss_i) * (w[i] if w.size else 1.0)
        for j in range(n):
            d = a[i, j]
            if j == y[i]:
                d = d - one
            d = d * scale[i]
            dz[i, j] = d
            db[j] += d
    return total / (w.sum() if w.size else m)


def _argmax_hits(a, y):
    """How many rows of ``a`` (m, k) have their first maximum at column ``y[i]`` (the count
    behind ``mean(a.argmax(axis=1) == y)``)."""
    m, n = a.shape
    hits = 0
    for i in range(m):
        best = 0
        for j in range(1, n):
            if a[i, j] > a[i, best] or (a[i, j] != a[i, j] and a[i, best] == a[i, best]):
                best = j  # a NaN counts as the maximum, as in np.argmax
        hits += best == y[i]
    return hits


# ----------------------------------------------------------------------------- registry
_PY_KERNELS: dict[str, Callable[..., Any]] = {
    "adam": _adam,
    "sgd": _sgd,
    "rmsprop": _rmsprop,
    "add_scaled": _add_scaled,
    "sum_squares": _sum_squares,
    "all_finite": _all_finite,
    "bias_activation": _bias_activation,
    "activation_backward": _activation_backward,
    "softmax_forward": _softmax_forward,
    "softmax_xent": _softmax_xent,
    "argmax_hits": _argmax_hits,
}

#: activations with kernels: name -> (kind, forward kernel or None, backward kernel or None)
_ACTIVATIONS: dict[str, tuple[int, str | None, str | None]] = {
    "relu": (RELU, "bias_activation", "activation_backward"),
    "leaky_relu": (LEAKY_RELU, "bias_activation", "activation_backward"),
    "linear": (LINEAR, "bias_activation", "activation_backward"),
    "tanh": (TANH, None, "activation_backward"),
    "sigmoid": (SIGMOID, None, "activation_backward"),
    "softmax": (-1, "softmax_forward", None),  # its backward is fused with the loss
}
_compiled: dict[str, Callable[..., Any]] | None = None
_numba_error: str | None = None
_enabled = os.environ.get("BACKPROP_DISABLE_NUMBA", "") in ("", "0")


def _compile() -> dict[str, Callable[..., Any]]:
    """JIT-wrap every kernel (compilation itself happens on each kernel's first call)."""
    global _compiled, _numba_error
    if _compiled is None:
        try:
            import numba
        except ImportError as exc:  # pragma: no cover - exercised only without numba
            _numba_error = str(exc)
            _compiled = {}
        else:
            # error_model="numpy": division by zero gives inf/nan instead of raising, which
            # also lets LLVM vectorise the loops.  No fastmath: results must match NumPy.
            jit = numba.njit(cache=True, nogil=True, error_model="numpy")
            _compiled = {name: jit(fn) for name, fn in _PY_KERNELS.items()}
    return _compiled


def available() -> bool:
    """True when the compiled kernels can be used (numba importable and not disabled)."""
    return _enabled and bool(_compile())


def get(name: str) -> Callable[..., Any] | None:
    """The compiled kernel ``name`` (e.g. ``"adam"``), or None when kernels are unavailable."""
    if not _enabled:
        return None
    return _compile().get(name)


def activation_kernels(name: str, dtype: Any, exact: bool = False) -> ActivationKernels | None:
    """The kernels for the activation ``name`` on arrays of ``dtype``, or None when there are
    none (or kernels are unavailable).  ``exact=True`` leaves out a forward kernel that does
    not reproduce NumPy bit for bit (:meth:`Network.predict` promises ``forward``'s numbers)."""
    if not _enabled or name not in _ACTIVATIONS:
        return None
    return _activation_kernels(name, np.dtype(dtype), exact)


class ActivationKernels(NamedTuple):
    """``forward(z, b, a)`` (``z += b; a = f(z)``; returns whether ``z`` is finite) and
    ``backward(da, z, a, db)`` (``da *= f'(z)`` in place, ``db = sum of da over rows``), with
    their constant arguments bound; either may be None."""

    forward: Callable[[Array, Array, Array], bool] | None
    backward: Callable[[Array, Array, Array, Array], None] | None


@functools.cache
def _activation_kernels(name: str, dtype: np.dtype, exact: bool) -> ActivationKernels | None:
    kernels = _compile()
    if not kernels:
        return None
    from backprop.nn.activations import LEAKY_RELU_SLOPE

    kind, forward, backward = _ACTIVATIONS[name]
    zero, one, slope = scalars(dtype, 0, 1, LEAKY_RELU_SLOPE)
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


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """Within this block every caller takes its plain NumPy path (used by the tests and the
    benchmarks to compare the two)."""
    global _enabled
    before = _enabled
    _enabled = False
    try:
        yield
    finally:
        _enabled = before


def moment_square(g: Array, c: float) -> Array:
    """``g * g`` with 0 where ``c * g * g`` would be subnormal (``|g| < sqrt(tiny / c)``): the
    NumPy twin of the kernels' squared gradient in a second moment ``v = b v + c g^2``."""
    return np.where(np.abs(g) >= square_floor(g.dtype, c), g * g, 0)


def flush_subnormals(x: Array) -> None:
    """Set the entries of ``x`` with ``|x| < finfo.tiny`` (subnormals) to 0, in place: the NumPy
    twin of the optimizer kernels' flush (see the note above :func:`_adam`)."""
    np.copyto(x, 0, where=np.abs(x) < smallest_normal(x.dtype))


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
    the kernels and :func:`moment_square` count ``g²`` as 0 (see the note above :func:`_adam`)."""
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


def constants(dtype: np.dtype, *values: float) -> Array:
    """``values`` as one array of ``dtype``: the ``c`` argument of the optimizer kernels."""
    return np.array(values, dtype=dtype)
