"""Weight initialisers: Glorot (Xavier) for sigmoid/tanh/linear/softmax, He for the ReLU family.

Each takes a generator and the fan-in and fan-out and returns a float64 array of shape
``(n_in, n_out)``, or of ``size`` when given (a convolution's ``(O, C, kh, kw)`` kernels, with
fan-in ``C kh kw`` and fan-out ``O kh kw``, as PyTorch counts them); the layer casts it to its
dtype.  Biases start at zero.
"""

from __future__ import annotations

import numpy as np

__all__ = ["INITIALIZERS", "INIT_ALIASES", "resolve_init"]

Array = np.ndarray

#: Other names accepted for the initialisers.
INIT_ALIASES = {
    "glorot": "glorot_uniform",
    "xavier": "glorot_uniform",
    "xavier_uniform": "glorot_uniform",
    "xavier_normal": "glorot_normal",
    "he": "he_normal",
    "kaiming": "he_normal",
}


def _glorot_uniform(rng: np.random.Generator, n_in: int, n_out: int,
                    size: tuple[int, ...] | None = None) -> Array:
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, size=size or (n_in, n_out))


def _glorot_normal(rng: np.random.Generator, n_in: int, n_out: int,
                   size: tuple[int, ...] | None = None) -> Array:
    return rng.normal(0.0, np.sqrt(2.0 / (n_in + n_out)), size=size or (n_in, n_out))


def _he_uniform(rng: np.random.Generator, n_in: int, n_out: int,
                size: tuple[int, ...] | None = None) -> Array:
    limit = np.sqrt(6.0 / n_in)
    return rng.uniform(-limit, limit, size=size or (n_in, n_out))


def _he_normal(rng: np.random.Generator, n_in: int, n_out: int,
               size: tuple[int, ...] | None = None) -> Array:
    return rng.normal(0.0, np.sqrt(2.0 / n_in), size=size or (n_in, n_out))


#: Weight initialisers by name.
INITIALIZERS = {
    "glorot_uniform": _glorot_uniform,
    "glorot_normal": _glorot_normal,
    "he_uniform": _he_uniform,
    "he_normal": _he_normal,
}


def resolve_init(init: str | None, default: str) -> str:
    """The initialiser's canonical name: ``init`` (or ``default`` when None) with aliases
    resolved; ``ValueError`` listing the choices for an unknown name."""
    name = INIT_ALIASES.get(init, init) if init is not None else INIT_ALIASES.get(default, default)
    if name not in INITIALIZERS:
        choices = sorted(INITIALIZERS) + sorted(INIT_ALIASES)
        raise ValueError(f"unknown init {init!r}; choose one of {choices}")
    return name
