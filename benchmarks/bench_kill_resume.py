"""Kill training with SIGKILL at random moments (some of them in the middle of a checkpoint
write), then resume from whatever checkpoint is on disk.

Every trial: start a training process that checkpoints after every epoch; kill -9 it at a random
moment after its first checkpoint, or the moment a checkpoint's temp file appears (mid-write);
then load the newest checkpoint on disk, resume the run in a fresh process to the end and compare
its final weights with an uninterrupted run.  Prints the number of trials, of corrupted
checkpoints (must be 0), of failed resumes and of resumed runs that are not bit-identical.

    python benchmarks/bench_kill_resume.py [--trials 20] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

import backprop as bp

EPOCHS = 8


def run(checkpoint: str | None, out: str, resume: bool) -> None:
    """The training job (run in a child process)."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X - X.mean(0)) / (X.std(0) + 1e-8)
    net = bp.mlp([64, 512, 512, 10], activation="relu", output="softmax", dropout=0.2, seed=1)
    net.fit(X, y, epochs=EPOCHS, batch_size=32, optimizer=bp.AdamW(lr=1e-3), seed=2,
            validation_split=0.1, callbacks=[bp.EarlyStopping(patience=50)], verbose=0,
            checkpoint=checkpoint, resume_from=checkpoint if resume else None)
    net.save(out)


def child(*args: str) -> list[str]:
    return [sys.executable, os.path.abspath(__file__), "--child", *args]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", nargs=3, metavar=("CKPT", "OUT", "RESUME"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        ckpt, out, resume = args.child
        run(None if ckpt == "-" else ckpt, out, resume == "1")
        return 0

    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        reference = os.path.join(tmp, "straight.st")
        ref_ckpt = os.path.join(tmp, "straight.ckpt")
        proc = subprocess.Popen(child(ref_ckpt, reference, "0"))
        while not os.path.exists(ref_ckpt) and proc.poll() is None:
            time.sleep(0.001)
        t0 = time.perf_counter()
        proc.wait()
        window = time.perf_counter() - t0  # from the first checkpoint to the end of the run
        straight = bp.load(reference)
        print(f"uninterrupted run: {EPOCHS} epochs; {window:.2f} s from its first checkpoint "
              f"to its end (the window for random kills)")
        corrupted = failed = different = mid_write = 0
        for trial in range(args.trials):
            folder = os.path.join(tmp, f"t{trial}")
            os.mkdir(folder)
            ckpt, out = os.path.join(folder, "run.ckpt"), os.path.join(folder, "model.st")
            proc = subprocess.Popen(child(ckpt, out, "0"))
            while not os.path.exists(ckpt) and proc.poll() is None:
                time.sleep(0.001)
            aim_mid_write = trial % 2 == 1
            if aim_mid_write:  # kill the moment the k-th later checkpoint's temp file appears
                k, seen = int(rng.integers(1, EPOCHS - 1)), set()
                while proc.poll() is None and len(seen) < k:
                    seen.update(f for f in os.listdir(folder) if f.endswith(".tmp"))
                was_mid_write = any(f.endswith(".tmp") for f in os.listdir(folder))
            else:  # a random moment within the run
                time.sleep(rng.uniform(0, window))
                was_mid_write = any(f.endswith(".tmp") for f in os.listdir(folder))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            mid_write += was_mid_write
            try:
                state = bp.load_checkpoint(ckpt)
                position = f"epoch {state.progress['epoch']}, step {state.progress['global_step']}"
            except bp.ModelFileError as exc:
                corrupted += 1
                print(f"trial {trial:2d}: CORRUPTED checkpoint: {exc}")
                continue
            resumed = subprocess.run(child(ckpt, out, "1"), capture_output=True, text=True)
            if resumed.returncode != 0:
                failed += 1
                print(f"trial {trial:2d}: resume FAILED: {resumed.stderr.strip()[-300:]}")
                continue
            net = bp.load(out)
            same = all(np.array_equal(a.params[k], b.params[k])
                       for a, b in zip(net.layers, straight.layers) for k in a.params)
            different += not same
            stray = [f for f in os.listdir(folder) if f.endswith(".tmp")]
            print(f"trial {trial:2d}: killed {'mid-write' if was_mid_write else 'mid-training'}"
                  f"; newest checkpoint at {position}; resumed to the end: "
                  f"{'bit-identical' if same else 'DIFFERENT'}"
                  + (f"; stray temp file {stray[0]} (ignored)" if stray else ""))
        print(f"\ntrials: {args.trials}, killed during a checkpoint write: {mid_write}, "
              f"corrupted checkpoints: {corrupted}, failed resumes: {failed}, "
              f"resumed runs not bit-identical: {different}")
    return 0 if corrupted == failed == different == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
