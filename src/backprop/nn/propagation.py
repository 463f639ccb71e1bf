"""Forward and backward propagation over a list of layers, with the workspace fast path.

Forward propagation calls each layer's ``forward`` in turn, keeping every cache; backward
propagation starts from the output gradient and calls each layer's ``backward`` in reverse::

    a[0] = X;   a[l], cache[l] = layer[l].forward(a[l-1])          l = 1 .. L
    J = loss(a[L], y) + (l2 / 2) sum_l ||W[l]||^2
    dz[L] = (a[L] - y) / m                (fused: sigmoid + BCE, softmax + CE)
       or da[L] = dJ/da[L]                (any other pairing)
    da[l-1], grads[l] = layer[l].backward(da[l], cache[l])        l = L .. 1
    grads[l]["W"] += l2 W[l]

With a workspace (during ``fit`` and ``predict``) every layer that has a workspace path
writes into reused arrays, and the fused kernels run (see :mod:`backprop.nn.workspace`);
without one this is the plain NumPy path, which gradient checking uses.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from backprop import _kernels
from backprop.nn.layers.base import Layer
from backprop.nn.losses import Loss
from backprop.nn.workspace import Workspace

__all__ = ["Gradients", "forward_pass", "backward_pass", "data_cost", "threads_for"]

Array = np.ndarray
_NO_WEIGHTS = np.empty(0)  # "no sample weights" for the softmax + cross-entropy kernel


class Gradients(NamedTuple):
    """The result of one forward and backward pass."""

    cost: float  #: J, with the L2 term
    grads: list[dict[str, Array]]  #: per layer, keyed and shaped like its params
    output: Array  #: a[L]
    input_grad: Array | None  #: dJ/dX when asked for


def threads_for(layers: Sequence[Layer]) -> contextlib.AbstractContextManager:
    """The threading a pass over ``layers`` runs in: BLAS on one thread when a layer runs on
    threads of its own (image layers; see :mod:`backprop._kernels.threads`), else as set."""
    if _kernels.enabled() and any(la.own_threads for la in layers):
        return _kernels.threads.single_blas()
    return contextlib.nullcontext()


def forward_pass(layers: Sequence[Layer], a: Array, training: bool,
                 ws: Workspace | None = None) -> tuple[Array, list[Any]]:
    """``(a[L], caches)``; with a workspace the layers that can write into its arrays do."""
    caches = []
    with threads_for(layers):
        for layer in layers:
            if ws is not None and layer.workspace_path:
                a, cache = layer._forward(a, training, ws)
            else:
                a, cache = layer.forward(a, training=training)
            caches.append(cache)
    return a, caches


def data_cost(loss: Loss, fused: bool, last: Layer, out: Array, cache: Any, y: Array,
              w: Array | None) -> float:
    """The loss of a forward pass without the L2 term: from the output layer's cached logits
    ``z`` for fused pairs (stable for any z), from ``a[L]`` otherwise."""
    if fused:
        return loss.value_from_logits(last.preactivation(cache), y, w)
    return loss.value(out, y, w)


@functools.cache
def _softmax_xent_scalars(dtype: np.dtype) -> tuple[Any, ...]:
    """The ``softmax_xent`` kernel's constants ``0, 1, log(tiny)`` as ``dtype`` scalars."""
    return _kernels.scalars(dtype, 0, 1, math.log(np.finfo(dtype).tiny))


