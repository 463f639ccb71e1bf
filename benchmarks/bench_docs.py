"""How long the documentation takes: each page's code blocks (what tests/docs/test_code_blocks.py
runs) and the strict site build with its figures (tests/docs/test_site.py), in wall-clock and
CPU seconds (the CPU of the commands a page runs included).

    python benchmarks/bench_docs.py [--no-build]

On a shared machine the wall-clock times swing with the load; the CPU seconds move less.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

import docblocks  # noqa: E402  (scripts/ is not a package)


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-build", action="store_true", help="time the pages only")
    args = parser.parse_args()
    total_wall = total_cpu = 0.0
    print(f"{'page':24} {'blocks':>6} {'wall s':>7} {'cpu s':>6}  mismatches")
    for page in sorted((REPO / "docs").glob("*.md")):
        wall, cpu = time.perf_counter(), cpu_seconds()
        with tempfile.TemporaryDirectory() as tmp:
            result = docblocks.run_page(page, Path(tmp))
        wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
        total_wall += wall
        total_cpu += cpu
        print(f"{page.name:24} {result.blocks_run:6d} {wall:7.1f} {cpu:6.1f}  "
              f"{len(result.mismatches)}")
    print(f"{'all pages':24} {'':6} {total_wall:7.1f} {total_cpu:6.1f}")
    if args.no_build:
        return
    with tempfile.TemporaryDirectory() as tmp:
        wall, cpu = time.perf_counter(), cpu_seconds()
        proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                               "--site-dir", str(Path(tmp) / "site")], cwd=REPO,
                              env=dict(os.environ, NO_MKDOCS_2_WARNING="1"),
                              capture_output=True, text=True)
        wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    drew = [line.split("-  ", 1)[-1] for line in proc.stderr.splitlines() if " drew " in line]
    print(f"{'mkdocs build --strict':24} {'':6} {wall:7.1f} {cpu:6.1f}  "
          f"exit {proc.returncode}")
    for line in drew:
        print(f"  {line}")
    print(f"{'docs tests in all':24} {'':6} {total_wall + wall:7.1f} {total_cpu + cpu:6.1f}")


if __name__ == "__main__":
    main()
