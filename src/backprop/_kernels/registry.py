"""The kernel registry and the compile step.

Every kernel module registers its plain-Python kernels here with :func:`register`; the first
:func:`get` wraps them all with ``numba.njit`` (each one compiles on its first call, then numba
caches it on disk).  This lives apart from ``backprop._kernels``' ``__init__`` because the
kernel modules need :func:`get` themselves (``all_finite`` calls its kernel) while the package
face imports them: with the registry in the face, the two would import each other.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

__all__ = ["KERNELS", "register", "get", "available", "enabled", "disabled"]

F = TypeVar("F", bound=Callable[..., Any])

#: Every kernel by name: the plain-Python function that numba compiles.
KERNELS: dict[str, Callable[..., Any]] = {}

_compiled: dict[str, Callable[..., Any]] | None = None
_enabled = os.environ.get("BACKPROP_DISABLE_NUMBA", "") in ("", "0")


def register(name: str) -> Callable[[F], F]:
    """Decorator: add the plain-Python kernel it decorates to :data:`KERNELS` as ``name``."""

    def add(fn: F) -> F:
        if name in KERNELS:
            raise ValueError(f"a kernel named {name!r} is already registered")
        KERNELS[name] = fn
        return fn

    return add


def _compile() -> dict[str, Callable[..., Any]]:
    """JIT-wrap every kernel (compilation itself happens on each kernel's first call)."""
    global _compiled
    if _compiled is None:
        try:
            import numba  # optional: without it every caller takes its NumPy path
        except ImportError:  # pragma: no cover - exercised only without numba
            _compiled = {}
        else:
            # error_model="numpy": division by zero gives inf/nan instead of raising, which
            # also lets LLVM vectorise the loops.  No fastmath: results must match NumPy.
            jit = numba.njit(cache=True, nogil=True, error_model="numpy")
            _compiled = {name: jit(fn) for name, fn in KERNELS.items()}
    return _compiled


def available() -> bool:
    """True when the compiled kernels can be used (numba importable and not disabled)."""
    return _enabled and bool(_compile())


def enabled() -> bool:
    """False inside :func:`disabled` or when ``BACKPROP_DISABLE_NUMBA`` switches kernels off."""
    return _enabled


def get(name: str) -> Callable[..., Any] | None:
    """The compiled kernel ``name`` (e.g. ``"adam"``), or None when kernels are unavailable."""
    if not _enabled:
        return None
    return _compile().get(name)


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
