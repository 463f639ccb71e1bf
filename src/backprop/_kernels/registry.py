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

__all__ = ["KERNELS", "register", "get", "available", "enabled", "disabled", "threads"]

F = TypeVar("F", bound=Callable[..., Any])

#: Every kernel by name: the plain-Python function that numba compiles.
KERNELS: dict[str, Callable[..., Any]] = {}
#: the kernels compiled with ``parallel=True`` (their ``prange`` loops run on numba's threads)
PARALLEL: set[str] = set()

_compiled: dict[str, Callable[..., Any]] | None = None
_enabled = os.environ.get("BACKPROP_DISABLE_NUMBA", "") in ("", "0")


def register(name: str, parallel: bool = False) -> Callable[[F], F]:
    """Decorator: add the plain-Python kernel it decorates to :data:`KERNELS` as ``name``;
    ``parallel``: compile it with numba's ``parallel=True`` (for kernels whose outer loop is a
    ``prange`` over independent items, images say)."""

    def add(fn: F) -> F:
        if name in KERNELS:
            raise ValueError(f"a kernel named {name!r} is already registered")
        KERNELS[name] = fn
        if parallel:
            PARALLEL.add(name)
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
            options = {"cache": True, "nogil": True, "error_model": "numpy"}
            _compiled = {name: numba.njit(**options, parallel=name in PARALLEL)(fn)
                         for name, fn in KERNELS.items()}
            # a serial twin of each parallel kernel, for work too small to be worth waking
            # threads for (see :func:`get`)
            _compiled.update({f"{name}:serial": numba.njit(**options)(KERNELS[name])
                              for name in PARALLEL})
    return _compiled


def available() -> bool:
    """True when the compiled kernels can be used (numba importable and not disabled)."""
    return _enabled and bool(_compile())


def enabled() -> bool:
    """False inside :func:`disabled` or when ``BACKPROP_DISABLE_NUMBA`` switches kernels off."""
    return _enabled


#: below this many elements of work a parallel kernel runs serially: waking numba's threads
#: costs microseconds on an idle machine and milliseconds on a busy one
PARALLEL_MIN_WORK = 1 << 17


def get(name: str, work: int | None = None) -> Callable[..., Any] | None:
    """The compiled kernel ``name`` (e.g. ``"adam"``), or None when kernels are unavailable.

    ``work``: for a parallel kernel, about how many elements the call touches; under
    :data:`PARALLEL_MIN_WORK` its serial twin is returned (the same code, one thread)."""
    if not _enabled:
        return None
    if work is not None and work < PARALLEL_MIN_WORK and name in PARALLEL:
        name = f"{name}:serial"
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


def threads() -> int:
    """How many threads the parallel kernels run on (numba's setting; 1 without numba)."""
    try:
        import numba  # optional, as in _compile
    except ImportError:  # pragma: no cover - exercised only without numba
        return 1
    return numba.get_num_threads()
