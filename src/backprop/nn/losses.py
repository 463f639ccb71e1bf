"""Cost functions ``J(a, y)``: binary cross-entropy, categorical cross-entropy, mean squared error,
and scikit-learn's multi-label log loss, half squared error and half Poisson deviance.

Every loss has ``value(a, y)`` and ``gradient(a, y) = dJ/da`` computed from the output
activations ``a``; these are the note's formulas (for BCE, ``dJ/da = -y/a + (1-y)/(1-a)``,
averaged).  The two classification losses also have a *fused* path used by
:class:`backprop.Network` when the output layer is their natural activation (sigmoid for BCE,
softmax for CE): the cost is computed from the logits ``z`` (softplus / log-sum-exp) and the output
gradient simplifies to ``dJ/dz = (a - y) / m``, so saturated outputs never produce ``log(0)``.

Reductions are means, as PyTorch's ``BCEWithLogitsLoss`` (mean over all ``m * k`` entries),
``CrossEntropyLoss`` (mean over the ``m`` samples) and ``MSELoss`` (mean over all entries).  With
``sample_weight`` ``w`` of shape ``(m,)`` the mean over samples becomes ``sum(w_i J_i) / sum(w)``.

The three losses of scikit-learn's ``MLPClassifier`` / ``MLPRegressor`` that PyTorch does not
define alike (``multilabel_crossentropy``, ``half_squared_error``, ``poisson``) *sum* over the
``k`` outputs and average over the samples (:attr:`Loss.sum_outputs`), so that their gradient
is scikit-learn's ``dJ/dz = (a - y) / m``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import xlogy

from backprop import _kernels
from backprop.nn.activations import log_softmax, softplus

__all__ = [
    "Loss",
    "BinaryCrossEntropy",
    "CategoricalCrossEntropy",
    "MeanSquaredError",
    "MultiLabelCrossEntropy",
    "HalfSquaredError",
    "PoissonDeviance",
    "LOSSES",
    "get_loss", "loss_for_output"]

Array = np.ndarray
_LOG_FLOOR = -100.0  # PyTorch's BCELoss clamps log terms at -100; we do the same


def _first_bad(mask: Array) -> tuple[int, ...]:
    """Index of the first True entry of ``mask`` (row first)."""
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _check_finite(y: Array, name: str) -> None:
    idx = _kernels.first_nonfinite(y)
    if idx is not None:
        raise ValueError(f"{name} contains a non-finite value {y[idx].item()!r} at row {idx[0]}")


def _sample_scale(m: int, k: int, sample_weight: Array | None, dtype: np.dtype) -> Array:
    """Per-sample factor ``w_i / (sum(w) * k)`` of shape (m, 1) (``1/(m k)`` when unweighted)."""
    if sample_weight is None:
        return np.asarray(1.0 / (m * k), dtype=dtype)
    w = sample_weight.astype(dtype, copy=False)
    return (w / (w.sum() * k))[:, None]


def check_sample_weight(sample_weight: object, m: int) -> Array | None:
    """Validate ``sample_weight``: shape (m,), finite, non-negative, positive sum."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.shape != (m,):
        raise ValueError(f"sample_weight must have shape ({m},), got {w.shape}")
    _check_finite(w, "sample_weight")
    if np.any(w < 0):
        i = int(np.argmax(w < 0))
        raise ValueError(f"sample_weight must be non-negative; row {i} is {w[i].item()}")
    if w.sum() <= 0:
        raise ValueError("sample_weight must have a positive sum")
    return w


