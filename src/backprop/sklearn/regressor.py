"""BackpropRegressor: single- and multi-output regression on a standardised target."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score

from backprop.data import feature_scale
from backprop.model import Network
from backprop.nn.layers import Standardize
from backprop.sklearn._base import _BackpropEstimator
from backprop.sklearn._docs import shared_sections

__all__ = ["BackpropRegressor"]

Array = np.ndarray


@shared_sections()
class BackpropRegressor(RegressorMixin, _BackpropEstimator):
    """Multilayer-perceptron regressor trained by backpropagation, in scikit-learn's API.

    Linear output units with mean squared error; ``y`` of shape (n_samples,) or
    (n_samples, n_outputs) (multi-output).  The target is standardised internally (each
    column's sample-weighted mean subtracted and divided by its standard deviation; constant
    columns are only centred) and predictions are mapped back, which makes the default learning
    rate suit targets of any scale.  ``loss_curve_`` is therefore in units of the standardised
    target.  :meth:`partial_fit` fixes this scaling from its first call's data.
    """

    # ------------------------------------------------------------------ targets
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

    def _output_activation(self) -> str:
        return "linear"

    # ------------------------------------------------------------------ model files
    def _file_layers(self) -> tuple[list, None]:
        # an inverse Standardize output layer returns predictions in the target's units
        return [*self.network_.layers, Standardize(self._y_mean, self._y_scale, inverse=True)], None

    def _extra_attributes(self) -> dict[str, Any]:
        return {"y_ndim": self._y_ndim}

    def _restore_from_file(self, net: Network, attrs: dict[str, Any]) -> Network:
        last = net.layers[-1]
        # the layer _file_layers appended: compared with what it would write, not by its class
        written = Standardize.identity(net.n_out, inverse=True).config()
        if last.config() != written:
            raise ValueError("the network does not end with an inverse Standardize layer")
        self._y_mean, self._y_scale = last.buffers["mean"], last.buffers["scale"]
        self._y_ndim = int(attrs["y_ndim"])
        if self._y_ndim not in (1, 2):
            raise ValueError(f"y_ndim must be 1 or 2, got {self._y_ndim}")
        net = Network(net.layers[:-1], loss=net.loss, l2=net.l2,
                      feature_names=net.feature_names, metadata=net.metadata)
        self.n_outputs_ = net.n_out
        return net

    # ------------------------------------------------------------------ outputs
    def _predict_arrays(self, X: Array) -> Array:
        out = self.network_.predict(X).astype(np.float64) * self._y_scale + self._y_mean
        return out[:, 0] if self._y_ndim == 1 else out

    def _score_arrays(self, X: Array, y: Array, w: Array | None) -> float:
        return float(r2_score(y, self._predict_arrays(X), sample_weight=w))

    # ------------------------------------------------------------------ public API
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
