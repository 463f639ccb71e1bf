"""scikit-learn estimators: :class:`BackpropClassifier` and :class:`BackpropRegressor`.

Both wrap a :class:`backprop.Network` built by :func:`backprop.mlp` and trained by
:meth:`backprop.Network.fit`, so they work in pipelines, grid searches and cross-validation::

    from backprop.sklearn import BackpropClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), BackpropClassifier(hidden_layer_sizes=(32,)))
    clf.fit(X, y).score(X_test, y_test)

Output layer and loss follow the target:

=======================================  ================================  ==================
target ``y``                             output layer                      loss
=======================================  ================================  ==================
two classes (any label type)             1 sigmoid unit                    binary CE
``k > 2`` classes                        ``k`` softmax units               categorical CE
``(n, k)`` 0/1 indicator (multi-label)   ``k`` sigmoid units               binary CE
real values ``(n,)`` or ``(n, k)``       ``1`` or ``k`` linear units       MSE
=======================================  ================================  ==================

Training follows scikit-learn's ``MLPClassifier``: at most ``epochs`` passes over the data, stopping
once the training loss (or, with ``early_stopping=True``, the score on a held-out
``validation_fraction``) has not improved by ``tol`` for ``n_iter_no_change`` consecutive epochs.
"""

from __future__ import annotations

import copy
import numbers
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from backprop.data import feature_scale
from backprop.nn.activations import ACTIVATIONS, log_softmax, sigmoid, softplus
from backprop._utils import as_rng
from backprop.nn.layers import INIT_ALIASES, INITIALIZERS, Standardize
from backprop.model import Network, mlp
from backprop.optim import OPTIMIZERS, Optimizer, get_optimizer
from backprop.sklearn._files import ModelFileMixin, label_dtype
from backprop.train.callbacks import Callback, History

__all__ = ["BackpropClassifier", "BackpropRegressor"]

Array = np.ndarray

#: scikit-learn's names for two activations, accepted as aliases.
_ACTIVATION_ALIASES = {"logistic": "sigmoid", "identity": "linear"}
_PREDICT_CHUNK = 8192  # rows per forward pass at prediction time (bounds the caches' memory)

_PARAMS_DOC = """
    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Width of each hidden layer; ``()`` for none (a linear / logistic model).
    activation : str, default="relu"
        Hidden-layer activation, a name in :data:`backprop.ACTIVATIONS` (``"relu"``, ``"tanh"``,
        ``"sigmoid"``, ...); scikit-learn's ``"logistic"`` and ``"identity"`` are accepted.
    init : str or None, default="glorot_uniform"
        Weight initialiser, a name in :data:`backprop.INITIALIZERS` (or an alias such as
        ``"he"``); the default is ``MLPClassifier``'s.  ``None`` picks per activation (He for the
        ReLU family, Glorot otherwise).  Biases start at zero.
    optimizer : str or backprop.Optimizer, default="adam"
        A name in :data:`backprop.OPTIMIZERS` (``"adam"``, ``"sgd"``, ``"adamw"``, ``"rmsprop"``,
        ``"gd"``), built with its defaults, or an optimizer instance used as a template (it is
        copied, never modified; e.g. ``bp.SGD(momentum=0.9, nesterov=True)``).  Its learning
        rate is always ``learning_rate``.
    learning_rate : float, default=1e-3
        Step size of the optimizer.
    batch_size : int, "auto" or None, default="auto"
        Mini-batch size; ``"auto"`` is ``min(200, n_samples)``, ``None`` the whole training set
        (full-batch gradient descent).  Larger values are clipped to the number of samples.
    epochs : int, default=200
        Maximum number of passes over the training data in :meth:`fit`.
    alpha : float, default=1e-4
        L2 penalty: the cost is the mean loss plus ``(alpha / 2) * sum ||W||^2`` over weight
        matrices (biases excluded), i.e. :class:`backprop.Network`'s ``l2``.  Unlike
        ``MLPClassifier`` the penalty is not divided by the batch size.
    dropout : float in [0, 1), default=0.0
        Dropout rate after each hidden layer during training (inverted dropout).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified for single-label
        classification), stop when its score (accuracy, or R^2 for regression) has not improved
        by ``tol`` for ``n_iter_no_change`` epochs, and keep the weights of the best epoch.
    validation_fraction : float in (0, 1), default=0.1
        Share of the data held out when ``early_stopping=True``.
    n_iter_no_change : int, default=10
        Epochs without improvement (of the training loss, or of the validation score with
        ``early_stopping``) by more than ``tol`` before training stops.
    tol : float, default=1e-4
        Minimum improvement that resets the ``n_iter_no_change`` count.
    random_state : int, numpy Generator, RandomState or None, default=None
        Fixes the initial weights, dropout masks, shuffling and validation split; with an int,
        two fits give bit-identical predictions.  ``None`` draws fresh OS entropy (never the
        global NumPy state).
    verbose : int, default=0
        ``1``: print the loss (and validation score) after each epoch; ``2``: also show a
        progress bar over mini-batches.
    warm_start : bool, default=False
        Continue from the previous fit's weights (and optimizer state) instead of
        re-initialising; the architecture, features and classes must be unchanged.
    dtype : "auto", "float32" or "float64", default="auto"
        Precision of the weights and of the forward pass.  ``"auto"`` follows the training
        data, as scikit-learn's MLP does: float32 when ``X`` is float32, float64 otherwise
        (pass float32 data, or ``dtype="float32"``, for about twice the speed).
"""

