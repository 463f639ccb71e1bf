"""backprop.sklearn against scikit-learn's MLPClassifier / MLPRegressor: accuracy in pipelines,
grid search, cross-validation and streamed partial_fit."""


import numpy as np
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_wine,
)
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

from backprop.sklearn import BackpropClassifier, BackpropRegressor
from helpers import no_convergence_warning

# --------------------------------------------------------------------------- accuracy vs sklearn
# loader and epochs (the same for both libraries; the two larger sets get fewer, to save time)
DATASETS = {"breast_cancer": (load_breast_cancer, 100), "digits": (load_digits, 100),
            "wine": (load_wine, 200)}
HIDDEN, EPOCHS, SEEDS = (64,), 200, (0, 1, 2)


def _pipe(est):
    return Pipeline([("scale", StandardScaler()), ("clf", est)])


def _ours(seed, epochs):
    return BackpropClassifier(hidden_layer_sizes=HIDDEN, max_iter=epochs, random_state=seed)


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

    ours = cv_r2(lambda s: BackpropRegressor(hidden_layer_sizes=HIDDEN, max_iter=EPOCHS,
                                             random_state=s))
    mlp = cv_r2(lambda s: MLPRegressor(hidden_layer_sizes=HIDDEN, max_iter=EPOCHS,
                                       random_state=s))
    # both on the raw target (in the hundreds, far from the scale their defaults suit) and
    # both on a standardised one: the same algorithm, the same R^2
    ours_scaled = cv_r2(lambda s: TransformedTargetRegressor(
        BackpropRegressor(hidden_layer_sizes=HIDDEN, max_iter=EPOCHS, random_state=s),
        transformer=StandardScaler()))
    mlp_scaled = cv_r2(lambda s: TransformedTargetRegressor(
        MLPRegressor(hidden_layer_sizes=HIDDEN, max_iter=EPOCHS, random_state=s),
        transformer=StandardScaler()))
    assert abs(ours - mlp) <= 0.02, (ours, mlp)
    assert ours_scaled >= mlp_scaled - 0.02, (ours_scaled, mlp_scaled)
    assert ours_scaled > 0.4


@no_convergence_warning
def test_partial_fit_over_chunks_reaches_fit_accuracy():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0,
                                                        stratify=y)
    fitted = BackpropClassifier(hidden_layer_sizes=HIDDEN, max_iter=60, random_state=0)
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
    assert streamed.n_iter_ == 1  # each partial_fit is one epoch (scikit-learn's count)
    assert streamed.t_ == fitted.t_ == fitted.n_iter_ * len(y_train)
