"""Sliding windows over images: the geometry that convolution and pooling share.

A window of ``kh x kw`` pixels moves over an input of ``H x W`` pixels, padded with ``ph``
rows above and below and ``pw`` columns left and right, ``sh`` rows and ``sw`` columns at a
time.  Output pixel ``(p, q)`` sees input rows ``p sh - ph + i`` and columns ``q sw - pw + j``
for the window offsets ``0 <= i < kh``, ``0 <= j < kw``, so the output has::

    Ho = (H + 2 ph - kh) // sh + 1        Wo = (W + 2 pw - kw) // sw + 1

pixels (as in PyTorch and ONNX, rounding down).  The plain reference paths take every window's
offset ``(i, j)`` at once, as one strided slice of the padded input (:func:`offset`): a loop
over the ``kh kw`` offsets, never over samples or pixels.  The fast paths work on channels-last
memory (:func:`channels_last`; see :mod:`backprop._kernels.conv` for why).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from backprop.nn.workspace import Workspace

__all__ = ["Window", "pair", "channels_last", "to_channels_first"]

Array = np.ndarray
Pair = tuple[int, int]


def pair(name: str, value: Any, low: int) -> Pair:
    """``value`` (an int or a pair of ints, each ``>= low``) as a pair ``(h, w)``; else
    ``ValueError`` naming the argument and the value."""
    items = (value, value) if not isinstance(value, (tuple, list)) else tuple(value)
    ok = len(items) == 2 and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= low for v in items)
    if not ok:
        what = "a positive integer" if low == 1 else f"an integer >= {low}"
        raise ValueError(f"{name} must be {what} or a pair of them (h, w), got {value!r}")
    return int(items[0]), int(items[1])


@dataclass(frozen=True)
class Window:
    """A window's size, stride and padding, each a pair ``(h, w)``."""

    kernel: Pair
    stride: Pair
    padding: Pair

    @property
    def args(self) -> tuple[int, int, int, int, int, int]:
        """``(kh, kw, sh, sw, ph, pw)``, as the kernels take them."""
        return (*self.kernel, *self.stride, *self.padding)

    def output_hw(self, H: int, W: int) -> Pair:
        """``(Ho, Wo)`` for an ``H x W`` input (at least 1 each; not checked here)."""
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        return (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1

    def check(self, layer: object, shape: tuple[int, ...], channels: int | None = None,
              batch: bool = True) -> tuple[int, int, int, int]:
        """``(H, W, Ho, Wo)`` for an input of ``shape`` (``(m, C, H, W)``, or ``(C, H, W)``
        with ``batch=False``); ``ValueError`` naming the ``layer`` (its repr) and the shape
        when it has another rank, other than ``channels`` channels, or is smaller than one
        window."""
        rank, what = (4, "(m, C, H, W)") if batch else (3, "(C, H, W)")
        if len(shape) != rank:
            raise ValueError(f"{layer!r} takes images of shape {what}, got shape {tuple(shape)}")
        C, H, W = shape[-3:]
        if channels is not None and C != channels:
            raise ValueError(f"{layer!r} expects {channels} input channel"
                             f"{'s' if channels != 1 else ''}, got {C} (input of shape "
                             f"{tuple(shape)})")
        (kh, kw), (ph, pw) = self.kernel, self.padding
        if H + 2 * ph < kh or W + 2 * pw < kw:
            raise ValueError(f"{layer!r}: the {kh}x{kw} window does not fit in a {H}x{W} input "
                             f"with padding {ph},{pw} (input of shape {tuple(shape)})")
        return (H, W, *self.output_hw(H, W))

    def offset(self, x_pad: Array, i: int, j: int, Ho: int, Wo: int) -> Array:
        """Entry ``(i, j)`` of every window of the padded ``x_pad`` (..., Hp, Wp): the view
        ``(..., Ho, Wo)`` of rows ``i, i + sh, ...`` and columns ``j, j + sw, ...``."""
        sh, sw = self.stride
        return x_pad[..., i:i + sh * (Ho - 1) + 1:sh, j:j + sw * (Wo - 1) + 1:sw]

    def pad(self, x: Array, value: float = 0.0) -> Array:
        """``x`` (m, C, H, W) with ``ph`` rows and ``pw`` columns of ``value`` on each side."""
        ph, pw = self.padding
        if not ph and not pw:
            return x
        return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)

    def unpad(self, x_pad: Array) -> Array:
        """The inverse of :meth:`pad`: the inner ``H x W`` of ``x_pad``, as a C-contiguous
        array."""
        ph, pw = self.padding
        Hp, Wp = x_pad.shape[-2:]
        return np.ascontiguousarray(x_pad[..., ph:Hp - ph, pw:Wp - pw])


def channels_last(x: Array, ws: Workspace | None = None, owner: object = None,
                  name: str = "x_nhwc") -> Array:
    """The (m, H, W, C) C-contiguous form of an image batch ``x`` of logical shape
    (m, C, H, W): a free view when ``x`` is already channels-last in memory (the image
    layers' fast paths return such arrays, as does any batch with one channel), else a
    transposed copy (into the workspace array ``(owner, name)`` when there is one)."""
    t = x.transpose(0, 2, 3, 1)
    if t.flags.c_contiguous:
        return t
    if ws is None:
        return np.ascontiguousarray(t)
    out = ws.get(owner, name, t.shape, t.dtype)
    np.copyto(out, t)
    return out


def to_channels_first(x_nhwc: Array) -> Array:
    """The (m, C, H, W) view of an (m, H, W, C) array (its memory stays channels-last)."""
    return x_nhwc.transpose(0, 3, 1, 2)