_ATTRS_DOC = """
    Attributes
    ----------
    network_ : backprop.Network
        The trained network.
    n_features_in_ : int
        Number of features seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` was a DataFrame with string column names.
    n_outputs_ : int
        Number of output units.
    out_activation_ : str
        Output activation (``"sigmoid"``, ``"softmax"`` or ``"linear"``).
    loss_curve_ : list of float
        Training cost (mean loss plus L2 term) after each epoch, accumulated over
        :meth:`partial_fit` calls and warm-started fits.
    validation_scores_ : list of float or None
        Held-out score after each epoch when ``early_stopping=True``, otherwise None.
    best_validation_score_ : float or None
        Best of ``validation_scores_`` (None without early stopping).
    best_loss_ : float or None
        Lowest value of ``loss_curve_`` (None with early stopping, as in scikit-learn).
    n_iter_ : int
        Epochs run so far (accumulated like ``loss_curve_``).
"""


def _check_sample_weight(sample_weight: Any, n: int) -> Array | None:
    """``sample_weight`` as a fresh float64 array of shape (n,), or None.

    Scalars broadcast.  Raises ValueError for a wrong shape, non-finite or negative values, or
    weights that are all zero.
    """
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight)
    if w.dtype.kind not in "biuf":
        raise ValueError(f"sample_weight must be numeric, got dtype {w.dtype}")
    if w.ndim == 0:
        w = np.full(n, w)
    if w.shape != (n,):
        raise ValueError(f"sample_weight must have shape ({n},), got {w.shape}")
    w = w.astype(np.float64)  # a copy: the caller's array is never modified
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"sample_weight must be finite and non-negative; row {i} is {w[i]}")
    if not w.any():
        raise ValueError("sample_weight must contain at least one non-zero weight; all are zero")
    return w


def _make_rng(random_state: Any) -> np.random.Generator:
    """A Generator from a validated ``random_state`` (int, Generator, RandomState or None); a
    RandomState is drawn from once, as scikit-learn does."""
    if isinstance(random_state, np.random.RandomState):
        random_state = int(random_state.randint(np.iinfo(np.int32).max))
    return as_rng(random_state)


def _output_logits(network: Network, X: Array) -> Array:
    """The output layer's pre-activations ``z[L]`` (float64, shape (n, n_outputs)), in chunks."""
    parts = []
    for start in range(0, X.shape[0], _PREDICT_CHUNK):
        # X is validated already (validate_data): the unchecked forward pass
        chunk = X[start:start + _PREDICT_CHUNK].astype(network.dtype, copy=False)
        _, caches = network._forward(chunk, training=False)
        parts.append(caches[-1][1].astype(np.float64))  # Dense cache: (a_prev, z, a)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _resolve_dtype(arch: dict[str, Any], X: np.ndarray) -> np.dtype:
    """The network's dtype: the ``dtype`` hyperparameter, or with ``"auto"`` the data's
    (float32 stays float32, anything else trains in float64)."""
    if arch["dtype"] != "auto":
        return np.dtype(arch["dtype"])
    return np.dtype(np.float32 if X.dtype == np.float32 else np.float64)


