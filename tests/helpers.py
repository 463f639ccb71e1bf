"""Layers and data shared by several test modules."""

from __future__ import annotations

import contextlib
from typing import Any, NamedTuple

import numpy as np
import pytest

import backprop as bp
from backprop.nn.layers import LAYERS


class DoubledGradDense(bp.Dense):
    """A subclass that changes backward: the workspace path must not bypass it."""

    def backward(self, da, cache):
        da_prev, grads = super().backward(da, cache)
        return da_prev, {k: 2 * v for k, v in grads.items()}


class RunningMeanCache(NamedTuple):
    """Nothing but the shape: backward is the identity."""

    shape: tuple


class RunningMean(bp.Layer):
    """A layer with a buffer that training changes, as batch normalisation's running
    statistics: ``a = a_prev - mean`` with ``mean`` a buffer; each training forward pass then
    moves ``mean`` towards the batch mean (``mean = 0.9 mean + 0.1 batch mean``).  Backward is
    ``da_prev = da`` (``mean`` is not a function of this batch's ``a_prev`` in the output: it is
    updated after use)."""

    def __init__(self, n: int, dtype: Any = np.float64) -> None:
        self.n = n
        self.params = {}
        self.buffers = {"mean": np.zeros(n, dtype=dtype)}

    @property
    def input_shape(self):
        return (self.n,)

    def forward(self, a_prev, training=False):
        a = a_prev - self.buffers["mean"]
        if training:
            self.buffers["mean"] *= 0.9
            self.buffers["mean"] += 0.1 * a_prev.mean(axis=0)
        return a, RunningMeanCache(a_prev.shape)

    def backward(self, da, cache):
        return da, {}

    @classmethod
    def param_shapes(cls, config, dtype):
        return {"mean": ((config["n"],), np.dtype(dtype))}

    def config(self):
        return {"type": "RunningMean", "n": self.n}

    @classmethod
    def from_config(cls, config, dtype=np.float32, seed=None):
        return cls(config["n"], dtype=dtype)


@contextlib.contextmanager
def registered(cls: type) -> Any:
    """``cls`` in the layer registry for the duration of the block."""
    LAYERS[cls.__name__] = cls
    try:
        yield cls
    finally:
        del LAYERS[cls.__name__]


def assert_state_equal(a: dict, b: dict) -> None:
    """Two network states (``state_dict``) hold the same arrays and generator states."""
    assert set(a) == set(b)
    for key in a:
        if isinstance(a[key], np.ndarray):
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        else:
            assert a[key] == b[key], key


def tol(dtype: Any) -> float:
    """Agreement expected between fused and plain results, relative to an array's scale."""
    return 2e-5 if dtype == np.float32 else 1e-12


def assert_close(actual: Any, desired: Any, dtype: Any, what: str = "") -> None:
    """``max |actual - desired| <= tol * max |desired|`` (float rounding of sums of products)."""
    actual, desired = np.asarray(actual), np.asarray(desired)
    assert actual.shape == desired.shape, what
    scale = max(float(np.max(np.abs(desired), initial=0.0)), np.finfo(dtype).tiny)
    err = float(np.max(np.abs(actual.astype(np.float64) - desired), initial=0.0))
    assert err <= tol(dtype) * scale, f"{what}: max abs diff {err:.3g} at scale {scale:.3g}"


#: scikit-learn warns when a few epochs do not converge; the tests train for few on purpose
no_convergence_warning = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


class BlowUp(bp.Callback):
    """After epoch ``epoch``, set ``optimizer.lr`` to a rate no network survives (1e12): the
    next steps diverge."""

    def __init__(self, optimizer: bp.Optimizer, epoch: int) -> None:
        self.optimizer, self.epoch = optimizer, epoch

    def on_epoch_end(self, epoch: int, logs: dict, history: bp.History) -> None:
        if epoch == self.epoch:
            self.optimizer.lr = 1e12


def titanic_like(rows: int = 1200, seed: int = 0):
    """The Titanic-like passenger table of ``examples/titanic_like.py`` (one generator for the
    README's walkthrough and the tests)."""
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).parents[1] / "examples" / "titanic_like.py"
    spec = importlib.util.spec_from_file_location("titanic_like", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.titanic_like(rows, seed)
