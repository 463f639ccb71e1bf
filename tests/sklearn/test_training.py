"""backprop.sklearn: training control (determinism, float32, partial_fit, warm_start, sample
weights, verbose output) and a failed fit that changes nothing."""


import numpy as np
import pytest
from sklearn.datasets import (
    load_wine,
    make_blobs,
)
from sklearn.preprocessing import StandardScaler

from backprop.sklearn import BackpropClassifier, BackpropRegressor
from helpers import no_convergence_warning


# --------------------------------------------------------------------------- determinism
@no_convergence_warning
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_random_state_gives_identical_predictions(dtype):
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    # dropout, shuffling, the validation split and the initial weights all draw randomness
    params = dict(hidden_layer_sizes=(16, 8), dropout=0.2, early_stopping=True, batch_size=32,
                  max_iter=30, dtype=dtype)
    a = BackpropClassifier(random_state=7, **params).fit(X, y)
    b = BackpropClassifier(random_state=7, **params).fit(X, y)
    c = BackpropClassifier(random_state=8, **params).fit(X, y)
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.loss_curve_ == b.loss_curve_ and a.validation_scores_ == b.validation_scores_
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))
    r1 = BackpropRegressor(random_state=3, dropout=0.1, max_iter=20, dtype=dtype).fit(X, y)
    r2 = BackpropRegressor(random_state=3, dropout=0.1, max_iter=20, dtype=dtype).fit(X, y)
    assert np.array_equal(r1.predict(X), r2.predict(X))


@no_convergence_warning
def test_random_state_accepts_generator_and_randomstate():
    X, y = make_blobs(60, centers=2, random_state=0)
    a = BackpropClassifier(max_iter=3, random_state=np.random.RandomState(5)).fit(X, y)
    b = BackpropClassifier(max_iter=3, random_state=np.random.RandomState(5)).fit(X, y)
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X))
    gen = np.random.default_rng(1)
    c = BackpropClassifier(max_iter=3, random_state=gen).fit(X, y)
    d = BackpropClassifier(max_iter=3, random_state=np.random.default_rng(1)).fit(X, y)
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
    clf = BackpropClassifier(random_state=0, max_iter=20).fit(X.astype(np.float32), y)
    assert clf.network_.dtype == np.float32  # "auto" follows float32 data
    full = clf.predict_proba(X)
    one_by_one = np.vstack([clf.predict_proba(row[None]) for row in X])
    np.testing.assert_allclose(full, one_by_one, rtol=1e-5, atol=1e-6)
    assert np.array_equal(clf.predict(X), np.concatenate([clf.predict(r[None]) for r in X]))


@no_convergence_warning
def test_partial_fit_continues_optimizer_state():
    """Two partial_fit calls on the full data are exactly two epochs of fit: same shuffles, and
    Adam's moments carried over (a reset optimizer would give different weights)."""
    X, y = make_blobs(150, centers=3, random_state=1)
    fitted = BackpropClassifier(max_iter=2, batch_size=32, random_state=0).fit(X, y)
    streamed = BackpropClassifier(batch_size=32, random_state=0)
    streamed.partial_fit(X, y, classes=[0, 1, 2]).partial_fit(X, y)
    assert np.array_equal(fitted.predict_proba(X), streamed.predict_proba(X))
    assert streamed._optimizer.optimizer.state["step"] == 2 * 5
    assert streamed.loss_curve_ == fitted.loss_curve_ and streamed.t_ == fitted.t_ == 300
    assert streamed.n_iter_ == 1 and fitted.n_iter_ == 2  # the epochs of the last call


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
    clf = BackpropClassifier(max_iter=3, random_state=0, warm_start=True).fit(X, y)
    w_first = clf.network_.get_weights()
    network = clf.network_
    clf.set_params(max_iter=2).fit(X, y)
    # n_iter_ counts this fit's epochs, loss_curve_ and t_ all of them (scikit-learn's)
    assert clf.network_ is network and clf.n_iter_ == 2 and len(clf.loss_curve_) == 5
    assert clf.t_ == 5 * 100
    assert not np.array_equal(w_first[0]["W"], clf.network_.layers[0].params["W"])
    with pytest.raises(ValueError, match="hidden_layer_sizes changed"):
        clf.set_params(hidden_layer_sizes=(7,)).fit(X, y)
    clf.set_params(hidden_layer_sizes=(100,))
    with pytest.raises(ValueError, match=r"warm_start can only be used where `y` has the same "
                                         r"classes .* Previously got \[0 1 2\], `y` has \[0 1\]"):
        clf.fit(X[y < 2], y[y < 2])
    cold = BackpropClassifier(max_iter=2, random_state=0).fit(X, y)
    network = cold.network_
    cold.fit(X, y)
    assert cold.network_ is not network and cold.n_iter_ == 2


@no_convergence_warning
def test_sample_weight_zero_equals_dropping_rows():
    X, y = make_blobs(60, centers=3, random_state=0)
    w = np.ones(60)
    w[::4] = 0
    keep = w > 0
    kw = dict(batch_size=None, max_iter=15, random_state=0, dtype="float64")
    a = BackpropClassifier(**kw).fit(X, y, sample_weight=w)
    b = BackpropClassifier(**kw).fit(X[keep], y[keep])
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-10)
    with pytest.raises(ValueError, match="non-negative; row 2"):
        BackpropClassifier().fit(X, y, sample_weight=np.r_[1, 1, -1, np.ones(57)])


@no_convergence_warning
def test_verbose_prints_epochs(capsys):
    X, y = make_blobs(50, centers=2, random_state=0)
    BackpropClassifier(max_iter=3, verbose=1, random_state=0).fit(X, y)
    out = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in out] == ["Iteration 1", "Iteration 2", "Iteration 3"]
    BackpropClassifier(max_iter=2, random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""


@no_convergence_warning
def test_failed_fit_leaves_estimator_unchanged():
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    X, y = make_blobs(60, centers=3, random_state=0)
    fresh = BackpropClassifier(max_iter=2, early_stopping=True, validation_fraction=0.01)
    with pytest.raises(ValueError, match="The validation set is too small"):  # after classes_
        fresh.fit(X, np.array(["a", "b", "c"])[y])
    assert vars(fresh) == vars(BackpropClassifier(max_iter=2, early_stopping=True,
                                                  validation_fraction=0.01))
    with pytest.raises(NotFittedError):
        check_is_fitted(fresh)
    clf = BackpropClassifier(max_iter=2, random_state=0, early_stopping=True).fit(X, y)
    before = {k: v for k, v in vars(clf).items()}
    proba = clf.predict_proba(X)
    with pytest.raises(ValueError, match="least populated class"):  # the validation split
        clf.fit(X[:7], np.array(["a", "b", "b", "b", "b", "b", "b"]))
    assert vars(clf).keys() == before.keys()
    assert all(vars(clf)[k] is v for k, v in before.items())
    assert np.array_equal(clf.predict_proba(X), proba)
