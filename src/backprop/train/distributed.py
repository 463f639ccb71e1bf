"""Data-parallel training on several processes (MPI): each process holds a share of the rows,
computes the gradients of its part of every global mini-batch, and one Allreduce per step sums
them, so that every process takes the same optimizer step (Horovod's scheme, without a server).

``fit(network, X_share, y_share, ..., comm=MPI.COMM_WORLD)`` (or ``net.fit(...)``) runs it.
The global training set is the concatenation of the processes' shares in rank order (process
0's rows first); any process may hold any number of rows (offsets come from an allgather of
the counts).  One step on N processes::

    rows    = order[b B : (b+1) B]            global batch b: the same permutation of the
                                               global rows on every process (the same seed)
    W       = rows in the batch (or the sum of their sample weights, which every process
              holds: gathered once, 8 bytes per row)
    process r:  its rows of the batch (those in its share) and their positions in it
                W_r      = its rows in the batch (or their sample weights' sum)
                J_r, g_r = forward, cost, backward on its rows, the output gradient scaled
                           by W_r / W: its part of the whole batch's mean cost and gradient
                buffer   = [g_r | J_r, correct_r, signals_r]
    Allreduce(buffer, SUM)                     one call on one flat buffer per step
    g = sum_r g_r + l2 W,  J = sum_r J_r + L2  the global batch's; the L2 term added once
    optimizer.step(params, g)                  the same update on every process

Because every process's gradients are already its part of the whole batch's, a layer whose
forward pass depends on the batch as a whole can join its processes' sums in the middle of
the passes (:mod:`backprop.nn.parallel`): batch normalisation reduces its statistics, and in
backward the two sums its input gradient needs, over the processes (synchronised batch norm).
A process without a row of the batch still runs the forward and backward passes on its zero
rows (they give zero gradients), so that such collective calls, and dropout's generator, stay
in step.  Dropout masks are drawn for the whole global batch, so they are one process's masks.

**The same model as one process.**  With the same seed, global batch size and data, the N-process
run computes every quantity one process computes, with the same random draws; only the order
of the additions differs (each process sums its rows, then the Allreduce sums the processes,
where one process sums all rows in its own order), so the weights agree to float rounding (1e-5
relative after a few epochs in float32), not bit for bit.

**Metrics** are reduced the same way (training loss and accuracy in the step's buffer,
validation metrics in one Allreduce per epoch): the history is the same on every process, so
early stopping and every callback decide the same.  A SIGINT/SIGTERM (Ctrl-C on ``mpiexec``)
reaches the processes at slightly different moments: the step's buffer carries it, so all stop
after the same step (see :class:`~backprop.train.signals.SignalStop`).

**Files.**  Process 0 alone writes checkpoints, and alone reads the checkpoint it resumes from
(then broadcast), so only it needs the path.  A checkpoint records the number of processes:
resuming with the same N continues bit-identically; another N is refused (the shares, and so
the data fingerprint and the order of the sums, depend on N).

**Errors.**  Every check that may fail on one process only (its share's rows) fails on all
together (:meth:`~backprop.train.processes.Processes.collective`).  An error that happens anyway
on one process (memory, a bug) leaves the others waiting in their next Allreduce: run scripts
with ``mpiexec -n N python -m mpi4py script.py``, which aborts the job on an uncaught error (the
command line does so itself).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

from backprop._utils import as_rng
from backprop.data.split import stratify_labels, train_validation_split
from backprop.nn.checks import check_feature_names, check_finite, is_sparse
from backprop.nn.workspace import Workspace
from backprop.optim import Adam, LRSchedule, Optimizer, get_optimizer
from backprop.train.callbacks import Callback, History
from backprop.train.checkpoint import Checkpoint, check_restorable, load_checkpoint
from backprop.train.class_weight import (
    ClassWeight,
    balanced_weights,
    check_class_weight,
    class_counts,
    class_weight_setting,
    row_class_weights,
)
from backprop.train.epochs import EpochPlan, check_callbacks, check_fit_arguments, run_epochs
from backprop.train.parallel_run import DistributedRun
from backprop.train.processes import Processes
from backprop.train.resume import (
    callback_differences,
    data_fingerprint,
    run_settings,
    settings_differences,
)

if TYPE_CHECKING:
    from backprop.nn.sequential import Sequential

__all__ = ["fit_on_processes"]

Array = np.ndarray


# --------------------------------------------------------------------------- fit
def fit_on_processes(
    network: Sequential,
    X: Array,
    y: Array,
    comm: Any,
    epochs: int = 10,
    batch_size: int | None = 32,
    optimizer: Optimizer | str | None = None,
    validation_data: tuple[Array, Array] | None = None,
    validation_split: float = 0.0,
    shuffle: bool = True,
    seed: int | np.random.Generator | None = None,
    verbose: int = 1,
    callbacks: Sequence[Callback] | None = None,
    lr_schedule: LRSchedule | None = None,
    sample_weight: Array | None = None,
    class_weight: ClassWeight = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int = 1,
    resume_from: str | os.PathLike[str] | None = None,
) -> History:
    """:func:`backprop.train.fit` on the processes of ``comm``, each passing its share of the
    rows (see the module docstring); every process must make the call, with the same
    arguments but for its own ``X``, ``y``, ``sample_weight`` and ``validation_data``.

    ``X``, ``y`` (and ``sample_weight``) are this process's rows of the training set, which
    is their concatenation in rank order; ``validation_data`` likewise holds this process's
    validation rows (any number, zero included).  ``validation_split`` holds out the same
    global rows one process would (stratified on the gathered labels), ``class_weight``
    counts the classes over all processes, and ``seed`` must be the same everywhere (an int:
    a Generator would be drawn differently on each process).  Process 0 alone shows the
    progress bar (``verbose``) and writes the checkpoints; ``resume_from`` is read by process
    0 and must come from a run on as many processes.  Returns the run's
    :class:`History`, the same on every process, as is the trained network.
    """
    procs = Processes(comm)
    procs.everywhere(lambda: check_fit_arguments(epochs, batch_size, validation_split, verbose,
                                                 checkpoint_every))
    if isinstance(seed, np.random.Generator) and procs.size > 1:
        procs.raise_everywhere(TypeError(
            "on several processes seed must be an int (or None: then process 0's draw is "
            "shared), not a Generator, so that every process shuffles alike"))
    # no seed: process 0's fresh entropy, shared (the settings keep None, as one process's)
    rng_seed = seed if seed is not None else procs.on_root(
        lambda: int(np.random.SeedSequence().generate_state(1)[0]))
    counts = procs.allgather(procs.collective(lambda: _row_count(X, "X")))
    first_row, m_total = sum(counts[:procs.rank]), sum(counts)
    if m_total == 0:
        procs.raise_everywhere(ValueError(f"X has no rows on any of the {procs.size} "
                                          "processes"))
    where = _ShareWhere(procs, first_row, counts[procs.rank])
    columns = getattr(X, "columns", None)
    X, y, w = procs.collective(lambda: _checked_share(network, X, y, sample_weight, where))
    if network.feature_names is None and columns is not None:
        network.feature_names = check_feature_names([str(c) for c in columns], network.n_in)
    if w is not None and procs.sum(w.sum())[()] <= 0:
        procs.raise_everywhere(ValueError("sample_weight must have a positive sum (over all "
                                          "processes)"))
    cw_setting = procs.everywhere(lambda: class_weight_setting(network, class_weight))
    optimizer = procs.everywhere(lambda: Adam() if optimizer is None
                                 else get_optimizer(optimizer))
    callbacks = procs.everywhere(lambda: check_callbacks(callbacks))
    X_val = y_val = None
    if validation_data is not None:
        X_val, y_val = procs.collective(lambda: _validation_share(network, validation_data,
                                                                  procs))
        if procs.sum(X_val.shape[0])[()] == 0:
            procs.raise_everywhere(ValueError("validation_data has no rows on any process"))

    settings = None
    if checkpoint is not None or resume_from is not None:
        settings = _settings(procs, network, X, y, w, X_val, y_val, m_total, batch_size,
                             shuffle, validation_split, optimizer, lr_schedule, seed, callbacks,
                             cw_setting)
    run = DistributedRun(network, optimizer, as_rng(rng_seed), callbacks, settings, procs,
                         first_row, m_total)
    ckpt = None
    if resume_from is not None:
        ckpt = _checked_checkpoint(procs, resume_from, settings, network, optimizer, callbacks,
                                   m_total, batch_size)
    elif validation_data is None and validation_split > 0:
        labels = stratify_labels(y) if network.loss.is_classifier else None
        if labels is not None:
            labels = procs.concatenate(labels)
        run.train_rows, run.val_rows = procs.everywhere(
            lambda: train_validation_split(m_total, validation_split, run.rng, labels))
    train_rows = ckpt.train_rows if ckpt is not None else run.train_rows
    if class_weight is not None:
        weights = check_class_weight(network, class_weight)
        if isinstance(weights, str):  # "balanced": counted over every process's rows
            mine = y if train_rows is None else y[_local(train_rows, first_row, X.shape[0])]
            counts = procs.sum(class_counts(network, mine))
            weights = procs.everywhere(lambda: balanced_weights(network, counts))
        w = row_class_weights(y, weights) * (1.0 if w is None else w)

    distinct = len({id(layer) for layer in network.layers}) == len(network.layers)
    ws = Workspace() if distinct else None
    for cb in callbacks:
        cb.on_train_begin(network)
    if ckpt is not None:
        run.restore(ckpt)
    if run.val_rows is not None:
        mine = _local(run.val_rows, first_row, X.shape[0])
        X_val, y_val = X[mine], y[mine]
    run.set_data(X, y, w, batch_size, ws)
    bar = None
    if verbose and procs.is_root:
        total = epochs * run.n_batches
        bar = tqdm(total=total, initial=min(run.global_step, total), unit="batch", leave=True,
                   dynamic_ncols=True)
    plan = EpochPlan(epochs, shuffle, lr_schedule, X_val, y_val, checkpoint, checkpoint_every,
                     bar)
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            run_epochs(run, plan)
    finally:
        if bar is not None:
            bar.close()
        if lr_schedule is not None:
            optimizer.lr = run.base_lr
        optimizer.release()
    for cb in callbacks:
        cb.on_train_end(network, run.history)
    return run.history


class _ShareWhere:
    """Where a process's share sits, for error messages."""

    def __init__(self, procs: Processes, first_row: int, rows: int) -> None:
        self.rank, self.size = procs.rank, procs.size
        self.first_row, self.rows = first_row, rows

    def __str__(self) -> str:
        last = self.first_row + self.rows - 1
        return (f"in the share of process {self.rank} of {self.size} (global rows "
                f"{self.first_row} to {last})")


