"""Max and average pooling over windows of each channel, NCHW in and out (as PyTorch).

In the founding note's notation, with ``a[l-1]`` of shape (m, C, H, W) and the output of shape
(m, C, Ho, Wo) (see :mod:`~backprop.nn.layers.windows` for ``Ho``, ``Wo``, strides, padding):

max pooling
    forward: ``a[l][n, c, p, q] = max over i, j of a_pad[n, c, p sh + i, q sw + j]``, the
    padding being -inf (never chosen); the cache keeps which offset ``k = i kw + j`` won, the
    FIRST maximum in row-major window order when several cells tie (as PyTorch; flat image
    backgrounds make ties common, and a gradient sent to every tied cell would be too large).
    backward: ``da[l-1]`` (m, C, H, W) is zero except at the winning cells, each of which
    receives the ``da[l]`` of every window it won (windows may overlap when the stride is
    smaller than the kernel).
average pooling
    forward: ``a[l][n, c, p, q] = (1 / (kh kw)) sum over i, j of a_pad[n, c, p sh + i,
    q sw + j]``, the padding being 0 and counted in ``kh kw`` (PyTorch's default
    ``count_include_pad=True``).  backward: every cell of a window receives ``da[l] / (kh kw)``
    of that window.

No parameters.  Each layer has a plain NumPy reference (a loop over the ``kh kw`` window
offsets, each a strided slice of all windows) and a fast path (numba kernels on channels-last
memory, :mod:`backprop._kernels.conv`, each thread on its own range of images), the default
for float32 and float64; the plain one runs
for other dtypes and when the kernels are off (``backprop._kernels.disabled()``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from backprop import _kernels
from backprop.nn.layers.base import Layer, Shape, register
from backprop.nn.layers.windows import Window, channels_last, pair, to_channels_first
from backprop.nn.workspace import Workspace

__all__ = ["MaxPool2D", "AvgPool2D", "PoolCache"]

Array = np.ndarray
_FAST_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class PoolCache(NamedTuple):
    """What a pooling layer's forward pass keeps for its backward pass."""

    shape: tuple[int, ...]  #: the input's shape (m, C, H, W)
    arg: Array | None  #: max pooling: the winning offsets, (m, C, Ho, Wo) (fast: NHWC memory)
    fast: bool  #: made by the fast path (its backward then runs too)


