"""Jobs that tests/train/test_distributed.py runs under ``mpiexec -n N python -m mpi4py``.

``mpi_job.py MODE OUTDIR``; each process writes ``OUTDIR/<rank>.json`` with what it saw, and
process 0 also the one-process reference where the mode has one.  Modes:

* ``same``: several networks trained on N processes (uneven shares, one of them small) and on
  one; weights, buffers and histories.
* ``resume``: an N-process run interrupted at step 7 with a checkpoint, resumed; and the
  same run uninterrupted.
* ``resume-other OUTDIR/ckpt``: resuming a checkpoint (of another N) must be refused.
* ``nan``: process 1's share holds a NaN.
* ``raise``: process 1 raises in the middle of training (``python -m mpi4py`` aborts the job).
"""

import hashlib
import json
import os
import sys

import numpy as np
from mpi4py import MPI

import backprop as bp
from helpers import SyncedRunningMean

COMM = MPI.COMM_WORLD
RANK, N = COMM.Get_rank(), COMM.Get_size()
#: uneven shares: the last process of three holds a few rows only
FRACTIONS = {1: [1.0], 2: [0.7, 0.3], 3: [0.5, 0.45, 0.05]}[N]


def cuts(m):
    edges = np.round(np.cumsum([0.0] + FRACTIONS) * m).astype(int)
    return slice(edges[RANK], edges[RANK + 1])


def classification(m=150, n=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int) + (X[:, 3] > 0.8)
    return X, y if k == 3 else (y > 0).astype(int)


def weights_of(net):
    return {f"{i}.{k}": v for i, layer in enumerate(net.get_weights()) for k, v in layer.items()}


def digest(net):
    h = hashlib.sha256()
    for v in weights_of(net).values():
        h.update(np.ascontiguousarray(v).tobytes())
    return h.hexdigest()


def case_softmax():
    X, y = classification()
    make = lambda: bp.mlp([6, 16, 8, 3], output="softmax", dropout=0.2, l2=1e-3, seed=1)  # noqa: E731
    kw = dict(epochs=3, batch_size=16, seed=5, validation_split=0.2)
    return make, (X, y), kw, {}


def case_weighted_binary():
    X, y = classification(k=2, seed=1)
    w = np.linspace(0.5, 2.0, len(y))
    make = lambda: bp.mlp([6, 12, 1], output="sigmoid", seed=2)  # noqa: E731
    kw = dict(epochs=3, batch_size=10, seed=7, optimizer=bp.SGD(0.05, momentum=0.9),
              class_weight="balanced")
    return make, (X, y), kw, {"sample_weight": w}


def case_regression():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(120, 4)).astype(np.float32)
    y = X @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.1
    Xv = rng.normal(size=(30, 4)).astype(np.float32)
    yv = Xv @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.1
    make = lambda: bp.mlp([4, 8, 1], output="linear", seed=3)  # noqa: E731
    kw = dict(epochs=3, batch_size=None, shuffle=False, optimizer=bp.RMSprop(0.01),
              lr_schedule=bp.StepDecay(step_size=1, gamma=0.5))
    return make, (X, y), kw, {"validation_data": (Xv, yv)}


def case_synced_layer():
    X, y = classification(seed=3)
    def make():
        return bp.Network([SyncedRunningMean(6, dtype=np.float32), bp.Dense(6, 8, "tanh", seed=4),
                           bp.Dense(8, 3, "softmax", seed=5)], loss="categorical_crossentropy")
    return make, (X, y), dict(epochs=3, batch_size=12, seed=9), {}


def case_per_sample_l2():
    X, y = classification(seed=4)
    w = np.random.default_rng(5).uniform(0.0, 2.0, len(y))
    def make():
        return bp.Network([bp.Dense(6, 10, "relu", seed=6), bp.Dense(10, 3, "softmax", seed=7)],
                          loss="categorical_crossentropy", l2=0.5, l2_per_sample=True)
    kw = dict(epochs=3, batch_size=16, seed=11, validation_split=0.2)
    return make, (X, y), kw, {"sample_weight": w}


def case_batchnorm():
    X, y = classification(seed=6)
    w = np.random.default_rng(8).uniform(0.0, 2.0, len(y))
    w[::7] = 0.0  # rows that weigh nothing still shape the batch statistics
    def make():
        return bp.Network([bp.Dense(6, 12, "linear", seed=12), bp.BatchNorm(12),
                           bp.Activation("relu"), bp.Dropout(0.1, seed=13),
                           bp.Dense(12, 3, "softmax", seed=14)], loss="categorical_crossentropy")
    # SGD, not Adam: the bias of the Dense layer before a batch norm has a gradient of 0 but
    # for rounding, which Adam would scale up to full steps in directions set by the rounding
    kw = dict(epochs=3, batch_size=16, seed=13, validation_split=0.2,
              optimizer=bp.SGD(0.1, momentum=0.9))
    return make, (X, y), kw, {"sample_weight": w}