class Loss:
    """Base class.  ``fused_activation`` names the output activation with the fused gradient;
    ``sum_outputs``: the per-sample loss is the sum over the ``k`` outputs (True) or their mean
    (False, PyTorch's reductions)."""

    name: str = ""
    fused_activation: str | None = None
    is_classifier: bool = False
    sum_outputs: bool = False

    def check_targets(self, y: object, n_out: int, name: str = "y") -> Array:
        """Validate ``y`` for an output of width ``n_out``; return it in canonical form."""
        raise NotImplementedError

    def value(self, a: Array, y: Array, sample_weight: Array | None = None) -> float:
        """``J`` from output activations ``a`` of shape (m, k)."""
        raise NotImplementedError

    def gradient(self, a: Array, y: Array, sample_weight: Array | None = None) -> Array:
        """``dJ/da`` of shape (m, k)."""
        raise NotImplementedError

    def value_from_logits(self, z: Array, y: Array, sample_weight: Array | None = None) -> float:
        """``J`` computed stably from the output layer's logits ``z`` (fused losses only)."""
        raise NotImplementedError(f"{self.name} has no fused logits path")

    def gradient_wrt_logits(
        self, a: Array, y: Array, sample_weight: Array | None = None
    ) -> Array:
        """Fused ``dJ/dz = (a - y) / m`` (weighted), where ``a`` is the output activation."""
        raise NotImplementedError(f"{self.name} has no fused logits path")

    def accuracy(self, a: Array, y: Array) -> float | None:
        """Fraction of correct predictions (None for regression losses)."""
        return None

    def _k(self, k: int) -> int:
        """The number of outputs the per-sample loss averages over: ``k``, or 1 when it sums."""
        return 1 if self.sum_outputs else k

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _as_2d_float(y: object, n_out: int, name: str) -> Array:
    """``y`` as float64 of shape (m, n_out); (m,) is accepted when ``n_out == 1``."""
    arr = np.asarray(y)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim == 1 and n_out == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != n_out:
        raise ValueError(
            f"{name} must have shape (m, {n_out})"
            + (" or (m,)" if n_out == 1 else "")
            + f" for an output layer of {n_out} unit(s), got {arr.shape}"
        )
    _check_finite(arr, name)
    return arr


class BinaryCrossEntropy(Loss):
    """``J = -mean(y log a + (1 - y) log(1 - a))`` over all entries; labels in {0, 1}.

    One sigmoid unit with ``y`` of shape (m,) or (m, 1), or ``k`` sigmoid units (multi-label) with
    ``y`` of shape (m, k).  Fused with a sigmoid output:
    ``J = mean(softplus(z) - y z)`` and ``dJ/dz = (a - y) / (m k)``.
    """

    name = "binary_crossentropy"
    fused_activation = "sigmoid"
    is_classifier = True

    def check_targets(self, y: object, n_out: int, name: str = "y") -> Array:
        """Labels as float (m, k) in {0, 1}."""
        arr = _as_2d_float(y, n_out, name)
        bad = (arr != 0) & (arr != 1)
        if np.any(bad):
            i, j = _first_bad(bad)
            shown = np.asarray(y).reshape(arr.shape)[i, j].item()  # as the caller wrote it
            raise ValueError(
                f"{self.name} labels must be 0 or 1; {name} has {shown!r} "
                f"at row {i}" + (f", column {j}" if n_out > 1 else "")
            )
        return arr

    def value(self, a: Array, y: Array, sample_weight: Array | None = None) -> float:
        """The note's ``-(y log a + (1 - y) log(1 - a))``, logs clamped at -100."""
        with np.errstate(divide="ignore"):
            log_a = np.maximum(np.log(a), _LOG_FLOOR)
            log_1ma = np.maximum(np.log1p(-a), _LOG_FLOOR)
        per_entry = -(y * log_a + (1 - y) * log_1ma)
        return _reduce(per_entry, sample_weight, self.sum_outputs)

    def gradient(self, a: Array, y: Array, sample_weight: Array | None = None) -> Array:
        """The note's ``dJ/da = -y/a + (1-y)/(1-a)``, divided by ``m k`` (``a`` kept off 0, 1)."""
        tiny = np.finfo(a.dtype).tiny
        a = np.clip(a, tiny, 1 - np.finfo(a.dtype).epsneg)
        m, k = a.shape
        return (-y / a + (1 - y) / (1 - a)) * _sample_scale(m, self._k(k), sample_weight, a.dtype)

    def value_from_logits(self, z: Array, y: Array, sample_weight: Array | None = None) -> float:
        """``softplus(z) - y z`` per entry (equals ``-y log a - (1-y) log(1-a)``), finite for any
        finite ``z``."""
        return _reduce(softplus(z) - y * z, sample_weight, self.sum_outputs)

    def gradient_wrt_logits(
        self, a: Array, y: Array, sample_weight: Array | None = None
    ) -> Array:
        """``dJ/dz = (a - y) / (m k)``."""
        m, k = a.shape
        return (a - y) * _sample_scale(m, self._k(k), sample_weight, a.dtype)

    def accuracy(self, a: Array, y: Array) -> float:
        """Fraction of entries with ``(a > 0.5) == y`` (per label for multi-label)."""
        return float(np.mean((a > 0.5) == (y > 0.5)))


