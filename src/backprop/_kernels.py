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
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

__all__ = ["get", "available", "disabled", "activation_kernels"]

Array = np.ndarray

# ----------------------------------------------------------------------------- optimizers
# Subnormal numbers: a moment estimate whose gradient stays zero (say, the weights of an input
# pixel that is always 0) decays geometrically, m <- b1 m, into the subnormal range below
# ``finfo.tiny``, where the CPU handles each number through a slow microcode path, and stays
# there: b1 * (smallest subnormal) rounds back to the smallest subnormal.  Epochs then get ~65%
# slower.  The optimizers flush a decayed buffer entry below ``tiny`` to exactly 0 (the NumPy
# reference does the same), which changes the update by less than ``lr * tiny / eps``, far below
# float rounding of the parameter.  No process-wide FTZ/DAZ flag is touched.


def _adam(p, g, m, v, v_max, amsgrad, b1, b2, c1, c2, step_size, bias2, eps, l2, decay, tiny,
          zero):
    """Adam / AdamW for one flat parameter: see :class:`backprop.optimizers.Adam`."""
    for i in range(p.size):
        pi = p[i]
        if decay != 1:  # AdamW: p <- p (1 - lr wd) before the step
            pi = pi * decay
        gi = g[i]
        if l2 != 0:  # Adam: L2 added to the gradient
            gi = gi + l2 * pi
        mi = b1 * m[i] + c1 * gi
        vi = b2 * v[i] + c2 * (gi * gi)
        if abs(mi) < tiny:
            mi = zero
        if vi < tiny:
            vi = zero
        m[i] = mi
        v[i] = vi
        if amsgrad:
            vi = max(v_max[i], vi)
            v_max[i] = vi
        p[i] = pi - step_size * mi / (np.sqrt(vi) / bias2 + eps)


def _sgd(p, g, buf, lr, momentum, c_damp, nesterov, first, weight_decay, tiny, zero):
    """SGD with momentum / plain gradient descent: see :class:`backprop.optimizers.SGD`."""
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
        p[i] = pi - lr * gi


def _rmsprop(p, g, v, g_avg, buf, lr, alpha, c_alpha, eps, weight_decay, momentum, centered,
             tiny, zero):
    """RMSprop: see :class:`backprop.optimizers.RMSprop`."""
    for i in range(p.size):
        gi = g[i]
        if weight_decay != 0:
            gi = gi + weight_decay * p[i]
        vi = alpha * v[i] + c_alpha * (gi * gi)
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
            p[i] = p[i] - lr * bi
        else:
            p[i] = p[i] - lr * gi / denom


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
# Forward kernels take z = a_prev @ W of shape (m, n), add the bias b in place and write
# a = f(z) into ``a``.  Backward kernels turn da into dz = da * f'(z) in place and write the
# bias gradient db = sum over rows of dz (the same row-by-row order as ``dz.sum(axis=0)``).
# ``zero`` and ``one`` are scalars of the arrays' dtype: numba would widen a float32 expression
# that meets an integer literal to float64.


def _relu_forward(z, b, a, zero, one):
    m, n = z.shape
    for i in range(m):
        for j in range(n):
            x = z[i, j] + b[j]
            z[i, j] = x
            a[i, j] = zero if x < zero else x


def _relu_backward(da, z, a, db, zero, one):
    m, n = da.shape
    db[:] = zero
    for i in range(m):
        for j in range(n):
            d = da[i, j] * (one if z[i, j] > zero else zero)
            da[i, j] = d
            db[j] += d


def _leaky_relu_forward(z, b, a, zero, one, slope):
    m, n = z.shape
    for i in range(m):
        for j in range(n):
            x = z[i, j] + b[j]
            z[i, j] = x
            a[i, j] = x if x > zero else slope * x


def _leaky_relu_backward(da, z, a, db, zero, one, slope):
    m, n = da.shape
    db[:] = zero
    for i in range(m):
        for j in range(n):
            d = da[i, j] * (one if z[i, j] > zero else slope)
            da[i, j] = d
            db[j] += d


def _tanh_forward(z, b, a, zero, one):
    m, n = z.shape
    for i in range(m):
        for j in range(n):
            x = z[i, j] + b[j]
            z[i, j] = x
            a[i, j] = np.tanh(x)


def _tanh_backward(da, z, a, db, zero, one):
    m, n = da.shape
    db[:] = zero
    for i in range(m):
        for j in range(n):
            ai = a[i, j]
            d = da[i, j] * (one - ai * ai)
            da[i, j] = d
            db[j] += d


def _sigmoid_forward(z, b, a, zero, one):
    m, n = z.shape
    for i in range(m):
        for j in range(n):
            x = z[i, j] + b[j]
            z[i, j] = x
            e = np.exp(-abs(x))
            a[i, j] = (one if x >= zero else e) / (one + e)


