"""The optimizers' running state: the flat ``state_dict``, ``load_state_dict`` and
``check_state`` (what a resume asks before loading a state read back from a file)."""

import re

import numpy as np
import pytest

import backprop as bp
from backprop.optim import OPTIMIZERS

P0 = np.array([[0.5, -1.0], [2.0, 0.25]])
G1 = np.array([[0.1, -0.2], [0.3, 0.05]])
G2 = np.array([[-0.05, 0.4], [0.2, -0.1]])


def test_state_is_separate_and_restorable():
    opt = bp.Adam(lr=0.01)
    p = P0.copy()
    opt.step([p], [G1])
    state = opt.state_dict()
    assert state["step"] == 1 and set(state) - {"step"} == {"slots.0.m", "slots.0.v"}
    twin = bp.Adam(lr=0.01)
    twin.load_state_dict(state)
    q = p.copy()
    opt.step([p], [G2])
    twin.step([q], [G2])
    np.testing.assert_array_equal(p, q)
    opt.reset()
    assert opt.state["step"] == 0 and opt.state["slots"] is None


def params_and_grads(dtype=np.float64):
    params = [P0.astype(dtype), np.array([1.0, -1.0, 0.5], dtype=dtype)]
    grads = [G1.astype(dtype), np.array([0.2, 0.1, -0.3], dtype=dtype)]
    return params, grads


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_dict_is_flat_by_parameter_position(name):
    opt = OPTIMIZERS[name](lr=0.01)
    assert opt.state_dict() == {"step": 0}  # no slot entries before the first step
    params, grads = params_and_grads()
    opt.step(params, grads)
    opt.step(params, grads)
    state = opt.state_dict()
    assert state["step"] == 2
    expected = {f"slots.{i}.{s}" for i in range(2) for s in opt.slots}
    assert set(state) - {"step"} == expected
    for i, p in enumerate(params):
        for s in opt.slots:
            arr = state[f"slots.{i}.{s}"]
            assert arr.shape == p.shape and arr.dtype == p.dtype
            np.testing.assert_array_equal(arr, opt.state["slots"][i][s])
    assert opt.check_state(state, params) is None


def test_state_dict_is_a_snapshot_and_load_copies():
    opt = bp.SGD(lr=0.1, momentum=0.9)
    params, grads = params_and_grads()
    opt.step(params, grads)
    state = opt.state_dict()
    before = state["slots.0.b"].copy()
    opt.step(params, grads)  # later steps leave the state taken earlier alone
    np.testing.assert_array_equal(state["slots.0.b"], before)
    twin = bp.SGD(lr=0.1, momentum=0.9)
    twin.load_state_dict(state)
    twin.step([p.copy() for p in params], grads)  # nor do the loaded optimizer's steps
    np.testing.assert_array_equal(state["slots.0.b"], before)


def test_a_loaded_state_continues_bit_for_bit():
    opt, twin = bp.Adam(lr=0.01, amsgrad=True), bp.Adam(lr=0.01, amsgrad=True)
    params, grads = params_and_grads(np.float32)
    for _ in range(3):
        opt.step(params, grads)
    twin.load_state_dict(opt.state_dict())
    copies = [p.copy() for p in params]
    for _ in range(3):
        opt.step(params, grads)
        twin.step(copies, grads)
    for a, b in zip(params, copies):
        np.testing.assert_array_equal(a, b)
    assert twin.state["step"] == opt.state["step"] == 6


def test_gradient_descent_state_is_the_step_alone():
    opt = bp.GradientDescent(lr=0.1)
    params, grads = params_and_grads()
    opt.step(params, grads)
    assert opt.state_dict() == {"step": 1}
    twin = bp.GradientDescent(lr=0.1)
    twin.load_state_dict({"step": 1})
    assert twin.state["step"] == 1
    assert twin.check_state({"step": 1}, params) is None


def saved_adam_state():
    opt = bp.Adam(lr=0.01)
    params, grads = params_and_grads(np.float32)
    opt.step(params, grads)
    return opt.state_dict(), params


@pytest.mark.parametrize(("edit", "message"), [
    (lambda s: s.pop("slots.1.v"), "slots.1.v is missing"),
    (lambda s: s.update({"slots.0.q": s["slots.0.m"]}), "unknown key 'slots.0.q'"),
    (lambda s: s.update({"lr": 0.1}), "unknown key 'lr'"),
    (lambda s: s.update({"slots.2.m": s["slots.1.m"], "slots.2.v": s["slots.1.v"]}),
     "state for 3 parameters, but there are 2"),
    (lambda s: [s.pop("slots.1.m"), s.pop("slots.1.v")], "state for 1 parameters, but there are 2"),
    (lambda s: s.update({"slots.0.m": s["slots.0.m"][:1]}),
     r"slots.0.m is float32\[1, 2\], the parameter float32\[2, 2\]"),
    (lambda s: s.update({"slots.1.v": s["slots.1.v"].astype(np.float64)}),
     r"slots.1.v is float64\[3\], the parameter float32\[3\]"),
    (lambda s: s.update({"slots.0.m": s["slots.0.m"].tolist()}), "slots.0.m is a list, not an"),
    (lambda s: s.pop("step"), "the state has no 'step'"),
    (lambda s: s.update({"step": -1}), "step must be a non-negative integer, got -1"),
    (lambda s: s.update({"step": 1.5}), "step must be a non-negative integer, got 1.5"),
    (lambda s: s.update({"step": 0}), "at step 0 but holds slot arrays"),
    (lambda s: [s.pop(k) for k in list(s) if k != "step"], "at step 1 but holds no slot arrays"),
])
def test_check_state_says_what_is_wrong_and_load_refuses_it(edit, message):
    state, params = saved_adam_state()
    edit(state)
    opt = bp.Adam(lr=0.01)
    problem = opt.check_state(state, params)
    assert problem is not None and re.search(message, problem), problem
    if "parameters, but there are" in message or "the parameter" in message:
        return  # about these params: only check_state knows them
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(state)
    assert opt.state == {"step": 0, "slots": None}  # unchanged


def test_check_state_of_something_else_than_a_dict():
    assert bp.SGD().check_state([1, 2], []) == "the state must be a dict, got list"


def test_a_state_is_checked_against_the_optimizers_own_slots():
    # plain Adam's state lacks AMSGrad's v_max; RMSprop has no m
    state, params = saved_adam_state()
    assert bp.Adam(amsgrad=True).check_state(state, params) == \
        "slots.0.v_max is missing from the state"
    assert "unknown key 'slots.0.m'" in bp.RMSprop().check_state(state, params)
