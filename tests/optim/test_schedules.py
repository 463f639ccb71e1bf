"""Learning-rate schedules: their rates by epoch, and driving any optimizer during fit."""

import math

import numpy as np
import pytest

import backprop as bp
from backprop.optim import OPTIMIZERS, SCHEDULES


def test_schedules():
    assert set(SCHEDULES) == {"step", "exponential", "cosine"}
    step = bp.StepDecay(step_size=3, gamma=0.5)
    assert [step.lr_at(e, 1.0) for e in range(7)] == [1, 1, 1, 0.5, 0.5, 0.5, 0.25]
    exp = bp.ExponentialDecay(gamma=0.9)
    assert exp.lr_at(2, 0.1) == pytest.approx(0.1 * 0.81)
    cos = bp.CosineAnnealing(t_max=10, eta_min=0.001)
    assert cos.lr_at(0, 0.1) == pytest.approx(0.1)
    assert cos.lr_at(5, 0.1) == pytest.approx(0.001 + 0.099 * 0.5)
    assert cos.lr_at(10, 0.1) == pytest.approx(0.001)
    assert cos.lr_at(25, 0.1) == pytest.approx(0.001)
    assert cos.lr_at(3, 0.1) == pytest.approx(0.001 + 0.099 * (1 + math.cos(math.pi * 0.3)) / 2)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_schedule_drives_any_optimizer_during_fit(name):
    X = np.random.default_rng(0).normal(size=(20, 2))
    y = X @ np.array([1.0, -1.0])
    net = bp.mlp([2, 1], output="linear", dtype=np.float64, seed=0)
    opt = bp.get_optimizer(name, lr=0.05)
    hist = net.fit(X, y, epochs=4, batch_size=10, optimizer=opt, verbose=0, seed=0,
                   lr_schedule=bp.StepDecay(step_size=2, gamma=0.1))
    np.testing.assert_allclose(hist["lr"], [0.05, 0.05, 0.005, 0.005])
    assert opt.lr == 0.05  # restored after training
