"""Batch normalisation over the channels of ``(m, C)`` rows or ``(m, C, H, W)`` images, with
PyTorch's semantics (``torch.nn.BatchNorm1d`` / ``BatchNorm2d``).

In the founding note's notation, the layer receives ``a[l-1]`` of shape ``(m, C)`` or
``(m, C, H, W)``; each channel ``c`` has ``N = m`` values (``N = m H W`` for images), and the
sums below run over them (the sample axis, and the spatial axes for images).  ``gamma``,
``beta``, ``mu``, ``var``, ``inv_std``, ``dgamma`` and ``dbeta`` have shape ``(C,)`` and are
broadcast along the channel axis; every other array has the shape of ``a[l-1]``.

forward, training mode (the batch's own statistics)::

    mu      = (1/N) sum a[l-1]                              (C,)
    var     = (1/N) sum (a[l-1] - mu)^2                     (C,)   biased: to normalise
    inv_std = 1 / sqrt(var + eps)                           (C,)
    xhat    = (a[l-1] - mu) * inv_std                       like a[l-1]
    a[l]    = gamma * xhat + beta                           like a[l-1]

    running_mean = (1 - momentum) * running_mean + momentum * mu
    running_var  = (1 - momentum) * running_var  + momentum * var * N / (N - 1)   (unbiased)

forward, eval mode (``training=False``, prediction): the same map with ``mu = running_mean``
and ``var = running_var``; nothing is updated.

backward, training mode.  ``mu`` and ``var`` are functions of every value of the batch, so
``dJ/da[l-1]`` has three paths: through ``xhat`` directly, through ``var`` and through ``mu``.
Summed, they collapse to the compact form (CS231n's)::

    dbeta   = sum da                                              (C,)
    dgamma  = sum da * xhat                                       (C,)
    da[l-1] = (gamma * inv_std / N) * (N da - dbeta - xhat dgamma)    like a[l-1]

(``dJ/dxhat = gamma da``; ``sum dJ/dxhat`` is the path through ``mu``, ``xhat sum dJ/dxhat
xhat`` the one through ``var``.)

backward, eval mode: the gradient of the fixed affine map ``a[l] = gamma (a[l-1] -
running_mean) inv_std + beta``::

    dbeta = sum da;   dgamma = sum da * xhat;   da[l-1] = da * gamma * inv_std

Each pass has a plain NumPy form (:meth:`BatchNorm.forward` / :meth:`BatchNorm.backward`, the
reference) and a fast one with the kernels of :mod:`backprop._kernels.batchnorm` (during
``fit`` and ``predict``); the sums of both accumulate in float64.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from backprop import _kernels
from backprop._utils import check_real
from backprop.nn.layers.base import Layer, Shape, check_dtype, check_width, register
from backprop.nn.parallel import BatchShare, current_batch_share
from backprop.nn.workspace import Workspace

__all__ = ["BatchNorm", "BatchNormCache"]

Array = np.ndarray


class BatchNormCache(NamedTuple):
    """What :meth:`BatchNorm.forward` keeps for :meth:`BatchNorm.backward`."""

    a_prev: Array  #: the input a[l-1], (m, C) or (m, C, H, W)
    mean: Array  #: the mu it was normalised with (the batch's, or running_mean), (C,)
    inv_std: Array  #: 1 / sqrt(var + eps) of that var, (C,)
    xhat: Array | None  #: the normalised input, like a_prev (None: the fast path recomputes it)
    training: bool  #: batch statistics (True) or running statistics (False)
    #: synchronised batch norm: the share of the global batch the statistics came from
    share: BatchShare | None = None
    count: int | None = None  #: N over all processes (None: the input's own)


@register
class BatchNorm(Layer):
    """Batch normalisation per channel: ``a = gamma * (a_prev - mu) / sqrt(var + eps) + beta``
    (see the module docstring for both passes and both modes).

    Parameters
    ----------
    num_features : int
        The number of channels ``C``: the input is ``(m, C)`` or ``(m, C, H, W)``.
    momentum : float in [0, 1], default 0.1
        Weight of the batch statistic in the running averages (PyTorch's convention:
        ``running = (1 - momentum) * running + momentum * batch``).
    eps : float > 0, default 1e-5
        Added to the variance before the square root.
    dtype : float32 (default) or float64

    Attributes
    ----------
    params : {"gamma": (C,), "beta": (C,)}
        Trainable; they start at 1 and 0.  Not in :attr:`decayed`: the network's L2 penalty
        leaves them alone.
    buffers : {"running_mean": (C,), "running_var": (C,)}
        Start at 0 and 1; every training-mode forward pass updates them (in place), and they
        are saved in model files and checkpoints with the parameters.

    ``training=True`` normalises with the batch's statistics, which needs more than one value
    per channel (``N > 1``); ``training=False`` uses the running ones.
    """

    batch_statistics = True

    decayed = ()

    def __init__(self, num_features: int, momentum: float = 0.1, eps: float = 1e-5,
                 dtype: Any = np.float32) -> None:
        self.num_features = check_width({"num_features": num_features}, "num_features")
        self.momentum = check_real("momentum", momentum, 0.0, 1.0)
        self.eps = check_real("eps", eps, 0.0, low_open=True, what="a positive number")
        dt = check_dtype(dtype)
        C = self.num_features
        self.params = {"gamma": np.ones(C, dtype=dt), "beta": np.zeros(C, dtype=dt)}
        self.buffers = {"running_mean": np.zeros(C, dtype=dt),
                        "running_var": np.ones(C, dtype=dt)}

    def __repr__(self) -> str:
        return f"BatchNorm({self.num_features}, momentum={self.momentum}, eps={self.eps})"

    # ------------------------------------------------------------------ the pair
    def forward(self, a_prev: Array, training: bool = False) -> tuple[Array, BatchNormCache]:
        """``a = gamma * (a_prev - mu) * inv_std + beta``, with the batch's ``mu`` and biased
        ``var`` (and the running statistics updated) when ``training``, the running ones
        otherwise.  ``a_prev``: (m, C) or (m, C, H, W) -> ``a``: the same shape."""
        return self._forward(a_prev, training)

    def backward(self, da: Array, cache: BatchNormCache) -> tuple[Array, dict[str, Array]]:
        """``(da_prev, {"gamma": dgamma, "beta": dbeta})`` from ``da`` (shaped like the input):
        the full batch-statistics gradient after a training-mode forward pass, the fixed
        affine map's after an eval-mode one."""
        return self._backward(da, cache)

    # The plain NumPy passes (the reference) and, with a workspace ``ws`` (fit, predict), the
    # kernels of backprop._kernels.batchnorm writing into its arrays.  Both share the (C,)
    # arithmetic below (_batch_normalisers, _running_normalisers, _coef), so that they differ
    # only in the order of the sums.

    # On several processes (a BatchShare is current while training) the statistics are the
    # global batch's: each process's mean and variance are combined over the processes
    # (_synced_moments), and backward sums dbeta and dgamma over them before computing
    # da[l-1]; its own gamma and beta gradients stay its rows' part (the training step sums
    # the parts).

    def _forward(self, a_prev: Array, training: bool, ws: Workspace | None = None
                 ) -> tuple[Array, BatchNormCache]:
        share = current_batch_share() if training else None
        x = self._checked(a_prev, training, share)
        dt = x.dtype
        n = count = _count(x)
        kernel = _kernels.get("batchnorm_affine") if ws is not None and _fast(dt) else None
        if kernel is None:
            axes, shape = _axes(x)
            if training:
                acc = np.promote_types(dt, np.float64)
                mean64 = var64 = np.zeros(self.num_features, dtype=acc)
                if n:
                    mean64 = x.mean(axis=axes, dtype=acc)
                    var64 = np.square(x - mean64.reshape(shape)).mean(axis=axes)
                if share is not None:
                    mean64, var64, count = self._synced_moments(share, mean64, var64, n)
                mean, inv_std = self._batch_normalisers(mean64, var64, count, dt)
            else:
                mean, inv_std = self._running_normalisers(dt)
            gamma, beta = self.params["gamma"], self.params["beta"]
            xhat = (x - mean.reshape(shape)) * inv_std.reshape(shape)
            a = xhat * gamma.reshape(shape) + beta.reshape(shape)
            return a, BatchNormCache(x, mean, inv_std, xhat, training, share, count)
        x = np.ascontiguousarray(x)
        x3 = _channels_view(x)
        if training:
            C = self.num_features
            mean64 = ws.get(self, "mean64", (C,), np.float64)
            var64 = ws.get(self, "var64", (C,), np.float64)
            _kernels.get("batchnorm_stats")(x3, mean64, var64)
            if share is not None:
                mean64, var64, count = self._synced_moments(share, mean64, var64, n)
            mean, inv_std = self._batch_normalisers(mean64, var64, count, dt)
        else:
            mean, inv_std = self._running_normalisers(dt)
        a = ws.get(self, "a", x.shape, dt)
        kernel(x3, mean, inv_std, self.params["gamma"], self.params["beta"], _channels_view(a))
        return a, BatchNormCache(x, mean, inv_std, None, training, share, count)

    def _synced_moments(self, share: BatchShare, mean64: Array, var64: Array, n: int
                        ) -> tuple[Array, Array, int]:
        """The global batch's mean and biased variance (float64) and its count ``N``, from
        this process's (over ``n`` values) and one reduction over the processes.

        Each process sends ``n``, ``n d`` and ``n (var + d^2)`` with ``d = mean - c``, its
        values' first and second moments about ``c = running_mean`` (the same on every
        process, and near the data: the subtraction loses little):
        ``mean = c + sum(n d) / N``, ``var = sum(n (var + d^2)) / N - (sum(n d) / N)^2``.
        """
        C = self.num_features
        c = self.buffers["running_mean"].astype(np.float64)
        d = mean64 - c
        sums = share.reduce(np.concatenate([[float(n)], n * d, n * (var64 + d * d)]))
        count = int(round(sums[0]))
        if count < 2:
            raise ValueError(
                f"BatchNorm({C}) in training mode needs more than one value per channel to "
                f"compute the batch variance, got {count} in the whole batch (a batch of one "
                "row: choose a batch size that leaves no batch of one)")
        s1, s2 = sums[1:C + 1] / count, sums[C + 1:] / count
        return c + s1, np.maximum(s2 - s1 * s1, 0.0), count

    def _backward(self, da: Array, cache: BatchNormCache, ws: Workspace | None = None,
                  need_da_prev: bool = True, da_owned: bool = False
                  ) -> tuple[Array | None, dict[str, Array]]:
        """``da_owned``: ``da`` is scratch that may be overwritten with ``da_prev``."""
        x, mean, inv_std, xhat, training, share, count = cache
        dt = x.dtype
        gamma = self.params["gamma"]
        n = _count(x) if count is None else count
        sums = None
        if ws is not None and training and _fast(dt) and da.dtype == dt:
            sums = _kernels.get("batchnorm_backward_sums")
        if sums is None:
            axes, shape = _axes(x)
            acc = np.promote_types(dt, np.float64)
            if xhat is None:
                xhat = (x - mean.reshape(shape)) * inv_std.reshape(shape)
            dbeta64 = da.sum(axis=axes, dtype=acc)
            dgamma64 = (da * xhat).sum(axis=axes, dtype=acc)
            dbeta, dgamma = dbeta64.astype(dt), dgamma64.astype(dt)
            da_prev = None
            if need_da_prev and training:
                sum_beta, sum_gamma = dbeta, dgamma
                if share is not None:
                    sum_beta, sum_gamma = _synced_sums(share, dbeta64, dgamma64, dt)
                coef = self._coef(inv_std, n)
                da_prev = coef.reshape(shape) * (
                    dt.type(n) * da - sum_beta.reshape(shape) - xhat * sum_gamma.reshape(shape))
            elif need_da_prev:
                da_prev = da * (gamma * inv_std).reshape(shape)
            return da_prev, {"gamma": dgamma, "beta": dbeta}
        C = self.num_features
        da = np.ascontiguousarray(da)
        x3, da3 = _channels_view(x), _channels_view(da)
        dbeta64 = ws.get(self, "dbeta64", (C,), np.float64)
        dgamma64 = ws.get(self, "dgamma64", (C,), np.float64)
        sums(da3, x3, mean, inv_std, dbeta64, dgamma64)
        dbeta = ws.get(self, "dbeta", (C,), dt)
        dgamma = ws.get(self, "dgamma", (C,), dt)
        np.copyto(dbeta, dbeta64, casting="same_kind")
        np.copyto(dgamma, dgamma64, casting="same_kind")
        da_prev = None
        if need_da_prev:
            sum_beta, sum_gamma = dbeta, dgamma
            if share is not None:
                sum_beta, sum_gamma = _synced_sums(share, dbeta64, dgamma64, dt)
            da_prev = da if da_owned else ws.get(self, "da_prev", x.shape, dt)
            _kernels.get("batchnorm_backward_dx")(
                da3, x3, mean, inv_std, self._coef(inv_std, n), sum_beta, sum_gamma,
                dt.type(n), _channels_view(da_prev))
        return da_prev, {"gamma": dgamma, "beta": dbeta}

    # ------------------------------------------------------------------ the (C,) arithmetic
    def _batch_normalisers(self, mean64: Array, var64: Array, n: int, dt: np.dtype
                           ) -> tuple[Array, Array]:
        """``(mu, inv_std)`` in ``dt`` from the batch's float64 (or wider) mean and biased
        variance, after updating the running statistics in place with them."""
        mom = self.momentum
        rm, rv = self.buffers["running_mean"], self.buffers["running_var"]
        rm[...] = (1.0 - mom) * rm + mom * mean64
        rv[...] = (1.0 - mom) * rv + mom * (var64 * (n / (n - 1)))
        return mean64.astype(dt), (1.0 / np.sqrt(var64 + self.eps)).astype(dt)

    def _running_normalisers(self, dt: np.dtype) -> tuple[Array, Array]:
        """``(running_mean, 1 / sqrt(running_var + eps))`` in ``dt`` (copies: the cache must
        not change with the buffers)."""
        acc = np.promote_types(dt, np.float64)
        var = self.buffers["running_var"].astype(acc)
        return (self.buffers["running_mean"].astype(dt),
                (1.0 / np.sqrt(var + self.eps)).astype(dt))

    def _coef(self, inv_std: Array, n: int) -> Array:
        """``gamma * inv_std / N`` (C,), the factor of the training-mode ``da[l-1]``."""
        return self.params["gamma"] * inv_std / inv_std.dtype.type(n)

    def _checked(self, a_prev: Array, training: bool, share: BatchShare | None = None
                 ) -> Array:
        """``a_prev`` when it is (m, C) or (m, C, H, W) (with more than one value per channel
        when ``training`` on one process: on several, the whole batch's count is checked once
        known); else ``ValueError`` naming its shape."""
        problem = self.check_input_shape(a_prev.shape[1:])
        if problem is not None:
            raise ValueError(f"BatchNorm({self.num_features}) {problem}; got an input of shape "
                             f"{a_prev.shape}")
        if training and share is None and _count(a_prev) < 2:
            raise ValueError(
                f"BatchNorm({self.num_features}) in training mode needs more than one value per "
                f"channel to compute the batch variance, got an input of shape {a_prev.shape} "
                "(a batch of one row: choose a batch size that leaves no batch of one)")
        return a_prev

    # ------------------------------------------------------------------ protocol
    def check_input_shape(self, input_shape: Shape) -> str | None:
        """None for ``(C,)`` and ``(C, H, W)``; else what it expects."""
        shape = tuple(input_shape)
        if len(shape) in (1, 3) and shape[0] == self.num_features:
            return None
        C = self.num_features
        return f"expects inputs of shape (m, {C}) or (m, {C}, H, W)"

    @classmethod
    def param_shapes(cls, config: dict[str, Any], dtype: Any) -> dict[str, tuple[Shape, np.dtype]]:
        """``gamma``, ``beta``, ``running_mean``, ``running_var``: (num_features,) in
        ``dtype``."""
        C = check_width(config, "num_features")
        dt = np.dtype(dtype)
        return {name: ((C,), dt) for name in ("gamma", "beta", "running_mean", "running_var")}

    def check_arrays(self, arrays: dict[str, Array]) -> str | None:
        """Finite running statistics and a non-negative running variance."""
        for name in ("running_mean", "running_var"):
            arr = np.asarray(arrays[name])
            bad = ~np.isfinite(arr) | ((arr < 0) if name == "running_var" else False)
            if bad.any():
                j = int(np.argmax(bad))
                what = "finite and non-negative" if name == "running_var" else "finite"
                return f"{name} must be {what}; entry {j} is {arr[j]}"
        return None

    def config(self) -> dict[str, Any]:
        """Constructor arguments (weights and statistics aside)."""
        return {"type": "BatchNorm", "num_features": self.num_features,
                "momentum": self.momentum, "eps": self.eps}

    @classmethod
    def from_config(cls, config: dict[str, Any], dtype: Any = np.float32,
                    seed: int | np.random.Generator | None = None) -> BatchNorm:
        """A fresh layer (gamma 1, beta 0, running statistics 0 and 1)."""
        spec = {k: v for k, v in config.items() if k != "type"}
        return cls(**spec, dtype=dtype)

    def describe(self) -> str:
        """``"batch norm, momentum 0.1"`` (and eps, when it is not the default)."""
        text = f"batch norm, momentum {self.momentum:g}"
        return text if self.eps == 1e-5 else f"{text}, eps {self.eps:g}"


