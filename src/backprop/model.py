"""``backprop.Network``: the sequential network with training and saving on it.

The network's math lives in :class:`backprop.nn.Sequential`; training in
:mod:`backprop.train`, model files in :mod:`backprop.saving`.  This module sits above all three
and joins them, so that ``net.fit(...)`` and ``net.save(...)`` read naturally while no lower
module imports a higher one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from backprop._utils import as_rng, check_int
from backprop.export import export_onnx
from backprop.nn.layers import Dense, Dropout, Layer
from backprop.nn.losses import Loss, loss_for_output
from backprop.nn.sequential import Sequential
from backprop.saving import model_file
from backprop.train.callbacks import History
from backprop.train.loop import fit

__all__ = ["Network", "mlp", "load", "save"]

Array = np.ndarray


class Network(Sequential):
    """A feed-forward network (see :class:`backprop.nn.Sequential` for the parameters) that
    trains itself (:meth:`fit`) and saves itself (:meth:`save`)."""

    def fit(self, X: Array, y: Array, **kwargs: Any) -> History:
        """Train with mini-batch gradient descent; see :func:`backprop.train.fit` for the
        arguments (epochs, batch_size, optimizer, validation_data, validation_split, shuffle,
        seed, verbose, callbacks, lr_schedule, sample_weight, class_weight, checkpoint,
        resume_from, comm).  With ``comm=MPI.COMM_WORLD`` (under ``mpiexec``), ``X`` and ``y``
        are this process's share of the rows and training is data parallel
        (:mod:`backprop.train.distributed`).
        Returns the run's :class:`History`."""
        return fit(self, X, y, **kwargs)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model (weights, architecture, classes, feature names, metadata) to a
        safetensors file, atomically; see :func:`backprop.save`."""
        model_file.save(self, path)

    def export_onnx(self, path: str | os.PathLike[str]) -> None:
        """Write the network as an ONNX file that onnxruntime (and any ONNX runtime) serves;
        see :func:`backprop.export_onnx`."""
        export_onnx(self, path)


def save(net: Sequential, path: str | os.PathLike[str]) -> None:
    """Save ``net`` to a safetensors model file, atomically (:mod:`backprop.saving.model_file`)."""
    model_file.save(net, path)


def load(path: str | os.PathLike[str]) -> Network:
    """Load a model saved by :func:`save` / :meth:`Network.save`, ready to predict or train.

    Raises :class:`backprop.ModelFileError` for every file that is not a valid model.
    """
    return model_file.load(path, cls=Network)


def mlp(
    sizes: Sequence[int],
    activation: str = "relu",
    output: str = "sigmoid",
    loss: str | Loss | None = None,
    dropout: float = 0.0,
    l2: float = 0.0,
    init: str | None = None,
    dtype: Any = np.float32,
    seed: int | np.random.Generator | None = None,
    preprocessor: Any = None,
) -> Network:
    """Build a multilayer perceptron ``sizes[0] -> ... -> sizes[-1]``.

    ``activation`` for hidden layers, ``output`` for the last; ``loss`` defaults to the output's
    natural partner (sigmoid -> BCE, softmax -> CE, otherwise MSE).  ``dropout > 0`` inserts a
    Dropout after each hidden layer.  One ``seed`` fixes every layer's weights and dropout masks.
    A fitted ``preprocessor`` (:class:`backprop.TablePreprocessor`) makes the network take raw
    tables; ``sizes[0]`` must then be its output width (``preprocessor.n_features_out``).
    """
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least an input and an output width, got {sizes}")
    sizes = [check_int(f"sizes[{i}]", s, 1) for i, s in enumerate(sizes)]
    if loss is None:
        loss = loss_for_output(output)
    rng = as_rng(seed)
    layers: list[Layer] = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        last = i == len(sizes) - 2
        layers.append(Dense(n_in, n_out, output if last else activation, init=init, dtype=dtype,
                            seed=rng))
        if dropout and not last:
            layers.append(Dropout(dropout, seed=int(rng.integers(2**63))))
    return Network(layers, loss=loss, l2=l2, preprocessor=preprocessor)
