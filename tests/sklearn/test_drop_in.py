"""backprop.sklearn as a drop-in for MLPClassifier / MLPRegressor: with the same settings and an
int random_state, the deterministic paths (L-BFGS; SGD without shuffling) follow scikit-learn's
to float rounding; the fitted attributes, learning-rate schedules, coefs_/intercepts_ and the
edge cases (one class, divergence, n_iter_no_change=inf) behave as scikit-learn's."""

import math
import pickle

import numpy as np
import pytest
from sklearn.datasets import (
    load_breast_cancer,
    load_iris,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

import backprop as bp
from backprop.sklearn import BackpropClassifier, BackpropRegressor
from helpers import no_convergence_warning

X_IRIS, Y_IRIS = load_iris(return_X_y=True)
X_IRIS = StandardScaler().fit_transform(X_IRIS)
X_CANCER, Y_CANCER = load_breast_cancer(return_X_y=True)
X_CANCER = StandardScaler().fit_transform(X_CANCER)
X_ML, Y_ML = make_multilabel_classification(60, n_classes=4, random_state=0)
X_REG, Y_REG = make_regression(80, n_features=5, random_state=0)
Y_REG = Y_REG / 100

#: (ours, scikit-learn's, X, y, extra parameters): every target kind and loss
PROBLEMS = {
    "multiclass": (BackpropClassifier, MLPClassifier, X_IRIS, Y_IRIS, {}),
    "binary": (BackpropClassifier, MLPClassifier, X_CANCER, Y_CANCER, {}),
    "multilabel": (BackpropClassifier, MLPClassifier, X_ML, Y_ML, {}),
    "squared_error": (BackpropRegressor, MLPRegressor, X_REG, Y_REG, {}),
    "multioutput": (BackpropRegressor, MLPRegressor, X_REG, np.c_[Y_REG, -2 * Y_REG], {}),
    "poisson": (BackpropRegressor, MLPRegressor, X_REG, np.abs(Y_REG), {"loss": "poisson"}),
}


def _both(name, **params):
    ours, theirs, X, y, extra = PROBLEMS[name]
    kw = {**extra, **params}
    return ours(**kw).fit(X, y), theirs(**kw).fit(X, y), X


def _max_diff(a, b):
    return max(np.abs(p - q).max() for p, q in zip(a.coefs_ + a.intercepts_,
                                                     b.coefs_ + b.intercepts_))


# --------------------------------------------------------------------------- the same numbers
@no_convergence_warning
@pytest.mark.parametrize("name", sorted(set(PROBLEMS) - {"multioutput"}))
def test_lbfgs_follows_scikit_learn_to_rounding(name):
    # the same initial network (init="sklearn"), the same cost and gradient: the same path.
    # (Not for several regression outputs: scikit-learn hands L-BFGS the squared error
    # averaged over the outputs with the gradient of their sum; our cost is the sum.)
    ours, theirs, X = _both(name, hidden_layer_sizes=(8,), activation="tanh", solver="lbfgs",
                            max_iter=20, random_state=0)
    assert ours.n_iter_ == theirs.n_iter_ == 20
    assert _max_diff(ours, theirs) < 1e-10
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-10)
    np.testing.assert_allclose(ours.predict_proba(X) if hasattr(ours, "predict_proba")
                               else ours.predict(X),
                               theirs.predict_proba(X) if hasattr(theirs, "predict_proba")
                               else theirs.predict(X), rtol=1e-9, atol=1e-12)


@no_convergence_warning
@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_sgd_without_shuffling_follows_scikit_learn_to_rounding(name):
    # batches of 32 leave a smaller last batch, whose L2 term (alpha / 2 S) is heavier: the
    # penalty is scikit-learn's only if it is divided by each batch's own size
    ours, theirs, _ = _both(name, hidden_layer_sizes=(8,), solver="sgd", shuffle=False,
                            batch_size=32, alpha=0.5, learning_rate_init=0.01, momentum=0.9,
                            max_iter=6, random_state=0)
    assert _max_diff(ours, theirs) < 1e-12
    assert ours.t_ == theirs.t_ and ours.n_iter_ == theirs.n_iter_ == 6
    # loss_curve_ in scikit-learn's units (the L2 term included); for several outputs it
    # reports the loss averaged over them, while the gradient (its and ours) is of their sum,
    # which we report
    if name == "multioutput":
        assert all(a > b for a, b in zip(ours.loss_curve_, theirs.loss_curve_))
    else:
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-12)