class _EpochMonitor(Callback):
    """Records ``loss_curve_`` / ``validation_scores_`` and applies scikit-learn's MLP rule:
    stop once the training loss (or the validation score) has failed to improve by ``tol`` for
    more than ``n_iter_no_change`` consecutive epochs; with validation, restore the best
    epoch's weights at the end."""

    def __init__(self, est: _BackpropEstimator, validation: tuple | None, stop: bool) -> None:
        self.est = est
        self.validation = validation
        self.stop = stop
        self.stopped = False
        self.count = 0
        self.best = np.inf if validation is None else -np.inf
        self.best_weights: list[dict[str, Array]] | None = None
        self.network: Network | None = None

    def on_train_begin(self, network: Network) -> None:
        """Remember the network (for the validation score and the best weights)."""
        self.network = network

    def on_epoch_end(self, epoch: int, logs: dict[str, float], history: History) -> bool:
        """Record the epoch; True when training should stop."""
        est = self.est
        loss = float(logs["loss"])
        est.loss_curve_.append(loss)
        est.n_iter_ += 1
        line = f"Iteration {est.n_iter_}, loss = {loss:.8f}"
        if self.validation is None:
            improved, worse = loss < self.best, loss > self.best - est.tol
            value = loss
        else:
            X_val, y_val, w_val = self.validation
            value = est._score_arrays(X_val, y_val, w_val)
            est.validation_scores_.append(value)
            line += f", validation score = {value:.6f}"
            improved, worse = value > self.best, value < self.best + est.tol
        if est.verbose:
            print(line)
        if not self.stop:
            return False
        self.count = self.count + 1 if worse else 0
        if improved:
            self.best = value
            if self.validation is not None:
                self.best_weights = self.network.get_weights()
        self.stopped = self.count > est.n_iter_no_change
        return self.stopped

    def on_train_end(self, network: Network, history: History) -> None:
        """Restore the weights of the best validation epoch."""
        if self.best_weights is not None:
            network.set_weights(self.best_weights)


