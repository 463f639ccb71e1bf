"""Peak memory of ``backprop train``, ``evaluate`` and ``predict`` on CSV, Parquet and NPZ files,
against the size of the data as a float32 matrix.

The script writes one synthetic binary-classification table (``--rows`` x ``--cols`` float32
features ``x0, x1, ...`` and a 0/1 target ``y``) in the three formats, then runs each command
in a subprocess, as a user runs it, and reads the child's peak resident set size from the
kernel (``VmHWM`` of ``/proc/self/status``, read as the child exits: every page NumPy, pandas
and pyarrow touched).  The same command on a 64-row file of the same format and width is the
"empty run": Python, the imports, thread pools and the network, without the data.  The table shows

    format, command, data (the features as float32), peak RSS above the empty run,
    ratio = (peak - empty) / data  (goal <= 2x), time per epoch (train) or wall time

With ``--compare REV`` the same runs are repeated with the package as it was at git revision
REV (its ``src/`` exported with ``git archive``), the two trees taking turns, and both tables
are printed; ``--repeat N`` runs each training N times per tree (the lowest time per epoch
counts: timings on a shared machine are noisy; ``--cpu-time --threads 1`` counts CPU seconds
instead, steadier still).

    python benchmarks/bench_memory.py                       # 200,000 x 500 (400 MB), ~3 min
    python benchmarks/bench_memory.py --rows 200000 --cols 2000 --formats npz   # the 1.6 GB case
    python benchmarks/bench_memory.py --compare HEAD~3 --dir /tmp/bench_memory  # keep the files
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass

import numpy as np

FORMATS = ("csv", "parquet", "npz")
COMMANDS = ("train", "evaluate", "predict")
EMPTY_ROWS = 64
_EPOCH = re.compile(r"^epoch \d+/\d+: .*\(([0-9.]+) s\)$", re.M)
_ACCURACY = re.compile(r"^(test accuracy|accuracy): ([0-9.]+)$", re.M)


@dataclass
class Result:
    """One command's measurements."""

    peak_mib: float
    wall_s: float
    epoch_s: float | None
    accuracy: float | None


def write_data(folder: str, rows: int, cols: int, seed: int = 0) -> dict[str, str]:
    """The table in the three formats (written once: existing files are reused); returns
    ``{format: path}``."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    stem = os.path.join(folder, f"data_{rows}x{cols}")
    paths = {fmt: f"{stem}.{fmt}" for fmt in FORMATS}
    if all(os.path.exists(p) for p in paths.values()):
        return paths
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, cols), dtype=np.float32)
    # a target the network can learn: the sign of a fixed mix of the first columns, plus noise
    k = min(cols, 10)
    score = X[:, :k] @ rng.standard_normal(k).astype(np.float32)
    y = (score + 0.3 * rng.standard_normal(rows, dtype=np.float32) > 0).astype(np.int64)
    np.savez(paths["npz"], X=X, y=y)
    names = [f"x{j}" for j in range(cols)] + ["y"]
    table = pa.table([pa.array(X[:, j]) for j in range(cols)] + [pa.array(y)], names=names)
    pq.write_table(table, paths["parquet"], row_group_size=65536)
    pacsv.write_csv(table, paths["csv"])
    return paths


def write_empty(folder: str, cols: int) -> dict[str, str]:
    """The same width with :data:`EMPTY_ROWS` rows, for the empty runs."""
    return write_data(folder, EMPTY_ROWS, cols, seed=1)


#: Runs ``python -m backprop`` and, at exit, writes the process's own peak RSS (VmHWM, in kB)
#: to the file named by BENCH_PEAK_FILE.  The kernel's ru_maxrss of a child would not do: it
#: starts from the parent's peak at fork time, and this script holds the data it wrote.
_WRAPPER = """
import atexit, os, runpy
def _peak():
    with open('/proc/self/status') as f:
        kb = next(line.split()[1] for line in f if line.startswith('VmHWM:'))
    with open(os.environ['BENCH_PEAK_FILE'], 'w') as f:
        f.write(kb)
atexit.register(_peak)
if os.environ.get('BENCH_CPU_TIME'):  # the epoch lines' clock counts this process's CPU time
    import time, types, backprop.cli.callbacks as callbacks
    callbacks.time = types.SimpleNamespace(perf_counter=time.process_time)
