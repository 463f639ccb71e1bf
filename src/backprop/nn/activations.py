"""Activation functions ``f`` and their derivatives, in one name registry.

Notation follows the founding note: a layer computes ``z[l] = W[l] a[l-1] + b[l]`` and
``a[l] = f(z[l])``.  Backward propagation needs ``dJ/dz = dJ/da * f'(z)``; every activation here
supplies that product through :meth:`ActivationFunction.backward` (a vector-Jacobian product),
so that softmax, whose Jacobian is not diagonal, is handled exactly rather than element-wise.

Arrays have one row per sample: ``z`` and ``a`` are of shape ``(m, n)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["ActivationFunction", "ACTIVATIONS", "get_activation", "sigmoid", "softplus",
           "log_softmax"]

Array = np.ndarray


def sigmoid(z: Array) -> Array:
    """Logistic function ``1 / (1 + exp(-z))``, computed without overflow for any finite ``z``.

    Uses ``exp(-|z|)`` so the exponent is never positive: ``sigmoid(1e4) == 1`` and
    ``sigmoid(-1e4) == 0`` without warnings.
    """
    e = np.exp(-np.abs(z))  # in (0, 1], never overflows
    return np.where(z >= 0, 1.0, e) / (1.0 + e)


def softplus(z: Array) -> Array:
    """``log(1 + exp(z))`` computed stably as ``max(z, 0) + log1p(exp(-|z|))``."""
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def _softmax(z: Array) -> Array:
    """Row-wise softmax; subtracting the row maximum keeps ``exp`` from overflowing."""
    e = np.exp(z - _row_max(z))
    e /= e.sum(axis=1, keepdims=True)
    return e


def log_softmax(z: Array) -> Array:
    """Row-wise ``log(softmax(z))`` of logits ``z`` (m, k), as ``z - logsumexp(z)`` with the row
    maximum subtracted first: finite for any finite ``z``, never ``log(0)``."""
    shifted = z - _row_max(z)
    shifted -= np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return shifted


def _row_max(z: Array) -> Array:
    """``z.max(axis=1, keepdims=True)``, the same numbers.  NumPy reduces a short inner axis
    slowly, one row at a time: for a few classes it is faster to reduce a transposed copy
    along its outer axis, all rows at once (the predict section of benchmarks/bench_train.py
    runs through it)."""
    if z.ndim == 2 and z.shape[1] <= 64:
        return np.ascontiguousarray(z.T).max(axis=0)[:, None]
    return z.max(axis=1, keepdims=True)


def _softmax_backward(da: Array, z: Array, a: Array) -> Array:
    """Softmax vector-Jacobian product: ``dz_i = a_i (da_i - sum_j da_j a_j)`` per row.

    This is ``J^T da`` with the full Jacobian ``J = diag(a) - a a^T`` of each row, not an
    element-wise derivative.
    """
    return a * (da - np.sum(da * a, axis=1, keepdims=True))


LEAKY_RELU_SLOPE = 0.01
ELU_ALPHA = 1.0


@dataclass(frozen=True)
class ActivationFunction:
    """An activation ``f`` with its derivative (a record of functions; the layer that applies
    one on its own is :class:`backprop.nn.layers.Activation`).

    Attributes
    ----------
    name : str
        Registry name.
    value : callable ``z -> a``
        ``a = f(z)`` for ``z`` of shape ``(m, n)``.
    derivative : callable ``(z, a) -> f'(z)`` or None
        Element-wise derivative, given both ``z`` and ``a = f(z)`` (many derivatives are cheapest
        from ``a``).  ``None`` for activations whose Jacobian is not diagonal (softmax).
    init : str
        Default weight initialisation for a layer using this activation (``"glorot"`` or
        ``"he"``).
    kink : bool
        True when ``f'`` jumps at ``z = 0`` (ReLU family); gradient checking skips entries whose
        ``z`` crosses 0 under the perturbation.
    jvp : callable ``(da, z, a) -> dz`` or None
        Full vector-Jacobian product for non-element-wise activations.
    """

    name: str
    value: Callable[[Array], Array]
    derivative: Callable[[Array, Array], Array] | None
    init: str = "glorot"
    kink: bool = False
    jvp: Callable[[Array, Array, Array], Array] | None = None

    def __call__(self, z: Array) -> Array:
        """Return ``f(z)``."""
        return self.value(z)

    def backward(self, da: Array, z: Array, a: Array) -> Array:
        """Return ``dJ/dz`` from ``dJ/da``: ``da * f'(z)``, or the full product for softmax."""
        if self.jvp is not None:
            return self.jvp(da, z, a)
        return da * self.derivative(z, a)

    def __reduce_ex__(self, protocol: int):  # noqa: D105
        # Registered activations hold lambdas, which pickle cannot store: pickle them by name
        # (so networks pickle, as scikit-learn and joblib need).  Others pickle field by field.
        if ACTIVATIONS.get(self.name) is self:
            return get_activation, (self.name,)
        return super().__reduce_ex__(protocol)


ACTIVATIONS: dict[str, ActivationFunction] = {
    act.name: act
    for act in (
        ActivationFunction("linear", lambda z: z.copy(), lambda z, a: np.ones_like(z)),
        ActivationFunction("sigmoid", sigmoid, lambda z, a: a * (1 - a)),
        ActivationFunction("tanh", np.tanh, lambda z, a: 1 - a * a),
        ActivationFunction(
            "relu",
            lambda z: np.maximum(z, 0),
            lambda z, a: (z > 0).astype(z.dtype),
            init="he",
            kink=True,
        ),
        ActivationFunction(
            "leaky_relu",
            lambda z: np.where(z > 0, z, LEAKY_RELU_SLOPE * z),
            lambda z, a: np.where(z > 0, 1.0, LEAKY_RELU_SLOPE).astype(z.dtype),
            init="he",
            kink=True,
        ),
        ActivationFunction(
            # alpha * (exp(z) - 1) for z <= 0; its derivative there is a + alpha.
            "elu",
            lambda z: np.where(z > 0, z, ELU_ALPHA * np.expm1(np.minimum(z, 0))),
            lambda z, a: np.where(z > 0, 1.0, a + ELU_ALPHA).astype(z.dtype),
            init="he",
        ),
        ActivationFunction("softplus", softplus, lambda z, a: sigmoid(z), init="he"),
        # the output of a Poisson model (the inverse of its log link); f' = f
        ActivationFunction("exp", np.exp, lambda z, a: a.copy()),
        ActivationFunction("softmax", _softmax, None, jvp=_softmax_backward),
    )
}


def get_activation(name: str | ActivationFunction) -> ActivationFunction:
    """Look up an activation by name (or pass an :class:`ActivationFunction` through).

    Raises
    ------
    ValueError
        If ``name`` is not in :data:`ACTIVATIONS`.
    """
    if isinstance(name, ActivationFunction):
        return name
    if not isinstance(name, str):
        raise TypeError(f"activation must be a name (str), got {type(name).__name__}")
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}"
        ) from None
