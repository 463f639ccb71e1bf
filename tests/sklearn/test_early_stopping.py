"""backprop.sklearn: the stopping rule (scikit-learn's, by the library's MonitorCallback), the
restored best weights and the convergence warning."""

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.datasets import (
    load_digits,
    load_wine,
    make_blobs,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

import backprop as bp
from backprop.sklearn import BackpropClassifier
from backprop.sklearn._monitor import _EpochMonitor
from backprop.sklearn._solvers import StochasticSolver
from backprop.train.callbacks import History
from helpers import no_convergence_warning


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
    original = _EpochMonitor.on_epoch_end

    def recording(self, epoch, logs, history):
        stop = original(self, epoch, logs, history)
        snapshots.append(self.network.get_weights())
        return stop

    monkeypatch.setattr(_EpochMonitor, "on_epoch_end", recording)
    clf = BackpropClassifier(hidden_layer_sizes=(32,), learning_rate_init=0.02, early_stopping=True,
                             n_iter_no_change=3, tol=0.0, max_iter=100, random_state=0).fit(X, y)
    scores = clf.validation_scores_
    assert len(snapshots) == len(scores) == clf.n_iter_ < 100
    best = int(np.argmax(scores))
    assert best < len(scores) - 1  # the last epoch was not the best: restoring matters
    for got, want in zip(clf.network_.get_weights(), snapshots[best]):
        for k in want:
            assert np.array_equal(got[k], want[k])


def test_convergence_warning_only_when_epochs_run_out():
    X, y = make_blobs(80, centers=2, random_state=0)
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        BackpropClassifier(max_iter=3, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        BackpropClassifier(tol=10.0, n_iter_no_change=1, random_state=0).fit(X, y)
        BackpropClassifier(random_state=0).partial_fit(X, y, classes=[0, 1])


# --------------------------------------------------------------------------- the rule itself
def _sklearn_rule(values, tol, n_iter_no_change, higher_is_better):
    """``(stop epoch or None, best epoch)`` by MLPClassifier's _update_no_improvement_count:
    the count resets on a gain of tol or more, the best moves on any strict gain."""
    best, best_epoch, count = (-np.inf if higher_is_better else np.inf), None, 0
    for epoch, value in enumerate(values):
        if higher_is_better:
            count = count + 1 if value < best + tol else 0
            gain = value > best
        else:
            count = count + 1 if value > best - tol else 0
            gain = value < best
        if gain:
            best, best_epoch = value, epoch
        if count > n_iter_no_change:
            return epoch, best_epoch
    return None, best_epoch


def _monitor_rule(values, tol, n_iter_no_change, higher_is_better):
    est = SimpleNamespace(n_iter_no_change=n_iter_no_change, tol=tol, verbose=0, n_iter_=0,
                          t_=0, loss_curve_=[], validation_scores_=[],
                          _optimizer=StochasticSolver(bp.SGD(0.1), "constant", 0.5))
    scores = iter(values)
    monitor = _EpochMonitor(est, (lambda: next(scores)) if higher_is_better else None,
                            n_train=1, partial=False)
    for epoch, value in enumerate(values):
        if monitor.on_epoch_end(epoch, {"loss": value}, History()):
            return epoch, monitor.best_epoch
    return None, monitor.best_epoch


RULE_CASES = {
    "loss, no ties": ([1.0, 0.8, 0.79, 0.85, 0.7, 0.71, 0.72, 0.69], 0.05, 2, False),
    "score, no ties": ([0.5, 0.7, 0.72, 0.6, 0.9, 0.91, 0.89, 0.92, 0.93], 0.05, 2, True),
    "loss, gains below tol move the best": ([1.0, 0.96, 0.92, 0.88, 0.84, 0.8], 0.05, 2, False),
    # a gain of exactly tol resets the count; a tie (tol=0) resets it but keeps the first best
    "score equals the best, tol=0": ([0.5, 0.6, 0.6, 0.6, 0.6, 0.6], 0.0, 2, True),
    "loss equals the best, tol=0": ([1.0, 0.9, 0.9, 0.9, 0.9], 0.0, 2, False),
    "loss improves by exactly tol": ([1.0, 0.5, 0.25, 0.0, -0.25, -0.5, -0.75], 0.25, 1, False),
}


@pytest.mark.parametrize("case", sorted(RULE_CASES))
def test_monitor_follows_mlpclassifier_rule(case):
    values, tol, n, higher = RULE_CASES[case]
    assert _monitor_rule(values, tol, n, higher) == _sklearn_rule(values, tol, n, higher)
