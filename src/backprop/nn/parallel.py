"""What a layer sees of the whole mini-batch when one training step runs on several processes.

In data-parallel training (:mod:`backprop.train.distributed`) every process holds some of the
rows of each global mini-batch.  Most layers treat rows independently and never notice.  A
layer whose training-mode forward pass depends on the batch as a whole does:

* :class:`~backprop.nn.layers.Dropout` draws one mask for the whole global batch (from a
  generator every process keeps in the same state) and keeps the rows of its own share, so
  that the masks, and the generator's state saved in checkpoints, are those of one process;
* a batch normalisation layer sums its batch statistics (and, in backward, the sums its input
  gradient needs) over the processes with :attr:`BatchShare.reduce`: synchronised batch norm.

The training step publishes the current :class:`BatchShare` for the duration of the forward
and backward passes (:func:`batch_share_scope`); outside such a scope
:func:`current_batch_share` is None, and layers compute on the rows they are given, which are
then the whole batch.

Rules for a layer that uses :attr:`BatchShare.reduce`: every process calls it the same number
of times, in the same order, with arrays of the same shape and dtype (a collective call),
including a process that holds no row of the batch (its input then has zero rows and its
partial sums are zeros).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

__all__ = ["BatchShare", "current_batch_share", "batch_share_scope"]

Array = np.ndarray


@dataclass(frozen=True)
class BatchShare:
    """This process's part of one global mini-batch.

    Attributes
    ----------
    rows : ndarray of shape (m_local,), int64
        The positions, in the global batch, of the rows this process holds, ascending (its
        ``X_batch`` row ``i`` is global batch row ``rows[i]``).
    size : int
        Rows in the global batch (all processes together).
    reduce : callable
        ``reduce(a)`` returns the elementwise sum of ``a`` over the processes, as a new array
        of ``a``'s shape and dtype (an MPI Allreduce); a collective call (see the module
        docstring).
    """

    rows: Array
    size: int
    reduce: Callable[[Array], Array]


_CURRENT: contextvars.ContextVar[BatchShare | None] = contextvars.ContextVar(
    "backprop_batch_share", default=None)


def current_batch_share() -> BatchShare | None:
    """The share of the training step in progress, or None (one process: the rows a layer
    receives are the whole batch)."""
    return _CURRENT.get()


@contextlib.contextmanager
def batch_share_scope(share: BatchShare) -> Iterator[BatchShare]:
    """Publish ``share`` to the layers for the duration of the ``with`` block."""
    token = _CURRENT.set(share)
    try:
        yield share
    finally:
        _CURRENT.reset(token)
