"""What the two estimators share: hyperparameters, the network, the solvers and ``fit``.

A fit checks everything first (hyperparameters by the table of :mod:`._params`, the data by
scikit-learn's ``validate_data``, the sample weights, the targets, the validation split) and
only then trains: a fit that fails its checks leaves the estimator as it was.  The stochastic
solvers train by :meth:`backprop.Network.fit` with one callback, the epoch monitor of
:mod:`._monitor`; ``"lbfgs"`` by SciPy (:mod:`._lbfgs`).

The network's Dense layers are the estimator's ``coefs_`` and ``intercepts_``
(:mod:`._weights`).
"""

from __future__ import annotations

import functools
import numbers
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted, validate_data

from backprop.model import Network, mlp
from backprop.nn.losses import check_sample_weight
from backprop.optim import Optimizer
from backprop.sklearn._files import ModelFileMixin
from backprop.sklearn._init import SKLEARN_INIT, init_like_sklearn
from backprop.sklearn._lbfgs import minimize_lbfgs
from backprop.sklearn._monitor import _EpochMonitor
from backprop.sklearn._params import ARCHITECTURE, PARAM_RULES, check_params, make_rng
from backprop.sklearn._solvers import StochasticSolver, make_optimizer
from backprop.sklearn._weights import NetworkWeightsMixin
from backprop.train import TrainingDiverged

__all__ = ["_BackpropEstimator", "NON_FINITE_WEIGHTS"]

Array = np.ndarray

#: scikit-learn's message when training ends with a NaN or inf weight.
NON_FINITE_WEIGHTS = ("Solver produced non-finite parameter weights. The input data may contain "
                      "large values and need to be preprocessed.")

#: scikit-learn's names of our activations (``out_activation_`` and the like).
SKLEARN_ACTIVATION_NAMES = {"sigmoid": "logistic", "linear": "identity"}