CASES = {"batchnorm": case_batchnorm, "softmax": case_softmax,
         "weighted_binary": case_weighted_binary, "regression": case_regression,
         "synced_layer": case_synced_layer, "per_sample_l2": case_per_sample_l2}


def share_of(extra, m):
    out = {}
    if "sample_weight" in extra:
        out["sample_weight"] = extra["sample_weight"][cuts(m)]
    if "validation_data" in extra:
        Xv, yv = extra["validation_data"]
        sl = cuts(len(yv))
        out["validation_data"] = (Xv[sl], yv[sl])
    return out


def same(outdir):
    report = {}
    for name, case in CASES.items():
        make, (X, y), kw, extra = case()
        net = make()
        sl = cuts(len(y))
        history = net.fit(X[sl], y[sl], verbose=0, comm=COMM, **kw, **share_of(extra, len(y)))
        entry = {"digest": digest(net), "rows": int(sl.stop - sl.start)}
        if RANK == 0:
            make2, (X2, y2), kw2, extra2 = case()  # fresh optimizer and schedule objects
            ref = make2()
            ref_history = ref.fit(X2, y2, verbose=0, **kw2, **extra2)
            mine, theirs = weights_of(net), weights_of(ref)
            # each array's largest difference and largest entry
            entry["difference"] = {
                k: [float(np.max(np.abs(mine[k] - theirs[k]))), float(np.max(np.abs(theirs[k])))]
                for k in theirs}
            entry["history"] = history.history
            entry["reference_history"] = ref_history.history
        report[name] = entry
    write(outdir, report)


class StopAt(bp.Callback):
    """Interrupt the run after global step ``step`` (the same on every process)."""

    def __init__(self, step):
        self.step = step

    def on_batch_end(self, step, logs):
        return step == self.step


def resume(outdir):
    X, y = classification(m=130)
    sl = cuts(len(y))
    make = lambda: bp.mlp([6, 16, 3], output="softmax", dropout=0.3, seed=1)  # noqa: E731
    kw = dict(epochs=3, batch_size=16, seed=5, validation_split=0.25, verbose=0, comm=COMM)
    whole = make()
    whole.fit(X[sl], y[sl], **kw)
    ckpt = os.path.join(outdir, "ckpt")
    part = make()
    history = part.fit(X[sl], y[sl], checkpoint=ckpt, callbacks=[StopAt(7)], **kw)
    interrupted = history.interrupted
    resumed = make()
    resumed.fit(X[sl], y[sl], checkpoint=ckpt, resume_from=ckpt, callbacks=[StopAt(-1)], **kw)
    write(outdir, {"whole": digest(whole), "resumed": digest(resumed),
                   "interrupted": interrupted, "files": sorted(os.listdir(outdir))})


def resume_other(outdir, ckpt):
    X, y = classification(m=130)
    sl = cuts(len(y))
    net = bp.mlp([6, 16, 3], output="softmax", dropout=0.3, seed=1)
    try:
        net.fit(X[sl], y[sl], epochs=3, batch_size=16, seed=5, validation_split=0.25,
                verbose=0, comm=COMM, checkpoint=ckpt, resume_from=ckpt,
                callbacks=[StopAt(-1)])
    except ValueError as exc:
        write(outdir, {"error": str(exc)})
    else:
        write(outdir, {"error": None})


def nan(outdir):
    X, y = classification()
    X[60, 2] = np.nan  # in process 1's share when there are two
    sl = cuts(len(y))
    try:
        bp.mlp([6, 4, 3], output="softmax", seed=0).fit(X[sl], y[sl], epochs=1, verbose=0,
                                                        comm=COMM)
    except ValueError as exc:
        write(outdir, {"error": str(exc)})


class RaiseOnRank1(bp.Callback):
    def on_batch_end(self, step, logs):
        if RANK == 1 and step == 3:
            raise RuntimeError("boom on process 1")


def raise_(outdir):
    X, y = classification(m=3000)
    sl = cuts(len(y))
    bp.mlp([6, 32, 3], output="softmax", seed=0).fit(
        X[sl], y[sl], epochs=50, batch_size=8, verbose=0, comm=COMM, callbacks=[RaiseOnRank1()])
    write(outdir, {"finished": True})


def write(outdir, data):
    with open(os.path.join(outdir, f"{RANK}.json"), "w") as f:
        json.dump(data, f)


if __name__ == "__main__":
    mode, outdir = sys.argv[1], sys.argv[2]
    if mode == "resume-other":
        resume_other(outdir, sys.argv[3])
    else:
        {"same": same, "resume": resume, "nan": nan, "raise": raise_}[mode](outdir)
