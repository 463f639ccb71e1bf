"""One data-parallel run on one process of several: where its part of each global batch comes
from, the step that sums every process's gradients with one Allreduce, and the metrics summed
over the processes (see :mod:`backprop.train.distributed` for the scheme)."""

from __future__ import annotations

import os
import signal
from typing import TYPE_CHECKING, Any

import numpy as np

from backprop.nn import propagation, regularization
from backprop.nn.parallel import BatchShare, batch_share_scope
from backprop.nn.workspace import Workspace
from backprop.optim import Optimizer
from backprop.train.callbacks import Callback
from backprop.train.processes import Processes
from backprop.train.run import Run, batch_bounds, batch_count
from backprop.train.signals import SignalStop
from backprop.train.step import apply_update, gather

if TYPE_CHECKING:
    from backprop.nn.sequential import Sequential

__all__ = ["DistributedRun", "GradientReducer", "validation_sums", "batch_l2"]

Array = np.ndarray
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class GradientReducer:
    """One flat buffer holding every gradient of the network and a step's scalars, summed over
    the processes by one Allreduce.

    Layout: every parameter's gradient, layer by layer in ``params`` order, then the cost,
    the correct predictions, and one count per signal (SIGINT, SIGTERM) of the processes that
    received it.  :attr:`grads` are views of the buffer shaped like the network's gradients,
    which the optimizer reads after :meth:`reduce`.
    """

    def __init__(self, procs: Processes, network: Sequential) -> None:
        self.procs = procs
        self.n = sum(p.size for p in network.parameters())
        self.buffer = np.zeros(self.n + 2 + len(_SIGNALS), dtype=network.dtype)
        self.grads: list[dict[str, Array]] = []
        start = 0
        for layer in network.layers:
            views = {}
            for name, p in layer.params.items():
                views[name] = self.buffer[start:start + p.size].reshape(p.shape)
                start += p.size
            self.grads.append(views)

    def reduce(self, grads: list[dict[str, Array]], cost: float, correct: float,
               signum: int | None) -> tuple[float, float, int | None]:
        """Sum ``grads``, ``cost``, ``correct`` and the signal over the processes; the summed
        gradients are then :attr:`grads`.  Returns ``(cost, correct, signal)`` summed (the
        signal: the first of SIGINT, SIGTERM that some process received, or None)."""
        buf, n = self.buffer, self.n
        for mine, theirs in zip(grads, self.grads):
            for name, view in theirs.items():
                np.copyto(view, mine[name], casting="same_kind")
        buf[n:] = 0
        buf[n:n + 2] = (cost, correct)
        if signum is not None:
            buf[n + 2 + _SIGNALS.index(signum)] = 1
        self.procs.allreduce_in_place(buf)
        agreed = next((s for s, v in zip(_SIGNALS, buf[n + 2:]) if v > 0), None)
        return float(buf[n]), float(buf[n + 1]), agreed


