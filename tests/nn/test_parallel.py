"""The BatchShare hook: what a layer sees of the global batch on several processes."""

import contextlib
import signal

import numpy as np
import pytest

import backprop as bp
from backprop.nn.parallel import BatchShare, batch_share_scope, current_batch_share
from backprop.nn.workspace import Workspace
from backprop.train.signals import SignalStop


def test_no_share_outside_a_scope_and_the_scope_is_restored():
    assert current_batch_share() is None
    share = BatchShare(np.array([1, 3]), 5, lambda a: a)
    with batch_share_scope(share):
        assert current_batch_share() is share
    assert current_batch_share() is None


@pytest.mark.parametrize("workspace", [False, True])
def test_dropout_keeps_its_rows_of_the_global_batch_mask(workspace):
    X = np.arange(1.0, 41.0, dtype=np.float32).reshape(8, 5)
    whole = bp.Dropout(0.5, seed=3)
    a_whole, _ = whole.forward(X, training=True)
    rows = np.array([1, 2, 6])
    part = bp.Dropout(0.5, seed=3)
    with batch_share_scope(BatchShare(rows, 8, lambda a: a)):
        if workspace:
            a_part, _ = part._forward(X[rows], True, Workspace())
        else:
            a_part, _ = part.forward(X[rows], training=True)
    np.testing.assert_array_equal(a_part, a_whole[rows])
    # the generators drew the same numbers: the next masks agree too
    assert part.rng.bit_generator.state == whole.rng.bit_generator.state


def test_dropout_with_no_row_of_the_batch_still_draws_its_mask():
    whole, part = bp.Dropout(0.2, seed=0), bp.Dropout(0.2, seed=0)
    whole.forward(np.ones((6, 2), np.float32), training=True)
    with batch_share_scope(BatchShare(np.array([], dtype=np.int64), 6, lambda a: a)):
        out, _ = part.forward(np.ones((0, 2), np.float32), training=True)
    assert out.shape == (0, 2)
    assert part.rng.bit_generator.state == whole.rng.bit_generator.state


def test_a_deferred_signal_stops_only_once_agreed():
    stop = SignalStop()
    stop.deferred = True
    stop._handle(signal.SIGINT, None)
    assert stop.pending == signal.SIGINT and not stop.on_batch_end(1, {})
    stop.agree(None)
    assert not stop.on_batch_end(2, {})
    stop.agree(signal.SIGINT)
    assert stop.on_batch_end(3, {}) and stop.name == "SIGINT"
    with pytest.raises(bp.train.signals.Abort):  # a second signal still aborts at once
        stop._handle(signal.SIGINT, None)


def test_another_process_s_signal_stops_this_one():
    stop = SignalStop()
    stop.deferred = True
    stop.agree(signal.SIGTERM)  # received elsewhere
    assert stop.pending is None and stop.on_batch_end(1, {}) and stop.name == "SIGTERM"


@pytest.mark.parametrize("workspace", [False, True])
@pytest.mark.parametrize("shape", [(12, 5), (6, 5, 3, 2)])
def test_batch_norm_through_a_share_of_one_process_is_batch_norm(workspace, shape):
    """The synchronised path (moments about the running mean, sums reduced) with one process
    holding the whole batch gives the plain layer's output, running statistics and gradients."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape) * 3 + 7
    da = rng.normal(size=shape)
    running_mean = rng.normal(size=5)  # the moments are taken about it
    calls = []

    def reduce(a):
        calls.append(a.shape)
        return a.copy()

    results = []
    for share in (None, BatchShare(np.arange(shape[0]), shape[0], reduce)):
        bn = bp.BatchNorm(5, dtype=np.float64)
        bn.buffers["running_mean"][:] = running_mean
        ws = Workspace() if workspace else None
        with batch_share_scope(share) if share is not None else contextlib.nullcontext():
            a, cache = bn._forward(x, True, ws)
            d, grads = bn._backward(da.copy(), cache, ws)
        results.append((a.copy(), d.copy(), grads, dict(bn.buffers)))
    (a0, d0, g0, b0), (a1, d1, g1, b1) = results
    np.testing.assert_allclose(a1, a0, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(d1, d0, rtol=1e-10, atol=1e-10)
    for k in g0:
        np.testing.assert_allclose(g1[k], g0[k], rtol=1e-10)
    for k in b0:
        np.testing.assert_allclose(b1[k], b0[k], rtol=1e-10)
    assert calls == [(11,), (10,)]  # one reduction forward (N, n d, n (var + d^2)), one back


def test_batch_norm_with_no_row_still_reduces_and_checks_the_whole_batch():
    bn = bp.BatchNorm(3, dtype=np.float64)
    seen = []

    def reduce(a):  # another process holds 4 rows of mean 1, variance 0.25
        seen.append(a.copy())
        other = np.concatenate([[4.0], 4 * np.ones(3), 4 * (0.25 + np.ones(3))]) \
            if a.shape == (7,) else np.zeros(6)
        return a + other

    with batch_share_scope(BatchShare(np.array([], dtype=np.int64), 4, reduce)):
        a, cache = bn.forward(np.zeros((0, 3)), training=True)
        d, grads = bn.backward(np.zeros((0, 3)), cache)
    assert a.shape == d.shape == (0, 3) and len(seen) == 2
    np.testing.assert_allclose(bn.buffers["running_mean"], 0.1)  # momentum 0.1 of mean 1
    np.testing.assert_allclose(grads["gamma"], 0.0)
    lonely = bp.BatchNorm(3, dtype=np.float64)
    with batch_share_scope(BatchShare(np.array([0]), 1, lambda a: a)), \
            pytest.raises(ValueError, match=r"got 1 in the whole batch"):
        lonely.forward(np.ones((1, 3)), training=True)
