"""backprop.sklearn: targets and outputs (binary, multiclass, multi-label, multi-output
regression), precision, feature names and pickling."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import (
    load_breast_cancer,
    load_wine,
    make_blobs,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import DataConversionWarning
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

import backprop as bp
from backprop.sklearn import BackpropClassifier, BackpropRegressor
from helpers import no_convergence_warning


# --------------------------------------------------------------------------- targets and outputs
@no_convergence_warning
def test_string_labels_binary_network_and_outputs():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    labels = np.array(["malignant", "benign"])[y]
    clf = BackpropClassifier(hidden_layer_sizes=(8,), random_state=0).fit(X, labels)
    assert clf.classes_.tolist() == ["benign", "malignant"]
    out = clf.network_.layers[-1]
    assert (out.n_out, out.activation.name, clf.network_.loss.name) == (
        1, "sigmoid", "binary_crossentropy")
    proba = clf.predict_proba(X)
    assert proba.shape == (len(y), 2) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-10, atol=1e-12)
    # decision_function is the logit of classes_[1]: its sign decides the prediction
    z = clf.decision_function(X)
    assert z.shape == (len(y),)
    assert np.array_equal(clf.predict(X), clf.classes_[(z > 0).astype(int)])
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-z)), rtol=1e-12)
    assert clf.score(X, labels) > 0.97
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 1  # scikit-learn's name


@no_convergence_warning
def test_multiclass_softmax_and_stable_log_proba():
    X, y = make_blobs(200, centers=4, cluster_std=0.5, random_state=0)
    X = StandardScaler().fit_transform(X)
    clf = BackpropClassifier(hidden_layer_sizes=(16,), random_state=0).fit(X, y + 10)
    assert clf.classes_.tolist() == [10, 11, 12, 13]
    assert clf.network_.loss.name == "categorical_crossentropy"
    assert clf.network_.layers[-1].activation.name == "softmax" and clf.n_outputs_ == 4
    assert clf.score(X, y + 10) > 0.95
    far = X[:3] * 1e4  # saturated softmax: probabilities underflow, log-probabilities do not
    log_proba = clf.predict_log_proba(far)
    assert np.all(np.isfinite(log_proba))
    np.testing.assert_allclose(np.exp(log_proba), clf.predict_proba(far), atol=1e-300)


@no_convergence_warning
def test_multilabel_indicator_targets():
    X, Y = make_multilabel_classification(300, n_features=10, n_classes=4, random_state=0)
    X = StandardScaler().fit_transform(X)
    clf = BackpropClassifier(hidden_layer_sizes=(32,), random_state=0).fit(X, Y)
    assert clf.classes_.tolist() == [0, 1, 2, 3]
    assert clf.network_.layers[-1].n_out == 4
    assert clf.network_.layers[-1].activation.name == "sigmoid"
    # the labels' binary cross-entropies summed, as scikit-learn's multi-label log loss
    assert clf.network_.loss.name == "multilabel_crossentropy"
    pred = clf.predict(X)
    assert pred.shape == Y.shape and pred.dtype == Y.dtype
    proba = clf.predict_proba(X)
    assert proba.shape == Y.shape
    assert np.array_equal(pred, (proba > 0.5).astype(Y.dtype))
    # per-label training accuracy, against MLPClassifier's on the same multi-label problem
    mlp = MLPClassifier(hidden_layer_sizes=(32,), random_state=0).fit(X, Y)
    assert np.mean(pred == Y) >= np.mean(mlp.predict(X) == Y) - 0.02 and np.mean(pred == Y) > 0.8
    # partial_fit learns the same kind of target without `classes`
    pf = BackpropClassifier(hidden_layer_sizes=(8,), random_state=0).partial_fit(X, Y)
    assert pf.predict(X[:5]).shape == (5, 4)
    with pytest.raises(ValueError, match="multi-label"):
        BackpropClassifier().partial_fit(X, Y, classes=["a", "b"])


def test_multiclass_multioutput_target_is_rejected():
    X = np.random.default_rng(0).normal(size=(20, 3))
    Y = np.column_stack([np.arange(20) % 3, np.arange(20) % 2])
    with pytest.raises(ValueError, match="multiclass-multioutput"):
        BackpropClassifier(max_iter=1).fit(X, Y)


@no_convergence_warning
def test_regressor_multioutput_half_squared_error_and_output_shapes():
    X, Y = make_regression(300, n_features=8, n_targets=3, noise=1.0, random_state=0)
    Y = StandardScaler().fit_transform(Y)  # the target as it is, as in scikit-learn: scale it
    reg = BackpropRegressor(hidden_layer_sizes=(32,), max_iter=150, random_state=0).fit(X, Y)
    assert reg.network_.layers[-1].activation.name == "linear"
    assert reg.network_.loss.name == "half_squared_error" and reg.n_outputs_ == 3
    assert reg.out_activation_ == "identity"
    pred = reg.predict(X)
    assert pred.shape == Y.shape and pred.dtype == np.float64
    assert reg.score(X, Y) > 0.95
    # loss_ is the cost of the last epoch: half the squared error summed over the outputs,
    # averaged over the rows, plus (alpha / 2 n) sum ||W||^2 (one batch of all 300 rows)
    full = BackpropRegressor(hidden_layer_sizes=(8,), batch_size=300, max_iter=1,
                             random_state=0, learning_rate_init=1e-12).fit(X, Y)
    half_se = 0.5 * np.sum((full.predict(X) - Y) ** 2, axis=1).mean()
    penalty = 1e-4 / (2 * 300) * sum(np.sum(c ** 2) for c in full.coefs_)
    assert full.loss_ == pytest.approx(half_se + penalty, rel=1e-9)
    # a column-vector y is flattened with scikit-learn's warning, and so are predictions
    y = Y[:, 0]
    assert BackpropRegressor(max_iter=2).fit(X, y).predict(X).shape == (300,)
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        assert BackpropRegressor(max_iter=2).fit(X, y[:, None]).predict(X).shape == (300,)
    # float32 data, float32 network and predictions (as scikit-learn's MLPRegressor)
    reg32 = BackpropRegressor(max_iter=2, random_state=0).fit(X.astype(np.float32), y)
    assert reg32.predict(X.astype(np.float32)).dtype == np.float32
    assert all(c.dtype == np.float32 for c in reg32.coefs_ + reg32.intercepts_)


@no_convergence_warning
def test_dtype_option():
    X, y = make_blobs(50, centers=2, random_state=0)
    assert BackpropClassifier(max_iter=2).fit(X, y).network_.dtype == np.float64  # auto
    assert BackpropClassifier(max_iter=2).fit(X.astype(np.float32), y).network_.dtype == \
        np.float32
    assert BackpropClassifier(max_iter=2, dtype="float32").fit(X, y).network_.dtype == np.float32
    clf = BackpropClassifier(max_iter=2, dtype=np.float64).fit(X, y)
    assert all(p.dtype == np.float64 for p in clf.network_.parameters())


@no_convergence_warning
def test_dataframe_feature_names():
    X, y = load_wine(return_X_y=True, as_frame=True)
    clf = BackpropClassifier(max_iter=5, random_state=0).fit(X, y)
    assert clf.feature_names_in_.tolist() == X.columns.tolist() and clf.n_features_in_ == 13
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(X.rename(columns={X.columns[0]: "other"}))
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        assert np.array_equal(clf.predict(X), clf.predict(X.to_numpy()))
    assert np.array_equal(clf.predict(X), clf.predict(pd.DataFrame(X)))


@no_convergence_warning
def test_pickle_round_trip_and_continued_training():
    X, y = make_blobs(80, centers=3, random_state=0)
    clf = BackpropClassifier(hidden_layer_sizes=(8,), dropout=0.1, max_iter=5,
                             random_state=0).fit(X, y)
    copy = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(copy.predict_proba(X), clf.predict_proba(X))
    assert copy.get_params() == clf.get_params()
    clf.partial_fit(X, y)
    copy.partial_fit(X, y)  # optimizer state, dropout and shuffling generators all pickled
    assert np.array_equal(copy.predict_proba(X), clf.predict_proba(X))
    reg = BackpropRegressor(max_iter=5, random_state=0).fit(X, y.astype(float))
    assert np.array_equal(pickle.loads(pickle.dumps(reg)).predict(X), reg.predict(X))
    unfitted = pickle.loads(pickle.dumps(BackpropRegressor(alpha=0.5)))
    assert clone(unfitted).alpha == 0.5


def test_network_pickles():
    # core: registered activations pickle by name, so any network pickles
    net = bp.mlp([4, 6, 3], activation="tanh", output="softmax", dropout=0.2, seed=0)
    X = np.random.default_rng(0).normal(size=(5, 4))
    copy = pickle.loads(pickle.dumps(net))
    assert np.array_equal(copy.predict(X), net.predict(X))
    assert copy.layers[0].activation is bp.ACTIVATIONS["tanh"]