def sample_weights(sample_weight: Any, n: int) -> Array | None:
    """``sample_weight`` as a fresh float64 array of shape (n,), or None (also for weights
    that are all 1, which train exactly as none).

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
    w = check_sample_weight(w, n)
    return None if np.all(w == 1.0) else w


class _BackpropEstimator(NetworkWeightsMixin, ModelFileMixin, BaseEstimator):
    """Shared fitting logic; subclasses encode the targets and choose the output layer.

    Subclass hooks: ``_prepare_targets`` (checked, encoded targets; sets the target
    attributes when ``define``), ``_output_activation``, ``_loss_name``, ``_score_arrays``
    (the score of checked arrays), and the model-file hooks of
    :class:`~._files.ModelFileMixin`.
    """

    _is_classifier = False
    _param_rules = PARAM_RULES
    _architecture_names = ARCHITECTURE

    def __init__(
        self,
        hidden_layer_sizes: int | tuple[int, ...] = (100,),
        activation: str = "relu",
        *,
        solver: str | Optimizer = "adam",
        alpha: float = 1e-4,
        batch_size: int | str | None = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 1e-3,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool | int = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int | float = 10,
        max_fun: int = 15000,
        init: str | None = "sklearn",
        dropout: float = 0.0,
        dtype: Any = "auto",
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.init = init
        self.dropout = dropout
        self.dtype = dtype

    # ------------------------------------------------------------------ hyperparameters
    def _check_params(self) -> dict[str, Any]:
        return check_params(self.get_params(deep=False), rules=self._param_rules)

    def _architecture(self) -> dict[str, Any]:
        """The checked hyperparameters that shape the network (normalised, so that equal
        architectures compare equal)."""
        return check_params(self.get_params(deep=False), self._architecture_names,
                            self._param_rules)

    def _build_network(self, arch: dict[str, Any], n_in: int, dtype: Any,
                       seed: Any) -> Network:
        """A freshly initialised network for ``arch``: ``n_in`` inputs, ``n_outputs_`` outputs
        with the output activation and loss of the target, and ``alpha`` as scikit-learn
        defines it (the L2 term divided by each batch's total sample weight)."""
        # scikit-learn's scheme draws its own weights (see _init); the layers say Glorot
        init = "glorot_uniform" if arch["init"] == SKLEARN_INIT else arch["init"]
        net = mlp([n_in, *arch["hidden_layer_sizes"], self.n_outputs_],
                  activation=arch["activation"], output=self._output_activation(),
                  loss=self._loss_name(), init=init, dropout=arch["dropout"],
                  l2=float(self.alpha), dtype=dtype, seed=seed)
        net.l2_per_sample = True
        return net

    def _init_state(self) -> np.random.RandomState:
        """The RandomState that ``init="sklearn"`` draws from: scikit-learn's
        ``check_random_state(random_state)`` for an int or a RandomState; for None or a
        Generator, one seeded from the estimator's generator (never NumPy's global state)."""
        if isinstance(self.random_state, np.random.RandomState):
            return self.random_state
        if isinstance(self.random_state, numbers.Integral):
            return np.random.RandomState(int(self.random_state))
        return np.random.RandomState(int(self._rng.integers(2**32)))

    def _check_solver(self) -> bool:
        """``partial_fit`` exists for the stochastic solvers only (as in scikit-learn)."""
        if isinstance(self.solver, str) and self.solver.lower() == "lbfgs":
            raise AttributeError("partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        return True

    # ------------------------------------------------------------------ fitting
    def _prepare(self, X: Any, y: Any, sample_weight: Any, partial: bool, classes: Any):
        """Check the data and hyperparameters; set up the network (first call), the random
        generator and the fitted attributes; hold out the validation rows.  Returns
        ``(params, X, targets, sample_weight, validation)`` for training."""
        params = self._check_params()
        arch = {k: params[k] for k in self._architecture_names}
        if partial and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        if params["solver"] == "lbfgs" and arch["dropout"]:
            raise ValueError(f"dropout={self.dropout} needs a stochastic solver: 'lbfgs' "
                             "minimises the deterministic cost")
        # as scikit-learn: weights to continue from exist (fitted, or set by hand) and the
        # call continues (partial_fit, or warm_start)
        first = not hasattr(self, "coefs_") or not (partial or self.warm_start)
        adopt = not first and not hasattr(self, "network_")  # coefs_ set by hand
        X, y = validate_data(
            self, X, y, reset=first, accept_sparse="csr", dtype=(np.float64, np.float32),
            multi_output=True, y_numeric=not self._is_classifier,
        )
        w = sample_weights(sample_weight, X.shape[0])
        if not first and not adopt and arch != self._arch:
            changed = {k: (self._arch[k], v) for k, v in arch.items() if self._arch[k] != v}
            raise ValueError(
                "cannot continue training (warm_start or partial_fit): "
                + ", ".join(f"{k} changed from {a!r} to {b!r}" for k, (a, b) in changed.items())
                + "; refit with warm_start=False"
            )
        targets = self._prepare_targets(y, first or not hasattr(self, "classes_"), partial,
                                        classes)
        if first or not partial or not hasattr(self, "_rng"):
            self._rng = make_rng(self.random_state)
        if first or adopt:
            # "auto" follows the data, as scikit-learn's MLP does: float32 stays float32
            dtype = np.float32 if X.dtype == np.float32 else np.float64
            network = self._build_network(
                arch, X.shape[1], dtype if arch["dtype"] == "auto" else arch["dtype"], self._rng)
            if arch["init"] == SKLEARN_INIT:
                init_like_sklearn(network, arch["activation"], self._init_state())
            self._start(network, arch, keep=adopt)
        validation = None
        if self.early_stopping and params["solver"] != "lbfgs":  # (lbfgs ignores it)
            X, targets, w, validation = self._split_validation(X, y, targets, w)
            if self.validation_scores_ is None:
                self.validation_scores_ = []
        else:
            self.validation_scores_ = None
        self._sync_weights()  # last: a check that fails leaves the network's weights alone
        return params, X, targets, w, validation

    def _start(self, network: Network, arch: dict[str, Any], keep: bool) -> None:
        """Take ``network`` as the estimator's and reset the fitted attributes (``keep``: the
        ``coefs_`` / ``intercepts_`` set by hand go into it, and the attributes set beside them,
        such as ``t_`` or ``loss_curve_``, are kept)."""
        given = (self.coefs_, self.intercepts_) if keep else None
        self.network_ = network
        self._arch = arch
        self._bind_weights()
        if given is not None:
            self.coefs_, self.intercepts_ = list(given[0]), list(given[1])
        self.out_activation_ = SKLEARN_ACTIVATION_NAMES.get(self._output_activation(),
                                                           self._output_activation())
        defaults = {"n_iter_": 0, "t_": 0, "loss_curve_": [], "best_loss_": None,
                    "validation_scores_": None, "best_validation_score_": None}
        for name, value in defaults.items():
            if not keep or not hasattr(self, name):
                setattr(self, name, value)
        if not keep:
            self.__dict__.pop("_stopping_record", None)
            self.__dict__.pop("_optimizer", None)

    def _fit(self, X: Any, y: Any, sample_weight: Any, partial: bool, classes: Any = None):
        saved = dict(vars(self))
        try:  # every check runs before training; a failed one leaves the estimator unchanged
            params, X, targets, w, validation = self._prepare(X, y, sample_weight, partial,
                                                              classes)
        except BaseException:
            vars(self).clear()
            vars(self).update(saved)
            raise
        self.network_.l2 = float(self.alpha)
        self.network_.l2_per_sample = True
        if params["solver"] == "lbfgs":
            self._fit_lbfgs(params, X, targets, w)
        else:
            self._fit_stochastic(params, X, targets, w, validation, partial)
        if not all(np.isfinite(p).all() for p in self.network_.parameters()):
            raise ValueError(NON_FINITE_WEIGHTS)
        return self

    def _fit_stochastic(self, params: dict[str, Any], X: Any, targets: Array, w: Array | None,
                        validation: tuple | None, partial: bool) -> None:
        if not partial or not hasattr(self, "_optimizer"):
            self._optimizer = StochasticSolver(make_optimizer(params["solver"], params),
                                               params["learning_rate"], params["power_t"])
        n = X.shape[0]
        batch = params["batch_size"]
        if batch == "auto":
            batch = min(200, n)
        elif batch is None:
            batch = n
        elif batch > n:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going "
                          "to be clipped", stacklevel=4)
            batch = n
        score = None if validation is None else functools.partial(self._score_arrays,
                                                                   *validation)
        mode = "min" if score is None else "max"
        record = getattr(self, "_stopping_record", None)
        monitor = _EpochMonitor(self, score, n, partial,
                                record[1] if record is not None and record[0] == mode else None)
        self.n_iter_ = 0  # the epochs of this call (scikit-learn's count)
        diverged = False
        try:
            self.network_.fit(
                X, targets, epochs=1 if partial else int(self.max_iter), batch_size=batch,
                optimizer=self._optimizer.optimizer, shuffle=bool(self.shuffle), seed=self._rng,
                verbose=1 if params["verbose"] >= 2 else 0, callbacks=[monitor],
                sample_weight=w,
            )
        except TrainingDiverged as exc:
            if score is None:
                raise ValueError(f"{NON_FINITE_WEIGHTS} ({exc})") from exc
            # early stopping: the best validation weights are back; scikit-learn would go on
            # with NaN scores until max_iter, which changes nothing but the record
            monitor.on_diverged()
            diverged = True
        self._stopping_record = (mode, monitor.state_dict())
        if score is None:
            self.best_loss_, self.best_validation_score_ = monitor.best, None
        else:
            self.best_loss_, self.best_validation_score_ = None, monitor.best
        if not (partial or monitor.stopped or diverged) and self.n_iter_ == self.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet.", ConvergenceWarning, stacklevel=4)

    def _fit_lbfgs(self, params: dict[str, Any], X: Any, targets: Array,
                   w: Array | None) -> None:
        result = minimize_lbfgs(self.network_, X, targets, w, max_iter=int(self.max_iter),
                                max_fun=int(self.max_fun), tol=float(self.tol),
                                verbose=bool(params["verbose"]))
        self.n_iter_ = result.n_iter
        self.loss_ = result.loss
        self.loss_curve_.extend(result.losses)
        self.best_loss_ = min(self.loss_curve_, default=result.loss)
        self.validation_scores_ = self.best_validation_score_ = None
        if not result.converged:
            warnings.warn(
                f"lbfgs failed to converge after {result.n_iter} iteration(s): "
                f"{result.message}. Increase the number of iterations (max_iter={self.max_iter})"
                f" or evaluations (max_fun={self.max_fun}), or scale the data.",
                ConvergenceWarning, stacklevel=4)

    def _split_validation(self, X: Any, y: Array, targets: Array, w: Array | None):
        """Hold out ``validation_fraction`` of the rows; returns the training part and
        ``(X_val, y_val, w_val)`` in the original label space.

        As in scikit-learn, only a classifier with one output unit (two classes) stratifies,
        by its 0/1 target.
        """
        stratify = None
        if self._is_classifier and self.n_outputs_ == 1 and not self._multilabel:
            stratify = targets.astype(bool)[:, None]
        idx_train, idx_val = train_test_split(
            np.arange(X.shape[0]), test_size=self.validation_fraction,
            random_state=int(self._rng.integers(np.iinfo(np.int32).max)), stratify=stratify,
        )
        if idx_val.size < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                             f"or the size of your dataset (validation_fraction="
                             f"{self.validation_fraction} of {X.shape[0]} rows holds out "
                             f"{idx_val.size}).")
        w_train = None if w is None else w[idx_train]
        w_val = None if w is None else w[idx_val]
        if (w_train is not None and not w_train.any()) or (w_val is not None and not w_val.any()):
            raise ValueError(
                f"with validation_fraction={self.validation_fraction} the training or validation "
                "part has only zero sample weights; change random_state or validation_fraction"
            )
        return X[idx_train], targets[idx_train], w_train, (X[idx_val], y[idx_val], w_val)

    def _validate_X(self, X: Any) -> Any:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, accept_sparse="csr",
                          dtype=(np.float64, np.float32))
        self._sync_weights()
        return X

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

