"""Stopping a training run cleanly on Ctrl-C (SIGINT) or SIGTERM.

:class:`SignalStop` is a callback whose :meth:`SignalStop.installed` context replaces the
SIGINT and SIGTERM handlers while ``fit`` runs.  The first signal only sets a flag: the current
optimizer step finishes, ``on_batch_end`` then asks ``fit`` to stop, and ``fit`` writes its
checkpoint (when it has a path) with the exact position, so the run can resume bit-identically.
A second signal raises :class:`Abort` at once; files are written atomically (temp file, fsync,
rename), so whatever was being written is either complete or absent, never half-written.

On several processes (``mpiexec`` forwards Ctrl-C to each) the signal reaches the processes at
slightly different moments, and all must stop after the same step.  There the run sets
:attr:`SignalStop.deferred`: a signal is only recorded as :attr:`SignalStop.pending`, the run
sends it along with the step's gradients, and every process then learns from
:meth:`SignalStop.agree` that some process received one.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType

from backprop.train.callbacks import Callback

__all__ = ["SignalStop", "Abort", "exit_code"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def exit_code(signum: int) -> int:
    """The shell's convention for a process ended by signal ``signum``: 128 + signum
    (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + int(signum)


class Abort(BaseException):
    """A second SIGINT/SIGTERM: stop now (a BaseException, like KeyboardInterrupt, so that no
    ``except Exception`` swallows it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by a second {signal.Signals(signum).name}")
        self.signum = signum


class SignalStop(Callback):
    """Finish the current step on the first SIGINT/SIGTERM, then stop training; abort on the
    second.  ``signum`` is the first signal received (None until then)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        #: the first signal this process received (acted on once agreed, when deferred)
        self.pending: int | None = None
        #: set by a run on several processes: wait for :meth:`agree` before stopping
        self.deferred = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.pending is not None:
            raise Abort(signum)
        self.pending = signum
        if not self.deferred:
            self.signum = signum

    def agree(self, signum: int | None) -> None:
        """Adopt the signal the processes agreed on (None: no process has received one)."""
        if signum is not None and self.signum is None:
            self.signum = signum

    @contextlib.contextmanager
    def installed(self) -> Iterator[SignalStop]:
        """Install the handlers for the duration of the ``with`` block (restored after)."""
        previous = {s: signal.signal(s, self._handle) for s in _SIGNALS}
        try:
            yield self
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    def on_batch_end(self, step: int, logs: dict[str, float]) -> bool:
        """Stop after this step once a signal has arrived."""
        return self.signum is not None

    @property
    def name(self) -> str:
        """The received signal's name (``"SIGINT"``), or ``""``."""
        return "" if self.signum is None else signal.Signals(self.signum).name
