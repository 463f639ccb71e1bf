"""Sparse CSR inputs: a first Dense layer multiplies the stored entries only, and forward
propagation, backward propagation, prediction and training give what the dense form gives."""

import numpy as np
import pytest
import scipy.sparse as sp

import backprop as bp
from backprop.nn.checks import check_X
from backprop.nn.workspace import Workspace


def _sparse_data(rng, m=30, n=12, density=0.2):
    X = sp.random(m, n, density=density, format="csr", random_state=np.random.RandomState(0),
                  dtype=np.float64)
    return X, X.toarray(), rng.integers(0, 3, size=m)


def _net(dtype=np.float64):
    return bp.Network([bp.Dense(12, 7, "tanh", dtype=dtype, seed=1),
                       bp.Dense(7, 3, "softmax", dtype=dtype, seed=2)],
                      "categorical_crossentropy", l2=0.1)


def test_dense_layer_forward_and_backward_on_csr_equal_dense(rng):
    X, D, _ = _sparse_data(rng)
    layer = bp.Dense(12, 5, "relu", dtype=np.float64, seed=0)
    layer.params["b"][:] = rng.normal(size=5)
    a_s, cache_s = layer.forward(X)
    a_d, cache_d = layer.forward(D)
    assert isinstance(a_s, np.ndarray) and sp.issparse(cache_s.a_prev)  # the input kept sparse
    np.testing.assert_allclose(a_s, a_d, rtol=1e-14)
    da = rng.normal(size=a_d.shape)
    _, g_s = layer.backward(da, cache_s)
    _, g_d = layer.backward(da, cache_d)
    for k in ("W", "b"):
        assert isinstance(g_s[k], np.ndarray)
        np.testing.assert_allclose(g_s[k], g_d[k], rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_backward_with_workspace_and_prediction_on_csr(dtype, rng):
    X, D, y = _sparse_data(rng)
    net = _net(dtype)
    Xs, Xd = net.check_inputs(X), net.check_inputs(D)
    assert sp.issparse(Xs) and Xs.format == "csr" and Xs.dtype == dtype
    yc = net.check_targets(y, 30)
    for ws in (None, Workspace()):
        s = net.forward_backward(Xs, yc, workspace=ws)
        d = net.forward_backward(Xd, yc, workspace=ws and Workspace())
        tol = 1e-5 if dtype == np.float32 else 1e-12
        assert s.cost == pytest.approx(d.cost, rel=tol)
        for gs, gd in zip(s.grads, d.grads):
            for k in gs:
                np.testing.assert_allclose(gs[k], gd[k], rtol=tol, atol=tol)
    # prediction in chunks of 7 rows, sparse chunks all the way
    np.testing.assert_allclose(net.predict(X, batch_size=7), net.predict(D), rtol=1e-5)
    np.testing.assert_allclose(net.output_logits(Xs, batch_size=7), net.output_logits(Xd),
                               rtol=1e-5, atol=1e-6)


def test_training_on_csr_equals_training_on_dense(rng):
    X, D, y = _sparse_data(rng, m=60)
    a, b = _net(), _net()
    kw = dict(epochs=3, batch_size=8, optimizer=bp.Adam(lr=0.01), seed=0, verbose=0)
    a.fit(X, y, **kw)
    kw["optimizer"] = bp.Adam(lr=0.01)
    b.fit(D, y, **kw)
    for la, lb in zip(a.layers, b.layers):
        np.testing.assert_allclose(la.params["W"], lb.params["W"], rtol=1e-10, atol=1e-12)


def test_sparse_checks_and_refusals(rng):
    X, D, y = _sparse_data(rng)
    out = check_X(X.tocsc(), 12, np.float32)
    assert out.format == "csr" and out.dtype == np.float32
    np.testing.assert_array_equal(out.toarray(), D.astype(np.float32))
    with pytest.raises(ValueError, match=r"X has 12 features \(shape \(30, 12\)\) but the first "
                                         r"layer expects n_in=5"):
        check_X(X, 5)
    bad = X.copy()
    bad.data[3] = np.inf
    row = np.searchsorted(bad.indptr, 3, side="right") - 1
    with pytest.raises(ValueError, match=rf"X contains inf at row {row}, column "
                                         rf"{bad.indices[3]}"):
        check_X(bad, 12)
    # a first layer that would densify the input refuses it
    net = bp.Network([bp.Standardize(np.zeros(12), np.ones(12)),
                      bp.Dense(12, 3, "softmax", seed=0)], "categorical_crossentropy")
    with pytest.raises(ValueError, match=r"X is a sparse matrix, but the first layer "
                                         r"\(Standardize\) needs a dense array"):
        net.predict(X)
    with pytest.raises(ValueError, match="Standardize"):
        net.fit(X, y, epochs=1, verbose=0)


def test_a_subclass_that_overrides_forward_does_not_inherit_sparse_support():
    class Custom(bp.Dense):
        def forward(self, a_prev, training=False):
            return super().forward(np.asarray(a_prev), training)

    assert bp.Dense.accepts_sparse and not Custom.accepts_sparse
