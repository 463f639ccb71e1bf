"""BackpropRegressor: single- and multi-output regression (squared error or Poisson)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.metrics import r2_score
from sklearn.utils.metaestimators import available_if

from backprop.model import Network
from backprop.nn.losses import get_loss
from backprop.optim import Optimizer
from backprop.sklearn._base import _BackpropEstimator
from backprop.sklearn._docs import shared_sections
from backprop.sklearn._params import REGRESSOR_ARCHITECTURE, REGRESSOR_RULES

__all__ = ["BackpropRegressor"]

Array = np.ndarray

#: scikit-learn's regression losses: (our loss, the output activation it needs)
LOSSES = {"squared_error": ("half_squared_error", "linear"), "poisson": ("poisson", "exp")}


@shared_sections(loss="""    loss : {"squared_error", "poisson"}, default="squared_error"
        ``"squared_error"``: half the squared error, with linear outputs; ``"poisson"``: half
        the Poisson deviance, with ``exp`` outputs (the log link), for counts ``y >= 0``.
""")
class BackpropRegressor(RegressorMixin, _BackpropEstimator):
    """Multilayer-perceptron regressor trained by backpropagation: a drop-in for
    scikit-learn's ``MLPRegressor`` (same parameters, defaults and fitted attributes).

    ``y`` of shape (n_samples,) or (n_samples, n_outputs) (multi-output); the loss is summed
    over the outputs and averaged over the samples, as scikit-learn's gradient is.  As in
    scikit-learn the target is used as it is: scale it (``TransformedTargetRegressor``) when
    its values are far from 1.
    """

    _param_rules = REGRESSOR_RULES
    _architecture_names = REGRESSOR_ARCHITECTURE

    def __init__(
        self,
        loss: str = "squared_error",
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
        self.loss = loss
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init,
            power_t=power_t, max_iter=max_iter, shuffle=shuffle, random_state=random_state,
            tol=tol, verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun, init=init,
            dropout=dropout, dtype=dtype,
        )

    # ------------------------------------------------------------------ targets
    def _prepare_targets(self, y: Array, define: bool, partial: bool, classes: Any) -> Array:
        """Float targets of shape (n, n_outputs); with ``define``, set ``n_outputs_``."""
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. Please change the "
                "shape of y to (n_samples,), for example using ravel().",
                DataConversionWarning, stacklevel=5,
            )
            y = y[:, 0]
        y2 = y.astype(np.float64).reshape(y.shape[0], -1)
        if define:
            self.n_outputs_ = y2.shape[1]
        elif y2.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y2.shape[1]} output(s) but the model was fitted on {self.n_outputs_}"
            )
        get_loss(self._loss_name()).check_targets(y2, y2.shape[1])  # poisson: counts >= 0
        return y2

    def _output_activation(self) -> str:
        return LOSSES[self.loss][1]

    def _loss_name(self) -> str:
        return LOSSES[self.loss][0]

    # ------------------------------------------------------------------ model files
    def _file_layers(self) -> tuple[list, None]:
        return self.network_.layers, None

    def _extra_attributes(self) -> dict[str, Any]:
        return {}

    def _restore_from_file(self, net: Network, attrs: dict[str, Any]) -> Network:
        self.n_outputs_ = net.n_out
        return net

    # ------------------------------------------------------------------ outputs
    def _predict_arrays(self, X: Any) -> Array:
        out = self.network_.predict(X)
        return out[:, 0] if self.n_outputs_ == 1 else out

    def _score_arrays(self, X: Any, y: Array, w: Array | None) -> float:
        pred = self._predict_arrays(X)
        if not np.isfinite(pred).all():  # diverged: scikit-learn scores NaN
            return math.nan
        return float(r2_score(y, pred, sample_weight=w))

    # ------------------------------------------------------------------ public API
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> BackpropRegressor:
        """Train on ``X`` of shape (n_samples, n_features) (an array or a SciPy sparse
        matrix) and ``y`` of shape (n_samples,) or (n_samples, n_outputs);
        ``sample_weight`` of shape (n_samples,) makes the cost a weighted mean.  Returns
        ``self``."""
        return self._fit(X, y, sample_weight, partial=False)

    @available_if(_BackpropEstimator._check_solver)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> BackpropRegressor:
        """One epoch over ``(X, y)``, continuing from the current weights and optimizer state
        (only for the stochastic solvers).  Returns ``self``."""
        return self._fit(X, y, sample_weight, partial=True)

    def predict(self, X: Any) -> Array:
        """Predictions in the network's dtype (which follows ``X``'s: float32 data gives
        float32 predictions): shape (n_samples,) for one output, else (n_samples, n_outputs)."""
        return self._predict_arrays(self._validate_X(X))

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
