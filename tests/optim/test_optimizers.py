"""Optimizers: first two steps against hand-computed torch.optim rules; defaults; convergence;
argument checks."""

import numpy as np
import pytest

import backprop as bp
from backprop.optim import OPTIMIZERS

P0 = np.array([[0.5, -1.0], [2.0, 0.25]])
G1 = np.array([[0.1, -0.2], [0.3, 0.05]])
G2 = np.array([[-0.05, 0.4], [0.2, -0.1]])


def run_two_steps(opt):
    p = P0.copy()
    opt.step([p], [G1.copy()])
    p1 = p.copy()
    opt.step([p], [G2.copy()])
    return p1, p.copy()


def test_gradient_descent_steps():
    p1, p2 = run_two_steps(bp.GradientDescent(lr=0.5))
    np.testing.assert_allclose(p1, P0 - 0.5 * G1)
    np.testing.assert_allclose(p2, P0 - 0.5 * G1 - 0.5 * G2)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_weight_decay_steps(nesterov):
    lr, mu, wd = 0.1, 0.9, 0.01
    p1, p2 = run_two_steps(bp.SGD(lr=lr, momentum=mu, nesterov=nesterov, weight_decay=wd))
    g1 = G1 + wd * P0
    b1 = g1
    e1 = P0 - lr * (g1 + mu * b1 if nesterov else b1)
    g2 = G2 + wd * e1
    b2 = mu * b1 + g2
    e2 = e1 - lr * (g2 + mu * b2 if nesterov else b2)
    np.testing.assert_allclose(p1, e1, rtol=1e-14)
    np.testing.assert_allclose(p2, e2, rtol=1e-14)


def test_sgd_dampening():
    lr, mu, damp = 0.1, 0.5, 0.3
    p1, p2 = run_two_steps(bp.SGD(lr=lr, momentum=mu, dampening=damp))
    b1 = G1  # torch: the first buffer is the gradient itself, undampened
    e1 = P0 - lr * b1
    b2 = mu * b1 + (1 - damp) * G2
    np.testing.assert_allclose(p1, e1)
    np.testing.assert_allclose(p2, e1 - lr * b2)


def adam_reference(wd_mode, lr=0.01, b1=0.9, b2=0.999, eps=1e-8, wd=0.1, amsgrad=False):
    p = P0.copy()
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    vmax = np.zeros_like(p)
    out = []
    for t, g in enumerate((G1, G2), start=1):
        if wd_mode == "l2":
            g = g + wd * p
        elif wd_mode == "decoupled":
            p = p * (1 - lr * wd)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        m_hat = m / (1 - b1**t)
        v_hat = (vmax if amsgrad else v) / (1 - b2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(p)
    return out


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_steps(amsgrad):
    p1, p2 = run_two_steps(bp.Adam(lr=0.01, weight_decay=0.1, amsgrad=amsgrad))
    e1, e2 = adam_reference("l2", amsgrad=amsgrad)
    np.testing.assert_allclose(p1, e1, rtol=1e-12)
    np.testing.assert_allclose(p2, e2, rtol=1e-12)


def test_adamw_steps_decoupled_decay():
    p1, p2 = run_two_steps(bp.AdamW(lr=0.01, weight_decay=0.1))
    e1, e2 = adam_reference("decoupled")
    np.testing.assert_allclose(p1, e1, rtol=1e-12)
    np.testing.assert_allclose(p2, e2, rtol=1e-12)
    assert bp.AdamW().weight_decay == 0.01  # torch's default


@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_rmsprop_steps(centered, momentum):
    lr, alpha, eps, wd = 0.01, 0.99, 1e-8, 0.05
    p1, p2 = run_two_steps(bp.RMSprop(lr=lr, alpha=alpha, eps=eps, weight_decay=wd,
                                      momentum=momentum, centered=centered))
    p = P0.copy()
    v = np.zeros_like(p)
    gavg = np.zeros_like(p)
    buf = np.zeros_like(p)
    expected = []
    for g in (G1, G2):
        g = g + wd * p
        v = alpha * v + (1 - alpha) * g * g
        if centered:
            gavg = alpha * gavg + (1 - alpha) * g
            denom = np.sqrt(v - gavg**2) + eps
        else:
            denom = np.sqrt(v) + eps
        if momentum:
            buf = momentum * buf + g / denom
            p = p - lr * buf
        else:
            p = p - lr * g / denom
        expected.append(p)
    np.testing.assert_allclose(p1, expected[0], rtol=1e-12)
    np.testing.assert_allclose(p2, expected[1], rtol=1e-12)


def test_torch_defaults():
    assert bp.Adam().hyperparameters() == {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8,
                                           "weight_decay": 0.0, "amsgrad": False}
    rms = bp.RMSprop().hyperparameters()
    assert rms["lr"] == 1e-2 and rms["alpha"] == 0.99 and rms["eps"] == 1e-8
    sgd = bp.SGD().hyperparameters()
    assert sgd["lr"] == 1e-3 and sgd["momentum"] == 0.0 and sgd["dampening"] == 0.0
    assert bp.AdamW().hyperparameters()["weight_decay"] == 1e-2


CONVERGENCE = {
    "gd": {"lr": 0.1},
    "sgd": {"lr": 0.05, "momentum": 0.9, "nesterov": True},
    "adam": {"lr": 0.05},
    "adamw": {"lr": 0.05, "weight_decay": 0.0},
    "rmsprop": {"lr": 1e-3},
}


def test_every_registered_optimizer_is_in_the_convergence_test():
    assert set(CONVERGENCE) == set(OPTIMIZERS)


@pytest.mark.parametrize("name", sorted(CONVERGENCE))
def test_converges_on_a_quadratic(name):
    # J(θ) = 1/2 θᵀ A θ - bᵀ θ, minimum at A⁻¹ b
    A = np.diag([1.0, 3.0, 10.0])
    b = np.array([1.0, -2.0, 0.5])
    target = np.linalg.solve(A, b)
    theta = np.zeros(3)
    opt = bp.get_optimizer(name, **CONVERGENCE[name])
    for _ in range(5000):
        opt.step([theta], [A @ theta - b])
    np.testing.assert_allclose(theta, target, atol=1e-3)


@pytest.mark.parametrize(
    "factory, message",
    [
        (lambda: bp.Adam(lr=-1), "learning rate must be a positive number, got -1"),
        (lambda: bp.SGD(lr=0.1, momentum=1.5), r"momentum must be in \[0, 1\)"),
        (lambda: bp.SGD(lr=0.1, nesterov=True), "nesterov momentum requires"),
        (lambda: bp.Adam(betas=(0.9, 1.0)), r"betas\[1\] must be in"),
        (lambda: bp.RMSprop(eps=0), "eps must be a positive number"),
        (lambda: bp.get_optimizer("lbfgs"), "unknown optimizer 'lbfgs'"),
        (lambda: bp.StepDecay(0), "step_size must be a positive integer"),
        (lambda: bp.SGD(lr=float("inf")), "learning rate must be a positive number, got inf"),
        (lambda: bp.SGD(lr=True), "learning rate must be a positive number, got True"),
        (lambda: bp.Adam(weight_decay=-0.1), "weight_decay must be a non-negative number"),
        (lambda: bp.RMSprop(alpha=float("nan")), r"alpha must be in \[0, 1\), got nan"),
        (lambda: bp.CosineAnnealing(t_max=2.5), "t_max must be a positive integer, got 2.5"),
        (lambda: bp.ExponentialDecay(gamma=0), "gamma must be a positive number, got 0"),
    ],
)
def test_bad_hyperparameters(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()
