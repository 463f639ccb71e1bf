"""Image kernels on channels-last (NHWC) arrays: im2col and its adjoint, max and average
pooling forward and backward, and a convolution's bias + activation.

Why channels-last.  The layers' public layout is NCHW (PyTorch, ONNX), but im2col copies, for
every output pixel, the ``kh * kw`` input pixels of its window: in NHWC each of those is one
contiguous run of ``C`` numbers, in NCHW a strided gather of single numbers.  The fast paths of
the image layers therefore hand each other arrays of logical shape ``(m, C, H, W)`` whose
memory is ``(m, H, W, C)`` (``a_nhwc.transpose(0, 3, 1, 2)``, PyTorch's "channels_last"
memory format), and these kernels see the ``(m, H, W, C)`` view.
``benchmarks/bench_conv.py`` measures them.

The loops index arrays element by element: a slice such as ``x[n, h, w]`` would be a new
array object in numba, which costs more than the few numbers it holds.  The kernels are
serial: the layers run them on ranges of images in several threads at once
(:mod:`~backprop._kernels.threads`; images never share an output element, so the
scatter-adds of the backward kernels need no atomics).  The backward kernels visit the
windows last to first: an input pixel that several windows share then receives their shares
in the order of the window offsets ``(i, j)``, the order in which the plain twins add them,
so that pooling's two paths agree bit for bit.  The plain NumPy twins are the layers'
reference paths (``backprop.nn.layers.conv`` and ``pooling``), which ``tests/nn`` and the
layer contract test compare with these.

Conventions: ``x`` (m, H, W, C); windows of ``kh x kw`` with strides ``sh, sw`` and padding
``ph, pw`` on each side; the output is (m, Ho, Wo, ...) with ``Ho = (H + 2 ph - kh) // sh + 1``.
Window offset ``(i, j)`` of output pixel ``(p, q)`` reads input row ``p sh - ph + i`` and
column ``q sw - pw + j``; outside the input it reads the padding (0, or -inf for max
pooling).  ``zero`` (and average pooling's ``size = kh kw``) are scalars of the arrays' dtype
(numba would widen float32 arithmetic with a Python number to float64).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from backprop._kernels.dense import LEAKY_RELU, LINEAR, RELU, SIGMOID, TANH, ActivationKernels
from backprop._kernels.numerics import scalars
from backprop._kernels.registry import enabled, get, register

__all__ = ["image_activation_kernels"]

Array = np.ndarray


@register("im2col")
def _im2col(x, cols, kh, kw, sh, sw, ph, pw, zero):
    """``cols[n, p, q, i, j, :] = x[n, p sh - ph + i, q sw - pw + j, :]`` (0 in the padding);
    ``cols`` (m, Ho, Wo, kh, kw, C), so that ``cols.reshape(m Ho Wo, kh kw C)`` is the
    matrix whose product with the (kh kw C, F) weights is the convolution.  ``cols`` is
    written in memory order, each window's row of ``C`` channels copied as one run."""
    m, H, W, C = x.shape
    Ho, Wo = cols.shape[1], cols.shape[2]
    for n in range(m):
        for p in range(Ho):
            for q in range(Wo):
                for i in range(kh):
                    h = p * sh - ph + i
                    inside_h = 0 <= h < H
                    for j in range(kw):
                        w = q * sw - pw + j
                        if inside_h and 0 <= w < W:
                            for c in range(C):
                                cols[n, p, q, i, j, c] = x[n, h, w, c]
                        else:
                            for c in range(C):
                                cols[n, p, q, i, j, c] = zero


@register("col2im")
def _col2im(dcols, dx, kh, kw, sh, sw, ph, pw, zero):
    """The adjoint of :func:`_im2col`: ``dx`` (m, H, W, C) is the sum, over every window that
    read an input pixel, of that window's entry of ``dcols`` (m, Ho, Wo, kh, kw, C); padding
    entries are dropped."""
    m, H, W, C = dx.shape
    Ho, Wo = dcols.shape[1], dcols.shape[2]
    for n in range(m):
        for h in range(H):
            for w in range(W):
                for c in range(C):
                    dx[n, h, w, c] = zero
        for p in range(Ho - 1, -1, -1):
            for i in range(kh):
                h = p * sh - ph + i
                if h < 0 or h >= H:
                    continue
                for q in range(Wo - 1, -1, -1):
                    for j in range(kw):
                        w = q * sw - pw + j
                        if w < 0 or w >= W:
                            continue
                        for c in range(C):
                            dx[n, h, w, c] += dcols[n, p, q, i, j, c]


