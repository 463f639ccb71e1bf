"""backprop.sklearn: scikit-learn's estimator checks, accuracy against MLPClassifier /
MLPRegressor in pipelines, grid search and cross-validation, and the estimators' own contract."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_wine,
    make_blobs,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    StratifiedKFold,
    cross_val_score,
    train_test_split,
)
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import backprop as bp
import backprop.sklearn as bsk
from backprop.sklearn import BackpropClassifier, BackpropRegressor

no_convergence_warning = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


# --------------------------------------------------------------------------- estimator checks
# The whole default suite on default-constructed estimators, nothing marked as expected to
# fail and nothing skipped.  With dtype="auto" they train in float64 on the checks' float64
# data, as scikit-learn's MLP does; two checks (sample_weight == repeated rows, predictions
# invariant to the batch they are computed in) compare at rtol=1e-7, below float32's resolution,
# so float32 training is held to the same properties at float32 tolerance by
# test_float32_sample_weight_equals_repetition and test_float32_predictions_batch_invariant.
@no_convergence_warning
@parametrize_with_checks([BackpropClassifier(), BackpropRegressor()])
def test_sklearn_estimator_checks(estimator, check, monkeypatch):
    # check_array_api_input (NumPy namespace, which estimators without array API support must
    # pass) only runs when SCIPY_ARRAY_API is set.
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    check(estimator)


# --------------------------------------------------------------------------- accuracy vs sklearn
# loader and epochs (the same for both libraries; the two larger sets get fewer, to save time)
DATASETS = {"breast_cancer": (load_breast_cancer, 100), "digits": (load_digits, 100),
            "wine": (load_wine, 200)}
HIDDEN, EPOCHS, SEEDS = (64,), 200, (0, 1, 2)


def _pipe(est):
    return Pipeline([("scale", StandardScaler()), ("clf", est)])


def _ours(seed, epochs):
    return BackpropClassifier(hidden_layer_sizes=HIDDEN, epochs=epochs, random_state=seed)


def _theirs(seed, epochs):
    return MLPClassifier(hidden_layer_sizes=HIDDEN, max_iter=epochs, random_state=seed)


@no_convergence_warning
@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_cross_val_accuracy_matches_mlpclassifier(dataset):
    loader, epochs = DATASETS[dataset]
    X, y = loader(return_X_y=True)

    def cv_accuracy(make):
        return np.mean([
            cross_val_score(_pipe(make(s, epochs)), X, y, cv=StratifiedKFold(5, shuffle=True,
                                                                      random_state=s)).mean()
            for s in SEEDS
        ])

    ours, theirs = cv_accuracy(_ours), cv_accuracy(_theirs)
    assert ours >= theirs - 0.01, (dataset, ours, theirs)
    assert ours > 0.9


@no_convergence_warning
@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_grid_search_accuracy_matches_mlpclassifier(dataset):
    loader, epochs = DATASETS[dataset]
    X, y = loader(return_X_y=True)
    grid = {"clf__hidden_layer_sizes": [(16,), HIDDEN]}
    best, held_out = {}, {}
    for make in (_ours, _theirs):
        runs = []
        for seed in SEEDS[:2]:
            X_train, X_test, y_train, y_test = train_test_split(
                X, y, test_size=0.25, random_state=seed, stratify=y)
            search = GridSearchCV(_pipe(make(seed, epochs)), grid, n_jobs=2,
                                  cv=StratifiedKFold(3, shuffle=True, random_state=seed))
            search.fit(X_train, y_train)
            runs.append((search.best_score_, search.score(X_test, y_test)))
        best[make], held_out[make] = np.mean(runs, axis=0)
    assert best[_ours] >= best[_theirs] - 0.01, (best[_ours], best[_theirs])
    assert isinstance(search.best_estimator_[-1], MLPClassifier)
    assert held_out[_ours] > 0.95, held_out


@no_convergence_warning
def test_diabetes_r2_matches_mlpregressor():
    X, y = load_diabetes(return_X_y=True)

    def cv_r2(make):
        return np.mean([
            cross_val_score(Pipeline([("scale", StandardScaler()), ("reg", make(s))]), X, y,
                            cv=KFold(5, shuffle=True, random_state=s)).mean()
            for s in SEEDS
        ])

    ours = cv_r2(lambda s: BackpropRegressor(hidden_layer_sizes=HIDDEN, epochs=EPOCHS,
                                             random_state=s))
    mlp = cv_r2(lambda s: MLPRegressor(hidden_layer_sizes=HIDDEN, max_iter=EPOCHS,
                                       random_state=s))
    # MLPRegressor on the raw target is a weak baseline; also hold ours to MLPRegressor on a
    # standardised target, which is what BackpropRegressor does internally.
    mlp_scaled = cv_r2(lambda s: TransformedTargetRegressor(
        MLPRegressor(hidden_layer_sizes=HIDDEN, max_iter=EPOCHS, random_state=s),
        transformer=StandardScaler()))
    assert ours >= max(mlp, mlp_scaled) - 0.02, (ours, mlp, mlp_scaled)
    assert ours > 0.4


@no_convergence_warning
def test_partial_fit_over_chunks_reaches_fit_accuracy():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0,
                                                        stratify=y)
    fitted = BackpropClassifier(hidden_layer_sizes=HIDDEN, epochs=60, random_state=0)
    acc_fit = fitted.fit(X_train, y_train).score(X_test, y_test)

    streamed = BackpropClassifier(hidden_layer_sizes=HIDDEN, random_state=0)
    chunks = np.array_split(np.arange(len(y_train)), 7)
    for epoch in range(fitted.n_iter_):
        for i, idx in enumerate(chunks):
            streamed.partial_fit(X_train[idx], y_train[idx],
                                 classes=np.unique(y) if epoch == i == 0 else None)
    acc_partial = streamed.score(X_test, y_test)
    assert acc_fit > 0.95
    assert abs(acc_partial - acc_fit) <= 0.02, (acc_partial, acc_fit)
    assert streamed.n_iter_ == fitted.n_iter_ * len(chunks)


# --------------------------------------------------------------------------- determinism
@no_convergence_warning
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_random_state_gives_identical_predictions(dtype):
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    # dropout, shuffling, the validation split and the initial weights all draw randomness
    params = dict(hidden_layer_sizes=(16, 8), dropout=0.2, early_stopping=True, batch_size=32,
                  epochs=30, dtype=dtype)
    a = BackpropClassifier(random_state=7, **params).fit(X, y)
    b = BackpropClassifier(random_state=7, **params).fit(X, y)
    c = BackpropClassifier(random_state=8, **params).fit(X, y)
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.loss_curve_ == b.loss_curve_ and a.validation_scores_ == b.validation_scores_
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))
    r1 = BackpropRegressor(random_state=3, dropout=0.1, epochs=20, dtype=dtype).fit(X, y)
    r2 = BackpropRegressor(random_state=3, dropout=0.1, epochs=20, dtype=dtype).fit(X, y)
    assert np.array_equal(r1.predict(X), r2.predict(X))


@no_convergence_warning
def test_random_state_accepts_generator_and_randomstate():
    X, y = make_blobs(60, centers=2, random_state=0)
    a = BackpropClassifier(epochs=3, random_state=np.random.RandomState(5)).fit(X, y)
    b = BackpropClassifier(epochs=3, random_state=np.random.RandomState(5)).fit(X, y)
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X))
    gen = np.random.default_rng(1)
    c = BackpropClassifier(epochs=3, random_state=gen).fit(X, y)
    d = BackpropClassifier(epochs=3, random_state=np.random.default_rng(1)).fit(X, y)
    assert np.array_equal(c.predict_proba(X), d.predict_proba(X))


# --------------------------------------------------------------------------- float32 precision
@no_convergence_warning
@pytest.mark.parametrize("Est", [BackpropClassifier, BackpropRegressor])
def test_float32_sample_weight_equals_repetition(Est):
    rng = np.random.RandomState(42)
    X, y = rng.rand(15, 30), rng.randint(0, 3, size=15)
    sw = rng.randint(0, 5, size=15)
    repeated = Est(random_state=0, dtype="float32").fit(X.repeat(sw, axis=0), y.repeat(sw))
    weighted = Est(random_state=0, dtype="float32").fit(X, y, sample_weight=sw)
    assert repeated.network_.dtype == np.float32
    method = "predict_proba" if Est is BackpropClassifier else "predict"
    np.testing.assert_allclose(getattr(weighted, method)(X), getattr(repeated, method)(X),
                               rtol=1e-4, atol=1e-6)


@no_convergence_warning
def test_float32_predictions_batch_invariant():
    X, y = make_blobs(40, centers=3, random_state=0)
    clf = BackpropClassifier(random_state=0, epochs=20).fit(X.astype(np.float32), y)
    assert clf.network_.dtype == np.float32  # "auto" follows float32 data
    full = clf.predict_proba(X)
    one_by_one = np.vstack([clf.predict_proba(row[None]) for row in X])
    np.testing.assert_allclose(full, one_by_one, rtol=1e-5, atol=1e-6)
    assert np.array_equal(clf.predict(X), np.concatenate([clf.predict(r[None]) for r in X]))


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
    assert clf.out_activation_ == "sigmoid" and clf.n_outputs_ == 1


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
    assert clf.network_.loss.name == "binary_crossentropy"
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
        BackpropClassifier(epochs=1).fit(X, Y)


@no_convergence_warning
def test_regressor_multioutput_and_target_standardisation():
    X, Y = make_regression(300, n_features=8, n_targets=3, noise=1.0, random_state=0)
    Y = Y * [1.0, 100.0, 0.01] + [0.0, 5000.0, -3.0]  # very different scales
    reg = BackpropRegressor(hidden_layer_sizes=(32,), epochs=150, random_state=0).fit(X, Y)
    assert reg.network_.layers[-1].activation.name == "linear"
    assert reg.network_.loss.name == "mse" and reg.n_outputs_ == 3
    pred = reg.predict(X)
    assert pred.shape == Y.shape and pred.dtype == np.float64
    assert reg.score(X, Y) > 0.95
    # an affine change of the target changes the predictions the same way (float64 run)
    y = Y[:, 0]
    a = BackpropRegressor(epochs=20, random_state=0, dtype="float64").fit(X, y)
    b = BackpropRegressor(epochs=20, random_state=0, dtype="float64").fit(X, 7 * y + 300)
    np.testing.assert_allclose(b.predict(X), 7 * a.predict(X) + 300, rtol=1e-6, atol=1e-6)
    assert a.predict(X).shape == (300,)
    assert BackpropRegressor(epochs=2).fit(X, y[:, None]).predict(X).shape == (300, 1)


@no_convergence_warning
def test_dtype_option():
    X, y = make_blobs(50, centers=2, random_state=0)
    assert BackpropClassifier(epochs=2).fit(X, y).network_.dtype == np.float64  # auto
    assert BackpropClassifier(epochs=2).fit(X.astype(np.float32), y).network_.dtype == \
        np.float32
    assert BackpropClassifier(epochs=2, dtype="float32").fit(X, y).network_.dtype == np.float32
    clf = BackpropClassifier(epochs=2, dtype=np.float64).fit(X, y)
    assert all(p.dtype == np.float64 for p in clf.network_.parameters())


# --------------------------------------------------------------------------- training control
@no_convergence_warning
@pytest.mark.parametrize("early_stopping", [False, True])
def test_stopping_rule_matches_mlpclassifier(early_stopping):
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    for tol, n_iter_no_change in [(10.0, 1), (10.0, 3), (0.1, 4)]:
        kw = dict(hidden_layer_sizes=(16,), tol=tol, n_iter_no_change=n_iter_no_change,
                  early_stopping=early_stopping, random_state=0)
        ours = BackpropClassifier(**kw).fit(X, y)
        theirs = MLPClassifier(**kw).fit(X, y)
        assert ours.n_iter_ == theirs.n_iter_ == len(ours.loss_curve_)
    if early_stopping:
        assert len(ours.validation_scores_) == ours.n_iter_
        assert ours.best_validation_score_ == max(ours.validation_scores_)
        assert ours.best_loss_ is None
    else:
        assert ours.validation_scores_ is None and ours.best_validation_score_ is None
        assert ours.best_loss_ == min(ours.loss_curve_)


@no_convergence_warning
def test_early_stopping_restores_best_weights(monkeypatch):
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    snapshots = []
    original = bsk._EpochMonitor.on_epoch_end

    def recording(self, epoch, logs, history):
        stop = original(self, epoch, logs, history)
        snapshots.append(self.network.get_weights())
        return stop

    monkeypatch.setattr(bsk._EpochMonitor, "on_epoch_end", recording)
    clf = BackpropClassifier(hidden_layer_sizes=(32,), learning_rate=0.02, early_stopping=True,
                             n_iter_no_change=3, tol=0.0, epochs=100, random_state=0).fit(X, y)
    scores = clf.validation_scores_
    assert len(snapshots) == len(scores) == clf.n_iter_ < 100
    best = int(np.argmax(scores))
    assert best < len(scores) - 1  # the last epoch was not the best: restoring matters
    for got, want in zip(clf.network_.get_weights(), snapshots[best]):
        for k in want:
            assert np.array_equal(got[k], want[k])


def test_convergence_warning_only_when_epochs_run_out():
    X, y = make_blobs(80, centers=2, random_state=0)
    with pytest.warns(ConvergenceWarning, match="epochs=3"):
        BackpropClassifier(epochs=3, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        BackpropClassifier(tol=10.0, n_iter_no_change=1, random_state=0).fit(X, y)
        BackpropClassifier(random_state=0).partial_fit(X, y, classes=[0, 1])


@no_convergence_warning
def test_partial_fit_continues_optimizer_state():
    """Two partial_fit calls on the full data are exactly two epochs of fit: same shuffles, and
    Adam's moments carried over (a reset optimizer would give different weights)."""
    X, y = make_blobs(150, centers=3, random_state=1)
    fitted = BackpropClassifier(epochs=2, batch_size=32, random_state=0).fit(X, y)
    streamed = BackpropClassifier(batch_size=32, random_state=0)
    streamed.partial_fit(X, y, classes=[0, 1, 2]).partial_fit(X, y)
    assert np.array_equal(fitted.predict_proba(X), streamed.predict_proba(X))
    assert streamed._optimizer.state["step"] == 2 * 5
    assert streamed.loss_curve_ == fitted.loss_curve_ and streamed.n_iter_ == 2


