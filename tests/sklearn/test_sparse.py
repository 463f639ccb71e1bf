"""backprop.sklearn on SciPy sparse input: the same model as on the dense form, and a matrix far
too large to densify trains and predicts without ever being densified."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits, make_regression

from backprop.sklearn import BackpropClassifier, BackpropRegressor
from helpers import no_convergence_warning

X_DIGITS, Y_DIGITS = load_digits(return_X_y=True)
X_DIGITS = X_DIGITS[:400] / 16  # a quarter of the entries are 0
Y_DIGITS = Y_DIGITS[:400]


@no_convergence_warning
@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csr_array, sp.csc_matrix])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_sparse_input_gives_the_dense_model(container, solver):
    kw = dict(hidden_layer_sizes=(16,), solver=solver, max_iter=15, random_state=0)
    dense = BackpropClassifier(**kw).fit(X_DIGITS, Y_DIGITS)
    sparse = BackpropClassifier(**kw).fit(container(X_DIGITS), Y_DIGITS)
    # the products read the same numbers in another order: equal to rounding
    for a, b in zip(dense.coefs_, sparse.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(sparse.predict_proba(container(X_DIGITS)),
                               dense.predict_proba(X_DIGITS), rtol=1e-6, atol=1e-9)
    assert np.array_equal(sparse.predict(container(X_DIGITS)), dense.predict(X_DIGITS))
    # one fitted model, either form of X: the same numbers
    np.testing.assert_allclose(dense.predict_proba(container(X_DIGITS)),
                               dense.predict_proba(X_DIGITS), rtol=1e-12, atol=1e-15)
    assert sparse.score(container(X_DIGITS), Y_DIGITS) == sparse.score(X_DIGITS, Y_DIGITS)


@no_convergence_warning
def test_sparse_partial_fit_early_stopping_and_regression():
    X = sp.csr_matrix(X_DIGITS)
    a = BackpropClassifier(hidden_layer_sizes=(8,), random_state=0)
    b = BackpropClassifier(hidden_layer_sizes=(8,), random_state=0)
    for _ in range(3):
        a.partial_fit(X, Y_DIGITS, classes=np.arange(10))
        b.partial_fit(X_DIGITS, Y_DIGITS, classes=np.arange(10))
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X_DIGITS), rtol=1e-7,
                               atol=1e-10)
    es = BackpropClassifier(hidden_layer_sizes=(8,), early_stopping=True, max_iter=10,
                            random_state=0).fit(X, Y_DIGITS)
    assert len(es.validation_scores_) == es.n_iter_
    Xr, yr = make_regression(120, n_features=30, random_state=0)
    Xr[np.abs(Xr) < 1] = 0
    reg = BackpropRegressor(hidden_layer_sizes=(8,), max_iter=10, random_state=0)
    dense = reg.fit(Xr, yr / 100).predict(Xr)
    np.testing.assert_allclose(reg.fit(sp.csr_array(Xr), yr / 100).predict(sp.csr_array(Xr)),
                               dense, rtol=1e-7)


@no_convergence_warning
def test_sparse_input_errors_name_the_entry():
    clf = BackpropClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    X = sp.csr_matrix(X_DIGITS)
    X.data[7] = np.nan
    row, col = np.searchsorted(X.indptr, 7, side="right") - 1, X.indices[7]
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(X, Y_DIGITS)  # scikit-learn's validate_data looks first
    net = BackpropClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(
        X_DIGITS, Y_DIGITS).network_
    with pytest.raises(ValueError, match=rf"X contains nan at row {row}, column {col}"):
        net.predict(X)


@no_convergence_warning
def test_a_matrix_too_large_to_densify_trains_in_batches():
    # 200,000 x 20,000 at 0.1% density: 4 million entries (48 MB as CSR), 32 GB dense
    rng = np.random.default_rng(0)
    n, d, per_row = 200_000, 20_000, 20
    indices = rng.integers(0, d, size=n * per_row).astype(np.int32)
    indptr = np.arange(0, n * per_row + 1, per_row)
    X = sp.csr_matrix((rng.random(n * per_row), indices, indptr), shape=(n, d))
    X.sum_duplicates()
    y = (X @ rng.normal(size=d) > 0).astype(int)
    sparse_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    dense_bytes = n * d * 8
    tracemalloc.start()
    try:
        clf = BackpropClassifier(hidden_layer_sizes=(8,), max_iter=1, batch_size=2000,
                                 random_state=0).fit(X, y)
        accuracy = clf.score(X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # the first layer multiplied batches of stored entries: at most a few copies' worth of
    # the sparse matrix was ever allocated, never the dense matrix (or a dense chunk of it)
    assert peak < 3 * sparse_bytes < dense_bytes / 200, (peak, sparse_bytes)
    assert accuracy > 0.75, accuracy  # it learned from the entries it saw

