"""Arrays reused from one training step to the next.

Why this module exists.  Every training step produces the same arrays: the mini-batch, each
layer's ``z`` and ``a``, the back-propagated ``da``/``dz`` and one gradient per parameter.
Allocating them afresh costs, per step, a trip through the allocator and (for arrays past
glibc's mmap threshold) fresh pages that the kernel must fault in and zero, and it evicts the
arrays of the previous step from the CPU caches.  :func:`backprop.train.fit` and
:meth:`backprop.Network.predict` therefore hold one :class:`Workspace`, and the layers write into
arrays they get from it instead of allocating.

An array is named by its owner (a layer, or any object) and a name.  It is allocated once, for
the largest batch seen; a smaller batch (the last one of an epoch) gets a view of its first
rows, which is C-contiguous like the array itself.  Arrays from a workspace are overwritten by
the next step: whatever is kept past it must be copied.

``Workspace(inference=True)`` (used by ``predict``) asks the layers for results identical to the
plain NumPy path, bit for bit (the default allows fused kernels that differ from it by float
rounding), and tells them that their caches will not be used, so they may compute in place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["Workspace", "NonFiniteZ"]

Array = np.ndarray


class Workspace:
    """A set of reusable arrays keyed by ``(owner, name)``; see the module docstring."""

    def __init__(self, inference: bool = False) -> None:
        self._arrays: dict[tuple[int, str], Array] = {}  # the allocated arrays
        self._views: dict[tuple, Array] = {}  # (owner, name, shape, dtype) -> array or view
        self._memo: dict[tuple[int, str], Any] = {}
        #: prediction only: kernels that reproduce NumPy bit for bit, caches not kept
        self.inference = inference
        #: set by ``Sequential.predict`` before a forward pass: a first layer that watches its
        #: input then clears it and raises :class:`NonFiniteZ` when its ``z`` holds a NaN or inf
        self.watch_z = False

    def get(self, owner: object, name: str, shape: tuple[int, ...], dtype: Any) -> Array:
        """An uninitialised C-contiguous array of ``shape`` and ``dtype`` for ``(owner, name)``,
        the same memory on every call (a view of its first rows when ``shape[0]`` is smaller
        than the largest requested so far)."""
        key = (id(owner), name, shape, dtype)
        arr = self._views.get(key)  # the steady state: one dictionary lookup
        if arr is None:
            arr = self._allocate((id(owner), name), shape, np.dtype(dtype))
            self._views[key] = arr
        return arr

    def _allocate(self, key: tuple[int, str], shape: tuple[int, ...], dtype: np.dtype) -> Array:
        base = self._arrays.get(key)
        if (base is None or base.dtype != dtype or base.shape[1:] != shape[1:]
                or base.shape[0] < shape[0]):
            base = np.empty(shape, dtype=dtype)
            self._arrays[key] = base
            # views of the array this one replaces must not be handed out any more
            self._views = {k: v for k, v in self._views.items() if k[:2] != key}
        return base if base.shape[0] == shape[0] else base[: shape[0]]

    def cached(self, owner: object, name: str, make: Callable[..., Any], *args: Any) -> Any:
        """``make(*args)``, computed once per ``(owner, name)`` for the life of the workspace
        (used for the kernels a layer picks, a lookup that would otherwise run every step)."""
        key = (id(owner), name)
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = make(*args)
            return value

    def nbytes(self) -> int:
        """Total size of the arrays held, in bytes."""
        return sum(a.nbytes for a in self._arrays.values())


class NonFiniteZ(Exception):
    """A watched layer's ``z`` holds a NaN or inf (see :attr:`Workspace.watch_z`)."""
