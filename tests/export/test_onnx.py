"""ONNX export, proved by running every exported file in onnxruntime: each layer type and
activation, classifiers (labels of every type) and regressors, tables with text, gaps and dates,
batch 1 and 7, the checker's full check, the metadata, the version we promise, and the CLI."""

import json
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import backprop as bp
from backprop.export import IR_VERSION, OPSET, onnx_feeds
from helpers import RunningMean, titanic_like

HIDDEN = ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus"]


def run(path, feeds):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def exported(net, tmp_path, name="m.onnx"):
    path = tmp_path / name
    net.export_onnx(path)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    return path


def rows(n, width, seed=0):
    return np.random.default_rng(seed).normal(size=(n, width)).astype(np.float32) * 2


@pytest.mark.parametrize("activation", HIDDEN)
@pytest.mark.parametrize("batch", [1, 7])
def test_dense_with_each_activation_and_dropout(activation, batch, tmp_path):
    dense = bp.mlp([5, 6, 4, 1], activation=activation, output="linear", dropout=0.3, seed=1)
    net = bp.Network([bp.Standardize(np.arange(5.0), np.arange(1.0, 6.0)), *dense.layers,
                      bp.Standardize([100.0], [25.0], inverse=True)], loss="mse")
    X = rows(batch, 5)
    out, = run(exported(net, tmp_path), {"X": X})
    assert out.dtype == np.float32 and out.shape == (batch, 1)
    np.testing.assert_allclose(out, net.predict(X), rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("classes", [None, ["no", "yes"], [0, 1], [False, True], [-1.5, 2.0]])
def test_binary_classifier_labels_are_the_models_own(classes, tmp_path):
    net = bp.mlp([3, 4, 1], output="sigmoid", seed=2)
    net.classes = classes
    X = rows(7, 3, seed=3)
    out, label = run(exported(net, tmp_path), {"X": X})
    np.testing.assert_allclose(out, net.predict(X), atol=1e-5)
    assert label.shape == (7,)
    assert label.tolist() == net.predict_labels(X).tolist()
    assert len(set(label.tolist())) == 2  # the rows straddle the threshold


def test_multiclass_and_multilabel(tmp_path):
    net = bp.mlp([4, 8, 3], output="softmax", seed=4)
    net.classes = ["setosa", "versicolor", "virginica"]
    X = rows(7, 4, seed=5)
    for batch in (X[:1], X):
        out, label = run(exported(net, tmp_path), {"X": batch})
        np.testing.assert_allclose(out, net.predict(batch), atol=1e-5)
        assert label.tolist() == net.predict_labels(batch).tolist()
    multi = bp.mlp([4, 3], output="sigmoid", seed=6)
    out, label = run(exported(multi, tmp_path, "multi.onnx"), {"X": X})
    np.testing.assert_array_equal(label, multi.predict_labels(X))
    assert label.shape == (7, 3)


def test_a_table_model_takes_raw_columns(tmp_path):
    df = titanic_like(300, seed=4)
    y = df.pop("Survived").to_numpy()
    pre = bp.TablePreprocessor(categorical=["Pclass"], na_values=["?"]).fit(df)
    net = bp.mlp([pre.n_features_out, 8, 1], output="sigmoid", seed=0, preprocessor=pre)
    net.classes = ["died", "survived"]
    net.fit(df, y, epochs=3, verbose=0, seed=0)
    path = exported(net, tmp_path)
    new = titanic_like(7, seed=9)
    new.loc[0, "Sex"] = "?"                # an na_values marker: empty
    new.loc[1, "Embarked"] = "X"           # unseen
    new.loc[2, ["Age", "Fare", "Boarded"]] = [np.nan, np.nan, None]
    new.loc[3, "Boarded"] = "1600-02-29"   # far from the epoch, a leap day
    new.loc[4, "Pclass"] = 4               # an unseen number category
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        expected, labels = net.predict(new), net.predict_labels(new)
    for batch in (new.iloc[:1], new):
        out, label = run(path, onnx_feeds(pre, batch))
        np.testing.assert_allclose(out, expected[:len(batch)], atol=1e-5)
        assert label.tolist() == labels[:len(batch)].tolist()
    model = onnx.load(path)
    assert [i.name for i in model.graph.input] == pre.columns_used
    meta = {p.key: p.value for p in model.metadata_props}
    assert json.loads(meta["inputs"]) == pre.columns_used
    assert json.loads(meta["feature_names"]) == pre.feature_names_out_


def test_versions_and_metadata_are_what_the_readme_promises(tmp_path):
    net = bp.mlp([2, 2], output="softmax", seed=0)
    net.classes = ["a", "b"]
    net.metadata = {"target": "kind"}
    model = onnx.load(exported(net, tmp_path))
    assert (model.ir_version, IR_VERSION) == (8, 8)
    assert [(o.domain, o.version) for o in model.opset_import] == [("", OPSET)] == [("", 17)]
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["task"] == "multiclass" and json.loads(meta["classes"]) == ["a", "b"]
    assert meta["backprop_version"] == bp.__version__ and meta["target"] == "kind"
    assert [o.name for o in model.graph.output] == ["output", "label"]
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["batch", 2]


def test_a_layer_without_a_converter_is_refused_before_anything_is_written(tmp_path):
    net = bp.Network([bp.Dense(3, 3, seed=0), RunningMean(3), bp.Dense(3, 1, seed=1)])
    path = tmp_path / "m.onnx"
    with pytest.raises(bp.ExportError, match=r"layer 1 \(RunningMean\) cannot be exported to "
                                             r"ONNX: no converter for it \(exportable: "
                                             r"Activation, AvgPool2D, BatchNorm, Conv2D, "):
        net.export_onnx(path)
    assert not path.exists()


@pytest.mark.parametrize("batch", [1, 7])
def test_batch_norm_in_eval_mode_and_activation_layers(batch, tmp_path):
    rng = np.random.default_rng(0)
    X, y = rows(200, 4, seed=8), rng.integers(0, 3, 200)
    net = bp.Network([bp.Dense(4, 8, seed=0), bp.BatchNorm(8), bp.Activation("tanh"),
                      bp.Dense(8, 3, seed=1), bp.Activation("softmax")],
                     loss="categorical_crossentropy")
    net.fit(X, y, epochs=2, batch_size=32, verbose=0, seed=0)  # running statistics move
    assert not np.allclose(net.layers[1].buffers["running_var"], 1)
    out, label = run(exported(net, tmp_path), {"X": X[:batch]})
    np.testing.assert_allclose(out, net.predict(X[:batch]), atol=1e-5)
    assert label.tolist() == net.predict_labels(X[:batch]).tolist()


def test_every_registered_layer_can_be_exported():
    from backprop.export import CONVERTERS

    missing = sorted(name for name, cls in bp.LAYERS.items()
                     if not any(c in CONVERTERS for c in cls.__mro__))
    assert missing == []


@pytest.mark.parametrize("batch", [1, 7])
def test_a_cnn_with_every_image_layer(batch, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 1, 12, 12)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    net = bp.Network([bp.Conv2D(1, 4, 3, padding=1, activation="relu", seed=0),
                      bp.MaxPool2D(2),
                      bp.Conv2D(4, 6, 3, stride=2, padding=1, seed=1), bp.BatchNorm(6),
                      bp.Activation("tanh"), bp.AvgPool2D(2, padding=1), bp.Flatten(),
                      bp.Dense(6 * 2 * 2, 3, "softmax", seed=2)],
                     loss="categorical_crossentropy", input_shape=(1, 12, 12))
    net.fit(X, y, epochs=2, batch_size=16, verbose=0, seed=0)
    path = exported(net, tmp_path)
    dims = onnx.load(path).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["batch", 1, 12, 12]
    out, label = run(path, {"X": X[:batch]})
    np.testing.assert_allclose(out, net.predict(X[:batch]), atol=1e-5)
    assert label.tolist() == net.predict_labels(X[:batch]).tolist()