class _BackpropEstimator(ModelFileMixin, BaseEstimator):
    """Shared fitting logic; subclasses define the targets' encoding and the output layer."""

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
        """Validate the hyperparameters; return those that shape the network."""
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, numbers.Integral) else sizes
        try:
            sizes = list(sizes)
        except TypeError:
            sizes = None
        if sizes is None or any(
            isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1 for s in sizes
        ):
            raise ValueError(
                "hidden_layer_sizes must be a positive int or a tuple of positive ints, got "
                f"{self.hidden_layer_sizes!r}"
            )
        act = _ACTIVATION_ALIASES.get(self.activation, self.activation)
        if not isinstance(act, str) or act not in ACTIVATIONS or act == "softmax":
            choices = sorted(set(ACTIVATIONS) - {"softmax"} | set(_ACTIVATION_ALIASES))
            raise ValueError(f"activation must be one of {choices}, got {self.activation!r}")
        if not isinstance(self.dropout, numbers.Real) or not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        init = INIT_ALIASES.get(self.init, self.init) if isinstance(self.init, str) else self.init
        if init is not None and init not in INITIALIZERS:
            choices = sorted(INITIALIZERS) + sorted(INIT_ALIASES)
            raise ValueError(f"init must be None or one of {choices}, got {self.init!r}")
        if isinstance(self.dtype, str) and self.dtype == "auto":
            dtype_name = "auto"
        else:
            try:
                dtype = np.dtype(self.dtype)
            except TypeError:
                dtype = None
            if dtype not in (np.float32, np.float64):
                raise ValueError(
                    f"dtype must be 'auto', 'float32' or 'float64', got {self.dtype!r}")
            dtype_name = dtype.name
        return {"hidden_layer_sizes": [int(s) for s in sizes], "activation": act, "init": init,
                "dropout": float(self.dropout), "dtype": dtype_name}

    def _check_training_params(self) -> None:
        """Validate the hyperparameters that only steer training."""
        def real(name: str, low: float, high: float = np.inf, low_open: bool = False) -> None:
            v = getattr(self, name)
            ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and np.isfinite(v)
            if not ok or v < low or v > high or (low_open and v == low):
                bound = f"({low}, {high})" if low_open else f"[{low}, {high}]"
                raise ValueError(f"{name} must be a number in {bound}, got {v!r}")

        def integer(name: str, low: int) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {v!r}")

        real("learning_rate", 0.0, low_open=True)
        real("alpha", 0.0)
        real("tol", 0.0)
        integer("epochs", 1)
        integer("n_iter_no_change", 1)
        if self.batch_size not in ("auto", None):
            integer("batch_size", 1)
        if self.early_stopping:
            real("validation_fraction", 0.0, 1.0, low_open=True)
            if self.validation_fraction == 1.0:
                raise ValueError("validation_fraction must be below 1, got 1.0")
        if not isinstance(self.verbose, numbers.Integral) or self.verbose < 0:
            raise ValueError(f"verbose must be a non-negative int or bool, got {self.verbose!r}")
        opt = self.optimizer
        if not isinstance(opt, Optimizer) and (
            not isinstance(opt, str) or opt.lower() not in OPTIMIZERS
        ):
            raise ValueError(
                f"optimizer must be one of {sorted(OPTIMIZERS)} or a backprop.Optimizer, "
                f"got {opt!r}"
            )
        rs = self.random_state
        if not (rs is None or isinstance(rs, (np.random.Generator, np.random.RandomState))
                or (isinstance(rs, numbers.Integral) and not isinstance(rs, bool))):
            raise ValueError(
                f"random_state must be None, an int, a numpy Generator or RandomState, got {rs!r}"
            )

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
        """Validate the data and hyperparameters; set up the network (first call), the
        optimizer and the random generator; hold out the validation rows.  Returns
        ``(X, targets, sample_weight, validation)`` for training."""
        arch = self._architecture()
        self._check_training_params()
        fitted = hasattr(self, "network_")
        first = not fitted or not (partial or self.warm_start)
        X, y = validate_data(
            self, X, y, reset=first, accept_sparse=False, dtype=(np.float64, np.float32),
            multi_output=True, y_numeric=not self._is_classifier,
        )
        w = _check_sample_weight(sample_weight, X.shape[0])
        if not first and arch != self._arch:
            changed = {k: (self._arch[k], v) for k, v in arch.items() if self._arch[k] != v}
            raise ValueError(
                "cannot continue training (warm_start or partial_fit): "
                + ", ".join(f"{k} changed from {a!r} to {b!r}" for k, (a, b) in changed.items())
                + "; refit with warm_start=False"
            )
        targets = self._prepare_targets(y, w, first, partial, classes)
        if first or not partial:
            self._rng = _make_rng(self.random_state)
        if first:
            output, loss = self._output_spec()
            self.out_activation_ = output
            self.network_ = mlp(
                [X.shape[1], *arch["hidden_layer_sizes"], self.n_outputs_],
                activation=arch["activation"], output=output, loss=loss, init=arch["init"],
                dropout=arch["dropout"], l2=float(self.alpha), dtype=_resolve_dtype(arch, X),
                seed=self._rng,
            )
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
        monitor = _EpochMonitor(self, validation, stop=not partial)
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
        self._rng = _make_rng(self.random_state)

    def _validate_X(self, X: Any) -> Array:
        check_is_fitted(self)
        return validate_data(self, X, reset=False, accept_sparse=False,
                             dtype=(np.float64, np.float32))

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