class CategoricalCrossEntropy(Loss):
    """``J = -mean_i log a[i, y_i]`` for integer labels ``y_i`` in ``[0, k)``; one-hot (or
    probability) rows of shape (m, k) are accepted too.  Fused with a softmax output:
    ``J = mean(logsumexp(z) - z[y])`` and ``dJ/dz = (a - onehot(y)) / m``.
    """

    name = "categorical_crossentropy"
    fused_activation = "softmax"
    is_classifier = True

    def check_targets(self, y: object, n_out: int, name: str = "y") -> Array:
        """Integer labels (m,) as int64, or probability rows (m, k) as float64."""
        arr = np.asarray(y)
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
        if arr.ndim == 2 and arr.shape[1] == n_out and n_out > 1:
            arr = arr.astype(np.float64, copy=False)
            _check_finite(arr, name)
            bad = (arr < 0) | (arr > 1)
            if np.any(bad):
                i, j = _first_bad(bad)
                raise ValueError(
                    f"one-hot {name} must lie in [0, 1]; row {i}, column {j} is "
                    f"{arr[i, j].item()!r}"
                )
            sums = arr.sum(axis=1)
            bad_rows = np.abs(sums - 1) > 1e-6
            if np.any(bad_rows):
                i = int(np.argmax(bad_rows))
                raise ValueError(f"one-hot {name} rows must sum to 1; row {i} sums to {sums[i]}")
            return arr
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise ValueError(
                f"{name} must be integer labels of shape (m,) or one-hot of shape (m, {n_out}), "
                f"got {arr.shape}"
            )
        if arr.dtype.kind == "f":
            _check_finite(arr, name)
            bad = arr != np.round(arr)
            if np.any(bad):
                i = int(np.argmax(bad))
                raise ValueError(
                    f"categorical_crossentropy labels must be integers; {name} has "
                    f"{arr[i].item()!r} at row {i}"
                )
        labels = arr.astype(np.int64)
        bad = (labels < 0) | (labels >= n_out)
        if np.any(bad):
            i = int(np.argmax(bad))
            raise ValueError(
                f"categorical_crossentropy labels must be in [0, {n_out}); {name} has "
                f"{arr[i].item()!r} at row {i}"
            )
        return labels

    @staticmethod
    def _onehot(y: Array, k: int, dtype: np.dtype) -> Array:
        if y.ndim == 2:
            return y.astype(dtype, copy=False)
        out = np.zeros((y.shape[0], k), dtype=dtype)
        out[np.arange(y.shape[0]), y] = 1
        return out

    def value(self, a: Array, y: Array, sample_weight: Array | None = None) -> float:
        """``-sum_k y_k log a_k`` per sample, logs clamped at -100, mean over samples."""
        with np.errstate(divide="ignore"):
            log_a = np.maximum(np.log(a), _LOG_FLOOR)
        per_sample = -np.sum(self._onehot(y, a.shape[1], a.dtype) * log_a, axis=1)
        return _reduce(per_sample[:, None], sample_weight)

    def gradient(self, a: Array, y: Array, sample_weight: Array | None = None) -> Array:
        """``dJ/da = -y / a / m`` (one-hot ``y``; ``a`` kept off 0)."""
        m, k = a.shape
        a = np.maximum(a, np.finfo(a.dtype).tiny)
        return -self._onehot(y, k, a.dtype) / a * _sample_scale(m, 1, sample_weight, a.dtype)

    def value_from_logits(self, z: Array, y: Array, sample_weight: Array | None = None) -> float:
        """``logsumexp(z) - z[y]`` per sample (``-sum_k y_k log_softmax(z)_k`` for one-hot)."""
        log_p = log_softmax(z)
        if y.ndim == 1:
            per_sample = -log_p[np.arange(z.shape[0]), y]
        else:
            per_sample = -np.sum(y * log_p, axis=1)
        return _reduce(per_sample[:, None], sample_weight)

    def gradient_wrt_logits(
        self, a: Array, y: Array, sample_weight: Array | None = None
    ) -> Array:
        """``dJ/dz = (a - onehot(y)) / m``."""
        m = a.shape[0]
        dz = a.copy()
        if y.ndim == 1:
            dz[np.arange(m), y] -= 1
        else:
            dz -= y
        dz *= _sample_scale(m, 1, sample_weight, a.dtype)
        return dz

    def accuracy(self, a: Array, y: Array) -> float:
        """Fraction of rows whose arg-max matches the label (integer labels of a float32 or
        float64 output: counted by one kernel pass instead of four NumPy passes)."""
        if y.ndim == 1 and y.dtype == np.int64 and a.dtype in (np.float32, np.float64) \
                and a.flags.c_contiguous:
            kernel = _kernels.get("argmax_hits")
            if kernel is not None:
                return kernel(a, y) / y.shape[0]
        labels = y if y.ndim == 1 else y.argmax(axis=1)
        return float(np.mean(a.argmax(axis=1) == labels))