@register("max_pool_forward")
def _max_pool_forward(x, out, arg, kh, kw, sh, sw, ph, pw):
    """``out[n, p, q, c]`` = the maximum of the window, ``arg[n, p, q, c]`` = its offset
    ``i kw + j`` in the window: the FIRST maximum in row-major window order (a later equal value
    does not replace it, as in PyTorch); the first NaN wins, as with ``np.argmax``.  The
    padding (-inf) is never chosen: the window's first cell inside the input starts the
    search (the layers allow at most half a window of padding, so there is one).  The
    comparisons are selects, not branches, so that the loop over channels vectorises."""
    m, H, W, C = x.shape
    Ho, Wo = out.shape[1], out.shape[2]
    for n in range(m):
        for p in range(Ho):
            i0 = max(0, ph - p * sh)  # the first window row inside the input
            for q in range(Wo):
                j0 = max(0, pw - q * sw)
                h0, w0, k0 = p * sh - ph + i0, q * sw - pw + j0, i0 * kw + j0
                for c in range(C):
                    out[n, p, q, c] = x[n, h0, w0, c]
                    arg[n, p, q, c] = k0
                for i in range(i0, kh):
                    h = p * sh - ph + i
                    if h >= H:
                        break
                    for j in range(j0, kw):
                        w = q * sw - pw + j
                        if w >= W:
                            break
                        if i == i0 and j == j0:
                            continue
                        k = i * kw + j
                        for c in range(C):
                            v = x[n, h, w, c]
                            b = out[n, p, q, c]
                            take = v > b or (v != v and b == b)
                            out[n, p, q, c] = v if take else b
                            arg[n, p, q, c] = k if take else arg[n, p, q, c]


@register("max_pool_backward")
def _max_pool_backward(da, arg, dx, kh, kw, sh, sw, ph, pw, zero):
    """``dx`` (m, H, W, C): each ``da[n, p, q, c]`` added to the input cell its window's
    maximum came from (``arg``); zero elsewhere.  Windows that tile the input (stride = kernel,
    no padding: the usual case) write every cell once, its share or 0, with no separate pass
    that zeroes ``dx``."""
    m, H, W, C = dx.shape
    Ho, Wo = da.shape[1], da.shape[2]
    tiled = sh == kh and sw == kw and ph == 0 and pw == 0
    for n in range(m):
        if tiled:
            for p in range(Ho):
                for i in range(kh):
                    h = p * kh + i
                    for q in range(Wo):
                        for j in range(kw):
                            w = q * kw + j
                            k = i * kw + j
                            for c in range(C):
                                dx[n, h, w, c] = da[n, p, q, c] if arg[n, p, q, c] == k else zero
            # the rows and columns past the last window are in none
            for h in range(Ho * kh, H):
                for w in range(W):
                    for c in range(C):
                        dx[n, h, w, c] = zero
            for h in range(Ho * kh):
                for w in range(Wo * kw, W):
                    for c in range(C):
                        dx[n, h, w, c] = zero
            continue
        for h in range(H):
            for w in range(W):
                for c in range(C):
                    dx[n, h, w, c] = zero
        for p in range(Ho - 1, -1, -1):
            for q in range(Wo - 1, -1, -1):
                for c in range(C):
                    k = arg[n, p, q, c]
                    i = k // kw
                    dx[n, p * sh - ph + i, q * sw - pw + (k - i * kw), c] += da[n, p, q, c]


@register("avg_pool_forward")
def _avg_pool_forward(x, out, kh, kw, sh, sw, ph, pw, zero, size):
    """``out[n, p, q, c]`` = the sum of the window (zero padding included), in row-major window
    order, divided by ``kh kw`` (PyTorch's ``count_include_pad=True``)."""
    m, H, W, C = x.shape
    Ho, Wo = out.shape[1], out.shape[2]
    for n in range(m):
        for p in range(Ho):
            for q in range(Wo):
                for c in range(C):
                    out[n, p, q, c] = zero
                for i in range(kh):
                    h = p * sh - ph + i
                    if h < 0 or h >= H:
                        continue
                    for j in range(kw):
                        w = q * sw - pw + j
                        if w < 0 or w >= W:
                            continue
                        for c in range(C):
                            out[n, p, q, c] += x[n, h, w, c]
                for c in range(C):
                    out[n, p, q, c] = out[n, p, q, c] / size


