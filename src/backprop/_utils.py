"""Small helpers every package uses: argument checks, random generators, JSON conversion,
optional imports and plain-text tables.

This module is a leaf: it imports NumPy and the standard library only, so that any module of
the package may import it without creating a cycle.
"""

from __future__ import annotations

import importlib
import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "OPTIONAL",
    "as_rng",
    "check_fraction",
    "check_int",
    "check_non_negative",
    "check_positive",
    "check_real",
    "clip_repr",
    "is_count",
    "is_real",
    "jsonable",
    "optional_import",
    "render_table",
]


def as_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` for ``seed`` (an int, a Generator, or None)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, a numpy Generator or None, got {seed!r}")
    return np.random.default_rng(seed)


def check_int(name: str, value: Any, low: int = 0, *, allow_none: bool = False,
              what: str | None = None) -> int | None:
    """``value`` as an ``int`` when it is an integer (not a bool) ``>= low``; else ``ValueError``.

    ``allow_none`` lets None through.  The message names the argument and the value:
    ``"epochs must be a non-negative integer, got -1"``; ``what`` replaces the description.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        if what is None:
            what = {0: "a non-negative integer", 1: "a positive integer"}.get(
                low, f"an integer >= {low}")
            if allow_none:
                what += " or None"
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return int(value)


def check_real(name: str, value: Any, low: float = -math.inf, high: float = math.inf, *,
               low_open: bool = False, high_open: bool = False,
               what: str | None = None) -> float:
    """``value`` as a ``float`` when it is a real number (not a bool) in the interval from
    ``low`` to ``high`` (closed unless ``low_open``/``high_open``); else ``ValueError`` naming
    the argument, the interval (or ``what``) and the value.  NaN is never accepted."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and not (
        isinstance(value, float | np.floating) and math.isnan(value))
    if ok:
        v = float(value)
        ok = (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
    if not ok:
        if what is None:
            left = "(" if low_open else "["
            right = ")" if high_open else "]"
            what = f"a number in {left}{low:g}, {high:g}{right}"
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return float(value)


def check_positive(name: str, value: Any) -> float:
    """``value`` as a float when it is a finite number > 0 (learning rates, epsilons)."""
    return check_real(name, value, 0.0, math.inf, low_open=True, high_open=True,
                      what="a positive number")


def check_non_negative(name: str, value: Any) -> float:
    """``value`` as a float when it is a finite number >= 0 (penalties, tolerances)."""
    return check_real(name, value, 0.0, math.inf, high_open=True, what="a non-negative number")


def check_fraction(name: str, value: Any) -> float:
    """``value`` as a float when it is in [0, 1) (momenta, decay rates, held-out shares)."""
    return check_real(name, value, 0.0, 1.0, high_open=True, what="in [0, 1)")


def is_real(value: Any) -> bool:
    """A JSON number (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_count(value: Any) -> bool:
    """A non-negative JSON integer (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def jsonable(value: Any, where: str = "metadata") -> Any:
    """``value`` with NumPy scalars/arrays turned into Python ones and non-finite floats into
    None, so that ``json.dumps(..., allow_nan=False)`` accepts it; ``TypeError`` (naming
    ``where``) for anything JSON cannot hold."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where} keys must be strings, got {k!r}")
            out[k] = jsonable(v, f"{where}[{k!r}]")
        return out
    if isinstance(value, (list, tuple)):
        return [jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise TypeError(f"{where} holds {type(value).__name__} {value!r}, which JSON cannot store")


#: The optional dependencies, by module: (pip extra, what needs them).
OPTIONAL = {
    "pandas": ("data", "loading data files and encoding targets"),
    "pyarrow": ("data", "reading CSV and Parquet files"),
    "matplotlib": ("plot", "drawing learning curves"),
    "onnx": ("onnx", "exporting to ONNX"),
    "onnxruntime": ("onnx", "running ONNX files"),
    "mpi4py": ("mpi", "training on several processes (mpiexec)"),
    "dask": ("dask", "searching hyperparameters on a Dask cluster"),
    "distributed": ("dask", "searching hyperparameters on a Dask cluster"),
}


def optional_import(module: str) -> Any:
    """Import one of :data:`OPTIONAL`'s modules, or raise ``ModuleNotFoundError`` saying which
    extra installs it (``pip install 'numpy-backprop[data]'``)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        extra, purpose = OPTIONAL[module.split(".")[0]]
        raise ModuleNotFoundError(
            f"{purpose} needs {module.split('.')[0]}: pip install 'numpy-backprop[{extra}]'"
        ) from None


def clip_repr(value: Any, width: int = 40) -> str:
    """``repr(value)`` on one line, cut to ``width`` characters."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned plain-text columns: the header, a rule of dashes, one line per row (no
    trailing spaces)."""
    widths = [max([len(h), *(len(r[j]) for r in rows)]) for j, h in enumerate(header)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    return "\n".join(line.rstrip() for line in lines + [fmt.format(*r) for r in rows])
