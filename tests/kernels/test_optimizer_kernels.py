"""The optimizers' fused kernels against their plain NumPy rules (``Optimizer._update``).

Every registered optimizer has a kernel, and every configuration gives the plain path's result
to float rounding (Adam float32 bit for bit); subnormal state is flushed on both paths; the
kernels report whether the updated parameters are finite; resuming from a saved state is
bit-exact on the fused path.
"""

import numpy as np
import pytest

import backprop as bp
from backprop import _kernels
from backprop.optim import OPTIMIZERS
from helpers import assert_close

pytestmark = pytest.mark.skipif(not _kernels.available(), reason="numba is not installed")

DTYPES = [np.float32, np.float64]




OPTIMIZER_CASES = {
    "gd": [{}],
    "sgd": [{}, {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
            {"momentum": 0.5, "dampening": 0.3}],
    "adam": [{}, {"weight_decay": 0.01}, {"amsgrad": True, "betas": (0.8, 0.99)}],
    "adamw": [{}, {"weight_decay": 0.1, "amsgrad": True}],
    "rmsprop": [{}, {"centered": True}, {"momentum": 0.9, "weight_decay": 0.01},
                {"centered": True, "momentum": 0.5}],
}
OPTIMIZER_PARAMS = [(name, kw) for name, cases in OPTIMIZER_CASES.items() for kw in cases]


def test_every_registered_optimizer_has_a_kernel_and_is_tested():
    assert set(OPTIMIZER_CASES) == set(OPTIMIZERS)
    for cls in OPTIMIZERS.values():
        assert _kernels.get(cls.kernel) is not None, cls


def run_optimizer(name, kw, dtype, steps, fused, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(6, 5), (5,), (3, 1)]
    params = [rng.normal(size=s).astype(dtype) for s in shapes]
    opt = OPTIMIZERS[name](lr=0.01, **kw)
    for _ in range(steps):
        grads = [rng.normal(size=s).astype(dtype) for s in shapes]
        grads[0][0] = 0.0  # a row whose gradient is always zero (its buffers decay)
        if fused:
            opt.step(params, grads)
        else:
            with _kernels.disabled():
                opt.step(params, grads)
    return params, opt


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("name", "kw"), OPTIMIZER_PARAMS)
def test_fused_optimizer_step_equals_plain(name, kw, dtype):
    p_fused, o_fused = run_optimizer(name, kw, dtype, 25, fused=True)
    p_plain, o_plain = run_optimizer(name, kw, dtype, 25, fused=False)
    for a, b in zip(p_fused, p_plain):
        assert a.dtype == dtype
        assert_close(a, b, dtype, "parameter")
    for sa, sb in zip(o_fused.state["slots"], o_plain.state["slots"]):
        assert set(sa) == set(sb)
        for key in sa:
            assert_close(sa[key], sb[key], dtype, key)


def test_fused_step_matches_plain_bit_for_bit_on_adam_float32():
    """Same expressions in the same order: Adam's kernel reproduces NumPy exactly."""
    p_fused, _ = run_optimizer("adam", {}, np.float32, 10, fused=True)
    p_plain, _ = run_optimizer("adam", {}, np.float32, 10, fused=False)
    for a, b in zip(p_fused, p_plain):
        np.testing.assert_array_equal(a, b)


def test_non_contiguous_parameters_take_the_plain_path():
    base = np.arange(12.0).reshape(3, 4)
    p = base.T  # Fortran-ordered view: the kernels need C order
    twin = p.copy()
    g = np.full((4, 3), 0.5)
    bp.Adam(lr=0.1).step([p], [g])
    bp.Adam(lr=0.1).step([twin], [g])
    np.testing.assert_array_equal(p, twin)
    assert not np.array_equal(base, np.arange(12.0).reshape(3, 4))  # updated in place


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("name", "kw"), [("adam", {}), ("sgd", {"momentum": 0.9}),
                                          ("rmsprop", {"centered": True, "momentum": 0.9})])