@register("avg_pool_backward")
def _avg_pool_backward(da, dx, kh, kw, sh, sw, ph, pw, zero, size):
    """``dx`` (m, H, W, C): each input cell gets ``da / (kh kw)`` of every window that holds
    it."""
    m, H, W, C = dx.shape
    Ho, Wo = da.shape[1], da.shape[2]
    for n in range(m):
        for h in range(H):
            for w in range(W):
                for c in range(C):
                    dx[n, h, w, c] = zero
        for p in range(Ho - 1, -1, -1):
            for q in range(Wo - 1, -1, -1):
                for i in range(kh):
                    h = p * sh - ph + i
                    if h < 0 or h >= H:
                        continue
                    for j in range(kw):
                        w = q * sw - pw + j
                        if w < 0 or w >= W:
                            continue
                        for c in range(C):
                            dx[n, h, w, c] += da[n, p, q, c] / size


@register("image_bias_activation")
def _image_bias_activation(z, b, a, kind, zero, slope):
    """The dense layer's ``bias_activation`` for an (m, rows, F) stack of per-image
    ``z`` rows: ``z += b`` in place, ``a = f(z)`` (ReLU, leaky ReLU or linear)."""
    m, r, F = z.shape
    for n in range(m):
        for i in range(r):
            for f in range(F):
                x = z[n, i, f] + b[f]
                z[n, i, f] = x
                if kind == RELU:
                    x = zero if x < zero else x
                elif kind == LEAKY_RELU:
                    x = x if x > zero else slope * x
                a[n, i, f] = x


@register("image_activation_backward")
def _image_activation_backward(da, z, a, db_parts, kind, zero, one, slope):
    """The dense layer's ``activation_backward`` for (m, rows, F) stacks: ``da *= f'(z)`` in
    place, and ``db_parts[n]`` = the sum of image n's rows (the caller adds the images' parts
    up)."""
    m, r, F = da.shape
    for n in range(m):
        for f in range(F):
            db_parts[n, f] = zero
        for i in range(r):
            for f in range(F):
                d = da[n, i, f]
                if kind == RELU:
                    d = d * (one if z[n, i, f] > zero else zero)
                elif kind == LEAKY_RELU:
                    d = d * (one if z[n, i, f] > zero else slope)
                elif kind == TANH:
                    d = d * (one - a[n, i, f] * a[n, i, f])
                elif kind == SIGMOID:
                    d = d * (a[n, i, f] * (one - a[n, i, f]))
                da[n, i, f] = d
                db_parts[n, f] += d


_IMAGE_KINDS = {"relu": (RELU, True), "leaky_relu": (LEAKY_RELU, True),
                "linear": (LINEAR, True), "tanh": (TANH, False), "sigmoid": (SIGMOID, False)}


def image_activation_kernels(name: str, dtype: Any, slope: float) -> ActivationKernels | None:
    """Bias + activation kernels for a convolution's ``z`` in channels-last rows:
    ``forward(z, b, a)`` and ``backward(da, z, a, db)`` on (m, rows, F) arrays
    (``forward`` is None for tanh and sigmoid, whose NumPy form is faster); None for other
    activations or when kernels are off.  ``slope``: leaky ReLU's."""
    if not enabled() or name not in _IMAGE_KINDS:
        return None
    return _image_activation_kernels(name, np.dtype(dtype), slope)


@functools.cache
def _image_activation_kernels(name: str, dtype: np.dtype, slope: float
                              ) -> ActivationKernels | None:
    bias_activation = get("image_bias_activation")
    activation_backward = get("image_activation_backward")
    if bias_activation is None or activation_backward is None:
        return None  # numba cannot be imported
    kind, has_forward = _IMAGE_KINDS[name]
    zero, one, slope_ = scalars(dtype, 0, 1, slope)
    fwd: Callable[[Array, Array, Array], bool] | None = None
    if has_forward:
        def fwd(z: Array, b: Array, a: Array) -> bool:
            bias_activation(z, b, a, kind, zero, slope_)
            return True

    def bwd(da: Array, z: Array, a: Array, db: Array) -> None:
        parts = np.empty((da.shape[0], da.shape[2]), dtype=da.dtype)
        activation_backward(da, z, a, parts, kind, zero, one, slope_)
        np.sum(parts, axis=0, out=db)

    return ActivationKernels(fwd, bwd)