def _synced_sums(share: BatchShare, dbeta64: Array, dgamma64: Array, dt: np.dtype
                 ) -> tuple[Array, Array]:
    """``dbeta`` and ``dgamma`` of the whole batch (in ``dt``): this process's sums of
    ``da`` and ``da * xhat`` (its part of the batch's gradient) added over the processes."""
    C = dbeta64.shape[0]
    total = share.reduce(np.concatenate([dbeta64, dgamma64]))
    return total[:C].astype(dt), total[C:].astype(dt)


def _axes(x: Array) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The axes a channel's statistics run over, and the shape a (C,) array broadcasts as."""
    if x.ndim == 2:
        return (0,), (1, x.shape[1])
    return (0, 2, 3), (1, x.shape[1], 1, 1)


def _count(x: Array) -> int:
    """``N``: the values per channel (m, or m H W)."""
    return x.size // x.shape[1]


def _channels_view(x: Array) -> Array:
    """The (m, C, S) view of a C-contiguous (m, C) or (m, C, H, W) array (S = 1 or H W)."""
    return x.reshape(x.shape[0], x.shape[1], -1)


def _fast(dt: np.dtype) -> bool:
    """Whether the kernels take arrays of ``dt`` (float32 and float64)."""
    return dt in (np.float32, np.float64)
