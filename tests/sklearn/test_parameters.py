"""backprop.sklearn: hyperparameters stored untouched, checked at fit by one table, and
scikit-learn's names for them."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import (
    load_digits,
    make_blobs,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

import backprop as bp
from backprop.sklearn import BackpropClassifier, BackpropRegressor
from backprop.sklearn._params import ARCHITECTURE, PARAM_RULES, check_params
from helpers import no_convergence_warning


# --------------------------------------------------------------------------- API contract
def test_hyperparameters_stored_untouched():
    sizes = [5, 3]
    opt = bp.SGD(lr=0.5, momentum=0.9)
    clf = BackpropClassifier(hidden_layer_sizes=sizes, solver=opt, learning_rate_init=0.01,
                             dtype=np.float64)
    params = clf.get_params()
    assert params["hidden_layer_sizes"] is sizes and params["solver"] is opt
    assert params["dtype"] is np.float64
    X, y = make_blobs(40, centers=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.hidden_layer_sizes is sizes and sizes == [5, 3]
    assert opt.lr == 0.5 and opt.state["step"] == 0  # the template is copied, never trained
    trained = clf._optimizer.optimizer
    assert trained is not opt and trained.lr == clf._optimizer.learning_rate == 0.01
    assert trained.momentum == 0.9 and trained.state["step"] > 0


@pytest.mark.parametrize("param, value, match", [
    ("hidden_layer_sizes", (3, 0), "hidden_layer_sizes"),
    ("activation", "softmax", "activation"),
    ("solver", "newton", r"solver must be 'lbfgs', one of \["),
    ("alpha", -1.0, "alpha"),
    ("batch_size", 0, "batch_size"),
    ("learning_rate", 0.01, r"learning_rate must be one of \['adaptive', 'constant'"),
    ("learning_rate_init", 0.0, "learning_rate_init"),
    ("power_t", -0.5, "power_t"),
    ("max_iter", 0, "max_iter"),
    ("tol", -1e-3, "tol"),
    ("random_state", "seed", "random_state"),
    ("momentum", 1.5, "momentum"),
    ("validation_fraction", 1.0, "validation_fraction"),
    ("beta_1", 1.0, "beta_1"),
    ("beta_2", -0.1, "beta_2"),
    ("epsilon", 0.0, "epsilon"),
    ("n_iter_no_change", 2.5, "n_iter_no_change must be a positive integer or inf"),
    ("n_iter_no_change", 0, "n_iter_no_change"),
    ("max_fun", 0, "max_fun"),
    ("init", "zeros", "init"),
    ("dropout", 1.0, "dropout"),
    ("dtype", "float16", "dtype"),
])
def test_invalid_hyperparameters_raise_at_fit(param, value, match):
    X, y = make_blobs(30, centers=2, random_state=0)
    clf = BackpropClassifier(early_stopping=True, **{param: value})  # __init__ never validates
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    assert not hasattr(clf, "network_")


def test_regressor_loss_and_solver_conflicts_raise_at_fit():
    X, y = make_blobs(30, centers=2, random_state=0)
    with pytest.raises(ValueError, match=r"loss must be one of \['poisson', 'squared_error'\]"):
        BackpropRegressor(loss="huber").fit(X, y)
    with pytest.raises(ValueError, match="poisson targets must be non-negative; y has -1.0"):
        BackpropRegressor(loss="poisson").fit(X, y - 1.0)
    with pytest.raises(ValueError, match="dropout=0.5 needs a stochastic solver"):
        BackpropClassifier(solver="lbfgs", dropout=0.5).fit(X, y)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        BackpropClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1])
    # as in scikit-learn, the L-BFGS estimators have no partial_fit at all
    assert not hasattr(BackpropClassifier(solver="lbfgs"), "partial_fit")
    assert not hasattr(BackpropRegressor(solver="LBFGS"), "partial_fit")
    assert hasattr(BackpropRegressor(solver="sgd"), "partial_fit")


@no_convergence_warning
def test_sklearn_activation_names_and_alpha():
    X, y = make_blobs(60, centers=2, random_state=0)
    clf = BackpropClassifier(activation="logistic", max_iter=2).fit(X, y)
    assert clf.network_.layers[0].activation.name == "sigmoid"
    assert clf.network_.l2 == 1e-4 and clf.network_.l2_per_sample
    # alpha as scikit-learn defines it (divided by the batch's rows): on digits, alpha=1.0
    # regularises as much as MLPClassifier's (a penalty 200 times stronger scored 0.10)
    X, y = load_digits(return_X_y=True)
    X = X / 16
    kw = dict(hidden_layer_sizes=(32,), alpha=1.0, max_iter=30, random_state=0)
    ours = BackpropClassifier(**kw).fit(X[:1200], y[:1200]).score(X[1200:], y[1200:])
    theirs = MLPClassifier(**kw).fit(X[:1200], y[:1200]).score(X[1200:], y[1200:])
    assert ours > 0.85 and abs(ours - theirs) < 0.03, (ours, theirs)


# --------------------------------------------------------------------------- the table
@pytest.mark.parametrize("Est", [BackpropClassifier, BackpropRegressor])
def test_every_hyperparameter_has_one_rule(Est):
    assert set(Est().get_params()) == set(Est._param_rules)
    assert set(Est._architecture_names) <= set(Est._param_rules)
    assert set(ARCHITECTURE) <= set(PARAM_RULES)
    # scikit-learn's own parameters, with its defaults, and then ours
    theirs = (MLPClassifier if Est is BackpropClassifier else MLPRegressor)().get_params()
    ours = Est().get_params()
    assert {k: ours[k] for k in theirs} == theirs
    assert set(ours) - set(theirs) == {"init", "dropout", "dtype"}


def test_rules_normalise_equal_settings_to_equal_values():
    a = check_params(BackpropClassifier(hidden_layer_sizes=5, activation="logistic",
                                        init="xavier", dtype=np.float32,
                                        solver="SGD").get_params())
    b = check_params(BackpropClassifier(hidden_layer_sizes=(5,), activation="sigmoid",
                                        init="glorot_uniform", dtype="float32").get_params())
    assert {k: a[k] for k in ARCHITECTURE} == {k: b[k] for k in ARCHITECTURE} == {
        "hidden_layer_sizes": [5], "activation": "sigmoid", "init": "glorot_uniform",
        "dropout": 0.0, "dtype": "float32"}
    assert a["solver"] == "sgd" and a["n_iter_no_change"] == 10
    assert check_params({"n_iter_no_change": np.inf}, ["n_iter_no_change"]) == {
        "n_iter_no_change": float("inf")}
    # validation_fraction is checked only with early_stopping
    assert check_params({"early_stopping": False, "validation_fraction": 2.0},
                        ["validation_fraction"]) == {"validation_fraction": 2.0}
    with pytest.raises(ValueError, match=r"validation_fraction must be a number in \(0, 1\)"):
        check_params({"early_stopping": True, "validation_fraction": 2.0},
                     ["validation_fraction"])