def test_partial_fit_classes_contract():
    X, y = make_blobs(60, centers=3, random_state=0)
    labels = np.array(["a", "b", "c"])[y]
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        BackpropClassifier().partial_fit(X, labels)
    clf = BackpropClassifier(random_state=0)
    clf.partial_fit(X[labels == "a"], labels[labels == "a"], classes=["c", "a", "b"])
    assert clf.classes_.tolist() == ["a", "b", "c"] and clf.n_outputs_ == 3
    clf.partial_fit(X, labels)
    with pytest.raises(ValueError, match=r"labels not in classes_.*'d'"):
        clf.partial_fit(X[:2], ["a", "d"])
    with pytest.raises(ValueError, match="differs from classes_"):
        clf.partial_fit(X, labels, classes=["a", "b"])
    with pytest.raises(ValueError, match="2 features"):
        clf.partial_fit(X[:, :1], labels)
    reg = BackpropRegressor(random_state=0).partial_fit(X, y.astype(float))
    with pytest.raises(ValueError, match="output"):
        reg.partial_fit(X, np.column_stack([y, y]))


@no_convergence_warning
def test_warm_start_continues_and_checks_compatibility():
    X, y = make_blobs(100, centers=3, random_state=0)
    clf = BackpropClassifier(epochs=3, random_state=0, warm_start=True).fit(X, y)
    w_first = clf.network_.get_weights()
    network = clf.network_
    clf.set_params(epochs=2).fit(X, y)
    assert clf.network_ is network and clf.n_iter_ == 5 and len(clf.loss_curve_) == 5
    assert not np.array_equal(w_first[0]["W"], clf.network_.layers[0].params["W"])
    with pytest.raises(ValueError, match="hidden_layer_sizes changed"):
        clf.set_params(hidden_layer_sizes=(7,)).fit(X, y)
    clf.set_params(hidden_layer_sizes=(100,))
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(X[y < 2], y[y < 2])
    cold = BackpropClassifier(epochs=2, random_state=0).fit(X, y)
    network = cold.network_
    cold.fit(X, y)
    assert cold.network_ is not network and cold.n_iter_ == 2


