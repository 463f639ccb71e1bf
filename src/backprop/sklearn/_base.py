"""What the two estimators share: hyperparameters, the network, the optimizer and ``fit``.

A fit checks everything first (hyperparameters by the table of :mod:`._params`, the data by
scikit-learn's ``validate_data``, the sample weights, the targets) and only then changes the
estimator: a failed fit leaves it as it was.  Training itself is :meth:`backprop.Network.fit`
with one callback, the epoch monitor of :mod:`._monitor`.
"""

from __future__ import annotations

import copy
import functools
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted, validate_data

from backprop._utils import as_rng
from backprop.model import Network, mlp
from backprop.nn.losses import check_sample_weight, loss_for_output
from backprop.optim import Optimizer, get_optimizer
from backprop.sklearn._files import ModelFileMixin
from backprop.sklearn._monitor import _EpochMonitor
from backprop.sklearn._params import ARCHITECTURE, check_params

__all__ = ["_BackpropEstimator"]

Array = np.ndarray


def sample_weights(sample_weight: Any, n: int) -> Array | None:
    """``sample_weight`` as a fresh float64 array of shape (n,), or None.

    The estimators' front to :func:`backprop.nn.losses.check_sample_weight` (shape, finite,
    non-negative): numbers only, a scalar broadcasts, and weights that are all zero are named
    as such (scikit-learn's checks expect "zero" in that message).  The caller's array is never
    modified.
    """
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight)
    if w.dtype.kind not in "biuf":
        raise ValueError(f"sample_weight must be numeric, got dtype {w.dtype}")
    w = np.full(n, w, dtype=np.float64) if w.ndim == 0 else w.astype(np.float64)
    if w.shape == (n,) and not w.any():
        raise ValueError("sample_weight must contain at least one non-zero weight; all are zero")
    return check_sample_weight(w, n)


def make_rng(random_state: Any) -> np.random.Generator:
    """A Generator from a checked ``random_state`` (int, Generator, RandomState or None); a
    RandomState is drawn from once, as scikit-learn does."""
    if isinstance(random_state, np.random.RandomState):
        random_state = int(random_state.randint(np.iinfo(np.int32).max))
    return as_rng(random_state)


