"""Layers and data shared by several test modules."""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import subprocess
import sys
from typing import Any, NamedTuple

import numpy as np
import pytest

import backprop as bp
from backprop.nn.layers import LAYERS
from backprop.nn.parallel import current_batch_share


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


class SyncedRunningMean(RunningMean):
    """RunningMean whose batch mean is the global batch's when training runs on several
    processes: the sums travel through the BatchShare hook, as synchronised batch norm's do."""

    def forward(self, a_prev, training=False):
        a = a_prev - self.buffers["mean"]
        if training:
            sums = np.concatenate([a_prev.sum(axis=0, dtype=np.float64), [a_prev.shape[0]]])
            share = current_batch_share()
            if share is not None:
                sums = share.reduce(sums)
            self.buffers["mean"] *= 0.9
            self.buffers["mean"] += 0.1 * (sums[:-1] / sums[-1])
        return a, RunningMeanCache(a_prev.shape)

    def config(self):
        return {"type": "SyncedRunningMean", "n": self.n}


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


#: The folder above ``tests``, and ``tests`` itself: what a child process needs on its path.
TESTS = pathlib.Path(__file__).parent
#: mpiexec as the [mpi] extra installs it (the mpich wheel puts it next to the interpreter)
MPIEXEC = next((p for p in (os.path.join(os.path.dirname(sys.executable), "mpiexec"),
                            shutil.which("mpiexec")) if p and os.path.exists(p)), "mpiexec")


def child_env() -> dict[str, str]:
    """The environment of a child process: this checkout's backprop and the test helpers
    first on its path, BLAS at one thread (several processes share two cores)."""
    import backprop

    src = str(pathlib.Path(backprop.__file__).parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([src, str(TESTS), env.get("PYTHONPATH", "")])
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    return env


def mpiexec(n: int, *argv: str) -> list[str]:
    """The command line that runs ``argv`` on ``n`` processes (Open MPI's launcher needs
    --oversubscribe for more processes than cores, and --allow-run-as-root as root; MPICH's
    needs neither)."""
    out = subprocess.run([MPIEXEC, "--version"], capture_output=True, text=True).stdout
    flags = []
    if "Open MPI" in out or "OpenRTE" in out:
        flags.append("--oversubscribe")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            flags.append("--allow-run-as-root")
    return [MPIEXEC, "-n", str(n), *flags, *argv]


def run_mpi(n: int, *argv: str, timeout: float = 120, **kwargs: Any
            ) -> subprocess.CompletedProcess:
    """Run ``argv`` on ``n`` processes under mpiexec; its output as text."""
    return subprocess.run(mpiexec(n, *argv), capture_output=True, text=True, timeout=timeout,
                          env=child_env(), **kwargs)