class MeanSquaredError(Loss):
    """``J = mean((a - y)^2)`` over all ``m k`` entries; ``dJ/da = 2 (a - y) / (m k)``."""

    name = "mse"

    def check_targets(self, y: object, n_out: int, name: str = "y") -> Array:
        """Targets as float (m, k)."""
        return _as_2d_float(y, n_out, name)

    def value(self, a: Array, y: Array, sample_weight: Array | None = None) -> float:
        """Mean of squared errors."""
        return _reduce((a - y) ** 2, sample_weight)

    def gradient(self, a: Array, y: Array, sample_weight: Array | None = None) -> Array:
        """``2 (a - y) / (m k)``."""
        m, k = a.shape
        return 2 * (a - y) * _sample_scale(m, k, sample_weight, a.dtype)


class MultiLabelCrossEntropy(BinaryCrossEntropy):
    """scikit-learn's log loss of ``k`` sigmoid units (multi-label): the binary cross-entropies
    of the ``k`` labels *summed*, averaged over samples; ``dJ/dz = (a - y) / m``.

    For one unit it is :class:`BinaryCrossEntropy`, which averages over the labels instead.
    """

    name = "multilabel_crossentropy"
    sum_outputs = True


class HalfSquaredError(Loss):
    """scikit-learn's ``squared_error``: ``J = mean_i sum_k (a_ik - y_ik)^2 / 2``;
    ``dJ/da = (a - y) / m``.

    For one output it is half of :class:`MeanSquaredError`.  (scikit-learn trains on this
    gradient but reports ``loss_`` averaged over the ``k`` outputs.)
    """

    name = "half_squared_error"
    sum_outputs = True

    def check_targets(self, y: object, n_out: int, name: str = "y") -> Array:
        """Targets as float (m, k)."""
        return _as_2d_float(y, n_out, name)

    def value(self, a: Array, y: Array, sample_weight: Array | None = None) -> float:
        """Half the squared errors, summed over outputs, averaged over samples."""
        return _reduce(0.5 * (a - y) ** 2, sample_weight, True)

    def gradient(self, a: Array, y: Array, sample_weight: Array | None = None) -> Array:
        """``(a - y) / m``."""
        return (a - y) * _sample_scale(a.shape[0], 1, sample_weight, a.dtype)