class _Pool2D(Layer):
    """What the two pooling layers share: the window, checks, config and the dispatch between
    the plain and the fast path."""

    _kind = ""  # "max" or "avg": the kernels' prefix
    own_threads = True

    def __init__(self, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] | None = None,
                 padding: int | tuple[int, int] = 0) -> None:
        kernel = pair("kernel_size", kernel_size, 1)
        stride_ = kernel if stride is None else pair("stride", stride, 1)
        pad = pair("padding", padding, 0)
        if pad[0] > kernel[0] // 2 or pad[1] > kernel[1] // 2:
            # as PyTorch: more would make windows of nothing but padding
            raise ValueError(f"padding must be at most half the kernel size, got padding "
                             f"{padding!r} for kernel_size {kernel_size!r}")
        self.window = Window(kernel, stride_, pad)
        self.params = {}

    def __repr__(self) -> str:
        w = self.window
        return (f"{type(self).__name__}(kernel_size={w.kernel}, stride={w.stride}, "
                f"padding={w.padding})")

    def forward(self, a_prev: Array, training: bool = False) -> tuple[Array, PoolCache]:
        """Pool ``a_prev`` (m, C, H, W) to ``a`` (m, C, Ho, Wo)."""
        return self._forward(a_prev, training)

    def backward(self, da: Array, cache: PoolCache) -> tuple[Array, dict[str, Array]]:
        """``da_prev`` (m, C, H, W) from ``da`` (m, C, Ho, Wo); no parameter gradients."""
        return self._backward(da, cache)

    def _forward(self, a_prev: Array, training: bool, ws: Workspace | None = None
                 ) -> tuple[Array, PoolCache]:
        self.window.check(self, a_prev.shape)
        if a_prev.dtype not in _FAST_DTYPES or _kernels.get(f"{self._kind}_pool_forward") is None:
            return self._plain_forward(a_prev)
        return self._fast_forward(a_prev, ws or Workspace())

    def _backward(self, da: Array, cache: PoolCache, ws: Workspace | None = None,
                  need_da_prev: bool = True, da_owned: bool = False
                  ) -> tuple[Array, dict[str, Array]]:
        if not cache.fast:
            return self._plain_backward(da, cache), {}
        return self._fast_backward(da, cache, ws or Workspace()), {}

    def _plain_forward(self, a_prev: Array) -> tuple[Array, PoolCache]:
        raise NotImplementedError

    def _plain_backward(self, da: Array, cache: PoolCache) -> Array:
        raise NotImplementedError

    def _fast_forward(self, a_prev: Array, ws: Workspace) -> tuple[Array, PoolCache]:
        raise NotImplementedError

    def _fast_backward(self, da: Array, cache: PoolCache, ws: Workspace) -> Array:
        raise NotImplementedError

    def _out(self, x: Array, ws: Workspace, name: str, dtype: Any = None) -> Array:
        """The workspace array (m, Ho, Wo, C) for the output of ``x`` (m, H, W, C)."""
        m, H, W, C = x.shape
        Ho, Wo = self.window.output_hw(H, W)
        return ws.get(self, name, (m, Ho, Wo, C), dtype or x.dtype)

    # ------------------------------------------------------------------ protocol
    def output_shape(self, input_shape: Shape) -> Shape:
        """``(C, Ho, Wo)`` for ``(C, H, W)``; ``ValueError`` for an input of another rank or
        smaller than the window."""
        _, _, Ho, Wo = self.window.check(self, tuple(input_shape), batch=False)
        return (input_shape[0], Ho, Wo)

    def config(self) -> dict[str, Any]:
        """Constructor arguments; pairs as lists."""
        w = self.window
        return {"type": type(self).__name__, "kernel_size": list(w.kernel),
                "stride": list(w.stride), "padding": list(w.padding)}

    @classmethod
    def from_config(cls, config: dict[str, Any], dtype: Any = np.float32,
                    seed: int | np.random.Generator | None = None) -> _Pool2D:
        """The layer ``config`` describes (no parameters, so neither dtype nor seed)."""
        return cls(config["kernel_size"], config.get("stride"), config.get("padding", 0))

    def describe(self) -> str:
        """Kernel, stride and padding, e.g. ``2x2 /2``."""
        (kh, kw), (sh, sw), (ph, pw) = self.window.kernel, self.window.stride, self.window.padding
        text = f"{kh}x{kw} /{sh if sh == sw else f'{sh},{sw}'}"
        if ph or pw:
            text += f" pad {ph if ph == pw else f'{ph},{pw}'}"
        return text


@register
class MaxPool2D(_Pool2D):
    """Max pooling: the largest value of each ``kh x kw`` window of each channel.

    Parameters
    ----------
    kernel_size : int or pair (kh, kw)
    stride : int or pair, optional
        Default: ``kernel_size`` (windows side by side).
    padding : int or pair, default 0
        Cells of -inf added on each side; at most half the kernel size.

    Notes
    -----
    The gradient of a window goes to its first maximum (row-major order), as in PyTorch; see
    the module docstring for forward and backward.
    """

    _kind = "max"

    def _plain_forward(self, a_prev: Array) -> tuple[Array, PoolCache]:
        m, C, H, W = a_prev.shape
        Ho, Wo = self.window.output_hw(H, W)
        (kh, kw), w = self.window.kernel, self.window
        x_pad = w.pad(a_prev, -np.inf)
        # every window's kh kw cells side by side: (m, C, Ho, Wo, kh kw)
        cells = np.stack([w.offset(x_pad, i, j, Ho, Wo) for i in range(kh) for j in range(kw)],
                         axis=-1)
        arg = cells.argmax(axis=-1)  # the first maximum of each window
        a = np.take_along_axis(cells, arg[..., None], axis=-1)[..., 0]
        return a, PoolCache(a_prev.shape, arg, False)

    def _plain_backward(self, da: Array, cache: PoolCache) -> Array:
        m, C, H, W = cache.shape
        (kh, kw), (ph, pw), w = self.window.kernel, self.window.padding, self.window
        Ho, Wo = w.output_hw(H, W)
        dx_pad = np.zeros((m, C, H + 2 * ph, W + 2 * pw), dtype=da.dtype)
        for i in range(kh):
            for j in range(kw):
                # the windows whose maximum sat at offset (i, j) send their da there
                w.offset(dx_pad, i, j, Ho, Wo)[...] += np.where(cache.arg == i * kw + j, da, 0)
        return w.unpad(dx_pad)

    def _fast_forward(self, a_prev: Array, ws: Workspace) -> tuple[Array, PoolCache]:
        x = channels_last(a_prev, ws, self, "x")
        out = self._out(x, ws, "a")
        # the offset of a window's maximum fits a byte unless the window is huge
        arg = self._out(x, ws, "arg", np.int8 if self.window.kernel[0] *
                        self.window.kernel[1] <= 127 else np.int32)
        forward, args = _kernels.get("max_pool_forward"), self.window.args
        _kernels.split(x.shape[0], lambda lo, hi, _: forward(x[lo:hi], out[lo:hi], arg[lo:hi],
                                                             *args))
        return to_channels_first(out), PoolCache(a_prev.shape, to_channels_first(arg), True)

    def _fast_backward(self, da: Array, cache: PoolCache, ws: Workspace) -> Array:
        m, C, H, W = cache.shape
        dx = ws.get(self, "dx", (m, H, W, C), da.dtype)
        g = channels_last(da, ws, self, "da")
        backward, args = _kernels.get("max_pool_backward"), self.window.args
        arg, zero = channels_last(cache.arg), da.dtype.type(0)
        _kernels.split(m, lambda lo, hi, _: backward(g[lo:hi], arg[lo:hi], dx[lo:hi], *args,
                                                     zero))
        return to_channels_first(dx)