class DistributedRun(Run):
    """A :class:`~backprop.train.run.Run` on one process of several: its ``X``, ``y`` are the
    process's share, starting at global row :attr:`first_row` of :attr:`m_total`; positions,
    orders and checkpoints are global (the same on every process).  ``weights`` are the sample
    weights of every row (all processes'), or None: a batch's total weight must be known
    before its backward pass."""

    def __init__(self, network: Sequential, optimizer: Optimizer, rng: np.random.Generator,
                 callbacks: list[Callback], settings: dict[str, Any] | None,
                 procs: Processes, first_row: int, m_total: int) -> None:
        super().__init__(network, optimizer, rng, callbacks, settings)
        self.procs = procs
        self.first_row, self.m_total = first_row, m_total
        self.weights: Array | None = None
        self.reducer = GradientReducer(procs, network)
        self.stoppers = [cb for cb in callbacks if isinstance(cb, SignalStop)]
        for cb in self.stoppers:
            cb.deferred = True

    def set_data(self, X: Array, y: Array, w: Array | None, batch_size: int | None,
                 ws: Workspace | None) -> None:
        """This process's rows, and how the global training rows are cut into batches; the
        sample weights ``w`` of this process's rows are gathered from every process."""
        self.X, self.y, self.w, self.ws = X, y, w, ws
        self.weights = None if w is None else self.procs.concatenate(w.astype(np.float64))
        self.m = self.m_total if self.train_rows is None else self.train_rows.size
        self.size = self.m if batch_size is None else batch_size
        self.n_batches = batch_count(self.m, self.size, self.network)

    def global_rows(self, b: int) -> Array:
        """The global row indices of batch ``b`` of the current epoch, in batch order."""
        start, stop = batch_bounds(b, self.size, self.m, self.n_batches)
        if self.order is None:
            return (np.arange(start, stop) if self.train_rows is None
                    else self.train_rows[start:stop])
        idx = self.order[start:stop]
        return idx if self.train_rows is None else self.train_rows[idx]

    def batch_data(self, b: int) -> tuple[Array, Array, Array | None, int]:
        """``(X_b, y_b, w_b, rows)`` of this process's part of batch ``b``;
        :attr:`positions`, :attr:`batch_rows` and :attr:`batch_weight` then say where its
        rows sit in the global batch, how many rows that has and what it weighs."""
        rows = self.global_rows(b)
        lo = self.first_row
        mine = (rows >= lo) & (rows < lo + self.X.shape[0])
        self.positions = np.flatnonzero(mine)
        self.batch_rows = rows.size
        self.batch_weight = float(rows.size if self.weights is None
                                  else self.weights[rows].sum())
        local = rows[self.positions] - lo
        Xb, yb = gather(self.X, local, self.ws, "X"), gather(self.y, local, self.ws, "y")
        return Xb, yb, None if self.w is None else self.w[local], local.size

    def _reduce_small(self, a: Array) -> Array:
        return self.procs.sum(a).astype(a.dtype, copy=False)

    def step(self, b: int) -> tuple[float, int, float | None]:
        """Train on global batch ``b``: ``(J, rows, correct)`` of the whole batch, the same on
        every process; raises :class:`~backprop.train.step.NonFiniteStep` (on every process
        together, since the cost and the update are the same everywhere)."""
        net = self.network
        Xb, yb, wb, n_rows = self.batch_data(b)
        total = self.batch_weight
        weight = float(n_rows if wb is None else wb.sum())
        share = BatchShare(self.positions, self.batch_rows, self._reduce_small)
        J, correct = 0.0, 0.0
        with batch_share_scope(share):
            if n_rows:
                out, caches = propagation.forward_pass(net.layers, Xb, True, self.ws)
                # this process's part of the global batch's gradient: its rows' weighted mean
                # cost times their share of the batch's weight (rows weighing 0 give zeros)
                part = weight / total if total > 0 else 0.0
                J, grads, _ = propagation.backward_pass(
                    net.layers, net.loss, net.fused, out, caches, yb, wb if weight else None,
                    False, self.ws, output_scale=part)
                J *= part
                acc = net.loss.accuracy(out, yb)
                correct = 0.0 if acc is None else acc * n_rows
            else:  # no row of the batch here: the layers still see it (collective calls)
                grads = _backward_without_rows(net, Xb)
        signum = next((s.pending for s in self.stoppers if s.pending is not None), None)
        cost, correct, agreed = self.reducer.reduce(grads, J, correct, signum)
        for cb in self.stoppers:
            cb.agree(agreed)
        correct_total = correct if net.loss.is_classifier else None
        l2 = batch_l2(net, total)
        fused = self.ws is not None
        if total <= 0:
            # every row of the global batch weighs 0: no cost, no gradient, no step (as
            # train_step does on one process)
            return float(net.l2_penalty(l2=l2)), self.batch_rows, correct_total
        if l2:
            cost += net.l2_penalty(net.l2_terms(fused), l2)
            regularization.add_l2_gradients(net.layers, self.reducer.grads, l2, fused)
        apply_update(net, self.optimizer, cost, self.reducer.grads, Xb)
        return cost, self.batch_rows, correct_total

    def save(self, path: str | os.PathLike[str]) -> None:
        """Process 0 writes the checkpoint (the state is the same on every process)."""
        if self.procs.is_root:
            super().save(path)

    def epoch_logs(self, X_val: Array | None, y_val: Array | None) -> dict[str, float]:
        """The epoch's metrics over all processes: the training ones from the steps' sums,
        the validation ones from one Allreduce of each process's sums over its rows."""
        net = self.network
        logs = {"loss": self.loss_sum / self.m}
        if net.loss.is_classifier:
            logs["accuracy"] = self.acc_sum / self.m
        if X_val is not None:
            val = validation_sums(net, X_val, y_val)
            total = self.procs.sum(val)
            logs["val_loss"] = float(total[0] / total[1]) + net.l2_penalty(
                l2=batch_l2(net, float(total[1])))
            if net.loss.is_classifier:
                logs["val_accuracy"] = float(total[2] / total[1])
        logs["lr"] = self.optimizer.lr
        return logs


def _backward_without_rows(network: Sequential, X: Array) -> list[dict[str, Array]]:
    """Zero gradients, from forward and backward passes over zero rows: a layer that reduces
    batch statistics over the processes makes its collective calls on every process, even
    one without a row of the batch (the plain passes: nothing to compute)."""
    out, caches = propagation.forward_pass(network.layers, X, True)
    layers = network.layers
    d = np.zeros_like(out)
    last = layers[-1]
    grads: list[dict[str, Array]] = [{} for _ in layers]
    if network.fused:
        da, grads[-1] = last.backward_from_dz(d, caches[-1], True)
    else:
        da, grads[-1] = last.backward(d, caches[-1])
    for i in range(len(layers) - 2, -1, -1):
        da, grads[i] = layers[i].backward(da, caches[i])
    return grads


def batch_l2(network: Sequential, weight: float) -> float:
    """The L2 coefficient of a global batch of total weight ``weight`` (rows, or their sample
    weights' sum): ``Sequential.batch_l2``'s rule, from the weight summed over processes."""
    if not network.l2_per_sample or not network.l2:
        return network.l2
    return network.l2 / weight if weight > 0 else 0.0


def validation_sums(network: Sequential, X: Array, y: Array) -> Array:
    """``[cost * rows, rows, correct]`` of ``network`` (dropout off, no L2 term) on this
    process's rows ``X``, ``y`` (zeros when it has none)."""
    m = X.shape[0]
    if m == 0:
        return np.zeros(3)
    out, caches = propagation.forward_pass(network.layers, X, False)
    cost = network.data_cost(out, caches, y, None)
    acc = network.loss.accuracy(out, y)
    return np.array([cost * m, m, 0.0 if acc is None else acc * m])
