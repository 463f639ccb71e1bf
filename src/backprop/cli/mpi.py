"""The command line on several processes: whether ``mpiexec`` (or ``srun``) started this one, and
how a command behaves there: the first process alone prints, and an error on any process ends
all of them within seconds.

An MPI launcher sets variables in each process's environment (``PMI_RANK``/``PMI_SIZE`` for
MPICH's hydra and Slurm's PMI-2, ``OMPI_COMM_WORLD_*`` for Open MPI, ``PMIX_RANK`` for PMIx,
``MV2_COMM_WORLD_*`` for MVAPICH).  Without them, or with a world of one process, a command
runs as it always does and mpi4py is not even imported.

Errors.  An error that every process raises together (they come from
:meth:`~backprop.train.processes.Processes.collective` and ``on_root``, as every check of the
data and the settings does) is printed once, by the first process, and every process exits
with code 1.  Any other error on one process would leave the others waiting in their next
collective call forever: that process prints it and aborts the whole job (``MPI_Abort``, as
``python -m mpi4py`` does), which ``mpiexec`` reports with the same exit code.  A process
other than the first waits a moment before printing, so that an error every process meets
at once (the first one aborting the job) is printed once.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator

from backprop._utils import optional_import
from backprop.cli.errors import one_line
from backprop.train.processes import Processes, is_shared_error
from backprop.train.signals import Abort, exit_code

__all__ = ["launched_size", "launched_rank", "refuse_on_processes", "world", "on_processes",
           "RANK_VARIABLES", "SIZE_VARIABLES"]

#: Variables an MPI launcher sets to the number of processes.
SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")
#: Variables an MPI launcher sets to the process's rank.
RANK_VARIABLES = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "MV2_COMM_WORLD_RANK")
#: How long a process other than the first waits before printing its error and aborting.
GRACE_SECONDS = 2.0
#: How long a process waits between printing its error and aborting: the launcher forwards a
#: process's output through a pipe, and an abort that comes first can lose it.
DRAIN_SECONDS = 0.5


def launched_size() -> int | None:
    """The number of processes an MPI launcher started (1 when it says one), or None when no
    launcher started this process; 0 when it started one but did not say how many."""
    for var in SIZE_VARIABLES:
        value = os.environ.get(var, "")
        if value.isdigit():
            return int(value)
    if any(var in os.environ for var in RANK_VARIABLES):
        return 0
    return None


def launched_rank() -> int:
    """This process's rank as the launcher set it (0 without a launcher)."""
    for var in RANK_VARIABLES:
        value = os.environ.get(var, "")
        if value.isdigit():
            return int(value)
    return 0


def refuse_on_processes(command: str) -> int | None:
    """For a command other than ``train`` started on several processes: say once (on the
    first) that it runs on one, and return exit code 2; None when it may run."""
    size = launched_size()
    if command == "train" or size is None or size == 1:
        return None
    if launched_rank() == 0:
        what = f"{size} processes" if size else "several processes"
        print(f"error: backprop {command} runs on one process, not {what}: only 'train' is "
              "data parallel; run it without mpiexec/srun", file=sys.stderr, flush=True)
    return 2


def world() -> Processes | None:
    """The processes of ``MPI.COMM_WORLD`` when a launcher started more than one, else None
    (no launcher, or one process).  Raises ``ModuleNotFoundError`` naming the ``[mpi]`` extra
    when a launcher started several processes and mpi4py is missing."""
    size = launched_size()
    if size is None or size == 1:
        return None
    mpi = optional_import("mpi4py.MPI")
    procs = Processes(mpi.COMM_WORLD)
    return procs if procs.size > 1 else None


@contextlib.contextmanager
def _silent(procs: Processes) -> Iterator[None]:
    """The first process prints; the others' standard output and warnings go nowhere."""
    if procs.is_root:
        yield
        return
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def on_processes(procs: Processes, command: Callable[[], int], debug: bool = False) -> int:
    """Run ``command`` on this process of ``procs`` with the rules of the module docstring;
    its exit code (an error's: 1, or 128 + signal)."""
    try:
        with _silent(procs):
            return command()
    except Abort as exc:  # a second Ctrl-C / SIGTERM: stop everything now
        _fail(procs, f"{exc}; files written so far are complete", exit_code(exc.signum),
              shared=False, debug=False)
    except KeyboardInterrupt:
        _fail(procs, "interrupted", 130, shared=False, debug=False)
    except MemoryError as exc:
        detail = f" ({one_line(exc)})" if str(exc) else ""
        _fail(procs, f"not enough memory{detail}; try more processes or machines with more "
                     "memory", 1, shared=False, debug=debug)
    except Exception as exc:
        code = _fail(procs, one_line(exc), 1, shared=is_shared_error(exc), debug=debug)
        return code
    return 1  # not reached: _fail aborts


def _fail(procs: Processes, message: str, code: int, shared: bool, debug: bool) -> int:
    """Report an error: once (the first process) when every process has it, else by this
    process, which then aborts the job."""
    where = "" if procs.is_root else f" (process {procs.rank} of {procs.size})"
    if shared:
        if procs.is_root:
            if debug:
                traceback.print_exc()
            print(f"error: {message}", file=sys.stderr, flush=True)
        return code
    if not procs.is_root:
        time.sleep(GRACE_SECONDS)  # an error of every process: the first one's abort ends us
    if debug:
        traceback.print_exc()
    print(f"error{where}: {message}; stopping all {procs.size} processes", file=sys.stderr,
          flush=True)
    time.sleep(DRAIN_SECONDS)
    procs.abort(code)
    return code