class BackpropClassifier(ClassifierMixin, _BackpropEstimator):
    """Multilayer-perceptron classifier trained by backpropagation, in scikit-learn's API.

    Binary targets train one sigmoid unit with binary cross-entropy, ``k > 2`` classes a softmax
    layer with categorical cross-entropy, and an ``(n, k)`` 0/1 indicator matrix (multi-label)
    ``k`` sigmoid units with binary cross-entropy.  Labels may be of any type that
    ``numpy.unique`` can sort (ints, strings, ...); they are stored in ``classes_``.
    """

    _is_classifier = True

    def _prepare_targets(self, y: Array, w: Array | None, first: bool, partial: bool,
                         classes: Any) -> Array:
        """Encode ``y`` for the network (0/1 floats or class indices); set ``classes_`` on the
        first call."""
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. Please change the "
                "shape of y to (n_samples,), for example using ravel().",
                DataConversionWarning, stacklevel=4,
            )
            y = y[:, 0]
        check_classification_targets(y)
        kind = type_of_target(y)
        multilabel = kind == "multilabel-indicator"
        if y.ndim == 2 and not multilabel:
            raise ValueError(
                f"y of shape {y.shape} is {kind!r}; BackpropClassifier supports one label per "
                "sample or an (n_samples, n_labels) 0/1 indicator matrix"
            )
        if first:
            if partial and classes is None and not multilabel:
                raise ValueError("classes must be passed on the first call to partial_fit")
            if multilabel:
                new = np.arange(y.shape[1])
                if classes is not None and not np.array_equal(unique_labels(classes), new):
                    raise ValueError(
                        f"for a multi-label y with {y.shape[1]} columns, classes must be "
                        f"{new.tolist()}, got {classes!r}"
                    )
            else:
                new = unique_labels(classes if partial else y)
                if new.size < 2:
                    raise ValueError(
                        "BackpropClassifier needs samples of at least 2 classes, but the data "
                        f"contains only one class: {new[0]!r}"
                    )
            self.classes_ = new
            self._multilabel = multilabel
            self._label_dtype = y.dtype
            self.n_outputs_ = y.shape[1] if multilabel else (1 if new.size == 2 else new.size)
        else:
            if multilabel != self._multilabel or (multilabel and y.shape[1] != self.n_outputs_):
                raise ValueError(
                    f"y is {kind!r} with shape {y.shape}, but the model was fitted on "
                    + (f"{self.n_outputs_} labels" if self._multilabel else "one label per sample")
                )
            if classes is not None and not np.array_equal(unique_labels(classes), self.classes_):
                raise ValueError(
                    f"classes={list(classes)!r} differs from classes_={self.classes_.tolist()!r} "
                    "of the previous call"
                )
            if not partial and not multilabel:
                seen = unique_labels(y)
                if not np.array_equal(seen, self.classes_):
                    raise ValueError(
                        "warm_start needs y to have the same classes as the previous fit: "
                        f"previously {self.classes_.tolist()}, now {seen.tolist()}"
                    )
        if multilabel:
            return y.astype(np.float64)
        codes = self._encode(y)
        if first and not partial:
            present = np.unique(codes if w is None else codes[w > 0])
            if present.size < 2:
                raise ValueError(
                    "sample_weight leaves only one class with non-zero weight "
                    f"({self.classes_[present[0]]!r}); at least 2 classes are needed"
                )
        return codes.astype(np.float64) if self.n_outputs_ == 1 else codes

    def _encode(self, y: Array) -> Array:
        """Indices of ``y``'s labels in ``classes_``; ValueError naming unknown labels."""
        codes = np.searchsorted(self.classes_, y)
        found = self.classes_[np.minimum(codes, self.classes_.size - 1)] == y
        if not np.all(found):
            unknown = np.unique(y[~found])
            raise ValueError(
                f"y contains labels not in classes_ {self.classes_.tolist()}: {unknown.tolist()}"
            )
        return codes.astype(np.int64)

    def _file_layers(self) -> tuple[list, list]:
        return self.network_.layers, self.classes_.tolist()

    def _extra_attributes(self) -> dict[str, Any]:
        kind = self.classes_.dtype.kind
        return {"multilabel": self._multilabel,
                "label_dtype": self._label_dtype.name if self._multilabel else None,
                "classes_dtype": self.classes_.dtype.name if kind in "biuf"
                else ("object" if kind == "O" else "str")}

    def _restore_from_file(self, net: Network, attrs: dict[str, Any]) -> Network:
        if net.classes is None:
            raise ValueError("the network has no classes")
        self._multilabel = bool(attrs["multilabel"])
        kind = attrs["classes_dtype"]
        if kind == "object":
            self.classes_ = np.array(net.classes, dtype=object)
        elif kind == "str":
            self.classes_ = np.array([str(c) for c in net.classes])
        else:
            self.classes_ = np.array(net.classes, dtype=label_dtype(kind))
        # the dtype of multi-label predictions (that of the 0/1 matrix y)
        self._label_dtype = (label_dtype(attrs["label_dtype"]) if self._multilabel
                             else self.classes_.dtype)
        self.n_outputs_ = net.n_out
        return net

    def _output_spec(self) -> tuple[str, str]:
        if self._multilabel or self.n_outputs_ == 1:
            return "sigmoid", "binary_crossentropy"
        return "softmax", "categorical_crossentropy"

    def _log_proba_arrays(self, X: Array) -> Array:
        """``log P`` for validated ``X``: (n, n_classes), or (n, n_labels) for multi-label."""
        z = _output_logits(self.network_, X)
        if self._multilabel:
            return -softplus(-z)
        if self.n_outputs_ == 1:
            return np.hstack([-softplus(z), -softplus(-z)])  # log sigmoid(-z), log sigmoid(z)
        return log_softmax(z)

    def _proba_arrays(self, X: Array) -> Array:
        if self._multilabel or self.n_outputs_ == 1:
            z = _output_logits(self.network_, X)
            return sigmoid(z) if self._multilabel else np.hstack([sigmoid(-z), sigmoid(z)])
        return np.exp(self._log_proba_arrays(X))

    def _predict_arrays(self, X: Array) -> Array:
        proba = self._proba_arrays(X)
        if self._multilabel:
            return (proba > 0.5).astype(self._label_dtype)
        return self.classes_[np.argmax(proba, axis=1)]

    def _score_arrays(self, X: Array, y: Array, w: Array | None) -> float:
        return float(accuracy_score(y, self._predict_arrays(X), sample_weight=w))

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> BackpropClassifier:
        """Train on ``X`` of shape (n_samples, n_features) and labels ``y`` of shape
        (n_samples,), or a 0/1 indicator of shape (n_samples, n_labels); ``sample_weight`` of
        shape (n_samples,) makes the cost a weighted mean.  Returns ``self``."""
        return self._fit(X, y, sample_weight, partial=False)

    def partial_fit(self, X: Any, y: Any, classes: Any = None,
                    sample_weight: Any = None) -> BackpropClassifier:
        """One epoch over ``(X, y)``, continuing from the current weights and optimizer state.

        ``classes`` (every label that will ever occur) is required on the first call, as in
        scikit-learn, unless ``y`` is a multi-label indicator matrix.  Returns ``self``.
        """
        return self._fit(X, y, sample_weight, partial=True, classes=classes)

    def predict(self, X: Any) -> Array:
        """Predicted labels: shape (n_samples,) from ``classes_``, or (n_samples, n_labels) of
        0/1 for multi-label."""
        return self._predict_arrays(self._validate_X(X))

    def decision_function(self, X: Any) -> Array:
        """Output-layer logits ``z[L]`` (float64): shape (n_samples,) for two classes (positive
        means ``classes_[1]``), else (n_samples, n_classes) or (n_samples, n_labels); the
        probabilities are their sigmoid / softmax."""
        X = self._validate_X(X)
        z = _output_logits(self.network_, X)
        return z[:, 0] if self.n_outputs_ == 1 and not self._multilabel else z

    def predict_proba(self, X: Any) -> Array:
        """Class probabilities (float64): shape (n_samples, n_classes), columns in the order of
        ``classes_``; for multi-label, (n_samples, n_labels) probabilities of each label."""
        return self._proba_arrays(self._validate_X(X))

    def predict_log_proba(self, X: Any) -> Array:
        """Logarithm of :meth:`predict_proba`, computed stably from the output logits."""
        return self._log_proba_arrays(self._validate_X(X))

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class BackpropRegressor(RegressorMixin, _BackpropEstimator):
    """Multilayer-perceptron regressor trained by backpropagation, in scikit-learn's API.

    Linear output units with mean squared error; ``y`` of shape (n_samples,) or
    (n_samples, n_outputs) (multi-output).  The target is standardised internally (each
    column's sample-weighted mean subtracted and divided by its standard deviation; constant
    columns are only centred) and predictions are mapped back, which makes the default learning
    rate suit targets of any scale.  ``loss_curve_`` is therefore in units of the standardised
    target.  :meth:`partial_fit` fixes this scaling from its first call's data.
    """

    def _prepare_targets(self, y: Array, w: Array | None, first: bool, partial: bool,
                         classes: Any) -> Array:
        """Standardised float targets of shape (n, n_outputs)."""
        y2 = y.astype(np.float64).reshape(y.shape[0], -1)
        if first:
            self.n_outputs_ = y2.shape[1]
            self._y_ndim = y.ndim
            mean = np.average(y2, axis=0, weights=w)
            std = np.sqrt(np.average((y2 - mean) ** 2, axis=0, weights=w))
            self._y_mean = mean
            self._y_scale = feature_scale(mean, std)
        elif y2.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y2.shape[1]} output(s) but the model was fitted on {self.n_outputs_}"
            )
        return (y2 - self._y_mean) / self._y_scale

    def _file_layers(self) -> tuple[list, None]:
        # an inverse Standardize output layer returns predictions in the target's units
        return [*self.network_.layers, Standardize(self._y_mean, self._y_scale, inverse=True)], None

    def _extra_attributes(self) -> dict[str, Any]:
        return {"y_ndim": self._y_ndim}

    def _restore_from_file(self, net: Network, attrs: dict[str, Any]) -> Network:
        last = net.layers[-1]
        if not (isinstance(last, Standardize) and last.inverse):
            raise ValueError("the network does not end with an inverse Standardize layer")
        self._y_mean, self._y_scale = last.buffers["mean"], last.buffers["scale"]
        self._y_ndim = int(attrs["y_ndim"])
        if self._y_ndim not in (1, 2):
            raise ValueError(f"y_ndim must be 1 or 2, got {self._y_ndim}")
        net = Network(net.layers[:-1], loss=net.loss, l2=net.l2,
                      feature_names=net.feature_names, metadata=net.metadata)
        self.n_outputs_ = net.n_out
        return net

    def _output_spec(self) -> tuple[str, str]:
        return "linear", "mse"

    def _predict_arrays(self, X: Array) -> Array:
        out = self.network_.predict(X).astype(np.float64) * self._y_scale + self._y_mean
        return out[:, 0] if self._y_ndim == 1 else out

    def _score_arrays(self, X: Array, y: Array, w: Array | None) -> float:
        return float(r2_score(y, self._predict_arrays(X), sample_weight=w))

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> BackpropRegressor:
        """Train on ``X`` of shape (n_samples, n_features) and ``y`` of shape (n_samples,) or
        (n_samples, n_outputs); ``sample_weight`` of shape (n_samples,) makes the cost a weighted
        mean.  Returns ``self``."""
        return self._fit(X, y, sample_weight, partial=False)

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> BackpropRegressor:
        """One epoch over ``(X, y)``, continuing from the current weights and optimizer state.
        Returns ``self``."""
        return self._fit(X, y, sample_weight, partial=True)

    def predict(self, X: Any) -> Array:
        """Predictions (float64): shape (n_samples,) for a 1-D training target, else
        (n_samples, n_outputs)."""
        return self._predict_arrays(self._validate_X(X))

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


BackpropClassifier.__doc__ += _PARAMS_DOC + _ATTRS_DOC + """    classes_ : ndarray
        Class labels (sorted), or ``arange(n_labels)`` for multi-label targets.
"""
BackpropRegressor.__doc__ += _PARAMS_DOC + _ATTRS_DOC