@register
class AvgPool2D(_Pool2D):
    """Average pooling: the mean of each ``kh x kw`` window of each channel.

    Parameters
    ----------
    kernel_size : int or pair (kh, kw)
    stride : int or pair, optional
        Default: ``kernel_size`` (windows side by side).
    padding : int or pair, default 0
        Cells of 0 added on each side, counted in the mean (PyTorch's default); at most half
        the kernel size.

    Notes
    -----
    See the module docstring for forward and backward.
    """

    _kind = "avg"

    def _plain_forward(self, a_prev: Array) -> tuple[Array, PoolCache]:
        m, C, H, W = a_prev.shape
        Ho, Wo = self.window.output_hw(H, W)
        (kh, kw), w = self.window.kernel, self.window
        x_pad = w.pad(a_prev)
        total = np.zeros((m, C, Ho, Wo), dtype=a_prev.dtype)
        for i in range(kh):
            for j in range(kw):
                total += w.offset(x_pad, i, j, Ho, Wo)
        return total / a_prev.dtype.type(kh * kw), PoolCache(a_prev.shape, None, False)

    def _plain_backward(self, da: Array, cache: PoolCache) -> Array:
        m, C, H, W = cache.shape
        (kh, kw), (ph, pw), w = self.window.kernel, self.window.padding, self.window
        Ho, Wo = w.output_hw(H, W)
        share = da / da.dtype.type(kh * kw)
        dx_pad = np.zeros((m, C, H + 2 * ph, W + 2 * pw), dtype=da.dtype)
        for i in range(kh):
            for j in range(kw):
                w.offset(dx_pad, i, j, Ho, Wo)[...] += share
        return w.unpad(dx_pad)

    def _fast_forward(self, a_prev: Array, ws: Workspace) -> tuple[Array, PoolCache]:
        x = channels_last(a_prev, ws, self, "x")
        out = self._out(x, ws, "a")
        kh, kw = self.window.kernel
        dt = x.dtype.type
        forward, args = _kernels.get("avg_pool_forward"), self.window.args
        _kernels.split(x.shape[0], lambda lo, hi, _: forward(x[lo:hi], out[lo:hi], *args,
                                                             dt(0), dt(kh * kw)))
        return to_channels_first(out), PoolCache(a_prev.shape, None, True)

    def _fast_backward(self, da: Array, cache: PoolCache, ws: Workspace) -> Array:
        m, C, H, W = cache.shape
        dx = ws.get(self, "dx", (m, H, W, C), da.dtype)
        kh, kw = self.window.kernel
        dt = da.dtype.type
        backward, args = _kernels.get("avg_pool_backward"), self.window.args
        g = channels_last(da, ws, self, "da")
        _kernels.split(m, lambda lo, hi, _: backward(g[lo:hi], dx[lo:hi], *args, dt(0),
                                                     dt(kh * kw)))
        return to_channels_first(dx)