runpy.run_module('backprop', run_name='__main__', alter_sys=True)
"""


#: Environment of the children (``--cpu-time`` and ``--threads`` add to it).
CHILD_ENV: dict[str, str] = {}


def run(cmd: list[str], src: str, folder: str) -> tuple[int, str, str, float, float]:
    """Run ``python -m backprop CMD`` with ``src`` first on the path; (exit code, stdout,
    stderr, peak RSS in MiB, wall seconds)."""
    peak_file = os.path.join(folder, "peak_kb")
    env = dict(os.environ, **CHILD_ENV, BENCH_PEAK_FILE=peak_file,
               PYTHONPATH=src + os.pathsep + os.environ.get("PYTHONPATH", ""))
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _WRAPPER, *cmd], capture_output=True,
                          text=True, env=env)
    wall = time.perf_counter() - start
    with open(peak_file) as f:
        peak = int(f.read()) / 1024
    return proc.returncode, proc.stdout, proc.stderr, peak, wall


#: ``backprop train``'s network and batch size (``--hidden``, ``--batch-size``).
TRAIN_OPTIONS = ["--hidden", "16", "--batch-size", "64"]


def command(name: str, data: str, model: str, folder: str, epochs: int) -> list[str]:
    """The command line of ``name`` on ``data``."""
    if name == "train":
        return ["train", "--data", data, "--target", "y", *TRAIN_OPTIONS, "--epochs",
                str(epochs), "--out", model]
    if name == "evaluate":
        return ["evaluate", model, "--data", data]
    return ["predict", model, "--data", data, "--output", os.path.join(folder, "pred.csv")]


def measure(trees: list[tuple[str, str]], paths: dict[str, str], empty: dict[str, str],
            folder: str, formats: list[str], commands: list[str], epochs: int, repeat: int
            ) -> dict[str, dict[tuple[str, str], tuple[Result, Result]]]:
    """``{tree: {(format, command): (run on the data, empty run)}}`` for each ``(tree, src)``.

    The trees take turns, ``repeat`` times, on each format and command, so that a machine
    busy with something else slows them alike; a row keeps the highest peak and the lowest
    time per epoch and wall time of its runs.
    """
    results: dict[str, dict[tuple[str, str], tuple[Result, Result]]] = {t: {} for t, _ in trees}
    for fmt in formats:
        for name in ["train"] + [c for c in commands if c != "train"]:
            runs: dict[str, list[Result]] = {tree: [] for tree, _ in trees}
            for _ in range(repeat if name == "train" else 1):
                for tree, src in trees:
                    model = os.path.join(folder, f"model_{tree}_{fmt}.safetensors")
                    runs[tree].append(_one(name, paths[fmt], model, folder, epochs, src))
            for tree, src in trees:
                model = os.path.join(folder, f"model_{tree}_{fmt}.safetensors")
                # the empty run of evaluate/predict uses the model trained on the full data
                small = model if name != "train" else model + ".empty"
                empty_run = _one(name, empty[fmt], small, folder, epochs, src)
                done = runs[tree]
                best = Result(max(r.peak_mib for r in done), min(r.wall_s for r in done),
                              min(r.epoch_s for r in done) if done[0].epoch_s else None,
                              done[0].accuracy)
                if name in commands:
                    results[tree][(fmt, name)] = (best, empty_run)
                print(f"  {tree:12s} {fmt:8s} {name:9s} peak {best.peak_mib:7.0f} MiB (empty "
                      f"run {empty_run.peak_mib:.0f} MiB), {best.wall_s:.1f} s", flush=True)
    return results


def _one(name: str, data: str, model: str, folder: str, epochs: int, src: str) -> Result:
    """One run of command ``name`` on ``data``."""
    code, out, err, peak, wall = run(command(name, data, model, folder, epochs), src, folder)
    if code != 0:
        raise SystemExit(f"backprop {name} on {data} failed ({code}):\n{err}")
    epochs_s = [float(t) for t in _EPOCH.findall(out)]
    acc = _ACCURACY.search(out)
    return Result(peak, wall, float(np.mean(epochs_s)) if epochs_s else None,
                  float(acc.group(2)) if acc else None)


def print_table(title: str, results: dict[tuple[str, str], tuple[Result, Result]],
                data_mib: float) -> None:
    """The table: format, command, data size, peak above empty, ratio, time."""
    print(f"\n{title}")
    print(f"{'format':8s} {'command':9s} {'data MiB':>9s} {'peak MiB':>9s} {'empty MiB':>9s} "
          f"{'above':>9s} {'ratio':>6s} {'s/epoch':>8s} {'wall s':>7s} {'accuracy':>8s}")
    for (fmt, name), (res, empty) in results.items():
        above = res.peak_mib - empty.peak_mib
        epoch = f"{res.epoch_s:.3f}" if res.epoch_s is not None else "-"
        acc = f"{res.accuracy:.4f}" if res.accuracy is not None else "-"
        print(f"{fmt:8s} {name:9s} {data_mib:9.0f} {res.peak_mib:9.0f} {empty.peak_mib:9.0f} "
              f"{above:9.0f} {above / data_mib:5.2f}x {epoch:>8s} {res.wall_s:7.1f} {acc:>8s}")


def export_revision(rev: str, folder: str) -> str:
    """The ``src/`` folder of git revision ``rev``, exported into ``folder``."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    os.makedirs(folder, exist_ok=True)
    archive = os.path.join(folder, "src.tar")
    subprocess.run(["git", "-C", repo, "archive", "--format=tar", "-o", archive, rev, "src"],
                   check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")
    return os.path.join(folder, "src")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--cols", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--hidden", default="16", help="train's --hidden (default 16)")
    parser.add_argument("--batch-size", default="64", help="train's --batch-size (default 64)")
    parser.add_argument("--formats", default=",".join(FORMATS),
                        help="comma-separated, of " + ", ".join(FORMATS))
    parser.add_argument("--commands", default=",".join(COMMANDS),
                        help="comma-separated, of " + ", ".join(COMMANDS))
    parser.add_argument("--compare", metavar="REV",
                        help="also measure the package at this git revision")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each train command (the lowest time per epoch counts)")
    parser.add_argument("--cpu-time", action="store_true",
                        help="s/epoch in CPU seconds of the process, not wall seconds (steadier "
                             "on a machine that other work shares; use with --threads 1)")
    parser.add_argument("--threads", type=int,
                        help="OpenBLAS/OpenMP/numba threads of the children")
    parser.add_argument("--dir", help="keep the data files here (reused when present)")
    args = parser.parse_args()
    TRAIN_OPTIONS[:] = ["--hidden", args.hidden, "--batch-size", args.batch_size]
    if args.cpu_time:
        CHILD_ENV["BENCH_CPU_TIME"] = "1"
    if args.threads:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "NUMBA_NUM_THREADS"):
            CHILD_ENV[name] = str(args.threads)
    formats = args.formats.split(",")
    commands = args.commands.split(",")
    here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.dir or tmp
        os.makedirs(folder, exist_ok=True)
        start = time.perf_counter()
        paths = write_data(folder, args.rows, args.cols)
        empty = write_empty(folder, args.cols)
        data_mib = args.rows * args.cols * 4 / 2**20
        sizes = ", ".join(f"{fmt} {os.path.getsize(paths[fmt]) / 2**20:.0f} MiB"
                          for fmt in formats)
        print(f"data: {args.rows} x {args.cols} float32 = {data_mib:.0f} MiB ({sizes}; "
              f"written in {time.perf_counter() - start:.0f} s)")
        trees = [("this tree", here)]
        if args.compare:
            trees.append((args.compare, export_revision(args.compare, os.path.join(tmp, "rev"))))
        print(f"\nruns ({', '.join(f'{t}: {src}' for t, src in trees)}):")
        results = measure(trees, paths, empty, folder, formats, commands, args.epochs,
                          args.repeat)
        for tree, _ in reversed(trees):
            print_table(tree if tree == "this tree" else f"revision {tree}", results[tree],
                        data_mib)
    clock = "CPU seconds" if args.cpu_time else "wall seconds"
    print(f"\ngoal: ratio <= 2x in every row; s/epoch ({clock}) unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