def _output_gradient(loss: Loss, last: Layer, out: Array, cache: Any, y: Array,
                     w: Array | None, ws: Workspace | None) -> tuple[float, Array, Array | None]:
    """``(J, dz, db)`` of a fused output pair: the cost from the logits and ``dz = dJ/dz``;
    ``db`` (the output bias gradient) when it came with ``dz``, else None.

    Softmax + cross-entropy with integer labels runs as one kernel during fit (cost, ``dz``
    and ``db`` in one pass over the (m, k) logits); the rest is the losses' NumPy.
    """
    kernel = None
    if ws is not None and y.ndim == 1 and loss.fused_activation == "softmax":
        kernel = _kernels.get("softmax_xent")
    if kernel is None:
        J = data_cost(loss, True, last, out, cache, y, w)
        return J, loss.gradient_wrt_logits(out, y, w), None
    z = last.preactivation(cache)
    m, dt = z.shape[0], z.dtype
    # per-row factor of dz: 1/m, or w_i / sum(w) (as the losses' sample scale computes it)
    scale = ws.get(_output_gradient, "row_scale", (m,), dt)
    if w is None:
        scale.fill(1.0 / m)
    else:
        w_dt = w.astype(dt)
        np.divide(w_dt, w_dt.sum(), out=scale)
    dz = ws.get(last, "dz", z.shape, dt)
    db = ws.get(last, "db", (z.shape[1],), dt)
    J = kernel(z, out, y, scale, _NO_WEIGHTS if w is None else w, dz, db,
               *_softmax_xent_scalars(dt))
    return J, dz, db


def backward_pass(layers: Sequence[Layer], loss: Loss, fused: bool, out: Array,
                  caches: list[Any], y: Array, w: Array | None, need_input_grad: bool,
                  ws: Workspace | None, output_scale: float = 1.0
                  ) -> tuple[float, list[dict[str, Array]], Array | None]:
    """``(J without the L2 term, grads, dJ/da[first-1])`` from a forward pass's output and
    caches; see the module docstring.  ``output_scale`` multiplies the output gradient, and so
    every gradient (not ``J``): a process of a data-parallel step passes its share of the
    global batch's weight, so that its gradients are its part of the whole batch's."""
    with threads_for(layers):
        return _backward_pass(layers, loss, fused, out, caches, y, w, need_input_grad, ws,
                              output_scale)


def _backward_pass(layers: Sequence[Layer], loss: Loss, fused: bool, out: Array,
                   caches: list[Any], y: Array, w: Array | None, need_input_grad: bool,
                   ws: Workspace | None, output_scale: float
                   ) -> tuple[float, list[dict[str, Array]], Array | None]:
    n = len(layers)
    last = layers[-1]
    fast = ws is not None and last.workspace_path
    # layers below the first one with parameters (a Standardize, an input Dropout) need no
    # dJ/da, nor does that layer itself, unless dJ/dX is asked for
    first = 0
    if not (need_input_grad or layers[0].params):
        first = next((i for i, la in enumerate(layers) if la.params), n - 1)
    need_da = n - 1 > first or need_input_grad
    if fused:
        J, dz, db = _output_gradient(loss, last, out, caches[-1], y, w, ws if fast else None)
        if output_scale != 1.0:
            dz *= output_scale
            if db is not None:
                db *= output_scale
        if fast:
            da, last_grads = last._backward_from_dz(dz, caches[-1], ws, need_da, db)
        else:
            da, last_grads = last.backward_from_dz(dz, caches[-1], need_da)
    else:
        J = data_cost(loss, False, last, out, caches[-1], y, w)
        da_out = loss.gradient(out, y, w)
        if output_scale != 1.0:
            da_out *= output_scale
        if fast:
            da, last_grads = last._backward(da_out, caches[-1], ws, need_da, da_owned=True)
        else:
            da, last_grads = last.backward(da_out, caches[-1])
    grads: list[dict[str, Array]] = [{} for _ in range(n)]
    grads[-1] = last_grads
    # da is scratch (ours) that the next backward may overwrite; a layer without a workspace
    # path may return an array it keeps
    da_owned = fast
    for i in range(n - 2, first - 1, -1):
        layer = layers[i]
        if layer.workspace_path:
            # dJ/da[first-1] is never used in training: the layer may skip computing it
            da, grads[i] = layer._backward(da, caches[i], ws, i > first or need_input_grad,
                                           da_owned=da_owned and ws is not None)
        else:
            da, grads[i] = layer.backward(da, caches[i])
            da_owned = False
    return J, grads, da
