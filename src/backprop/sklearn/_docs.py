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
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Width of each hidden layer; ``()`` for none (a linear / logistic model).
    activation : str, default="relu"
        Hidden-layer activation: scikit-learn's ``"identity"``, ``"logistic"``, ``"tanh"``,
        ``"relu"``, or any other name in :data:`backprop.ACTIVATIONS` (``"elu"``,
        ``"leaky_relu"``, ``"softplus"``, ...).
    solver : str or backprop.Optimizer, default="adam"
        ``"lbfgs"`` (SciPy's L-BFGS-B on the whole training set; no ``partial_fit``),
        ``"sgd"`` (with ``momentum`` and ``nesterovs_momentum``), ``"adam"`` (with ``beta_1``,
        ``beta_2``, ``epsilon``), or one of ours: ``"adamw"``, ``"rmsprop"``, ``"gd"``, or an
        optimizer instance used as a template (it is copied, never modified; e.g.
        ``bp.SGD(momentum=0.9, weight_decay=1e-3)``).  The update rules are PyTorch's (see
        :mod:`backprop.sklearn._solvers` for how they relate to scikit-learn's).
    alpha : float, default=1e-4
        L2 penalty as scikit-learn defines it: each batch's cost is its mean loss plus
        ``(alpha / 2 S) * sum ||W||^2`` over the weight matrices (biases excluded), ``S`` the
        batch's number of rows (its total sample weight).
    batch_size : int, "auto" or None, default="auto"
        Mini-batch size of the stochastic solvers; ``"auto"`` is ``min(200, n_samples)``,
        ``None`` the whole training set (full-batch gradient descent).  Larger values are
        clipped to the number of samples, with a warning.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        The learning-rate schedule of the SGD family (Adam and AdamW ignore it):
        ``"invscaling"`` divides ``learning_rate_init`` by ``(t + 1) ** power_t`` after each
        epoch (``t`` the samples trained on); ``"adaptive"`` divides the rate by 5 each time
        the stopping rule fires, and stops once it is at most 1e-6.
    learning_rate_init : float, default=1e-3
        The initial step size of the stochastic solvers.
    power_t : float, default=0.5
        The exponent of ``"invscaling"``.
    max_iter : int, default=200
        At most this many epochs (stochastic solvers) or iterations (``"lbfgs"``) per
        :meth:`fit`.
    shuffle : bool, default=True
        Shuffle the training rows before each epoch (stochastic solvers).
    random_state : int, numpy Generator, RandomState or None, default=None
        Fixes the initial weights, dropout masks, shuffling and validation split; with an int,
        two fits give bit-identical predictions.  ``None`` draws fresh OS entropy (never the
        global NumPy state).
    tol : float, default=1e-4
        The improvement that resets the ``n_iter_no_change`` count; for ``"lbfgs"``, the
        projected gradient at which it stops.
    verbose : bool or int, default=False
        Print the loss (and validation score) after each epoch; ``2`` or more also shows a
        progress bar over mini-batches.
    warm_start : bool, default=False
        Continue from the previous fit's weights (and stopping record) instead of
        re-initialising; the architecture, features and classes must be unchanged.  Each
        :meth:`fit` starts a fresh optimizer, as in scikit-learn.
    momentum : float in [0, 1), default=0.9
        Momentum of ``"sgd"``.
    nesterovs_momentum : bool, default=True
        Nesterov's momentum for ``"sgd"`` (when ``momentum > 0``).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified for two classes),
        stop when its score (accuracy, or R^2 for regression) has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, and keep the weights of the best epoch.  Not with
        ``partial_fit``.
    validation_fraction : float in (0, 1), default=0.1
        Share of the data held out when ``early_stopping=True`` (at least 2 rows).
    beta_1, beta_2 : float in [0, 1), default=0.9, 0.999
        Decay rates of Adam's first and second moment estimates.
    epsilon : float, default=1e-8
        Adam's (and RMSprop's) numerical-stability term.
    n_iter_no_change : int or inf, default=10
        Epochs without improvement (of the training loss, or of the validation score with
        ``early_stopping``) by ``tol`` after which the stopping rule fires; ``inf``: never.
    max_fun : int, default=15000
        At most this many cost evaluations for ``"lbfgs"``.
    init : str or None, default="sklearn"
        ``"sklearn"``: scikit-learn's initialisation (weights and biases uniform in Glorot's
        bound, drawn as ``MLPClassifier`` draws them, so that an int ``random_state`` gives
        its initial network).  Or one of ours: a weight initialiser in
        :data:`backprop.INITIALIZERS` (or an alias such as ``"he"``), biases at zero; ``None``
        picks per activation (He for the ReLU family, Glorot otherwise).
    dropout : float in [0, 1), default=0.0
        Dropout rate after each hidden layer during training (inverted dropout); needs a
        stochastic solver.
    dtype : "auto", "float32" or "float64", default="auto"
        Precision of the weights and of the forward pass.  ``"auto"`` follows the training
        data, as scikit-learn's MLP does: float32 when ``X`` is float32, float64 otherwise
        (pass float32 data, or ``dtype="float32"``, for about twice the speed).
"""

ATTRIBUTES = """
    Attributes
    ----------
    coefs_ : list of ndarray of shape (n_in, n_out)
        The weight matrix of each layer: the network's own arrays, so they follow training.
        An array put in their place (or the whole list, before a first :meth:`partial_fit`)
        is copied into the network by the next fit, partial fit or prediction.
    intercepts_ : list of ndarray of shape (n_out,)
        The bias vector of each layer, in the same way.
    network_ : backprop.Network
        The trained network.
    n_features_in_ : int
        Number of features seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` was a DataFrame with string column names.
    n_layers_ : int
        Number of layers, the input and output layers included.
    n_outputs_ : int
        Number of output units.
    out_activation_ : str
        Output activation, in scikit-learn's names: ``"logistic"``, ``"softmax"``,
        ``"identity"`` or ``"exp"``.
    loss_ : float
        The cost after the last epoch (or at the ``"lbfgs"`` solution).
    loss_curve_ : list of float
        Cost (mean loss plus L2 term) after each epoch (``"lbfgs"``: each iteration),
        accumulated over :meth:`partial_fit` calls and warm-started fits.
    t_ : int
        Training samples seen by the stochastic solvers, over all calls.
    validation_scores_ : list of float or None
        Held-out score after each epoch when ``early_stopping=True``, otherwise None (NaN for
        an epoch that diverged).
    best_validation_score_ : float or None
        Best of ``validation_scores_`` (None without early stopping).
    best_loss_ : float or None
        Lowest training cost seen (None with early stopping, as in scikit-learn).
    n_iter_ : int
        Epochs (``"lbfgs"``: iterations) run by the last :meth:`fit` or :meth:`partial_fit`.
"""


def shared_sections(loss: str = "", extra_attributes: str = "") -> Callable[[T], T]:
    """Class decorator: append a Parameters section (the class's own ``loss`` entry, then
    :data:`PARAMETERS`), :data:`ATTRIBUTES` and the class's own ``extra_attributes`` (entries
    in the same numpydoc layout) to its docstring."""
    def decorate(cls: T) -> T:
        header = "\n    Parameters\n    ----------\n" + loss
        cls.__doc__ = ((cls.__doc__ or "") + header + PARAMETERS.lstrip("\n") + ATTRIBUTES
                       + extra_attributes)
        return cls
    return decorate
