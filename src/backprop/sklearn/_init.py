"""scikit-learn's initialisation of an MLP, the estimators' default (``init="sklearn"``).

``MLPClassifier`` draws every weight *and bias* of a layer from ``U(-r, r)`` with
``r = sqrt(6 / (fan_in + fan_out))`` (Glorot's bound; ``sqrt(2 / (fan_in + fan_out))`` when
the hidden activation is the logistic), layer by layer, the weights before the biases, from
``check_random_state(random_state)``.  Drawn the same way from the same ``RandomState``, the
initial network is scikit-learn's own, so that an int ``random_state`` starts both libraries
from the same point (the deterministic ``"lbfgs"`` then follows scikit-learn's path to
rounding).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from backprop.model import Network

__all__ = ["SKLEARN_INIT", "init_like_sklearn"]

#: The ``init`` value that selects this scheme.
SKLEARN_INIT = "sklearn"


def init_like_sklearn(network: Network, activation: str,
                      random_state: np.random.RandomState) -> None:
    """Overwrite the weights and biases of ``network``'s Dense layers, in place, with
    scikit-learn's draws (see the module docstring); ``activation`` is the hidden layers'
    (our name: ``"sigmoid"`` is scikit-learn's ``"logistic"``)."""
    factor = 2.0 if activation == "sigmoid" else 6.0
    for layer in network.layers:
        if "W" not in layer.params:
            continue  # a Dropout
        W, b = layer.params["W"], layer.params["b"]
        fan_in, fan_out = W.shape
        bound = math.sqrt(factor / (fan_in + fan_out))
        W[...] = random_state.uniform(-bound, bound, (fan_in, fan_out))
        b[...] = random_state.uniform(-bound, bound, fan_out)