def _row_count(a: Any, name: str) -> int:
    shape = np.shape(a)
    if not shape:
        raise ValueError(f"{name} must be an array of rows, got {type(a).__name__}")
    return int(shape[0])


def _checked_share(network: Sequential, X: Any, y: Any, sample_weight: Any,
                   where: _ShareWhere) -> tuple[Array, Array, Array | None]:
    """This process's ``X`` (rows counted globally in messages), ``y`` and weights, checked
    as ``fit`` checks them; a share may be empty."""
    if is_sparse(X):
        raise TypeError("sparse X is not trained on several processes yet; pass dense rows "
                        "(X.toarray() of each share)")
    X = _checked_inputs(network, X, "X", where.first_row)
    m = X.shape[0]
    try:
        y = _checked_targets(network, y, m, "y", "X")
        w = None
        if sample_weight is not None:
            w = np.asarray(sample_weight, dtype=np.float64)
            if w.shape != (m,):
                raise ValueError(f"sample_weight must have shape ({m},), got {w.shape}")
            check_finite(w, "sample_weight", where.first_row)
            if np.any(w < 0):
                i = int(np.argmax(w < 0))
                raise ValueError(f"sample_weight must be non-negative; row "
                                 f"{where.first_row + i} is {w[i].item()}")
    except ValueError as exc:
        raise type(exc)(f"{exc} ({where})") from None
    return np.ascontiguousarray(X), y, w