@no_convergence_warning
@pytest.mark.parametrize("schedule", ["constant", "invscaling", "adaptive"])
def test_learning_rate_schedules_follow_scikit_learn(schedule):
    kw = dict(hidden_layer_sizes=(4,), solver="sgd", shuffle=False, learning_rate=schedule,
              learning_rate_init=0.05, power_t=0.3, tol=0.5, n_iter_no_change=2, max_iter=60,
              random_state=0)
    ours = BackpropClassifier(**kw).fit(X_IRIS, Y_IRIS)
    theirs = MLPClassifier(**kw).fit(X_IRIS, Y_IRIS)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours._optimizer.learning_rate == pytest.approx(theirs._optimizer.learning_rate,
                                                          rel=1e-12)
    if schedule == "invscaling":
        assert ours._optimizer.learning_rate == 0.05 / (ours.t_ + 1) ** 0.3
    if schedule == "adaptive":  # divided by 5 until at most 1e-6, then stopped
        assert 1e-6 / 5 < ours._optimizer.learning_rate <= 1e-6
    # Adam ignores the schedule, as scikit-learn's does
    adam = BackpropClassifier(**{**kw, "solver": "adam"}).fit(X_IRIS, Y_IRIS)
    assert adam._optimizer.learning_rate == 0.05


