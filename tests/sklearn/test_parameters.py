"""backprop.sklearn: hyperparameters stored untouched, checked at fit by one table, and
scikit-learn's names for them."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import (
    make_blobs,
)
from sklearn.exceptions import ConvergenceWarning

import backprop as bp
from backprop.sklearn import BackpropClassifier, BackpropRegressor
from backprop.sklearn._params import ARCHITECTURE, PARAM_RULES, check_params
from helpers import no_convergence_warning


# --------------------------------------------------------------------------- API contract
def test_hyperparameters_stored_untouched():
    sizes = [5, 3]
    opt = bp.SGD(lr=0.5, momentum=0.9)
    clf = BackpropClassifier(hidden_layer_sizes=sizes, optimizer=opt, learning_rate=0.01,
                             dtype=np.float64)
    params = clf.get_params()
    assert params["hidden_layer_sizes"] is sizes and params["optimizer"] is opt
    assert params["dtype"] is np.float64
    X, y = make_blobs(40, centers=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.hidden_layer_sizes is sizes and sizes == [5, 3]
    assert opt.lr == 0.5 and opt.state["step"] == 0  # the template is copied, never trained
    assert clf._optimizer is not opt and clf._optimizer.lr == 0.01
    assert clf._optimizer.momentum == 0.9 and clf._optimizer.state["step"] > 0


@pytest.mark.parametrize("param, value, match", [
    ("hidden_layer_sizes", (3, 0), "hidden_layer_sizes"),
    ("activation", "softmax", "activation"),
    ("init", "zeros", "init"),
    ("optimizer", "lbfgs", "optimizer"),
    ("learning_rate", 0.0, "learning_rate"),
    ("batch_size", 0, "batch_size"),
    ("epochs", 0, "epochs"),
    ("alpha", -1.0, "alpha"),
    ("dropout", 1.0, "dropout"),
    ("validation_fraction", 1.0, "validation_fraction"),
    ("n_iter_no_change", 0, "n_iter_no_change"),
    ("tol", -1e-3, "tol"),
    ("dtype", "float16", "dtype"),
    ("random_state", "seed", "random_state"),
])
def test_invalid_hyperparameters_raise_at_fit(param, value, match):
    X, y = make_blobs(30, centers=2, random_state=0)
    clf = BackpropClassifier(early_stopping=True, **{param: value})  # __init__ never validates
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    assert not hasattr(clf, "network_")


@no_convergence_warning
def test_sklearn_activation_names_and_alpha():
    X, y = make_blobs(60, centers=2, random_state=0)
    clf = BackpropClassifier(activation="logistic", epochs=2).fit(X, y)
    assert clf.network_.layers[0].activation.name == "sigmoid"
    assert clf.network_.l2 == 1e-4
    small = BackpropClassifier(alpha=0.0, epochs=100, random_state=0).fit(X, y)
    big = BackpropClassifier(alpha=1.0, epochs=100, random_state=0).fit(X, y)
    norm = [sum(np.sum(p["W"] ** 2) for p in c.network_.get_weights() if "W" in p)
            for c in (small, big)]
    assert norm[1] < 0.5 * norm[0]


# --------------------------------------------------------------------------- the table
@pytest.mark.parametrize("Est", [BackpropClassifier, BackpropRegressor])
def test_every_hyperparameter_has_one_rule(Est):
    assert set(Est().get_params()) == set(PARAM_RULES)
    assert set(ARCHITECTURE) <= set(PARAM_RULES)


def test_rules_normalise_equal_settings_to_equal_values():
    a = check_params(BackpropClassifier(hidden_layer_sizes=5, activation="logistic",
                                        init="xavier", dtype=np.float32).get_params())
    b = check_params(BackpropClassifier(hidden_layer_sizes=(5,), activation="sigmoid",
                                        init="glorot_uniform", dtype="float32").get_params())
    assert {k: a[k] for k in ARCHITECTURE} == {k: b[k] for k in ARCHITECTURE} == {
        "hidden_layer_sizes": [5], "activation": "sigmoid", "init": "glorot_uniform",
        "dropout": 0.0, "dtype": "float32"}
    # validation_fraction is checked only with early_stopping
    assert check_params({"early_stopping": False, "validation_fraction": 2.0},
                        ["validation_fraction"]) == {"validation_fraction": 2.0}
    with pytest.raises(ValueError, match=r"validation_fraction must be a number in \(0, 1\)"):
        check_params({"early_stopping": True, "validation_fraction": 2.0},
                     ["validation_fraction"])
