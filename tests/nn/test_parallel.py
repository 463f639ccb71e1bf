"""The BatchShare hook: what a layer sees of the global batch on several processes."""

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
