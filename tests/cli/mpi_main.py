"""``backprop``'s command line run by tests/cli/test_train_mpi.py under ``mpiexec``.

``mpi_main.py ARGS... [--next ARGS...]...`` runs ``main`` once per argument list on every
process (one job for several commands: a process starts once) and exits with the worst code.
``BACKPROP_TEST_FAIL=RANK:STEP`` makes training raise on process RANK at global step STEP, an
error no other process has (a stand-in for a bug or a failing disk).
"""

import os
import sys

from backprop.cli import main


def inject_failure(spec):
    from mpi4py import MPI

    from backprop.train import parallel_run

    rank, step = map(int, spec.split(":"))
    if MPI.COMM_WORLD.Get_rank() != rank:
        return
    original = parallel_run.DistributedRun.step

    def step_or_fail(self, b):
        if self.global_step == step:
            raise RuntimeError(f"injected failure at step {step}")
        return original(self, b)

    parallel_run.DistributedRun.step = step_or_fail


if __name__ == "__main__":
    if os.environ.get("BACKPROP_TEST_FAIL"):
        inject_failure(os.environ["BACKPROP_TEST_FAIL"])
    commands, current = [], []
    for arg in sys.argv[1:]:
        if arg == "--next":
            commands.append(current)
            current = []
        else:
            current.append(arg)
    commands.append(current)
    sys.exit(max(main(c) for c in commands))
