"""The processes of a data-parallel run, seen through an MPI communicator: sums, gathers, work
done by the first process alone, and errors every process raises together.

A data-parallel run (:mod:`backprop.train.distributed`, ``mpiexec -n N backprop train``) keeps
its processes in lockstep: each collective call (an Allreduce, a gather, a broadcast) waits
until every process has made it.  A process that raised between two of them would leave the
others waiting forever.  So everything that can fail on one process only (its share of the data
holds a NaN, a checkpoint cannot be read on the first process) runs through
:meth:`Processes.collective` or :meth:`Processes.on_root`: the error is shared, and every
process raises it, with the same type and message, at the same point.  Such errors are marked
(:func:`is_shared_error`), so that the command line reports them once and exits cleanly.
Errors that happen anyway (a bug, memory running out) must abort the communicator, as
``python -m mpi4py`` and the command line do.

The communicator is an ``mpi4py.MPI.Comm`` (``MPI.COMM_WORLD``, say); this module imports
mpi4py only for ``MPI.IN_PLACE``, when a reduction is first made.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from backprop._utils import optional_import

__all__ = ["Processes", "is_shared_error"]

Array = np.ndarray
T = TypeVar("T")

_COMM_METHODS = ("Get_rank", "Get_size", "Allreduce", "Allgatherv", "allgather", "bcast",
                 "Abort")


class Processes:
    """The processes of one run: this one's :attr:`rank` among :attr:`size`.

    Parameters
    ----------
    comm : mpi4py communicator
        ``MPI.COMM_WORLD`` or any intra-communicator every process of the run passes.
    """

    def __init__(self, comm: Any) -> None:
        missing = [m for m in _COMM_METHODS if not callable(getattr(comm, m, None))]
        if missing:
            raise TypeError(f"comm must be an mpi4py communicator (MPI.COMM_WORLD), got "
                            f"{type(comm).__name__} without {', '.join(missing)}")
        self.comm = comm
        self.rank = int(comm.Get_rank())
        self.size = int(comm.Get_size())

    def __repr__(self) -> str:
        return f"Processes(rank {self.rank} of {self.size})"

    @property
    def is_root(self) -> bool:
        """True on the first process (rank 0), the one that prints and writes files."""
        return self.rank == 0

    # ----------------------------------------------------------------- reductions
    def allreduce_in_place(self, buffer: Array) -> Array:
        """Replace ``buffer`` (a contiguous array) by its elementwise sum over the processes:
        one MPI Allreduce; returns ``buffer``."""
        mpi = optional_import("mpi4py.MPI")
        self.comm.Allreduce(mpi.IN_PLACE, buffer)
        return buffer

    def sum(self, values: Any) -> Array:
        """The elementwise sum over the processes of ``values`` (any shape), in float64 (a new
        array; the same on every process)."""
        buffer = np.array(values, dtype=np.float64, copy=True, order="C")
        return self.allreduce_in_place(buffer)

    def allgather(self, value: Any) -> list[Any]:
        """Every process's ``value`` (a small picklable object), in rank order."""
        return list(self.comm.allgather(value))

    def concatenate(self, part: Array) -> Array:
        """The processes' 1-D arrays ``part`` joined in rank order (every process gets the
        whole array).  The parts must share a numeric dtype; they travel as raw buffers, so a
        long array (a target column) costs no pickling."""
        part = np.ascontiguousarray(part)
        if part.ndim != 1:
            raise ValueError(f"concatenate takes 1-D parts, got shape {part.shape}")
        dtypes = self.allgather(part.dtype.str)
        if len(set(dtypes)) > 1:
            raise ValueError(f"the processes' parts have different dtypes: {dtypes}")
        counts = [int(n) for n in self.allgather(part.size)]
        out = np.empty(sum(counts), dtype=part.dtype)
        self.comm.Allgatherv(part, [out, counts])
        return out

    # ----------------------------------------------------------------- errors together
    def collective(self, fn: Callable[[], T]) -> T:
        """``fn()`` on every process; when it raises on any, every process raises the first
        failing process's error (same type and message), so none is left waiting."""
        try:
            result, error = fn(), None
        except Exception as exc:  # shared below, then raised everywhere
            result, error = None, exc
        errors = self.allgather(_portable(error))
        failed = next((r for r, e in enumerate(errors) if e is not None), None)
        if failed is not None:
            raise _shared(error if failed == self.rank else errors[failed])
        return result

    def on_root(self, fn: Callable[[], T]) -> T:
        """``fn()`` on the first process only; its result (or its error, which every process
        then raises) is broadcast to all."""
        result = error = None
        if self.is_root:
            try:
                result = fn()
            except Exception as exc:  # broadcast below, then raised everywhere
                error = exc
        result, error = self.comm.bcast((result, _portable(error)), root=0)
        if error is not None:
            raise _shared(error)
        return result

    def raise_everywhere(self, error: BaseException) -> None:
        """Raise ``error``, which every process raises at this point (a decision taken from
        values all of them share), marked as such (:func:`is_shared_error`)."""
        raise _shared(error)

    def everywhere(self, fn: Callable[[], T]) -> T:
        """``fn()``, which every process computes alike (from the same values, without a
        collective call inside): an error it raises is raised by every process together, and
        is marked so (:func:`is_shared_error`), without any communication."""
        try:
            return fn()
        except Exception as exc:
            raise _shared(exc) from None

    def abort(self, code: int = 1) -> None:
        """End every process of the communicator now (MPI_Abort): for an error that only this
        process has, which would otherwise leave the others waiting in their next collective
        call."""
        self.comm.Abort(code)


def is_shared_error(error: BaseException) -> bool:
    """Whether every process of the run raised ``error`` together (through
    :meth:`Processes.collective`, :meth:`Processes.on_root` or :meth:`Processes.everywhere`),
    so that no process waits for another and nothing needs aborting."""
    return bool(getattr(error, "shared_by_processes", False))


def _shared(error: BaseException) -> BaseException:
    try:
        error.shared_by_processes = True  # type: ignore[attr-defined]
    except AttributeError:  # an exception type with __slots__: left unmarked
        pass
    return error


def _portable(error: BaseException | None) -> BaseException | None:
    """``error`` when it pickles (to travel to the other processes), else a RuntimeError with
    its type and message."""
    if error is None:
        return None
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error