def _checked_inputs(network: Sequential, X: Any, name: str, first_row: int) -> Array:
    """``X`` checked and cast as ``network.check_inputs`` does, NaN/inf named by their global
    row; zero rows allowed."""
    if _row_count(X, name) == 0:
        return np.zeros((0, *network.input_shape), dtype=network.dtype)
    arr = network.check_inputs(X, name=name, finite=False)
    check_finite(arr, name, first_row)
    return arr


def _checked_targets(network: Sequential, y: Any, m: int, name: str, x_name: str) -> Array:
    """``y`` checked as ``network.check_targets`` does; zero rows allowed."""
    if m == 0 and _row_count(y, name) == 0:
        probe = network.check_targets(np.zeros(1) if network.n_out == 1 else
                                      np.eye(1, network.n_out), 1, name, x_name)
        return probe[:0]
    return network.check_targets(y, m, name, x_name)


def _validation_share(network: Sequential, validation_data: Any, procs: Processes
                      ) -> tuple[Array, Array]:
    if len(validation_data) != 2:
        raise ValueError("validation_data must be a pair (X_val, y_val)")
    X_val = _checked_inputs(network, validation_data[0], "X_val", 0)
    try:
        y_val = _checked_targets(network, validation_data[1], X_val.shape[0], "y_val", "X_val")
    except ValueError as exc:
        raise ValueError(f"{exc} (in the validation share of process {procs.rank})") from None
    return X_val, y_val