def test_decaying_state_is_flushed_instead_of_turning_subnormal(name, kw, dtype, fused):
    tiny = np.finfo(dtype).tiny
    p = np.ones(8, dtype=dtype)
    opt = OPTIMIZERS[name](lr=1e-3, **kw)
    g = np.full(8, 1e-3, dtype=dtype)
    opt.step([p], [g])  # buffers now hold ~1e-3-sized entries
    zero = np.zeros(8, dtype=dtype)
    steps = 4000 if dtype == np.float32 else 8000  # 0.9^t passes below tiny well before
    for _ in range(steps):
        if fused:
            opt.step([p], [zero])
        else:
            with _kernels.disabled():
                opt.step([p], [zero])
    for key, buf in opt.state["slots"][0].items():
        nonzero = np.abs(buf[buf != 0])
        assert np.all(nonzero >= tiny), (key, nonzero.min())
    momentum = opt.state["slots"][0]["m" if name == "adam" else "b"]
    np.testing.assert_array_equal(momentum, 0.0)  # decayed past tiny: exactly zero
    assert np.all(np.isfinite(p))


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize(("name", "kw"), [("adam", {}), ("rmsprop", {})])
def test_squares_of_tiny_gradients_do_not_enter_the_second_moment_as_subnormals(name, kw,
                                                                               fused):
    """Late in training many gradient entries are ~1e-20: (1 - b2) g^2 would be subnormal."""
    p = np.ones(4, dtype=np.float32)
    opt = OPTIMIZERS[name](lr=1e-3, **kw)
    g = np.array([1e-20, -1e-17, 1e-3, 0.0], dtype=np.float32)
    for _ in range(3):
        if fused:
            opt.step([p], [g])
        else:
            with _kernels.disabled():
                opt.step([p], [g])
    v = opt.state["slots"][0]["v"]
    assert v[0] == 0 and v[3] == 0  # (1 - b2) * 1e-40 is below tiny: taken as 0
    assert v[1] > np.finfo(np.float32).tiny and v[2] > 0  # 1e-17 squared still counts
    if name == "adam":
        assert opt.state["slots"][0]["m"][0] != 0  # the first moment keeps the tiny gradient


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_kernels_report_whether_the_updated_parameters_are_finite(name):
    opt = OPTIMIZERS[name](lr=0.1)
    p = [np.ones((3, 4), np.float32), np.ones(4, np.float32)]
    opt.step(p, [np.full((3, 4), 0.5, np.float32), np.ones(4, np.float32)])
    assert opt.last_step_finite is True
    bad = np.full((3, 4), 0.5, np.float32)
    bad[1, 2] = np.nan if name != "gd" else np.inf
    opt.step(p, [bad, np.ones(4, np.float32)])
    assert opt.last_step_finite is False
    assert not np.isfinite(p[0][1, 2]) and np.isfinite(p[1]).all()
    with _kernels.disabled():  # the NumPy path does not look
        opt.step(p, [np.ones((3, 4), np.float32), np.ones(4, np.float32)])
    assert opt.last_step_finite is None


@pytest.mark.parametrize(("name", "kw"), [("adam", {"amsgrad": True}), ("sgd", {"momentum": 0.9}),
                                          ("rmsprop", {"momentum": 0.9})])
def test_resume_from_state_dict_is_bit_exact(name, kw):
    params, opt = run_optimizer(name, kw, np.float32, 7, fused=True)
    saved_params = [p.copy() for p in params]
    saved_state = opt.state_dict()  # a snapshot: the steps below leave it alone
    rng = np.random.default_rng(99)
    later = [[rng.normal(size=p.shape).astype(np.float32) for p in params] for _ in range(5)]
    for grads in later:
        opt.step(params, grads)
    resumed = OPTIMIZERS[name](lr=0.01, **kw)
    resumed.load_state_dict(saved_state)
    for grads in later:
        resumed.step(saved_params, grads)
    for a, b in zip(params, saved_params):
        np.testing.assert_array_equal(a, b)
