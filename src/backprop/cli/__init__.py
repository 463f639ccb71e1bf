"""Command-line front end: ``backprop train | predict | evaluate | inspect | gradcheck``.

``main(argv)`` parses the arguments, runs the command and returns the exit code: 0 on success, 1
for a data or model error (one line on stderr, a traceback only with ``--debug``), 2 for a usage
error (argparse's message), 130 / 143 when Ctrl-C / SIGTERM stopped a run.

The parser is in :mod:`~backprop.cli.parser` (its value types in :mod:`~backprop.cli.args`),
``train`` in :mod:`~backprop.cli.train`, the commands on saved models in
:mod:`~backprop.cli.model_commands`.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence

from backprop.cli.errors import one_line
from backprop.cli.mpi import refuse_on_processes
from backprop.cli.parser import build_parser
from backprop.data import DataError
from backprop.saving import ModelFileError
from backprop.train.signals import Abort, exit_code

__all__ = ["main"]

#: What a user can cause: a bad file, bad data, a bad value, a missing optional package.  Any
#: other exception is a bug, and keeps its traceback.
_USER_ERRORS = (DataError, ModelFileError, ValueError, TypeError, OSError, ImportError)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 success, 1 data/model error, 2 usage)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else 2
    refused = refuse_on_processes(args.command)  # under mpiexec, only train
    if refused is not None:
        return refused
    try:
        return args.func(args)
    except _USER_ERRORS as exc:
        if isinstance(exc, BrokenPipeError):  # e.g. `backprop predict ... | head`
            try:  # keep the interpreter's final flush of stdout from failing again
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            except (OSError, ValueError):
                pass
            return 1
        if args.debug:
            traceback.print_exc()
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 1
    except MemoryError as exc:
        # one line, as any error a user can cause: the file or data set that did not fit
        source = getattr(args, "data", None) or getattr(args, "model", None) or "backprop"
        detail = f" ({one_line(exc)})" if str(exc) else ""
        print(f"error: {source}: not enough memory{detail}; try a smaller file or a machine "
              "with more memory", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Abort as exc:  # a second Ctrl-C / SIGTERM while training
        print(f"error: {exc}; files written so far are complete", file=sys.stderr)
        return exit_code(exc.signum)
