"""Inference speed, side by side in one run: our ``predict``, onnxruntime on our exported file,
PyTorch's forward (eval mode, no grad) and scikit-learn's ``MLPClassifier.predict_proba``, all
with the same weights on the same 10,000 Fashion-MNIST test images (float32).

Networks: the MLP 784-256-128-10 (ReLU, softmax), bare and as ``backprop train`` saves it (a
Standardize layer first); the CNN of the convolution issue when its layers exist.  Each round
times every contender once, in an order that rotates; the medians and the ratios
``other / ours`` are printed (> 1: ours is faster).  Nothing is asserted.

    python benchmarks/bench_predict.py [--rounds 15] [--rows 10000] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_limits

import backprop as bp
from _fashion import find_files, load


def mlp(standardize: np.ndarray | None) -> bp.Network:
    net = bp.mlp([784, 256, 128, 10], activation="relu", output="softmax", seed=0)
    if standardize is None:
        return net
    mean, scale = standardize.mean(axis=0), standardize.std(axis=0) + 1e-3
    return bp.Network([bp.Standardize(mean, scale), *net.layers], loss=net.loss)


def torch_forward(net: bp.Network, threads: int) -> Callable[[np.ndarray], np.ndarray] | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    if not all(isinstance(la, (bp.Standardize, bp.Dense)) for la in net.layers):
        return torch_cnn_forward(net, torch)
    mods: list = []
    for layer in net.layers:
        if isinstance(layer, bp.Standardize):
            mean = torch.tensor(layer.buffers["mean"], dtype=torch.float32)
            scale = torch.tensor(layer.buffers["scale"], dtype=torch.float32)
            mods.append(_Affine(mean, scale))
            continue
        lin = torch.nn.Linear(layer.n_in, layer.n_out)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(layer.params["W"].T.copy()))
            lin.bias.copy_(torch.from_numpy(layer.params["b"]))
        mods.append(lin)
        mods.append(torch.nn.ReLU() if layer.activation.name == "relu" else torch.nn.Softmax(1))
    model = torch.nn.Sequential(*mods).eval()

    def forward(X: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return model(torch.from_numpy(X)).numpy()

    return forward


def torch_cnn_forward(net: bp.Network, torch) -> Callable[[np.ndarray], np.ndarray]:
    """bench_conv's PyTorch net A (eval mode) with our weights copied in, then softmax."""
    from bench_conv import torch_net

    model = torch.nn.Sequential(torch_net("A"), torch.nn.Softmax(1)).eval()
    ours = [la for la in net.layers if la.params]
    theirs = [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        for la, mod in zip(ours, theirs, strict=True):
            W = la.params["W"]
            mod.weight.copy_(torch.from_numpy(W if W.ndim == 4 else W.T.copy()))
            mod.bias.copy_(torch.from_numpy(la.params["b"]))

    def forward(X: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return model(torch.from_numpy(X)).numpy()

    return forward


class _Affine:  # a tiny torch module without subclassing at import time
    def __new__(cls, mean, scale):
        import torch

        class Affine(torch.nn.Module):
            def forward(self, x):
                return (x - mean) / scale

        return Affine()


def sklearn_forward(net: bp.Network) -> Callable[[np.ndarray], np.ndarray] | None:
    from sklearn.neural_network import MLPClassifier

    if not all(isinstance(la, bp.Dense) for la in net.layers):
        return None  # scikit-learn has no standardization inside its MLP
    clf = MLPClassifier(hidden_layer_sizes=(256, 128), max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(np.eye(784, dtype=np.float32)[:10], np.arange(10))
    clf.coefs_ = [la.params["W"] for la in net.layers]
    clf.intercepts_ = [la.params["b"] for la in net.layers]
    return clf.predict_proba


def ort_forward(net: bp.Network, folder: str, threads: int
                ) -> Callable[[np.ndarray], np.ndarray] | None:
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    path = os.path.join(folder, "model.onnx")
    net.export_onnx(path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return lambda X: session.run(["output"], {"X": X})[0]


def time_round(contenders: dict[str, Callable], X: np.ndarray, order: list[str]
               ) -> dict[str, float]:
    out = {}
    for name in order:
        start = time.perf_counter()
        contenders[name](X)
        out[name] = time.perf_counter() - start
    return out


def bench(title: str, net: bp.Network, X: np.ndarray, args: argparse.Namespace) -> None:
    print(f"\n=== {title}: {X.shape[0]} rows, {args.threads} threads, {args.rounds} rounds")
    with tempfile.TemporaryDirectory() as folder:
        contenders: dict[str, Callable] = {"ours": net.predict}
        for name, make in (("onnxruntime", lambda: ort_forward(net, folder, args.threads)),
                           ("torch", lambda: torch_forward(net, args.threads)),
                           ("sklearn", lambda: sklearn_forward(net))):
            f = make()
            if f is not None:
                contenders[name] = f
        ref = net.predict(X)
        for name, f in contenders.items():
            err = float(np.abs(np.asarray(f(X), dtype=np.float64) - ref).max())
            print(f"  {name:12s} max |difference| from ours {err:.2e}")
        names = list(contenders)
        times: dict[str, list[float]] = {n: [] for n in names}
        for r in range(args.rounds + 1):
            order = names[r % len(names):] + names[:r % len(names)]
            got = time_round(contenders, X, order)
            if r:  # the first round warms caches and thread pools
                for n, t in got.items():
                    times[n].append(t)
    ours = np.median(times["ours"])
    for name in names:
        med = np.median(times[name])
        ratio = np.median(np.array(times[name]) / np.array(times["ours"]))
        print(f"  {name:12s} median {med * 1e3:7.2f} ms   {name}/ours {ratio:5.2f}"
              + ("" if name != "ours" else f"   ({X.shape[0] / ours:,.0f} rows/s)"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if find_files() is not None:
        X_train, _, X, _ = load()
    else:
        print("Fashion-MNIST not installed (apt-get install -y dataset-fashion-mnist): random "
              "images instead")
        X_train = X = np.random.default_rng(0).random((args.rows, 784), dtype=np.float32)
    X = np.ascontiguousarray(X[:args.rows])
    with threadpool_limits(args.threads):
        bench("MLP 784-256-128-10", mlp(None), X, args)
        bench("MLP as backprop train saves it (Standardize first)", mlp(X_train), X, args)
        if hasattr(bp, "Conv2D"):
            from bench_conv import net_a  # the convolution issue's net A

            images = X.reshape(-1, 1, 28, 28)
            bench("CNN net A", net_a(seed=0), images, args)


if __name__ == "__main__":
    main()
