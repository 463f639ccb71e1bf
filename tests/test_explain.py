"""Seeing backprop: the trace of one pass (the same numbers as the network's own gradients),
the note's figure drawn from it, its text form, and gradient flow measured during training."""

import numpy as np
import pytest

import backprop as bp
from backprop.diagram import plot_backprop
from backprop.nn.trace import format_trace
from backprop.plotting import plot_gradient_flow
from backprop.train import GradientFlow


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return ((X - X.mean(0)) / (X.std(0) + 1e-9)).astype(np.float32), y


def test_the_trace_holds_the_networks_own_gradients(digits):
    X, y = digits[0][:40], digits[1][:40]
    net = bp.mlp([64, 12, 8, 10], activation="tanh", output="softmax", dropout=0.2, seed=0)
    trace = net.trace(X, y)
    J, grads = net.loss_and_grads(X, y, training=False)
    assert trace.cost == pytest.approx(J, rel=1e-12)
    assert [t.name for t in trace.layers] == ["Dense", "Dropout", "Dense", "Dropout", "Dense"]
    for t, g in zip(trace.layers, grads):
        assert t.grads.keys() == g.keys()
        for name in g:
            np.testing.assert_allclose(t.grads[name], g[name], rtol=1e-6, atol=1e-9)
    out = trace.layers[-1]
    onehot = np.eye(10, dtype=np.float32)[y]
    np.testing.assert_allclose(out.dz, (out.a - onehot) / len(y), rtol=1e-6, atol=1e-9)
    first = trace.layers[0]   # dz = da * f'(z), dW = a[0]^T dz, da[0] = dz W^T
    np.testing.assert_allclose(first.dz, first.da * (1 - np.tanh(first.z) ** 2), rtol=1e-5,
                               atol=1e-8)
    np.testing.assert_allclose(first.grads["W"], X.T @ first.dz, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(first.da_prev, first.dz @ first.layer.params["W"].T, rtol=1e-5,
                               atol=1e-8)
    text = format_trace(trace)
    assert "layer 5: dz[5] = (a[5] - y) / m  (fused softmax + categorical_crossentropy)" in text
    assert "layer 1 Dense 64->12 (tanh): z[1] = a[0] W[1] + b[1]  (40, 12)" in text
    assert f"cost J = {J:.6g}" in text


def test_the_figure_is_drawn_with_the_real_shapes(digits, tmp_path):
    X, y = digits[0][:16], digits[1][:16]
    net = bp.mlp([64, 12, 10], activation="relu", output="softmax", seed=1)
    fig = plot_backprop(net, X, y, tmp_path / "f.svg")
    svg = (tmp_path / "f.svg").read_text()
    assert svg.startswith("<?xml") and "</svg>" in svg
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("dz[2] = (a[2] − y)/m" in t and "fused softmax" in t for t in texts)
    assert any(t.startswith("dW[1] (64, 12)") for t in texts)
    assert any(t.startswith("cache z[1]\n(16, 12)") for t in texts)
    assert len(fig.axes[0].patches) >= 3 * 2 + 4  # forward, backward, output boxes ...
    with pytest.raises(ValueError, match="cannot save a figure as"):
        plot_backprop(net, X, y, tmp_path / "f.txt")


def test_gradients_vanish_through_six_sigmoid_layers_and_not_with_relu(digits, tmp_path):
    X, y = digits
    ratios = {}
    for act in ("sigmoid", "relu"):
        net = bp.mlp([64, 32, 32, 32, 32, 32, 10], activation=act, output="softmax", seed=0)
        flow = GradientFlow(X[:256], y[:256])
        net.fit(X, y, epochs=2, batch_size=64, verbose=0, seed=0, callbacks=[flow])
        assert flow.layers == [f"{i} Dense" for i in range(1, 7)]
        assert all(len(v) == 3 for v in flow.grad_norms.values())
        assert all(len(v) == 2 and min(v) > 0 for v in flow.update_ratios.values())
        ratios[act] = flow.first_last_ratio(0)
    # measured: about 0.0027 for sigmoid (the first layer's gradient ~370x smaller than the
    # last's), about 0.83 for ReLU with He initialisation
    assert ratios["sigmoid"] < 0.01 < 0.5 < ratios["relu"] < 2
    fig = plot_gradient_flow(flow, tmp_path / "flow.png")
    assert (tmp_path / "flow.png").stat().st_size > 0
    assert len(fig.axes[0].lines) == 6


def test_explain_and_plot_gradients_from_the_command_line(tmp_path, capsys):
    from backprop.cli import main

    model = tmp_path / "m.safetensors"
    assert main(["train", "--data", "breast-cancer", "--epochs", "2", "--quiet",
                 "--no-gradcheck", "--out", str(model), "--plot-gradients",
                 str(tmp_path / "g.png")]) == 0
    out = capsys.readouterr().out
    assert "saved gradient-flow plot: " in out and (tmp_path / "g.png").exists()
    assert "gradient norm, first / last layer: " in out
    assert main(["explain", str(model), "--data", "breast-cancer", "--rows", "5", "--text",
                 "--out", str(tmp_path / "e.svg")]) == 0
    out = capsys.readouterr().out
    assert "on the first 5 rows of breast-cancer" in out
    assert "layer 3: dz[3] = (a[3] - y) / m  (fused sigmoid + binary_crossentropy)  (5, 1)" in out
    assert (tmp_path / "e.svg").exists()
    assert main(["explain", str(model), "--data", "breast-cancer"]) == 1
    assert "say what to make: --out FIGURE" in capsys.readouterr().err