class _BackpropEstimator(ModelFileMixin, BaseEstimator):
    """Shared fitting logic; subclasses encode the targets and choose the output layer.

    Subclass hooks: ``_prepare_targets`` (checked, encoded targets; sets the target
    attributes on the first fit), ``_output_activation``, ``_score_arrays`` (the score of
    checked arrays), and the model-file hooks of :class:`~._files.ModelFileMixin`.
    """

    _is_classifier = False

    def __init__(
        self,
        hidden_layer_sizes: int | tuple[int, ...] = (100,),
        activation: str = "relu",
        init: str | None = "glorot_uniform",
        optimizer: str | Optimizer = "adam",
        learning_rate: float = 1e-3,
        batch_size: int | str | None = "auto",
        epochs: int = 200,
        alpha: float = 1e-4,
        dropout: float = 0.0,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        random_state: Any = None,
        verbose: int = 0,
        warm_start: bool = False,
        dtype: Any = "auto",
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.init = init
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.alpha = alpha
        self.dropout = dropout
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.dtype = dtype

    # ------------------------------------------------------------------ hyperparameters
    def _architecture(self) -> dict[str, Any]:
        """The checked hyperparameters that shape the network (normalised, so that equal
        architectures compare equal)."""
        return check_params(self.get_params(deep=False), ARCHITECTURE)

    def _build_network(self, arch: dict[str, Any], n_in: int, dtype: Any,
                       seed: Any) -> Network:
        """A freshly initialised network for ``arch``: ``n_in`` inputs, ``n_outputs_`` outputs
        with the output activation of the target and the loss that goes with it."""
        output = self._output_activation()
        return mlp([n_in, *arch["hidden_layer_sizes"], self.n_outputs_],
                   activation=arch["activation"], output=output, loss=loss_for_output(output),
                   init=arch["init"], dropout=arch["dropout"], l2=float(self.alpha),
                   dtype=dtype, seed=seed)

    def _new_optimizer(self) -> Optimizer:
        """A fresh optimizer (no state) from ``optimizer`` and ``learning_rate``."""
        if isinstance(self.optimizer, Optimizer):
            opt = copy.deepcopy(self.optimizer)
            opt.reset()
            opt.lr = float(self.learning_rate)
            return opt
        return get_optimizer(self.optimizer.lower(), lr=float(self.learning_rate))

    def _optimizer_key(self) -> str:
        return f"{self.optimizer!r}|{float(self.learning_rate)!r}"

    # ------------------------------------------------------------------ fitting
    def _prepare(self, X: Any, y: Any, sample_weight: Any, partial: bool, classes: Any):
        """Check the data and hyperparameters; set up the network (first call), the
        optimizer and the random generator; hold out the validation rows.  Returns
        ``(X, targets, sample_weight, validation)`` for training."""
        params = check_params(self.get_params(deep=False))
        arch = {k: params[k] for k in ARCHITECTURE}
        fitted = hasattr(self, "network_")
        first = not fitted or not (partial or self.warm_start)
        X, y = validate_data(
            self, X, y, reset=first, accept_sparse=False, dtype=(np.float64, np.float32),
            multi_output=True, y_numeric=not self._is_classifier,
        )
        w = sample_weights(sample_weight, X.shape[0])
        if not first and arch != self._arch:
            changed = {k: (self._arch[k], v) for k, v in arch.items() if self._arch[k] != v}
            raise ValueError(
                "cannot continue training (warm_start or partial_fit): "
                + ", ".join(f"{k} changed from {a!r} to {b!r}" for k, (a, b) in changed.items())
                + "; refit with warm_start=False"
            )
        targets = self._prepare_targets(y, w, first, partial, classes)
        if first or not partial:
            self._rng = make_rng(self.random_state)
        if first:
            # "auto" follows the data, as scikit-learn's MLP does: float32 stays float32
            dtype = np.float32 if X.dtype == np.float32 else np.float64
            self.network_ = self._build_network(
                arch, X.shape[1], dtype if arch["dtype"] == "auto" else arch["dtype"], self._rng)
            self.out_activation_ = self._output_activation()
            self._arch = arch
            self.loss_curve_: list[float] = []
            self.validation_scores_ = [] if self.early_stopping and not partial else None
            self.n_iter_ = 0
        if first or self._optimizer_key() != self._opt_key:
            self._optimizer = self._new_optimizer()
            self._opt_key = self._optimizer_key()
        validation = None
        if self.early_stopping and not partial:
            X, targets, w, validation = self._split_validation(X, y, targets, w)
            if self.validation_scores_ is None:
                self.validation_scores_ = []
        return X, targets, w, validation

    def _fit(self, X: Any, y: Any, sample_weight: Any, partial: bool, classes: Any = None):
        saved = dict(vars(self))
        try:  # every check runs before training; a failed one leaves the estimator unchanged
            X, targets, w, validation = self._prepare(X, y, sample_weight, partial, classes)
        except BaseException:
            vars(self).clear()
            vars(self).update(saved)
            raise
        self.network_.l2 = float(self.alpha)
        score = None if validation is None else functools.partial(self._score_arrays, *validation)
        monitor = _EpochMonitor(self, score, stop=not partial)
        batch = 200 if self.batch_size == "auto" else self.batch_size
        self.network_.fit(
            X, targets, epochs=1 if partial else int(self.epochs),
            batch_size=None if batch is None else min(int(batch), X.shape[0]),
            optimizer=self._optimizer, shuffle=True, seed=self._rng,
            verbose=1 if self.verbose >= 2 else 0, callbacks=[monitor], sample_weight=w,
        )
        if self.validation_scores_:
            self.best_validation_score_ = float(max(self.validation_scores_))
            self.best_loss_ = None
        else:
            self.best_validation_score_ = None
            self.best_loss_ = float(min(self.loss_curve_))
        if not partial and not monitor.stopped:
            warnings.warn(
                f"{type(self).__name__}: epochs={self.epochs} reached and the optimization "
                "hasn't converged yet (the monitored quantity still improves by more than "
                f"tol={self.tol}); raise epochs or tol.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    def _split_validation(self, X: Array, y: Array, targets: Array, w: Array | None):
        """Hold out ``validation_fraction`` of the rows; returns the training part and
        ``(X_val, y_val, w_val)`` in the original label space."""
        stratify = None
        if self._is_classifier and not self._multilabel:
            stratify = targets
        idx_train, idx_val = train_test_split(
            np.arange(X.shape[0]), test_size=self.validation_fraction,
            random_state=int(self._rng.integers(np.iinfo(np.int32).max)), stratify=stratify,
        )
        w_train = None if w is None else w[idx_train]
        w_val = None if w is None else w[idx_val]
        if (w_train is not None and not w_train.any()) or (w_val is not None and not w_val.any()):
            raise ValueError(
                f"with validation_fraction={self.validation_fraction} the training or validation "
                "part has only zero sample weights; change random_state or validation_fraction"
            )
        return X[idx_train], targets[idx_train], w_train, (X[idx_val], y[idx_val], w_val)

    def _reset_training_state(self) -> None:
        """A fresh optimizer and random generator (for an estimator read from a file)."""
        self._optimizer = self._new_optimizer()
        self._opt_key = self._optimizer_key()
        self._rng = make_rng(self.random_state)

    def _validate_X(self, X: Any) -> Array:
        check_is_fitted(self)
        return validate_data(self, X, reset=False, accept_sparse=False,
                             dtype=(np.float64, np.float32))

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags
