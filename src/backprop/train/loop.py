"""The training loop: mini-batches, validation, the divergence guard, checkpoints and resume.

One epoch is the note's steps 3-5 repeated over shuffled mini-batches, each followed by an
optimizer step (step 6)::

    for each epoch:
        lr = schedule(epoch)
        for each mini-batch (X_b, y_b):               (train_step)
            J, grads = forward, cost, backward        (Sequential.forward_backward)
            optimizer.step(params, grads)             (in place)
        history <- mean training loss/accuracy, validation loss/accuracy
        callbacks.on_epoch_end(...)                   (any may stop training)
        checkpoint every ``checkpoint_every`` epochs

Every step checks its cost and gradients after the update (:mod:`backprop.train.divergence`); a
checkpoint (:mod:`backprop.train.checkpoint`) records the exact position of the run, so that
``fit(..., resume_from=path)`` continues it to bit-identical weights.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

from backprop._utils import as_rng
from backprop.data.split import stratify_labels, train_validation_split
from backprop.nn.checks import check_feature_names, is_sparse
from backprop.nn.losses import check_sample_weight
from backprop.nn.workspace import Workspace
from backprop.optim import Adam, LRSchedule, Optimizer, get_optimizer
from backprop.train.callbacks import Callback, History
from backprop.train.class_weight import (
    ClassWeight,
    class_weight_setting,
    class_weights,
    row_class_weights,
)
from backprop.train.distributed import fit_on_processes
from backprop.train.epochs import EpochPlan, check_callbacks, check_fit_arguments, run_epochs
from backprop.train.resume import checked_checkpoint, run_settings
from backprop.train.run import Run

if TYPE_CHECKING:
    from backprop.nn.sequential import Sequential

__all__ = ["fit"]

Array = np.ndarray


def _validation_arrays(network: Sequential, validation_data: Any) -> tuple[Array, Array]:
    if len(validation_data) != 2:
        raise ValueError("validation_data must be a pair (X_val, y_val)")
    X_val = network.check_inputs(validation_data[0], name="X_val")
    y_val = network.check_targets(validation_data[1], X_val.shape[0], "y_val", "X_val")
    return X_val, y_val


def fit(
    network: Sequential,
    X: Array,
    y: Array,
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
    comm: Any = None,
) -> History:
    """Train ``network`` in place and return its :class:`History`.

    Parameters
    ----------
    X : ndarray of shape (m, *network.input_shape) ((m, n_in) for a table)
    y : targets as the loss expects (labels (m,) or (m, k))
    epochs : int
        Passes over the training data (in total: a resumed run continues up to ``epochs``).
    batch_size : int or None
        Mini-batch size; ``None`` uses the whole training set each step (the note's gradient
        descent).
    optimizer : Optimizer or name, default ``Adam(lr=1e-3)``
    validation_data : (X_val, y_val), optional
    validation_split : float in [0, 1)
        Fraction of ``X`` held out for validation when ``validation_data`` is not given
        (stratified by class for classifiers).
    shuffle : bool
        Reshuffle the training rows every epoch.
    seed : int or Generator, optional
        Fixes the validation split and the shuffling (initialisation and dropout masks are
        fixed by the layers' seeds; ``bp.mlp(..., seed=)`` sets them all).
    verbose : int
        1: a tqdm progress bar with the running loss; 0: silent.
    callbacks : list of Callback
        E.g. :class:`EarlyStopping`.  ``on_epoch_end`` returning True stops training;
        ``on_batch_end`` returning True interrupts it after that step.
    lr_schedule : LRSchedule, optional
        Sets ``optimizer.lr`` at the start of each epoch from the optimizer's initial rate.
    sample_weight : ndarray of shape (m,), optional
        Per-sample weights: each batch's cost is the weighted mean.
    class_weight : "balanced" or dict, optional
        A weight per class, multiplied into each row's sample weight (Keras's and
        scikit-learn's semantics, :mod:`backprop.train.class_weight`): ``"balanced"`` is
        ``n / (k * n_c)`` over the training rows (the validation rows are not counted and not
        weighted); a dict maps every class to a positive weight, keyed by the network's
        :attr:`~backprop.nn.Sequential.classes` when it has them, else by class index.
        Classifiers with one class per row only.
    checkpoint : path, optional
        Write a checkpoint (:mod:`backprop.train.checkpoint`, atomically) every ``checkpoint_every``
        epochs, after the last epoch, and when a callback interrupts the run.
    checkpoint_every : int
        Epochs between checkpoints.
    resume_from : path, optional
        Continue the run saved in this checkpoint: weights, optimizer state, position, RNG
        states, early-stopping state and history are restored, and the result is bit-identical
        to an uninterrupted run (same machine, NumPy build and thread count).  The call's
        settings (architecture, data, batch size, optimizer, schedule, seed, callbacks and their
        configuration) must match the checkpoint's; a ``ValueError`` lists every difference
        otherwise.

    comm : mpi4py communicator, optional
        Train on the processes of ``comm`` (``MPI.COMM_WORLD`` under ``mpiexec -n N``), data
        parallel: ``X``, ``y``, ``sample_weight`` and ``validation_data`` are then this
        process's share of the rows (the data set is the shares in rank order), every process
        makes the same call, and the result is the model one process trains on all the rows,
        to float rounding; see :mod:`backprop.train.distributed`.

    Raises
    ------
    TrainingDiverged
        A NaN or inf cost, gradient or parameter; the network first gets back the weights of
        the last good step (or the best validation weights when early stopping is on).
    """
    if comm is not None:
        return fit_on_processes(
            network, X, y, comm, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
            validation_data=validation_data, validation_split=validation_split,
            shuffle=shuffle, seed=seed, verbose=verbose, callbacks=callbacks,
            lr_schedule=lr_schedule, sample_weight=sample_weight, class_weight=class_weight,
            checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume_from=resume_from)
    check_fit_arguments(epochs, batch_size, validation_split, verbose, checkpoint_every)
    columns = getattr(X, "columns", None)
    X = network.check_inputs(X)
    if network.feature_names is None and columns is not None:
        # a table's column names become the network's, so that predict matches them by name
        network.feature_names = check_feature_names([str(c) for c in columns], network.n_in)
    y = network.check_targets(y, X.shape[0])
    w = check_sample_weight(sample_weight, X.shape[0])
    cw_setting = class_weight_setting(network, class_weight)
    optimizer = Adam() if optimizer is None else get_optimizer(optimizer)
    callbacks = check_callbacks(callbacks)
    X_val = y_val = None
    if validation_data is not None:
        X_val, y_val = _validation_arrays(network, validation_data)
    if not is_sparse(X):  # sparse X (CSR) stays sparse: batches are its rows
        X = np.ascontiguousarray(X)

    settings = None
    if checkpoint is not None or resume_from is not None:
        settings = run_settings(network, X, y, w, X_val, y_val, batch_size, shuffle,
                             validation_split, optimizer, lr_schedule, seed, callbacks,
                             cw_setting)
    run = Run(network, optimizer, as_rng(seed), callbacks, settings)
    ckpt = None
    if resume_from is not None:
        ckpt = checked_checkpoint(resume_from, settings, network, optimizer, callbacks,
                                  X.shape[0], batch_size)
    elif validation_data is None and validation_split > 0:
        labels = stratify_labels(y) if network.loss.is_classifier else None
        run.train_rows, run.val_rows = train_validation_split(X.shape[0], validation_split,
                                                              run.rng, labels)
    if class_weight is not None:  # counted over the training rows, the restored ones on resume
        weights = class_weights(network, y, class_weight,
                                ckpt.train_rows if ckpt is not None else run.train_rows)
        w = row_class_weights(y, weights) * (1.0 if w is None else w)

    # Arrays reused by every step (see nn.workspace); a network that holds one layer object
    # twice (shared weights) would have its two caches overwrite each other: plain path.
    distinct = len({id(layer) for layer in network.layers}) == len(network.layers)
    ws = Workspace() if distinct else None
    for cb in callbacks:
        cb.on_train_begin(network)
    if ckpt is not None:
        run.restore(ckpt)
    if run.val_rows is not None:
        # X itself is not copied: the batches are gathered from it through train_rows
        X_val, y_val = X[run.val_rows], y[run.val_rows]
    run.set_data(X, y, w, batch_size, ws)
    bar = None
    if verbose:
        total = epochs * run.n_batches
        bar = tqdm(total=total, initial=min(run.global_step, total), unit="batch", leave=True,
                   dynamic_ncols=True)
    plan = EpochPlan(epochs, shuffle, lr_schedule, X_val, y_val, checkpoint, checkpoint_every,
                     bar)
    try:
        # NaN/inf are caught by the divergence guard and reported as TrainingDiverged; NumPy's
        # overflow warnings on the way there would only add noise
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