@no_convergence_warning
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("early_stopping", [False, True])
def test_fitted_attributes_are_scikit_learns(solver, early_stopping):
    kw = dict(hidden_layer_sizes=(5, 3), solver=solver, early_stopping=early_stopping,
              max_iter=15, random_state=0)
    ours = BackpropClassifier(**kw).fit(X_IRIS, Y_IRIS)
    theirs = MLPClassifier(**kw).fit(X_IRIS, Y_IRIS)
    fitted = {k for k in vars(theirs) if k.endswith("_") and not k.startswith("_")}
    assert fitted <= set(vars(ours)), fitted - set(vars(ours))
    for name in ("n_layers_", "n_outputs_", "out_activation_", "n_features_in_"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    assert [b.shape for b in ours.intercepts_] == [b.shape for b in theirs.intercepts_]
    for name in ("validation_scores_", "best_validation_score_", "best_loss_"):
        if hasattr(theirs, name):
            assert (getattr(ours, name) is None) == (getattr(theirs, name) is None), name


@no_convergence_warning
def test_lbfgs_ignores_early_stopping_as_scikit_learn_does():
    kw = dict(hidden_layer_sizes=(8,), activation="tanh", solver="lbfgs", max_iter=20,
              random_state=0)
    plain = BackpropClassifier(**kw).fit(X_IRIS, Y_IRIS)
    es = BackpropClassifier(early_stopping=True, **kw).fit(X_IRIS, Y_IRIS)
    theirs = MLPClassifier(early_stopping=True, **kw).fit(X_IRIS, Y_IRIS)
    assert _max_diff(es, plain) == 0 and _max_diff(es, theirs) < 1e-10  # every row trained
    assert es.validation_scores_ is None and es.best_validation_score_ is None
    assert es.best_loss_ == min(es.loss_curve_) and len(es.loss_curve_) == es.n_iter_


# --------------------------------------------------------------------------- coefs_, intercepts_
@no_convergence_warning
def test_coefs_are_the_networks_arrays_and_replacements_are_used():
    clf = BackpropClassifier(hidden_layer_sizes=(6,), max_iter=5, random_state=0)
    clf.fit(X_IRIS, Y_IRIS)
    dense = [la for la in clf.network_.layers if "W" in la.params]
    assert all(c is la.params["W"] for c, la in zip(clf.coefs_, dense))
    assert all(b is la.params["b"] for b, la in zip(clf.intercepts_, dense))
    # they follow training (the optimizer updates them in place)
    before = clf.coefs_[0].copy()
    clf.partial_fit(X_IRIS, Y_IRIS)
    assert not np.array_equal(before, clf.coefs_[0])
    # an array put in their place is what predict uses
    z = X_IRIS @ clf.coefs_[0] + clf.intercepts_[0]
    clf.coefs_[1] = np.zeros_like(clf.coefs_[1])
    clf.intercepts_[1] = np.array([0.0, 5.0, 0.0])
    assert np.all(clf.predict(X_IRIS) == 1)
    assert clf.coefs_[1] is dense[1].params["W"] and np.all(dense[1].params["b"] == [0, 5, 0])
    np.testing.assert_allclose(X_IRIS @ clf.coefs_[0] + clf.intercepts_[0], z)
    # and a wrong one is refused, changing nothing
    clf.coefs_[0] = np.ones((3, 6))
    with pytest.raises(ValueError, match=r"coefs_\[0\] must be a numeric array of shape "
                                         r"\(4, 6\), got float64 \(3, 6\)"):
        clf.predict(X_IRIS)
    assert np.all(dense[1].params["b"] == [0, 5, 0])


def test_weights_set_before_the_first_partial_fit_are_used():
    # scikit-learn's test_fit, on a two-class problem: one SGD step from given weights
    clf = BackpropClassifier(solver="sgd", learning_rate_init=0.1, alpha=0.1, momentum=0,
                             activation="logistic", hidden_layer_sizes=2, random_state=1)
    W0, b0 = np.array([[0.1, 0.2], [0.3, 0.1], [0.5, 0.0]]), np.array([0.1, 0.1])
    W1, b1 = np.array([[0.1], [0.2]]), np.array([1.0])
    clf.coefs_, clf.intercepts_, clf.n_outputs_ = [W0, W1], [b0, b1], 1
    X, y = np.array([[0.6, 0.8, 0.7]]), np.array([0])
    clf.partial_fit(X, y, classes=[0, 1])
    # by hand: sigmoid layers, dz2 = a2 - y, L2 gradient alpha W (one sample: S = 1)
    a1 = 1 / (1 + np.exp(-(X @ W0 + b0)))
    a2 = 1 / (1 + np.exp(-(a1 @ W1 + b1)))
    dz2 = a2 - y[:, None]
    dz1 = dz2 @ W1.T * a1 * (1 - a1)
    np.testing.assert_allclose(clf.coefs_[1], W1 - 0.1 * (a1.T @ dz2 + 0.1 * W1), rtol=1e-12)
    np.testing.assert_allclose(clf.coefs_[0], W0 - 0.1 * (X.T @ dz1 + 0.1 * W0), rtol=1e-12)
    np.testing.assert_allclose(clf.intercepts_[0], b0 - 0.1 * dz1[0], rtol=1e-12)
    assert clf.t_ == 1 and clf.n_iter_ == 1 and clf.coefs_[0] is not W0


@no_convergence_warning
def test_pickles_keep_coefs_bound_to_the_network():
    clf = BackpropClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    clf.fit(X_IRIS, Y_IRIS)
    copy = pickle.loads(pickle.dumps(clf))
    dense = [la for la in copy.network_.layers if "W" in la.params]
    assert all(c is la.params["W"] for c, la in zip(copy.coefs_, dense))
    copy.coefs_[0][:] = 0  # in place: the network sees it
    assert np.all(dense[0].params["W"] == 0)


# --------------------------------------------------------------------------- edge cases
@no_convergence_warning
def test_one_class_is_fitted_and_predicted():
    y = np.full(len(Y_IRIS), "setosa")
    clf = BackpropClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    clf.fit(X_IRIS, y)
    assert clf.classes_.tolist() == ["setosa"] and clf.n_outputs_ == 1
    assert np.all(clf.predict(X_IRIS) == "setosa") and clf.score(X_IRIS, y) == 1.0
    proba = clf.predict_proba(X_IRIS)
    assert proba.shape == (len(y), 1) and np.all(proba == 1.0)
    assert np.all(clf.predict_log_proba(X_IRIS) == 0.0)
    with pytest.raises(ValueError, match="fitted on one class .* cannot be saved"):
        clf.save("unused.safetensors")


def test_n_iter_no_change_inf_runs_every_epoch():
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(40\)"):
        clf = BackpropClassifier(hidden_layer_sizes=(4,), tol=1e9, n_iter_no_change=np.inf,
                                 max_iter=40, random_state=0).fit(X_IRIS, Y_IRIS)
    assert clf.n_iter_ == 40 and len(clf.loss_curve_) == 40


@no_convergence_warning
def test_divergence_under_early_stopping_records_nan_and_keeps_the_best_weights():
    reg = BackpropRegressor(hidden_layer_sizes=(50,), activation="identity", solver="sgd",
                            learning_rate_init=1.0, early_stopping=True, max_iter=20,
                            random_state=0)
    reg.fit(X_IRIS * 10, Y_IRIS.astype(float))
    scores = reg.validation_scores_
    assert math.isnan(scores[-1]) and math.isnan(reg.loss_curve_[-1])
    assert len(scores) == len(reg.loss_curve_) == reg.n_iter_
    finite = [s for s in scores if not math.isnan(s)]
    assert reg.best_validation_score_ == max(finite)
    assert all(np.isfinite(c).all() for c in reg.coefs_)  # the best epoch's weights
    # without early stopping: scikit-learn's error, with ours (where and why) after it
    with pytest.raises(ValueError, match=r"Solver produced non-finite parameter weights\..*"
                                         r"training diverged at epoch \d+/20"):
        BackpropRegressor(hidden_layer_sizes=(50,), activation="identity", solver="sgd",
                          learning_rate_init=1.0, max_iter=20,
                          random_state=0).fit(X_IRIS * 10, Y_IRIS.astype(float))


@no_convergence_warning
def test_our_solvers_and_optimizer_templates():
    template = bp.SGD(lr=0.5, momentum=0.5, weight_decay=1e-3)
    for solver in ("adamw", "rmsprop", "gd", template):
        clf = BackpropClassifier(hidden_layer_sizes=(8,), solver=solver, learning_rate_init=0.05,
                                 max_iter=30, random_state=0).fit(X_IRIS, Y_IRIS)
        assert clf.score(X_IRIS, Y_IRIS) > 0.7, solver
        assert clf._optimizer.learning_rate == 0.05
    assert template.lr == 0.5 and template.state["step"] == 0  # copied, never trained