class PoissonDeviance(Loss):
    """scikit-learn's ``poisson`` loss, half the Poisson deviance, with an ``exp`` output
    (the log link): ``J = mean_i sum_k (y log(y / a) - y + a)`` for counts ``y >= 0`` and
    rates ``a = exp(z) > 0``.

    Fused with the ``exp`` output: ``J = mean(y log y - y z - y + exp(z))`` and
    ``dJ/dz = (a - y) / m``.
    """

    name = "poisson"
    fused_activation = "exp"
    sum_outputs = True

    def check_targets(self, y: object, n_out: int, name: str = "y") -> Array:
        """Non-negative targets as float (m, k)."""
        arr = _as_2d_float(y, n_out, name)
        bad = arr < 0
        if np.any(bad):
            i, j = _first_bad(bad)
            raise ValueError(f"poisson targets must be non-negative; {name} has "
                             f"{arr[i, j].item()!r} at row {i}"
                             + (f", column {j}" if n_out > 1 else ""))
        return arr

    def value(self, a: Array, y: Array, sample_weight: Array | None = None) -> float:
        """``y log(y / a) - y + a`` per entry (``0 log 0 = 0``)."""
        with np.errstate(divide="ignore"):
            per_entry = xlogy(y, y) - xlogy(y, a) - y + a
        return _reduce(per_entry, sample_weight, True)

    def gradient(self, a: Array, y: Array, sample_weight: Array | None = None) -> Array:
        """``dJ/da = (1 - y / a) / m`` (``a`` kept off 0)."""
        a = np.maximum(a, np.finfo(a.dtype).tiny)
        return (1 - y / a) * _sample_scale(a.shape[0], 1, sample_weight, a.dtype)

    def value_from_logits(self, z: Array, y: Array, sample_weight: Array | None = None) -> float:
        """``y log y - y z - y + exp(z)`` per entry."""
        return _reduce(xlogy(y, y) - y * z - y + np.exp(z), sample_weight, True)

    def gradient_wrt_logits(
        self, a: Array, y: Array, sample_weight: Array | None = None
    ) -> Array:
        """``dJ/dz = (a - y) / m``."""
        return (a - y) * _sample_scale(a.shape[0], 1, sample_weight, a.dtype)


def _reduce(per_entry: Array, sample_weight: Array | None, sum_outputs: bool = False) -> float:
    """Mean over entries (``sum_outputs``: the mean over rows of each row's sum), or the
    ``sample_weight``-weighted mean of the per-sample means (sums).

    Accumulates in float64 (or wider: a ``longdouble`` input keeps its precision, which gradient
    checking relies on) and returns a NumPy scalar.
    """
    acc = np.promote_types(per_entry.dtype, np.float64)
    if sample_weight is None and not sum_outputs:
        return np.mean(per_entry, dtype=acc)
    reduce_row = np.sum if sum_outputs else np.mean
    per_sample = reduce_row(per_entry, axis=1, dtype=acc)
    if sample_weight is None:
        return np.mean(per_sample)
    w = sample_weight.astype(acc, copy=False)
    return np.dot(w, per_sample) / w.sum()


#: Losses by name; aliases accepted by :func:`get_loss`.
LOSSES: dict[str, type[Loss]] = {
    "binary_crossentropy": BinaryCrossEntropy,
    "categorical_crossentropy": CategoricalCrossEntropy,
    "mse": MeanSquaredError,
    "multilabel_crossentropy": MultiLabelCrossEntropy,
    "half_squared_error": HalfSquaredError,
    "poisson": PoissonDeviance,
}
_LOSS_ALIASES = {"bce": "binary_crossentropy", "ce": "categorical_crossentropy",
                 "cross_entropy": "categorical_crossentropy", "mean_squared_error": "mse"}


def get_loss(loss: str | Loss) -> Loss:
    """Return a :class:`Loss` instance for a name in :data:`LOSSES` (or pass one through)."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, type) and issubclass(loss, Loss):
        return loss()
    if not isinstance(loss, str):
        raise TypeError(f"loss must be a name or a Loss, got {type(loss).__name__}")
    key = _LOSS_ALIASES.get(loss, loss)
    if key not in LOSSES:
        raise ValueError(
            f"unknown loss {loss!r}; choose one of {sorted(LOSSES) + sorted(_LOSS_ALIASES)}"
        )
    return LOSSES[key]()


def loss_for_output(activation: str) -> str:
    """The natural loss of an output activation: the loss fused with it (``"sigmoid"`` ->
    ``"binary_crossentropy"``, ``"softmax"`` -> ``"categorical_crossentropy"``), ``"mse"`` for
    any other output."""
    for name, cls in LOSSES.items():
        if cls.fused_activation == activation:
            return name
    return "mse"