def _sigmoid_backward(da, z, a, db, zero, one):
    m, n = da.shape
    db[:] = zero
    for i in range(m):
        for j in range(n):
            ai = a[i, j]
            d = da[i, j] * (ai * (one - ai))
            da[i, j] = d
            db[j] += d


def _linear_forward(z, b, a, zero, one):
    m, n = z.shape
    for i in range(m):
        for j in range(n):
            x = z[i, j] + b[j]
            z[i, j] = x
            a[i, j] = x


def _linear_backward(da, z, a, db, zero, one):
    m, n = da.shape
    db[:] = zero
    for i in range(m):
        for j in range(n):
            db[j] += da[i, j]


def _softmax_forward(z, b, a, zero, one):
    """Row-wise softmax of ``z + b`` (row maximum subtracted first)."""
    m, n = z.shape
    for i in range(m):
        zmax = z[i, 0] + b[0]
        for j in range(n):
            x = z[i, j] + b[j]
            z[i, j] = x
            zmax = max(zmax, x)
        s = zero
        for j in range(n):
            e = np.exp(z[i, j] - zmax)
            a[i, j] = e
            s += e
        for j in range(n):
            a[i, j] = a[i, j] / s


def _softmax_xent(z, a, y, scale, w, dz, db, zero, one):
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
            s += np.exp(z[i, j] - zmax)
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


# ----------------------------------------------------------------------------- registry
_PY_KERNELS: dict[str, Callable[..., Any]] = {
    "adam": _adam,
    "sgd": _sgd,
    "rmsprop": _rmsprop,
    "add_scaled": _add_scaled,
    "sum_squares": _sum_squares,
    "all_finite": _all_finite,
    "softmax_forward": _softmax_forward,
    "softmax_xent": _softmax_xent,
    "relu_forward": _relu_forward,
    "relu_backward": _relu_backward,
    "leaky_relu_forward": _leaky_relu_forward,
    "leaky_relu_backward": _leaky_relu_backward,
    "tanh_forward": _tanh_forward,
    "tanh_backward": _tanh_backward,
    "sigmoid_forward": _sigmoid_forward,
    "sigmoid_backward": _sigmoid_backward,
    "linear_forward": _linear_forward,
    "linear_backward": _linear_backward,
}

#: activations with kernels: name -> (forward, backward) in :data:`_PY_KERNELS`
_ACTIVATIONS: dict[str, tuple[str, str | None]] = {
    name: (f"{name}_forward", f"{name}_backward")
    for name in ("relu", "leaky_relu", "tanh", "sigmoid", "linear")
}
_ACTIVATIONS["softmax"] = ("softmax_forward", None)
#: activations whose forward kernel gives exactly NumPy's result
_EXACT = {"relu", "leaky_relu", "linear"}

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


def activation_kernels(
    name: str, dtype: Any, exact: bool = False
) -> tuple[Callable[..., Any], Callable[..., Any] | None, tuple[Any, ...]] | None:
    """``(forward, backward, consts)`` for the activation ``name`` on arrays of ``dtype``, or
    None (no kernel for it, or kernels unavailable).  ``consts`` are the trailing arguments of
    both kernels: ``zero``, ``one`` (and the slope of the leaky ReLU) as ``dtype`` scalars.
    Softmax has a forward kernel only (its backward is fused with the loss).

    ``exact=True`` asks only for a forward kernel that reproduces NumPy bit for bit (those
    that round once per operation, like NumPy; ``exp`` and ``tanh`` may differ in the last
    bit from NumPy's own): :meth:`Network.predict` promises the numbers of ``forward``."""
    if not _enabled or name not in _ACTIVATIONS or (exact and name not in _EXACT):
        return None
    return _activation_kernels(name, np.dtype(dtype))


@functools.cache
def _activation_kernels(name: str, dtype: np.dtype) -> tuple | None:
    kernels = _compile()
    if not kernels:
        return None
    from .activations import LEAKY_RELU_SLOPE

    forward, backward = _ACTIVATIONS[name]
    extra = (LEAKY_RELU_SLOPE,) if name == "leaky_relu" else ()
    return kernels[forward], kernels[backward] if backward else None, scalars(dtype, 0, 1, *extra)


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


def flush_subnormals(x: Array) -> None:
    """Set the entries of ``x`` with ``|x| < finfo.tiny`` (subnormals) to 0, in place: the NumPy
    twin of the optimizer kernels' flush (see the note above :func:`_adam`)."""
    tiny = np.finfo(x.dtype).tiny
    np.copyto(x, 0, where=np.abs(x) < tiny)


def scalars(dtype: np.dtype, *values: float) -> tuple[Any, ...]:
    """``values`` as scalars of ``dtype``, so a kernel computes in the arrays' precision exactly
    as NumPy does with Python floats (NEP 50)."""
    t = np.dtype(dtype).type
    return tuple(t(v) for v in values)
