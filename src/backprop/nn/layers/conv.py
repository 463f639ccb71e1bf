"""The 2-D convolution, NCHW in and out, OIHW weights (as PyTorch and ONNX).

In the founding note's notation, with ``a[l-1]`` of shape (m, C, H, W), ``W[l]`` of shape
(F, C, kh, kw) (``F = out_channels`` filters, as CS231n names them), ``b[l]`` of shape (F,)
and the output of shape (m, F, Ho, Wo) (see :mod:`~backprop.nn.layers.windows` for ``Ho``,
``Wo``, strides and zero padding):

forward
    ``z[l][n, f, p, q] = b[f] + sum over c, i, j of W[f, c, i, j] a_pad[n, c, p sh + i,
    q sw + j]``
    and ``a[l] = f(z[l])``.  Unrolled into a matrix product (im2col, as in CS231n): the columns
    of ``X_col`` (C kh kw, m Ho Wo) are the windows, one per output pixel, so::

        X_col   = im2col(a[l-1])                  (C kh kw, m Ho Wo)
        z_row   = W_row X_col + b                 (F, C kh kw) @ (C kh kw, m Ho Wo)
        z[l]    = z_row as (m, F, Ho, Wo);  a[l] = f(z[l])

    with ``W_row = W.reshape(F, C kh kw)``.
backward
    from ``dJ/da[l]`` (m, F, Ho, Wo) and the cache::

        dz      = da * f'(z)                      (m, F, Ho, Wo), as dz_row (F, m Ho Wo)
        dW      = dz_row X_col^T                  (F, m Ho Wo) @ (m Ho Wo, C kh kw), as W
        db      = sum of dz over n, p, q          (F,)
        dX_col  = W_row^T dz_row                  (C kh kw, F) @ (F, m Ho Wo)
        da[l-1] = col2im(dX_col)                  (m, C, H, W)

    ``col2im`` is im2col's adjoint: it adds every window's column back onto the input pixels
    the window read (overlapping windows add up; the padding's share is dropped).

Two implementations compute this.  The plain reference (:func:`im2col`, :func:`col2im`; NumPy
only, written for reading) runs for any float dtype, and whenever the compiled kernels are off
(``backprop._kernels.disabled()``, or numba missing).  The fast path, the default for float32
and float64, is the same algebra on channels-last memory, a few images at a time so that the
unrolled windows never leave the cache: im2col builds ``(n Ho Wo, kh kw C)`` rows with a numba
kernel, the product ``cols @ W_k`` gives those images' ``z`` as (n Ho Wo, F) rows (the
output's NHWC memory, returned as an (m, F, Ho, Wo) view), and bias and activation are one
fused pass; each thread takes its own range of images (:mod:`backprop._kernels.threads`).
Backward unrolls the cached input again chunk by chunk
(cheaper than keeping every window of the batch in memory), adds each chunk's ``cols^T dz``
to ``dW``, and turns ``dz W_k^T`` into ``da[l-1]`` with a scatter-add per image (col2im).
``benchmarks/bench_conv.py`` measures it against PyTorch and against its own matrix products.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from backprop import _kernels
from backprop._utils import as_rng
from backprop.nn.activations import ACTIVATIONS, LEAKY_RELU_SLOPE, get_activation
from backprop.nn.initializers import INITIALIZERS, resolve_init
from backprop.nn.layers.base import Layer, Shape, check_dtype, check_width, register
from backprop.nn.layers.windows import Window, channels_last, pair, to_channels_first
from backprop.nn.workspace import Workspace

__all__ = ["Conv2D", "ConvCache", "im2col", "col2im"]

Array = np.ndarray
_FAST_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
#: the fast path works through a batch in chunks of images whose unrolled windows hold about
#: this many numbers (see ``benchmarks/bench_conv.py``)
CHUNK_ELEMENTS = 1 << 18


class ConvCache(NamedTuple):
    """What :meth:`Conv2D.forward` keeps for :meth:`Conv2D.backward`."""

    a_prev: Array  #: the input a[l-1], (m, C, H, W)
    x_col: Array | None  #: plain: X_col (C kh kw, m Ho Wo); fast: its windows, when kept
    x_nhwc: Array | None  #: fast path: a[l-1] as (m, H, W, C) (backward unrolls it again)
    z: Array  #: z[l], (m, F, Ho, Wo) (fast: channels-last memory)
    a: Array  #: a[l] = f(z[l]), (m, F, Ho, Wo)
    fast: bool  #: made by the fast path (its backward then runs too)


def im2col(x: Array, window: Window) -> Array:
    """The windows of ``x`` (m, C, H, W) as the columns of ``X_col`` (C kh kw, m Ho Wo): row
    ``(c, i, j)`` holds entry ``(i, j)`` of channel ``c`` of every window, column
    ``(n, p, q)`` is the window of output pixel ``(p, q)`` of sample ``n``."""
    m, C, H, W = x.shape
    (kh, kw), (Ho, Wo) = window.kernel, window.output_hw(H, W)
    x_pad = window.pad(x)
    cols = np.empty((C, kh, kw, m, Ho, Wo), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            # offset (i, j) of every window at once: (m, C, Ho, Wo) -> (C, m, Ho, Wo)
            cols[:, i, j] = window.offset(x_pad, i, j, Ho, Wo).transpose(1, 0, 2, 3)
    return cols.reshape(C * kh * kw, m * Ho * Wo)


def col2im(dx_col: Array, shape: tuple[int, int, int, int], window: Window) -> Array:
    """The adjoint of :func:`im2col`: ``dx`` of ``shape`` (m, C, H, W), each pixel the sum of
    the entries of ``dx_col`` (C kh kw, m Ho Wo) that came from it."""
    m, C, H, W = shape
    (kh, kw), (ph, pw), (Ho, Wo) = window.kernel, window.padding, window.output_hw(H, W)
    dcols = dx_col.reshape(C, kh, kw, m, Ho, Wo)
    dx_pad = np.zeros((m, C, H + 2 * ph, W + 2 * pw), dtype=dx_col.dtype)
    for i in range(kh):
        for j in range(kw):
            window.offset(dx_pad, i, j, Ho, Wo)[...] += dcols[:, i, j].transpose(1, 0, 2, 3)
    return window.unpad(dx_pad)


@register
class Conv2D(Layer):
    """2-D convolution (cross-correlation, as in PyTorch) ``a = f(conv(a_prev, W) + b)``.

    Parameters
    ----------
    in_channels, out_channels : int
        ``C`` and ``F`` (the number of filters).  ``W`` has shape ``(F, C, kh, kw)``, ``b``
        shape ``(F,)``.
    kernel_size : int or pair (kh, kw)
    stride : int or pair, default 1
    padding : int or pair, default 0
        Rows (columns) of zeros added on each side.
    activation : str, default "linear"
        Name in :data:`backprop.nn.activations.ACTIVATIONS` (or an activation record), applied
        element-wise; softmax is not one here.
    init : str, optional
        As :class:`~backprop.nn.layers.dense.Dense`'s (He for the ReLU family, Glorot
        otherwise), with fan-in ``C kh kw`` and fan-out ``F kh kw``.  Biases start at zero.
    dtype : float32 (default) or float64
    seed : int, numpy Generator or None
        Source of the initial weights.

    Notes
    -----
    Input ``(m, C, H, W)``, output ``(m, F, Ho, Wo)`` with ``Ho = (H + 2 ph - kh) // sh + 1``
    and the same for the width.  The module docstring gives forward and backward.
    """

    decayed = ("W",)
    own_threads = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        activation: str = "linear",
        init: str | None = None,
        dtype: Any = np.float32,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        self.in_channels = check_width({"in_channels": in_channels}, "in_channels")
        self.out_channels = check_width({"out_channels": out_channels}, "out_channels")
        self.window = Window(pair("kernel_size", kernel_size, 1), pair("stride", stride, 1),
                             pair("padding", padding, 0))
        self.activation = get_activation(activation)
        if self.activation.derivative is None:
            raise ValueError(f"{self.activation.name} is not an element-wise activation; "
                             "Conv2D takes one that is (relu, tanh, linear ...)")
        self.init = resolve_init(init, self.activation.init)
        dt = check_dtype(dtype)
        F, C, (kh, kw) = self.out_channels, self.in_channels, self.window.kernel
        W = INITIALIZERS[self.init](as_rng(seed), C * kh * kw, F * kh * kw, size=(F, C, kh, kw))
        self.params = {"W": W.astype(dt), "b": np.zeros(F, dtype=dt)}

    def __repr__(self) -> str:
        w = self.window
        return (f"Conv2D({self.in_channels}, {self.out_channels}, kernel_size={w.kernel}, "
                f"stride={w.stride}, padding={w.padding}, activation={self.activation.name!r})")

    # ------------------------------------------------------------------ the pair
    def forward(self, a_prev: Array, training: bool = False) -> tuple[Array, ConvCache]:
        """``z = conv(a_prev, W) + b``; ``a = f(z)``.  ``a_prev``: (m, C, H, W) -> ``a``:
        (m, F, Ho, Wo)."""
        return self._forward(a_prev, training)

    def backward(self, da: Array, cache: ConvCache) -> tuple[Array, dict[str, Array]]:
        """``dz = da * f'(z)``, then :meth:`backward_from_dz`.  ``da``: (m, F, Ho, Wo)."""
        return self._backward(da, cache)

    def backward_from_dz(self, dz: Array, cache: ConvCache, need_da_prev: bool = True
                         ) -> tuple[Array | None, dict[str, Array]]:
        """Back-propagate ``dz = dJ/dz`` (m, F, Ho, Wo) through ``z = conv(a_prev, W) + b``;
        ``need_da_prev=False`` skips ``dJ/da_prev`` (None in its place)."""
        if not cache.fast:
            return self._plain_backward_from_dz(dz, cache, need_da_prev)
        return self._fast_backward(dz, cache, Workspace(), need_da_prev, False, False)

    def preactivation(self, cache: ConvCache) -> Array:
        """The cached ``z`` (m, F, Ho, Wo)."""
        return cache.z

    # The public pair above calls the workspace pair below without a workspace; the fast path
    # then allocates its arrays.  During fit and predict the network passes its workspace.

    def _fast(self, a_prev: Array) -> bool:
        """Whether the fast path runs for this input (float32/float64, kernels on)."""
        return a_prev.dtype in _FAST_DTYPES and _kernels.get("im2col") is not None

    def _forward(self, a_prev: Array, training: bool, ws: Workspace | None = None
                 ) -> tuple[Array, ConvCache]:
        H, W, Ho, Wo = self.window.check(self, a_prev.shape, self.in_channels)
        if not self._fast(a_prev):
            return self._plain_forward(a_prev)
        return self._fast_forward(a_prev, ws or Workspace(), Ho, Wo)

    def _backward(self, da: Array, cache: ConvCache, ws: Workspace | None = None,
                  need_da_prev: bool = True, da_owned: bool = False
                  ) -> tuple[Array | None, dict[str, Array]]:
        """``da_owned``: ``da`` is a scratch array that may be overwritten with ``dz``."""
        if not cache.fast:
            dz = self.activation.backward(da, cache.z, cache.a)
            return self._plain_backward_from_dz(dz, cache, need_da_prev)
        return self._fast_backward(da, cache, ws or Workspace(), need_da_prev, da_owned, True)

    # ------------------------------------------------------------------ plain reference
    def _plain_forward(self, a_prev: Array) -> tuple[Array, ConvCache]:
        m, _, H, W_ = a_prev.shape
        Ho, Wo = self.window.output_hw(H, W_)
        F = self.out_channels
        X_col = im2col(a_prev, self.window)  # (C kh kw, m Ho Wo)
        W_row = self.params["W"].reshape(F, -1)  # (F, C kh kw)
        z_row = W_row @ X_col + self.params["b"][:, None]  # (F, m Ho Wo)
        z = np.ascontiguousarray(z_row.reshape(F, m, Ho, Wo).transpose(1, 0, 2, 3))
        a = self.activation.value(z)
        return a, ConvCache(a_prev, X_col, None, z, a, False)

    def _plain_backward_from_dz(self, dz: Array, cache: ConvCache, need_da_prev: bool
                                ) -> tuple[Array | None, dict[str, Array]]:
        W = self.params["W"]
        F = self.out_channels
        dz_row = dz.transpose(1, 0, 2, 3).reshape(F, -1)  # (F, m Ho Wo)
        grads = {
            "W": (dz_row @ cache.x_col.T).reshape(W.shape),  # (F, m Ho Wo) @ (m Ho Wo, C kh kw)
            "b": dz.sum(axis=(0, 2, 3)),  # (F,)
        }
        if not need_da_prev:
            return None, grads
        dX_col = W.reshape(F, -1).T @ dz_row  # (C kh kw, F) @ (F, m Ho Wo)
        return col2im(dX_col, cache.a_prev.shape, self.window), grads

    # ------------------------------------------------------------------ fast path
    def _kernels(self, ws: Workspace) -> _kernels.ActivationKernels | None:
        """The activation's fused kernels for image rows, or None; looked up once per
        workspace."""
        return ws.cached(self, "kernels", self._find_kernels)

    def _find_kernels(self) -> _kernels.ActivationKernels | None:
        act = self.activation
        if ACTIVATIONS.get(act.name) is not act:
            return None
        return _kernels.image_activation_kernels(act.name, self.params["W"].dtype,
                                                 LEAKY_RELU_SLOPE)

    def _weights_k(self, ws: Workspace) -> Array:
        """``W`` as the (kh kw C, F) matrix whose rows match the fast path's im2col rows."""
        W = self.params["W"]
        F, C, kh, kw = W.shape
        Wk = ws.get(self, "W_k", (kh, kw, C, F), W.dtype)
        np.copyto(Wk, W.transpose(2, 3, 1, 0))
        return Wk.reshape(kh * kw * C, F)

    def _chunk(self, Ho: int, Wo: int, m: int) -> int:
        """Images per chunk of the fast path (of ``m``): as many as keep one chunk's unrolled
        windows (and its ``z``) within about 1 MiB of float32, half a core's L2 cache."""
        K = self.in_channels * self.window.kernel[0] * self.window.kernel[1]
        return max(1, min(m, CHUNK_ELEMENTS // (Ho * Wo * max(K, self.out_channels))))

    def _fast_forward(self, a_prev: Array, ws: Workspace, Ho: int, Wo: int
                      ) -> tuple[Array, ConvCache]:
        W, b = self.params["W"], self.params["b"]
        dt, F = W.dtype, self.out_channels
        x = channels_last(a_prev.astype(dt, copy=False), ws, self, "x")  # (m, H, W, C)
        m, C = x.shape[0], x.shape[3]
        kh, kw = self.window.kernel
        P, K = Ho * Wo, kh * kw * C  # output pixels per image, window length
        Wk = self._weights_k(ws)
        z2 = ws.get(self, "z", (m * P, F), dt)
        kernels = self._kernels(ws)
        fused = kernels is not None and kernels.forward is not None
        # z += b; a = f(z) in one pass; when predicting, a overwrites z (no backward)
        a2 = z2 if ws.inference or not fused else ws.get(self, "a", z2.shape, dt)
        g = self._chunk(Ho, Wo, m)
        # the windows are kept for backward when they are no longer than z's rows (few input
        # channels): less memory than z, less time than unrolling them again
        keep = K <= F and not ws.inference
        cols = ws.get(self, "cols", (m, Ho, Wo, kh, kw, C), dt) if keep else None
        scratch = [ws.get(self, f"cols {i}", (g, Ho, Wo, kh, kw, C), dt)
                   for i in range(0 if keep else min(_kernels.threads.count(), m))]
        im2col_ = _kernels.get("im2col")

        def run(lo: int, hi: int, part: int) -> None:
            # chunk by chunk, so that the unrolled windows and z stay in cache between
            # im2col, the product and the activation
            for s in range(lo, hi, g):
                n = min(g, hi - s)
                cols_c = cols[s:s + n] if keep else scratch[part][:n]
                im2col_(x[s:s + n], cols_c, *self.window.args, dt.type(0))
                # (n Ho Wo, kh kw C) @ (kh kw C, F) -> (n Ho Wo, F): z in NHWC memory
                z_c = np.matmul(cols_c.reshape(n * P, K), Wk, out=z2[s * P:(s + n) * P])
                if fused:
                    kernels.forward(z_c.reshape(n, P, F), b,
                                    a2[s * P:(s + n) * P].reshape(n, P, F))

        _kernels.split(m, run)
        if not fused:
            z2 += b
            a2 = self.activation.value(z2)
        z = to_channels_first(z2.reshape(m, Ho, Wo, F))
        a = to_channels_first(a2.reshape(m, Ho, Wo, F))
        return a, ConvCache(a_prev, cols.reshape(m * P, K) if keep else None, x, z, a, True)

    def _fast_backward(self, d: Array, cache: ConvCache, ws: Workspace, need_da_prev: bool,
                       d_owned: bool, through_activation: bool
                       ) -> tuple[Array | None, dict[str, Array]]:
        """From ``d = dJ/da`` (``through_activation``) or ``dJ/dz`` (m, F, Ho, Wo), chunk by
        chunk: ``dz``, the bias gradient, the windows again (im2col of the cached input) and
        their share of ``dW``, and ``da_prev`` through ``dz W_k^T`` and col2im."""
        W = self.params["W"]
        F, C, kh, kw = W.shape
        x, dt = cache.x_nhwc, W.dtype
        m, H, W_ = x.shape[:3]
        Ho, Wo = d.shape[2:]
        P, K = Ho * Wo, kh * kw * C
        d_t = d.transpose(0, 2, 3, 1)  # (m, Ho, Wo, F)
        if d_owned and d_t.flags.c_contiguous:
            dz2 = d_t.reshape(m * P, F)  # overwritten with dz in place
        else:
            dz2 = ws.get(self, "dz", (m * P, F), dt)
            np.copyto(dz2.reshape(d_t.shape), d_t)
        z2 = cache.z.transpose(0, 2, 3, 1).reshape(m * P, F)  # views: the fast path's memory
        a2 = cache.a.transpose(0, 2, 3, 1).reshape(m * P, F)
        kernels = self._kernels(ws) if through_activation else None
        per_chunk = kernels is not None and kernels.backward is not None
        if through_activation and not per_chunk:
            dz2[...] = self.activation.backward(dz2, z2, a2)
        Wk = self._weights_k(ws)
        kept = cache.x_col  # the forward pass's windows, (m Ho Wo, kh kw C), or None
        dx = ws.get(self, "dx", (m, H, W_, C), dt) if need_da_prev else None
        g = self._chunk(Ho, Wo, m)
        shape = (g, Ho, Wo, kh, kw, C)
        # each thread's own arrays: its chunk's windows and their gradient, its sums
        parts = min(_kernels.threads.count(), m)
        mine = [{"db": ws.get(self, f"db {i}", (F,), dt),
                 "db_c": ws.get(self, f"db chunk {i}", (F,), dt),
                 "dW_k": ws.get(self, f"dW_k {i}", (K, F), dt),
                 "dW_k_c": ws.get(self, f"dW_k chunk {i}", (K, F), dt),
                 "cols": ws.get(self, f"cols {i}", shape, dt) if kept is None else None,
                 "dcols": ws.get(self, f"dcols {i}", shape, dt) if need_da_prev else None}
                for i in range(parts)]
        im2col_, col2im_ = _kernels.get("im2col"), _kernels.get("col2im")

        def run(lo: int, hi: int, part: int) -> None:
            own = mine[part]
            own["db"][...] = 0
            own["dW_k"][...] = 0
            for s in range(lo, hi, g):
                n = min(g, hi - s)
                rows = slice(s * P, (s + n) * P)
                dz_c = dz2[rows]
                if per_chunk:  # dz = da * f'(z) in place; the chunk's bias gradient
                    kernels.backward(*(v.reshape(n, P, F) for v in (dz_c, z2[rows], a2[rows])),
                                     own["db_c"])
                    own["db"] += own["db_c"]
                if kept is None:
                    cols_c = own["cols"][:n]
                    im2col_(x[s:s + n], cols_c, *self.window.args, dt.type(0))
                    # (kh kw C, n Ho Wo) @ (n Ho Wo, F) -> (kh kw C, F)
                    own["dW_k"] += np.matmul(cols_c.reshape(n * P, K).T, dz_c, out=own["dW_k_c"])
                if need_da_prev:
                    # (n Ho Wo, F) @ (F, kh kw C) -> (n Ho Wo, kh kw C): the windows' shares
                    dcols_c = np.matmul(dz_c, Wk.T, out=own["dcols"][:n].reshape(n * P, K))
                    col2im_(dcols_c.reshape(n, *shape[1:]), dx[s:s + n], *self.window.args,
                            dt.type(0))

        _kernels.split(m, run)
        db = ws.get(self, "db", (F,), dt)
        if per_chunk:
            np.copyto(db, mine[0]["db"])
            for own in mine[1:]:
                db += own["db"]
        else:
            np.sum(dz2, axis=0, out=db)
        dWk = ws.get(self, "dW_k", (K, F), dt)
        if kept is not None:
            np.matmul(kept.T, dz2, out=dWk)  # (kh kw C, m Ho Wo) @ (m Ho Wo, F)
        else:
            np.copyto(dWk, mine[0]["dW_k"])
            for own in mine[1:]:
                dWk += own["dW_k"]
        dW = ws.get(self, "dW", W.shape, dt)
        np.copyto(dW, dWk.reshape(kh, kw, C, F).transpose(3, 2, 0, 1))  # as (F, C, kh, kw)
        grads = {"W": dW, "b": db}
        return (to_channels_first(dx) if need_da_prev else None), grads

    # ------------------------------------------------------------------ protocol
    def output_shape(self, input_shape: Shape) -> Shape:
        """``(F, Ho, Wo)`` for ``(C, H, W)``; ``ValueError`` for another channel count or an
        input smaller than the window."""
        _, _, Ho, Wo = self.window.check(self, tuple(input_shape), self.in_channels,
                                         batch=False)
        return (self.out_channels, Ho, Wo)

    @classmethod
    def param_shapes(cls, config: dict[str, Any], dtype: Any) -> dict[str, tuple[Shape, np.dtype]]:
        """``W``: (F, C, kh, kw), ``b``: (F,), both in ``dtype``."""
        C, F = check_width(config, "in_channels"), check_width(config, "out_channels")
        kh, kw = pair("kernel_size", config.get("kernel_size"), 1)
        dt = np.dtype(dtype)
        return {"W": ((F, C, kh, kw), dt), "b": ((F,), dt)}

    def config(self) -> dict[str, Any]:
        """Constructor arguments (weights aside); pairs as lists."""
        w = self.window
        return {
            "type": "Conv2D",
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(w.kernel),
            "stride": list(w.stride),
            "padding": list(w.padding),
            "activation": self.activation.name,
            "init": self.init,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], dtype: Any = np.float32,
                    seed: int | np.random.Generator | None = None) -> Conv2D:
        """A Conv2D layer with fresh weights drawn from ``seed``."""
        spec = {k: v for k, v in config.items() if k != "type"}
        return cls(**spec, dtype=dtype, seed=seed)

    def describe(self) -> str:
        """Kernel, stride, padding and activation, e.g. ``3x3 /1 pad 1, relu``."""
        (kh, kw), (sh, sw), (ph, pw) = self.window.kernel, self.window.stride, self.window.padding
        stride = f"{sh}" if sh == sw else f"{sh},{sw}"
        pad = f"{ph}" if ph == pw else f"{ph},{pw}"
        return f"{kh}x{kw} /{stride} pad {pad}, {self.activation.name}"
