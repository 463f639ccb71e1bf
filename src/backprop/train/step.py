"""One training step: forward propagation, cost, backward propagation, the optimizer's update,
and the divergence guard's check of what it produced."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from backprop import _kernels
from backprop.nn.checks import is_sparse
from backprop.nn.workspace import Workspace
from backprop.optim import Optimizer

if TYPE_CHECKING:
    from backprop.nn.sequential import Sequential

__all__ = ["train_step", "apply_update", "NonFiniteStep", "gather"]

Array = np.ndarray


class NonFiniteStep(Exception):
    """Raised by :func:`train_step` after a step that produced a NaN or inf; :func:`fit`
    restores the last good state and raises :class:`TrainingDiverged`."""

    def __init__(self, J: float, grads: list[dict[str, Array]], X_batch: Array) -> None:
        super().__init__("non-finite cost or gradient")
        self.J, self.grads, self.X_batch = J, grads, X_batch


def gather(src: Array, rows: Array, ws: Workspace | None, name: str) -> Array:
    """``src[rows]``, written into the workspace's array ``name`` when there is one (no new
    array per step).  ``mode="clip"`` (the rows are valid) spares NumPy's bounds-checked
    buffered copy.  A sparse ``src`` (CSR) gives the rows' CSR matrix."""
    if ws is None or is_sparse(src):
        return src[rows]
    out = ws.get(gather, name, (rows.size,) + src.shape[1:], src.dtype)
    return src.take(rows, axis=0, out=out, mode="clip")


def train_step(
    network: Sequential,
    optimizer: Optimizer,
    X_batch: Array,
    y_batch: Array,
    w_batch: Array | None = None,
    workspace: Workspace | None = None,
) -> tuple[float, Array]:
    """One optimisation step on one mini-batch: forward propagation, cost, backward
    propagation and the optimizer's in-place update of every parameter.

    :func:`fit` changes the parameters here and nowhere else.  After the update the cost and
    the parameters are checked; a NaN or inf raises :class:`NonFiniteStep`, and :func:`fit`
    then rebuilds the state of the last good step.

    Parameters
    ----------
    network : Sequential
    optimizer : Optimizer
    X_batch : ndarray of shape (m, ...), in the network's dtype (checked, as fit does)
    y_batch : targets of the m rows, as ``network.check_targets`` returns them
    w_batch : ndarray of shape (m,), optional
        Sample weights.
    workspace : Workspace, optional
        Arrays reused from step to step (:mod:`backprop.nn.workspace`); None allocates.

    Returns
    -------
    J : float
        The batch cost before the update (with the L2 term; only the L2 term, and no update,
        when every sample weight of the batch is 0).
    out : ndarray of shape (m, n_out)
        The output ``a[L]`` of the forward pass (a workspace array: overwritten next step).
    """
    if w_batch is not None and not w_batch.any():
        # every row of the batch weighs 0: its weighted mean cost would be 0/0.  It has no
        # cost and no gradient, so no step is taken, as if its rows had been dropped.
        out, _ = network.forward(X_batch, training=True)
        return float(network.l2_penalty(l2=network.batch_l2(X_batch.shape[0], w_batch))), out
    J, grads, out, _ = network.forward_backward(X_batch, y_batch, w_batch, training=True,
                                                workspace=workspace)
    apply_update(network, optimizer, J, grads, X_batch)
    return float(J), out


def apply_update(network: Sequential, optimizer: Optimizer, J: float,
                 grads: list[dict[str, Array]], X_batch: Array) -> None:
    """The optimizer's in-place update of every parameter with ``grads`` (a list aligned with
    ``network.layers``, as ``forward_backward`` returns them), then the divergence guard:
    :class:`NonFiniteStep` when the cost ``J`` or a parameter is NaN or inf.

    :func:`train_step` calls it with one process's gradients, the data-parallel step
    (:mod:`backprop.train.distributed`) with the gradients summed over the processes.
    """
    params = network.parameters()
    optimizer.step(params, [g for layer in grads for g in layer.values()])
    # The divergence guard: a NaN or inf in any gradient reaches the parameters through the
    # update, and so does an update that overflows.  The optimizer's kernels report whether
    # what they wrote is finite; otherwise one read pass over the parameters tells.
    finite = optimizer.last_step_finite
    if finite is None:
        finite = all(_kernels.all_finite(p) for p in params)
    if not math.isfinite(J) or not finite:
        raise NonFiniteStep(J, grads, X_batch)
