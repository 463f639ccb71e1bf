"""backprop.sklearn: model files (save/load round trips of both estimators; untrusted files)."""


import numpy as np
import pytest
from sklearn.datasets import (
    load_wine,
    make_blobs,
    make_multilabel_classification,
    make_regression,
)

import backprop as bp
from backprop.sklearn import BackpropClassifier, BackpropRegressor
from helpers import no_convergence_warning


# --------------------------------------------------------------------------- model files
def _attrs(est):
    return {k: v for k, v in vars(est).items() if k.endswith("_") and k != "network_"}


@no_convergence_warning
def test_classifier_save_load_round_trip(tmp_path):
    X, y = load_wine(return_X_y=True, as_frame=True)
    labels = np.array(["barolo", "grignolino", "barbera"])[y]
    clf = BackpropClassifier(hidden_layer_sizes=(8, 4), dropout=0.1, early_stopping=True,
                             solver=bp.SGD(momentum=0.9), learning_rate_init=0.05, max_iter=30,
                             random_state=0).fit(X, labels)
    path = tmp_path / "wine.safetensors"
    clf.save(path)
    loaded = BackpropClassifier.load(path)
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert np.array_equal(loaded.predict(X), clf.predict(X))
    assert loaded.classes_.dtype == clf.classes_.dtype
    params, loaded_params = clf.get_params(), loaded.get_params()
    assert repr(params.pop("solver")) == repr(loaded_params.pop("solver"))
    assert params == loaded_params
    got, want = _attrs(loaded), _attrs(clf)
    assert got.keys() == want.keys()
    for k in want:
        if k in ("coefs_", "intercepts_"):
            assert all(np.array_equal(a, b) for a, b in zip(got[k], want[k])), k
        else:
            assert np.array_equal(got[k], want[k]) if isinstance(want[k], np.ndarray) else (
                got[k] == want[k]), k
    # an ordinary model file: bp.load gives a network with the labels and feature names
    net = bp.load(path)
    assert net.classes == clf.classes_.tolist() and net.feature_names == X.columns.tolist()
    assert np.array_equal(net.predict_labels(X.to_numpy()), clf.predict(X))
    header = bp.saving.read_safetensors(path, "model").header  # JSON, never a pickle
    assert header["metadata"]["sklearn_estimator"]["params"]["solver"]["name"] == "sgd"
    # coefs_ are the loaded network's arrays; training continues (with a fresh optimizer)
    assert all(c is layer.params["W"] for c, layer in zip(
        loaded.coefs_, [la for la in loaded.network_.layers if "W" in la.params]))
    assert loaded.t_ == clf.t_ > 0 and loaded.loss_ == clf.loss_
    loaded.set_params(early_stopping=False).partial_fit(X, labels)
    assert loaded.n_iter_ == 1 and loaded.t_ == clf.t_ + len(labels)
    assert not np.array_equal(loaded.coefs_[0], clf.coefs_[0])


@no_convergence_warning
def test_regressor_and_multilabel_save_load(tmp_path):
    X, Y = make_regression(80, n_features=5, n_targets=2, random_state=0)
    Y = Y * 50 + 1000
    reg = BackpropRegressor(max_iter=30, random_state=np.random.default_rng(0),
                            n_iter_no_change=np.inf).fit(X, Y)
    reg.save(tmp_path / "reg.safetensors")
    loaded = BackpropRegressor.load(tmp_path / "reg.safetensors")
    assert np.array_equal(loaded.predict(X), reg.predict(X))
    assert loaded.random_state is None  # a Generator is not stored
    assert loaded.n_iter_no_change == np.inf  # stored as "inf": JSON has no infinity
    # the plain network predicts as the estimator; its cost is scikit-learn's
    net = bp.load(tmp_path / "reg.safetensors")
    np.testing.assert_allclose(net.predict(X), reg.predict(X), rtol=1e-12)
    assert net.loss.name == "half_squared_error" and net.l2_per_sample
    poisson = BackpropRegressor(loss="poisson", max_iter=3, random_state=0).fit(X, np.abs(Y))
    poisson.save(tmp_path / "poisson.safetensors")
    back = BackpropRegressor.load(tmp_path / "poisson.safetensors")
    assert back.out_activation_ == "exp" and np.array_equal(back.predict(X), poisson.predict(X))
    one = BackpropRegressor(max_iter=3, random_state=0).fit(X, Y[:, 0])
    one.save(tmp_path / "one.safetensors")
    assert BackpropRegressor.load(tmp_path / "one.safetensors").predict(X).shape == (80,)

    Xm, Ym = make_multilabel_classification(60, n_features=6, n_classes=3, random_state=0)
    ml = BackpropClassifier(max_iter=5, random_state=0).fit(Xm, Ym.astype(np.int32))
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
    clf = BackpropClassifier(max_iter=2, random_state=0).fit(X, y)
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
    contents = bp.saving.read_safetensors(tmp_path / "clf.safetensors", "model")
    contents.header["metadata"]["sklearn_estimator"]["params"]["hidden_layer_sizes"] = [7]
    bp.saving.write_safetensors(tmp_path / "edited.safetensors", contents.tensors, contents.header,
                            kind="model")
    with pytest.raises(bp.ModelFileError, match="edited.safetensors: .* do not describe"):
        BackpropClassifier.load(tmp_path / "edited.safetensors")
    contents.header["metadata"]["sklearn_estimator"]["params"] = {"no_such_param": 1}
    bp.saving.write_safetensors(tmp_path / "edited.safetensors", contents.tensors, contents.header,
                            kind="model")
    with pytest.raises(bp.ModelFileError, match="no_such_param"):
        BackpropClassifier.load(tmp_path / "edited.safetensors")
