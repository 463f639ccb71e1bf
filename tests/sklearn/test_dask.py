"""Hyperparameter search on a Dask cluster (a LocalCluster of two worker processes): the same
best parameters and scores as one process, and BLAS threads that fit the cores."""

import dask
import distributed
import joblib
import numpy as np
import threadpoolctl
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.preprocessing import StandardScaler

from backprop.sklearn import BackpropClassifier, limit_blas_threads
from backprop.sklearn.cluster import blas_threads_for
from helpers import no_convergence_warning


def blas_threads():
    return sorted({i["num_threads"] for i in threadpoolctl.threadpool_info()
                   if i["user_api"] == "blas"})


def test_blas_threads_share_each_machine_s_cores():
    workers = {"a": {"host": "h1", "nthreads": 2}, "b": {"host": "h1", "nthreads": 2},
               "c": {"host": "h2", "nthreads": 1}, "d": {"host": "h3", "nthreads": 8}}
    assert blas_threads_for(workers, {"h1": 16, "h2": 4, "h3": 2}) == \
        {"a": 4, "b": 4, "c": 4, "d": 1}


@no_convergence_warning
def test_a_search_on_two_workers_finds_what_one_process_finds():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    grid = {"hidden_layer_sizes": [(3,), (16,)], "alpha": [1e-4, 3.0]}
    estimator = BackpropClassifier(max_iter=25, random_state=0)
    cv = KFold(3, shuffle=True, random_state=0)
    one = GridSearchCV(estimator, grid, cv=cv, n_jobs=1).fit(X, y)
    one_scores = cross_val_score(estimator, X, y, cv=cv, n_jobs=1)
    # workers forked from this process start in a fraction of a second, with backprop and its
    # compiled kernels loaded (spawned ones import everything again: seconds)
    with dask.config.set({"distributed.worker.multiprocessing-method": "fork"}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        limits = limit_blas_threads(client)
        # two single-threaded workers on this machine's cores: cores // 2 BLAS threads each
        cores = client.run(lambda: len(__import__("os").sched_getaffinity(0)))
        assert sorted(limits) == sorted(cores) and len(limits) == 2
        assert all(n == max(1, cores[a] // 2) for a, n in limits.items())
        assert client.run(blas_threads) == {a: [n] for a, n in limits.items()}
        with joblib.parallel_backend("dask"):
            two = GridSearchCV(estimator, grid, cv=cv, n_jobs=-1).fit(X, y)
            two_scores = cross_val_score(estimator, X, y, cv=cv, n_jobs=-1)
    assert two.best_params_ == one.best_params_
    np.testing.assert_allclose(two.cv_results_["mean_test_score"],
                               one.cv_results_["mean_test_score"], atol=1e-12)
    np.testing.assert_allclose(two_scores, one_scores, atol=1e-12)
    # the fitted best estimator came back from a worker and predicts as the local one
    np.testing.assert_array_equal(two.predict(X), one.predict(X))
