"""Network: construction checks, forward/predict, validation of every public entry point."""

import contextlib
import warnings

import numpy as np
import pytest

import backprop as bp
from backprop import _kernels


def small_net(dtype=np.float64, loss="binary_crossentropy", out="sigmoid", n_out=1):
    return bp.Network([bp.Dense(3, 4, "relu", dtype=dtype, seed=0),
                       bp.Dense(4, n_out, out, dtype=dtype, seed=1)], loss=loss)


def test_forward_returns_output_and_one_cache_per_layer(rng):
    net = bp.Network([bp.Dense(3, 4, "tanh", seed=0), bp.Dropout(0.5, seed=0),
                      bp.Dense(4, 2, "softmax", seed=1)], loss="categorical_crossentropy")
    X = rng.normal(size=(5, 3))
    out, caches = net.forward(X)
    assert out.shape == (5, 2) and out.dtype == np.float32
    assert len(caches) == 3
    np.testing.assert_allclose(out.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(net.predict(X), out)
    assert net.n_in == 3 and net.n_out == 2 and net.n_parameters() == 3 * 4 + 4 + 4 * 2 + 2


def test_predict_in_chunks_equals_one_pass(rng):
    net = small_net()
    X = rng.normal(size=(1000, 3))
    np.testing.assert_allclose(net.predict(X, batch_size=64), net.predict(X), rtol=1e-15)


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_evaluate_in_chunks_equals_one_pass(rng, kind):
    loss, out, n_out = {"binary": ("binary_crossentropy", "sigmoid", 1),
                        "multiclass": ("categorical_crossentropy", "softmax", 3),
                        "regression": ("mse", "linear", 2)}[kind]
    net = bp.Network([bp.Dense(3, 8, "tanh", seed=0), bp.Dropout(0.3, seed=2),
                      bp.Dense(8, n_out, out, seed=1)], loss=loss, l2=0.01)
    X = rng.normal(size=(203, 3))  # float64 rows, cast a chunk at a time
    y = {"binary": rng.integers(0, 2, 203), "multiclass": rng.integers(0, 3, 203),
         "regression": rng.normal(size=(203, 2))}[kind]
    w = rng.uniform(0.5, 2.0, size=203)
    w[40:60] = 0.0  # a chunk whose rows all weigh nothing
    for weights in (None, w):
        whole, out_whole = net.evaluate_with_output(X, y, weights)  # one pass (8192 rows)
        for size in (1, 20, 64, 202):
            chunked, out_chunked = net.evaluate_with_output(X, y, weights, batch_size=size)
            # BLAS may round a matmul of m rows differently from one of fewer: the outputs,
            # and so the loss, agree to float32 rounding, not bit for bit
            assert chunked.keys() == whole.keys()
            np.testing.assert_allclose(chunked["loss"], whole["loss"], rtol=1e-6)
            assert chunked.get("accuracy") == whole.get("accuracy")
            np.testing.assert_allclose(out_chunked, out_whole, rtol=1e-6, atol=1e-7)
            assert out_chunked.dtype == np.float32
    logs = net.evaluate(X, y, batch_size=20)
    assert logs == net.evaluate_with_output(X, y, batch_size=20)[0]
    with pytest.raises(ValueError, match="batch_size"):
        net.evaluate(X, y, batch_size=0)


def test_predict_classes_and_evaluate(rng):
    net = small_net()
    X = rng.normal(size=(20, 3))
    p = net.predict(X)[:, 0]
    np.testing.assert_array_equal(net.predict_classes(X), (p > 0.5).astype(int))
    y = (p > 0.5).astype(int)
    assert net.evaluate(X, y)["accuracy"] == 1.0
    soft = small_net(loss="categorical_crossentropy", out="softmax", n_out=3)
    np.testing.assert_array_equal(soft.predict_classes(X), soft.predict(X).argmax(axis=1))
    with pytest.raises(ValueError, match="classification loss"):
        small_net(loss="mse", out="linear").predict_classes(X)


@pytest.mark.parametrize(
    "layers, loss, message",
    [
        ([], "mse", "layers must not be empty"),
        ([bp.Dropout(0.5)], "mse", "needs a layer with a known input shape"),
        (["dense"], "mse", r"layers\[0\] must be a Layer"),
        ([bp.Dense(3, 4), bp.Dense(5, 1)], "mse",
         r"do not chain: layers\[0\] \(Dense\) returns \(4,\) but layers\[1\] \(Dense\) "
         r"expects \(5,\)"),
        ([bp.Dense(3, 4), bp.Dropout(0.1), bp.Dense(3, 1)], "mse",
         r"layers\[1\] \(Dropout\) returns \(4,\) but layers\[2\] \(Dense\) expects \(3,\)"),
        ([bp.Dense(3, 1, "relu")], "binary_crossentropy",
         "needs a final layer with 'sigmoid' activation"),
        ([bp.Dense(3, 1, "softmax")], "categorical_crossentropy", "at least 2 output units"),
        ([bp.Dense(3, 2, "sigmoid"), bp.Dropout(0.2)], "binary_crossentropy",
         "needs a final layer with 'sigmoid' activation, got 'Dropout'"),
        ([bp.Dense(3, 4, dtype=np.float64), bp.Dense(4, 1, "linear")], "mse", "one dtype"),
    ],
)
def test_construction_errors(layers, loss, message):
    with pytest.raises((ValueError, TypeError), match=message):
        bp.Network(layers, loss=loss)


def test_l2_must_be_non_negative():
    with pytest.raises(ValueError, match="l2 must be a non-negative number, got -1"):
        bp.Network([bp.Dense(2, 1, "linear")], loss="mse", l2=-1)


BAD_INPUTS = [
    (lambda r: r.normal(size=(5,)), lambda r: r.integers(0, 2, 5),
     r"X must be 2-D \(n_samples, n_features\), got shape \(5,\)"),
    (lambda r: r.normal(size=(5, 4)), lambda r: r.integers(0, 2, 5),
     r"X has 4 features \(shape \(5, 4\)\) but the first layer expects n_in=3"),
    (lambda r: r.normal(size=(5, 3)), lambda r: r.integers(0, 2, 4),
     "X and y have different numbers of rows: 5 and 4"),
    (lambda r: np.where(np.arange(15).reshape(5, 3) == 7, np.nan, 1.0),
     lambda r: r.integers(0, 2, 5), "X contains nan at row 2, column 1"),
    (lambda r: np.where(np.arange(15).reshape(5, 3) == 12, np.inf, 1.0),
     lambda r: r.integers(0, 2, 5), "X contains inf at row 4, column 0"),
    (lambda r: r.normal(size=(5, 3)), lambda r: np.array([0, 1, np.inf, 0, 1]),
     "y contains a non-finite value inf at row 2"),
    (lambda r: r.normal(size=(5, 3)), lambda r: np.array([0, 1, 3, 0, 1]),
     "labels must be 0 or 1; y has 3 at row 2"),
    (lambda r: np.array([["a", "b", "c"]] * 5), lambda r: r.integers(0, 2, 5),
     "X must be numeric"),
]


@pytest.mark.parametrize("make_X, make_y, message", BAD_INPUTS)
def test_bad_input_is_rejected_by_every_entry_point_and_nothing_changes(make_X, make_y, message):
    r = np.random.default_rng(0)
    X, y = make_X(r), make_y(r)
    net = small_net()
    before = net.get_weights()
    opt = bp.Adam()
    calls = [lambda: net.loss_and_grads(X, y), lambda: net.fit(X, y, optimizer=opt, verbose=0),
             lambda: net.evaluate(X, y), lambda: bp.gradient_check(net, X, y)]
    if "y" not in message:  # errors about X alone also reach predict
        calls += [lambda: net.predict(X), lambda: net.forward(X)]
    for call in calls:
        with pytest.raises(ValueError, match=message):
            call()
    for b, layer in zip(before, net.layers):
        for k in b:
            np.testing.assert_array_equal(b[k], layer.params[k])
    assert opt.state["step"] == 0


def test_ce_label_errors_through_fit(rng):
    net = small_net(loss="categorical_crossentropy", out="softmax", n_out=3)
    X = rng.normal(size=(4, 3))
    with pytest.raises(ValueError, match=r"must be in \[0, 3\); y has 5 at row 3"):
        net.fit(X, [0, 1, 2, 5], verbose=0)
    with pytest.raises(ValueError, match="must be integers; y has 0.5 at row 0"):
        net.fit(X, [0.5, 1, 2, 1], verbose=0)


def test_fit_argument_errors(rng):
    net = small_net()
    X, y = rng.normal(size=(6, 3)), rng.integers(0, 2, 6)
    for kwargs, message in [
        ({"epochs": -1}, "epochs must be a non-negative integer"),
        ({"batch_size": 0}, "batch_size must be a positive integer or None"),
        ({"validation_split": 1.0}, r"validation_split must be in \[0, 1\)"),
        ({"optimizer": "newton"}, "unknown optimizer 'newton'"),
        ({"validation_data": (X[:, :2], y)}, "X_val has 2 features"),
        ({"validation_data": (X, y[:3])}, "X_val and y_val have different numbers of rows"),
        ({"sample_weight": np.ones(5)}, r"sample_weight must have shape \(6,\)"),
        ({"sample_weight": -np.ones(6)}, "sample_weight must be non-negative"),
        ({"callbacks": [print]}, r"callbacks\[0\] must be a Callback"),
    ]:
        with pytest.raises((ValueError, TypeError), match=message):
            net.fit(X, y, verbose=0, **kwargs)


def test_weights_config_and_copy():
    net = bp.mlp([3, 5, 2], activation="elu", output="softmax", dropout=0.2, l2=0.01, seed=3)
    assert [type(la).__name__ for la in net.layers] == ["Dense", "Dropout", "Dense"]
    assert net.loss.name == "categorical_crossentropy" and net.l2 == 0.01
    twin = bp.Network.from_config(net.config(), seed=0)
    assert twin.config() == net.config()
    twin.set_weights(net.get_weights())
    X = np.random.default_rng(0).normal(size=(4, 3))
    np.testing.assert_array_equal(twin.predict(X), net.predict(X))
    with pytest.raises(ValueError, match=r"layer 0 W: expected shape \(3, 5\)"):
        twin.set_weights([{"W": np.zeros((2, 5)), "b": np.zeros(5)}, {}, net.get_weights()[2]])
    f64 = net.astype(np.float64)
    assert f64.dtype == np.float64 and net.dtype == np.float32


def test_l2_per_sample_is_part_of_the_architecture(tmp_path, rng):
    net = bp.mlp([3, 4, 1], output="linear", l2=0.5, seed=0)
    net.l2_per_sample = True
    assert net.config()["l2_per_sample"] is True and "l2_per_sample=True" in repr(net)
    assert "l2_per_sample" not in bp.mlp([3, 4, 1], l2=0.5, seed=0).config()  # old files alike
    net.save(tmp_path / "net.safetensors")
    back = bp.load(tmp_path / "net.safetensors")
    assert back.l2_per_sample and back.l2 == 0.5
    X, y = rng.normal(size=(8, 3)), rng.normal(size=8)
    assert back.loss_and_grads(X, y)[0] == net.loss_and_grads(X, y)[0]
    # the coefficient of a batch: divided by its rows, or by its total weight
    assert net.batch_l2(8) == 0.5 / 8 and net.batch_l2(8, np.full(8, 0.5)) == 0.5 / 4
    assert net.batch_l2(8, np.zeros(8)) == 0.0
    # validation metrics use the validation set's own size
    J = net.evaluate(X, y)["loss"]
    out = net.predict(X)[:, 0]
    W = [la.params["W"] for la in net.layers]
    expected = np.mean((out - y) ** 2) + 0.25 / 8 * sum(np.sum(w.astype(float) ** 2) for w in W)
    assert J == pytest.approx(expected, rel=1e-5)


def test_mlp_same_seed_same_weights():
    a, b = bp.mlp([4, 8, 1], seed=11), bp.mlp([4, 8, 1], seed=11)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        for k in wa:
            np.testing.assert_array_equal(wa[k], wb[k])


@pytest.mark.parametrize("loss, out, n_out, y", [
    ("mse", "linear", 2, np.zeros((6, 2))),
    ("binary_crossentropy", "sigmoid", 1, np.array([0.0, 1, 1, 0, 1, 0])),
    ("categorical_crossentropy", "softmax", 3, np.eye(3)[[0, 1, 2, 0, 1, 2]]),
])
def test_float32_network_keeps_float32_gradients(loss, out, n_out, y, rng):
    net = small_net(dtype=np.float32, loss=loss, out=out, n_out=n_out)
    X = rng.normal(size=(6, 3))  # float64 input is cast, targets too
    _, grads = net.loss_and_grads(X, y)
    for g in grads:
        for v in g.values():
            assert v.dtype == np.float32


@pytest.mark.parametrize("kernels", [True, False])
def test_predict_rejects_non_finite_input_without_warnings(kernels, rng):
    # predict finds a NaN/inf of X through the first layer's z (see Network.predict); with or
    # without the compiled kernels it raises the ValueError naming it, and warns of nothing
    # (not even for a row with both +inf and -inf, whose z entries sum to NaN)
    net = bp.mlp([4, 6, 3], activation="tanh", output="softmax", seed=0)
    X = rng.normal(size=(9, 4)).astype(np.float32)
    X[5, 1], X[5, 3] = np.inf, -np.inf
    with contextlib.ExitStack() as stack:
        if not kernels:
            stack.enter_context(_kernels.disabled())
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(ValueError, match="X contains inf at row 5, column 1"):
                net.predict(X)
            with pytest.raises(ValueError, match="X contains -inf at row 5, column 1"):
                net.predict(X[:, [0, 3, 2, 1]])


@pytest.mark.parametrize("kernels", [True, False])
def test_predict_of_an_overflowing_input_warns_as_forward_does(kernels):
    # a finite X whose first z overflows is not an input error: predict returns forward's
    # numbers and emits forward's warnings, each once (its first, watched pass is silent)
    net = bp.mlp([2, 3, 2], activation="relu", output="softmax", seed=0)
    net.layers[0].params["W"][:] = 1.0
    X = np.full((4, 2), 3e38, dtype=np.float32)
    with contextlib.ExitStack() as stack:
        if not kernels:
            stack.enter_context(_kernels.disabled())
        with warnings.catch_warnings(record=True) as from_predict:
            warnings.simplefilter("always")
            out = net.predict(X)
        with warnings.catch_warnings(record=True) as from_forward:
            warnings.simplefilter("always")
            ref, _ = net.forward(X)
    np.testing.assert_array_equal(out, ref)
    assert from_forward  # the overflow does warn
    assert sorted(str(w.message) for w in from_predict) == \
        sorted(str(w.message) for w in from_forward)


def test_a_table_s_columns_are_matched_by_name():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(120, 3)), columns=["age", "fare", "size"])
    y = (df["age"] > 0).astype(int).to_numpy()
    net = bp.mlp([3, 8, 1], seed=0)
    net.fit(df, y, epochs=30, batch_size=16, verbose=0, optimizer=bp.Adam(lr=1e-2))
    assert net.feature_names == ["age", "fare", "size"]  # fit recorded the table's names
    expected = net.predict(df)
    np.testing.assert_array_equal(net.predict(df[["size", "age", "fare"]]), expected)
    assert net.evaluate(df[["fare", "size", "age"]], y) == net.evaluate(df, y)
    with pytest.raises(ValueError, match=r"X lacks the network's feature column\(s\) \['fare'\]"):
        net.predict(df[["age", "size"]].assign(price=1.0))
    np.testing.assert_array_equal(net.predict(df.to_numpy()), expected)  # arrays: by position
