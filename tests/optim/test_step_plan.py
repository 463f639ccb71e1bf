"""The step plan: ``Optimizer.step`` reuses last step's kernel arguments while it gets the same
arrays, and its updates equal those of a step that rebuilds them."""

import copy as copy_module

import numpy as np
import pytest

import backprop as bp
from backprop import _kernels
from backprop.optim import OPTIMIZERS

pytestmark = pytest.mark.skipif(not _kernels.available(), reason="numba is not installed")


OPTIMIZER_SETTINGS = [("gd", {}), ("sgd", {"momentum": 0.9}), ("sgd", {}), ("adam", {}),
                      ("adam", {"amsgrad": True, "weight_decay": 0.1}), ("adamw", {}),
                      ("rmsprop", {"momentum": 0.5, "centered": True})]


def _arrays(rng, dtype=np.float32):
    params = [rng.normal(size=(5, 4)).astype(dtype), rng.normal(size=4).astype(dtype)]
    grads = [np.empty_like(p) for p in params]
    return params, grads


@pytest.mark.parametrize("name,kwargs", OPTIMIZER_SETTINGS)
def test_a_reused_step_plan_updates_exactly_as_a_fresh_one(name, kwargs, rng):
    # Optimizer.step reuses last step's kernel arguments when it gets the same arrays; the
    # result must equal a step that rebuilds them (plan dropped before every step)
    planned, fresh = OPTIMIZERS[name](lr=0.01, **kwargs), OPTIMIZERS[name](lr=0.01, **kwargs)
    p1, g1 = _arrays(rng)
    p2 = [p.copy() for p in p1]
    g2 = [np.empty_like(g) for g in g1]
    for t in range(6):
        for g, h in zip(g1, g2):
            g[...] = h[...] = rng.normal(size=g.shape)
        planned.step(p1, g1)
        fresh.release()
        fresh.step(p2, g2)
        assert (planned._plan is not None) == (t >= 1)  # made by the second step
        assert planned.last_step_finite is True and fresh._plan is None
        for a, b in zip(p1, p2):
            np.testing.assert_array_equal(a, b)
    assert planned.state["step"] == fresh.state["step"] == 6


def test_a_step_plan_is_dropped_when_its_arrays_or_settings_change(rng):
    opt = bp.SGD(lr=0.1)
    params, grads = _arrays(rng)
    for g in grads:
        g[...] = 1.0
    opt.step(params, grads)
    assert opt._plan is None  # made only when a second step brings the same arrays
    opt.step(params, grads)
    plan = opt._plan
    assert plan is not None
    opt.step(params, grads)
    assert opt._plan is plan  # reused
    # a new gradient array: the plan is dropped, and that array's values are used
    grads = [grads[0], np.full(4, 2.0, np.float32)]
    before = params[1].copy()
    opt.step(params, grads)
    assert opt._plan is None
    np.testing.assert_allclose(params[1], before - 0.1 * 2.0, rtol=1e-6)
    opt.step(params, grads)
    assert opt._plan is not None and opt._plan is not plan
    # momentum switched on after the start: the buffer is used from now on (no stale plan
    # passing the parameter as its buffer); the result equals the NumPy rule's
    opt.momentum = 0.9
    opt.state["slots"] = [{"b": np.zeros_like(p)} for p in params]
    ref = [p.copy() for p in params]
    with _kernels.disabled():
        twin = bp.SGD(lr=0.1, momentum=0.9)
        twin.state = {"step": opt.state["step"], "slots": [{"b": np.zeros_like(p)}
                                                           for p in params]}
        twin.step(ref, grads)
    opt.step(params, grads)
    for a, b in zip(params, ref):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert opt.state["slots"][1]["b"][0] != 0
    # a state restored from a checkpoint replaces the buffers: they are the ones updated
    state = opt.state_dict()
    opt.load_state_dict(state)
    opt.step(params, grads)
    assert opt.state["slots"][0]["b"] is not state["slots.0.b"]
    assert not np.array_equal(opt.state["slots"][0]["b"], state["slots.0.b"])
    # kernels switched off: the NumPy path runs (it reports None, the kernels True)
    with _kernels.disabled():
        opt.step(params, grads)
        assert opt.last_step_finite is None
    opt.step(params, grads)
    assert opt.last_step_finite is True


def test_no_step_plan_for_new_gradient_arrays_every_step(rng):
    # a manual loop whose gradients are new arrays each step (loss_and_grads) never makes a
    # plan (it would cost time and never be reused), and updates as without plans
    net = bp.mlp([4, 5, 3], output="softmax", seed=0)
    X, y = rng.normal(size=(16, 4)), rng.integers(0, 3, 16)
    opt = bp.Adam(lr=0.01)
    for _ in range(3):
        _, grads = net.loss_and_grads(X, y)
        opt.step(net.parameters(), [g for layer in grads for g in layer.values()])
        assert opt._plan is None
    assert opt.state["step"] == 3


def test_a_reused_plan_still_checks_shapes(rng):
    opt = bp.SGD(lr=0.1)
    params, grads = _arrays(rng)
    for _ in range(3):
        opt.step(params, grads)
    assert opt._plan is not None
    params[0].shape = (4, 5)  # reshaped in place: the same array object
    with pytest.raises(ValueError, match=r"params\[0\] has shape \(4, 5\) but grads\[0\]"):
        opt.step(params, grads)


@pytest.mark.parametrize("copy", ["deepcopy", "pickle"])
def test_a_copied_optimizer_updates_the_copied_arrays(copy, rng):
    # the plan's flat views would turn into arrays of their own in a copy: it is left out
    import pickle

    opt = bp.Adam(lr=0.1)
    params, grads = _arrays(rng)
    for g in grads:
        g[...] = 1.0
    for _ in range(3):
        opt.step(params, grads)
    assert opt._plan is not None
    bundle = (opt, params, grads)
    c_opt, c_params, c_grads = (copy_module.deepcopy(bundle) if copy == "deepcopy"
                                else pickle.loads(pickle.dumps(bundle)))
    assert c_opt._plan is None
    before = [p.copy() for p in c_params]
    for _ in range(3):
        c_opt.step(c_params, c_grads)
    for p, b in zip(c_params, before):
        assert np.all(p < b)  # every copied parameter moved (gradient +1)
    assert c_opt.state["step"] == 6


def test_release_drops_the_plan_and_changes_no_update(rng):
    released, kept = bp.Adam(lr=0.1), bp.Adam(lr=0.1)
    params, grads = _arrays(rng)
    copies = [p.copy() for p in params]
    for g in grads:
        g[...] = 1.0
    for t in range(5):
        released.step(params, grads)
        kept.step(copies, grads)
        if t == 2:
            assert released._plan is not None
            released.release()
            assert released._plan is None and released._last is None
    for a, b in zip(params, copies):
        np.testing.assert_array_equal(a, b)


def test_fit_releases_its_workspace_arrays(rng):
    net = bp.mlp([4, 5, 3], output="softmax", seed=0)
    X, y = rng.normal(size=(32, 4)), rng.integers(0, 3, 32)
    opt = bp.Adam(lr=0.01)
    net.fit(X, y, epochs=2, batch_size=8, optimizer=opt, verbose=0, seed=0)
    assert opt._plan is None and opt._last is None