@no_convergence_warning
def test_sample_weight_zero_equals_dropping_rows():
    X, y = make_blobs(60, centers=3, random_state=0)
    w = np.ones(60)
    w[::4] = 0
    keep = w > 0
    kw = dict(batch_size=None, epochs=15, random_state=0, dtype="float64")
    a = BackpropClassifier(**kw).fit(X, y, sample_weight=w)
    b = BackpropClassifier(**kw).fit(X[keep], y[keep])
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-10)
    with pytest.raises(ValueError, match="only one class"):
        BackpropClassifier().fit(X, y, sample_weight=(y == 1).astype(float))
    with pytest.raises(ValueError, match="non-negative; row 2"):
        BackpropClassifier().fit(X, y, sample_weight=np.r_[1, 1, -1, np.ones(57)])


@no_convergence_warning
def test_verbose_prints_epochs(capsys):
    X, y = make_blobs(50, centers=2, random_state=0)
    BackpropClassifier(epochs=3, verbose=1, random_state=0).fit(X, y)
    out = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in out] == ["Iteration 1", "Iteration 2", "Iteration 3"]
    BackpropClassifier(epochs=2, random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""


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


@no_convergence_warning
def test_dataframe_feature_names():
    X, y = load_wine(return_X_y=True, as_frame=True)
    clf = BackpropClassifier(epochs=5, random_state=0).fit(X, y)
    assert clf.feature_names_in_.tolist() == X.columns.tolist() and clf.n_features_in_ == 13
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(X.rename(columns={X.columns[0]: "other"}))
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        assert np.array_equal(clf.predict(X), clf.predict(X.to_numpy()))
    assert np.array_equal(clf.predict(X), clf.predict(pd.DataFrame(X)))


@no_convergence_warning
def test_pickle_round_trip_and_continued_training():
    X, y = make_blobs(80, centers=3, random_state=0)
    clf = BackpropClassifier(hidden_layer_sizes=(8,), dropout=0.1, epochs=5,
                             random_state=0).fit(X, y)
    copy = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(copy.predict_proba(X), clf.predict_proba(X))
    assert copy.get_params() == clf.get_params()
    clf.partial_fit(X, y)
    copy.partial_fit(X, y)  # optimizer state, dropout and shuffling generators all pickled
    assert np.array_equal(copy.predict_proba(X), clf.predict_proba(X))
    reg = BackpropRegressor(epochs=5, random_state=0).fit(X, y.astype(float))
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


# --------------------------------------------------------------------------- model files
def _attrs(est):
    return {k: v for k, v in vars(est).items() if k.endswith("_") and k != "network_"}


@no_convergence_warning
def test_classifier_save_load_round_trip(tmp_path):
    X, y = load_wine(return_X_y=True, as_frame=True)
    labels = np.array(["barolo", "grignolino", "barbera"])[y]
    clf = BackpropClassifier(hidden_layer_sizes=(8, 4), dropout=0.1, early_stopping=True,
                             optimizer=bp.SGD(momentum=0.9), learning_rate=0.05, epochs=30,
                             random_state=0).fit(X, labels)
    path = tmp_path / "wine.safetensors"
    clf.save(path)
    loaded = BackpropClassifier.load(path)
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert np.array_equal(loaded.predict(X), clf.predict(X))
    assert loaded.classes_.dtype == clf.classes_.dtype
    params, loaded_params = clf.get_params(), loaded.get_params()
    assert repr(params.pop("optimizer")) == repr(loaded_params.pop("optimizer"))
    assert params == loaded_params
    got, want = _attrs(loaded), _attrs(clf)
    assert got.keys() == want.keys()
    for k in want:
        assert np.array_equal(got[k], want[k]) if isinstance(want[k], np.ndarray) else (
            got[k] == want[k]), k
    # an ordinary model file: bp.load gives a network with the labels and feature names
    net = bp.load(path)
    assert net.classes == clf.classes_.tolist() and net.feature_names == X.columns.tolist()
    assert np.array_equal(net.predict_labels(X.to_numpy()), clf.predict(X))
    header = bp.io.read_safetensors(path, "model").header  # JSON, never a pickle
    assert header["metadata"]["sklearn_estimator"]["params"]["optimizer"]["name"] == "sgd"
    # training continues after loading (with a fresh optimizer)
    loaded.partial_fit(X, labels)
    assert loaded.n_iter_ == clf.n_iter_ + 1


@no_convergence_warning
def test_regressor_and_multilabel_save_load(tmp_path):
    X, Y = make_regression(80, n_features=5, n_targets=2, random_state=0)
    Y = Y * 50 + 1000
    reg = BackpropRegressor(epochs=30, random_state=np.random.default_rng(0)).fit(X, Y)
    reg.save(tmp_path / "reg.safetensors")
    loaded = BackpropRegressor.load(tmp_path / "reg.safetensors")
    assert np.array_equal(loaded.predict(X), reg.predict(X))
    assert loaded.random_state is None  # a Generator is not stored
    # the plain network's last layer restores the target's units
    net = bp.load(tmp_path / "reg.safetensors")
    assert isinstance(net.layers[-1], bp.Standardize)
    np.testing.assert_allclose(net.predict(X), reg.predict(X), rtol=1e-5)
    one = BackpropRegressor(epochs=3, random_state=0).fit(X, Y[:, 0])
    one.save(tmp_path / "one.safetensors")
    assert BackpropRegressor.load(tmp_path / "one.safetensors").predict(X).shape == (80,)

    Xm, Ym = make_multilabel_classification(60, n_features=6, n_classes=3, random_state=0)
    ml = BackpropClassifier(epochs=5, random_state=0).fit(Xm, Ym.astype(np.int32))
    ml.save(tmp_path / "ml.safetensors")
    ml_loaded = BackpropClassifier.load(tmp_path / "ml.safetensors")
    assert np.array_equal(ml_loaded.predict(Xm), ml.predict(Xm))
    assert ml_loaded.predict(Xm).dtype == np.int32


@no_convergence_warning
def test_save_load_errors(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        BackpropClassifier().save(tmp_path / "x.safetensors")
    X, y = make_blobs(40, centers=2, random_state=0)
    clf = BackpropClassifier(epochs=2, random_state=0).fit(X, y)
    clf.set_params(hidden_layer_sizes=(3,))
    with pytest.raises(ValueError, match="changed since fit"):
        clf.save(tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()
    clf.set_params(hidden_layer_sizes=(100,)).save(tmp_path / "clf.safetensors")
    with pytest.raises(bp.ModelFileError, match="holds a BackpropClassifier, not a Backprop"):
        BackpropRegressor.load(tmp_path / "clf.safetensors")
    bp.mlp([2, 3, 1], seed=0).save(tmp_path / "plain.safetensors")
    with pytest.raises(bp.ModelFileError, match="plain.safetensors: holds a network without"):
        BackpropClassifier.load(tmp_path / "plain.safetensors")
    # edited metadata that no longer describes the network
    contents = bp.io.read_safetensors(tmp_path / "clf.safetensors", "model")
    contents.header["metadata"]["sklearn_estimator"]["params"]["hidden_layer_sizes"] = [7]
    bp.io.write_safetensors(tmp_path / "edited.safetensors", contents.tensors, contents.header,
                            kind="model")
    with pytest.raises(bp.ModelFileError, match="edited.safetensors: .* do not describe"):
        BackpropClassifier.load(tmp_path / "edited.safetensors")
    contents.header["metadata"]["sklearn_estimator"]["params"] = {"no_such_param": 1}
    bp.io.write_safetensors(tmp_path / "edited.safetensors", contents.tensors, contents.header,
                            kind="model")
    with pytest.raises(bp.ModelFileError, match="no_such_param"):
        BackpropClassifier.load(tmp_path / "edited.safetensors")


@no_convergence_warning
def test_failed_fit_leaves_estimator_unchanged():
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    X, y = make_blobs(60, centers=3, random_state=0)
    fresh = BackpropClassifier(epochs=2)
    with pytest.raises(ValueError, match="only one class"):  # raised after classes_ was known
        fresh.fit(X, np.array(["a", "b", "c"])[y], sample_weight=(y == 0).astype(float))
    assert vars(fresh) == vars(BackpropClassifier(epochs=2))
    with pytest.raises(NotFittedError):
        check_is_fitted(fresh)
    clf = BackpropClassifier(epochs=2, random_state=0, early_stopping=True).fit(X, y)
    before = {k: v for k, v in vars(clf).items()}
    proba = clf.predict_proba(X)
    with pytest.raises(ValueError, match="least populated class"):  # the validation split
        clf.fit(X[:7], np.array(["a", "b", "b", "b", "c", "c", "c"]))
    assert vars(clf).keys() == before.keys()
    assert all(vars(clf)[k] is v for k, v in before.items())
    assert np.array_equal(clf.predict_proba(X), proba)
