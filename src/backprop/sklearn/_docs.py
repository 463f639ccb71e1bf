"""The docstring sections both estimators share: their parameters and fitted attributes.

Both classes take the same hyperparameters and set the same attributes; they are written once
here and appended to each class's own text by :func:`shared_sections`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

__all__ = ["PARAMETERS", "ATTRIBUTES", "shared_sections"]

T = TypeVar("T", bound=type)

PARAMETERS = """
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

ATTRIBUTES = """
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


def shared_sections(extra_attributes: str = "") -> Callable[[T], T]:
    """Class decorator: append :data:`PARAMETERS`, :data:`ATTRIBUTES` and the class's own
    ``extra_attributes`` (entries in the same numpydoc layout) to its docstring."""
    def decorate(cls: T) -> T:
        cls.__doc__ = (cls.__doc__ or "") + PARAMETERS + ATTRIBUTES + extra_attributes
        return cls
    return decorate
