"""Fashion-MNIST through the command line, as a user runs it:

    backprop train --data fashion-mnist --hidden 256,128 --epochs 10 --out MODEL
    backprop evaluate MODEL --data fashion-mnist

The target is a test accuracy of at least 0.88 on the official 10 000-image test split.  The
script prints both commands' output, the wall times and a verdict, and exits 1 when the accuracy
is below the target (or a command fails).  Without the data it says how to get it and exits 0
("skipped").

Usage: python benchmarks/bench_fashion_mnist_cli.py [--data-dir FOLDER] [--epochs N]
       [--target 0.88] [--keep MODEL]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

from backprop.data import IDX_DATASETS, DataError, load_dataset


def run(args: list[str]) -> tuple[int, str, float]:
    """Run ``python -m backprop ARGS``, echoing its output as it comes; (code, stdout, seconds)."""
    print("$ backprop " + " ".join(args), flush=True)
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "backprop", *args], stdout=subprocess.PIPE,
                            text=True)
    lines = []
    for line in proc.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    code = proc.wait()
    return code, "".join(lines), time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="folder with the four IDX .gz files")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--target", type=float, default=0.88, help="required test accuracy")
    parser.add_argument("--keep", default=None, help="keep the trained model at this path")
    args = parser.parse_args()

    folder = args.data_dir or IDX_DATASETS["fashion-mnist"].folder
    try:  # the same check (and message) the CLI uses
        load_dataset("fashion-mnist", data_dir=folder, features=["pixel_0_0"])
    except DataError as exc:
        print(f"skipped: {exc}")
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        model = args.keep or os.path.join(tmp, "fashion.safetensors")
        data = ["--data", "fashion-mnist"] + (["--data-dir", folder] if args.data_dir else [])
        code, out, train_s = run(["train", *data, "--hidden", "256,128", "--epochs",
                                  str(args.epochs), "--out", model])
        if code != 0:
            print(f"FAILED: backprop train exited {code}")
            return 1
        test_acc = float(re.search(r"^test accuracy: ([0-9.]+)$", out, re.M).group(1))
        print()
        code, out, eval_s = run(["evaluate", model, *data])
        if code != 0:
            print(f"FAILED: backprop evaluate exited {code}")
            return 1
        eval_acc = float(re.search(r"^accuracy: ([0-9.]+)$", out, re.M).group(1))

    print("\nresult:")
    print(f"  train + save : {train_s:.1f} s wall ({args.epochs} epochs, 60000 training images)")
    print(f"  evaluate     : {eval_s:.1f} s wall (10000 test images)")
    print(f"  test accuracy: {test_acc:.4f} (train's summary), {eval_acc:.4f} (evaluate on the "
          f"saved model)")
    ok = test_acc >= args.target and abs(test_acc - eval_acc) < 1e-4
    print(f"  target       : >= {args.target}: {'PASSED' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