def _local(rows: Array, first_row: int, m: int) -> Array:
    """The entries of global ``rows`` that fall in this process's share, as local indices
    (in their order in ``rows``)."""
    mine = rows[(rows >= first_row) & (rows < first_row + m)]
    return mine - first_row


def _settings(procs: Processes, network: Sequential, X: Array, y: Array, w: Array | None,
              X_val: Array | None, y_val: Array | None, m_total: int, batch_size: int | None,
              shuffle: bool, validation_split: float, optimizer: Optimizer,
              lr_schedule: LRSchedule | None, seed: Any, callbacks: list[Callback],
              class_weight: Any) -> dict[str, Any]:
    """:func:`~backprop.train.resume.run_settings` for the whole run: the data's shapes are
    global, its hash covers every share, and the number of processes is recorded."""
    settings = run_settings(network, X, y, w, X_val, y_val, batch_size, shuffle,
                            validation_split, optimizer, lr_schedule, seed, callbacks,
                            class_weight)
    shares = procs.allgather(data_fingerprint(X, y, w, X_val, y_val))
    settings["data"] = {"X": [m_total, *X.shape[1:]], "y": [m_total, *y.shape[1:]],
                        "sha256": hashlib.sha256("|".join(shares).encode()).hexdigest()}
    settings["processes"] = procs.size
    return settings


def _checked_checkpoint(procs: Processes, path: str | os.PathLike[str],
                        settings: dict[str, Any], network: Sequential, optimizer: Optimizer,
                        callbacks: list[Callback], m: int, batch_size: int | None
                        ) -> Checkpoint:
    """The checkpoint at ``path``, read by process 0 and broadcast, then compared with this
    run on every process alike (so that every process refuses, or none)."""
    ckpt = procs.on_root(lambda: load_checkpoint(path))
    # compared on every process, each with its own settings and callbacks (which should be
    # the same everywhere): one that refuses makes every one refuse
    return procs.collective(lambda: _compared_checkpoint(procs, ckpt, path, settings, network,
                                                         optimizer, callbacks, m, batch_size))


def _compared_checkpoint(procs: Processes, ckpt: Checkpoint, path: str | os.PathLike[str],
                         settings: dict[str, Any], network: Sequential, optimizer: Optimizer,
                         callbacks: list[Callback], m: int, batch_size: int | None
                         ) -> Checkpoint:
    name = os.fspath(path)
    saved = ckpt.settings.get("processes", 1) if isinstance(ckpt.settings, dict) else None
    if saved != procs.size:
        was = f"{saved} process" + ("es" if saved != 1 else "")
        raise ValueError(
            f"cannot resume from {name}: it was written by a run on {was}, this run has "
            f"{procs.size}; resume it on {saved} (mpiexec -n {saved} ...): each process's "
            f"share of the rows, and the order in which their gradients are summed, depend on "
            f"the number of processes")
    diffs = settings_differences(ckpt.settings, settings) + \
        callback_differences(ckpt.callbacks, list(callbacks))
    if diffs:
        raise ValueError(f"cannot resume from {name}: the run's settings differ from the "
                         "checkpoint's:\n  " + "\n  ".join(diffs))
    check_restorable(ckpt, network, optimizer, m, batch_size, path, callbacks)
    return ckpt
