"""The layer contract, run for every registered layer: a layer that is registered but has no
example here fails the guard test, so a new layer cannot skip these checks."""

import importlib
import pkgutil

import numpy as np
import pytest

import backprop as bp
import backprop.nn.layers
from backprop import _kernels
from backprop.nn.layers import LAYERS
from backprop.nn.workspace import Workspace

RNG = np.random.default_rng(0)

#: name -> (factory of a float64 example, the trailing input shape it takes)
def batchnorm_example():
    """A BatchNorm away from its initial values: gamma, beta and running statistics drawn."""
    layer = bp.BatchNorm(4, momentum=0.2, dtype=np.float64)
    for arr, low in zip(layer.arrays().values(), (0.5, -1.0, -1.0, 0.5)):
        arr[...] = RNG.uniform(low, low + 1.5, size=arr.shape)
    return layer


EXAMPLES = {
    "Activation": (lambda: bp.Activation("tanh"), (4,)),
    "BatchNorm": (batchnorm_example, (4,)),
    "Dense": (lambda: bp.Dense(4, 3, "tanh", dtype=np.float64, seed=0), (4,)),
    "Dropout": (lambda: bp.Dropout(0.3, seed=0), (4,)),
    "Standardize": (lambda: bp.Standardize(RNG.normal(size=4), RNG.uniform(0.5, 2, size=4)),
                    (4,)),
    # odd sizes, unequal strides and padding: every window offset meets an edge somewhere
    "Conv2D": (lambda: bp.Conv2D(2, 3, (3, 2), stride=(2, 1), padding=(1, 0),
                                 activation="tanh", dtype=np.float64, seed=0), (2, 7, 5)),
    "MaxPool2D": (lambda: bp.MaxPool2D(3, stride=2, padding=1), (2, 7, 5)),
    "AvgPool2D": (lambda: bp.AvgPool2D((3, 2), stride=(2, 1), padding=(1, 1)), (2, 7, 5)),
    "Flatten": (lambda: bp.Flatten(), (2, 3, 4)),
}


def test_every_registered_layer_has_an_example():
    assert set(EXAMPLES) == set(LAYERS)


def test_every_layer_module_is_imported_by_the_package():
    """A layer module the package does not import would escape the registry (and so this
    contract and model files): importing every module of nn/layers registers nothing new."""
    before = dict(LAYERS)
    for info in pkgutil.iter_modules(backprop.nn.layers.__path__):
        importlib.import_module(f"backprop.nn.layers.{info.name}")
    assert LAYERS == before


def example(name):
    factory, shape = EXAMPLES[name]
    return factory(), shape


def network(layer, in_shape):
    """``layer`` followed by a linear head (after a Flatten for images), so that any layer
    ends in a cost."""
    out_shape = layer.output_shape(in_shape)
    head = [bp.Flatten()] if len(out_shape) > 1 else []
    head.append(bp.Dense(int(np.prod(out_shape)), 2, "linear", dtype=np.float64, seed=1))
    return bp.Network([layer, *head], "mse", input_shape=in_shape)


def batch(in_shape, m=5, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(m, *in_shape)), rng.normal(size=(m, 2))


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_output_shape_is_the_real_output_shape(name):
    layer, in_shape = example(name)
    X, _ = batch(in_shape)
    for training in (False, True):
        a, _ = layer.forward(X, training=training)
        assert a.shape == (X.shape[0], *layer.output_shape(in_shape))


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_gradient_check_with_the_input_gradient(name):
    layer, in_shape = example(name)
    net = network(layer, in_shape)
    X, y = batch(in_shape)
    report = bp.gradient_check(net, X, y)
    assert report.passed, str(report)
    assert report.rows[-1].param == "X" and report.rows[-1].checked == X.size
    checked = {(r.layer, r.param) for r in report.rows if r.checked}
    assert checked >= {(0, p) for p in layer.params}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_config_round_trip_and_declared_shapes(name):
    layer, _ = example(name)
    config = layer.config()
    assert config["type"] == name
    twin = LAYERS[name].from_config(config, dtype=np.float64, seed=0)
    assert twin.config() == config
    declared = LAYERS[name].param_shapes(config, np.float64)
    assert {k: (v.shape, v.dtype) for k, v in layer.arrays().items()} == declared
    assert set(layer.arrays()) == set(layer.params) | set(layer.buffers)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_save_and_load_round_trip(name, tmp_path):
    layer, in_shape = example(name)
    net = network(layer, in_shape)
    for arr in layer.params.values():
        arr += RNG.normal(size=arr.shape)  # not the initial values
    path = tmp_path / f"{name}.safetensors"
    net.save(path)
    loaded = bp.load(path)
    assert loaded.config() == net.config()
    X, _ = batch(in_shape)
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    for key, value in net.state_dict().items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(loaded.state_dict()[key], value, err_msg=key)


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_fast_path_equals_the_plain_numpy_twin(name, training):
    layer, in_shape = example(name)
    if not layer.workspace_path:
        # no fast path of its own: the network runs its public pair (nothing to compare)
        assert type(layer)._forward is bp.Layer._forward
        return
    X, _ = batch(in_shape)
    start = None if layer.rng is None else layer.rng.bit_generator.state
    with _kernels.disabled():  # the plain NumPy reference, whatever the layer's default
        a_plain, cache_plain = layer.forward(X, training=training)
        da = np.random.default_rng(2).normal(size=a_plain.shape)
        da_prev_plain, grads_plain = layer.backward(da.copy(), cache_plain)
    if start is not None:
        layer.rng.bit_generator.state = start  # the same random draws
    ws = Workspace()
    a_fast, cache_fast = layer._forward(X, training, ws)
    np.testing.assert_allclose(a_fast, a_plain, rtol=1e-12, atol=1e-12)
    da_prev_fast, grads_fast = layer._backward(da.copy(), cache_fast, ws, True, da_owned=True)
    np.testing.assert_allclose(da_prev_fast, da_prev_plain, rtol=1e-12, atol=1e-12)
    assert set(grads_fast) == set(grads_plain) == set(layer.params)
    for key in grads_plain:
        np.testing.assert_allclose(grads_fast[key], grads_plain[key], rtol=1e-12, atol=1e-12)
