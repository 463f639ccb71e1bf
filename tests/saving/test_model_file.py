"""Model files: bit-exact round trips, atomic writes (also under kill -9), and one error type,
ModelFileError, for every bad file."""

import copy
import glob
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

import backprop as bp
from backprop.saving.atomic import atomic_write
from backprop.saving.container import (
    FORMAT_VERSION,
    checksum,
    read_safetensors,
    write_safetensors,
)


def classifier(dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    mean, scale = rng.normal(size=4), rng.uniform(0.5, 2, size=4)
    return bp.Network(
        [bp.Standardize(mean, scale), bp.Dense(4, 6, "relu", dtype=dtype, seed=seed),
         bp.Dropout(0.25, seed=seed), bp.Dense(6, 3, "softmax", dtype=dtype, seed=seed + 1)],
        loss="categorical_crossentropy", l2=1e-3, classes=["cat", "dog", "eel"],
        feature_names=["w", "h", "age", "len"],
        metadata={"target": "kind", "metrics": {"test_accuracy": 0.9}, "nan": float("nan")})


def regressor():
    return bp.Network([bp.Standardize([1.0, 2.0], [3.0, 4.0]),
                       bp.Dense(2, 3, "tanh", dtype=np.float64, seed=3),
                       bp.Dense(3, 1, "linear", dtype=np.float64, seed=4),
                       bp.Standardize([50.0], [10.0], inverse=True)], loss="mse")


def arrays(net):
    return [(type(la).__name__, k, v) for la in net.layers
            for k, v in {**la.params, **getattr(la, "buffers", {})}.items()]


# --------------------------------------------------------------------------- round trip
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_is_bit_exact_and_predicts_identically(tmp_path, rng, dtype):
    net = classifier(dtype)
    path = tmp_path / "model.safetensors"
    net.save(path)
    loaded = bp.load(path)
    assert len(loaded.layers) == len(net.layers)
    for (kind_a, name_a, a), (kind_b, name_b, b) in zip(arrays(net), arrays(loaded)):
        assert (kind_a, name_a) == (kind_b, name_b)
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()  # bit-exact
        assert b.flags.writeable and b.flags.c_contiguous
    assert loaded.config() == net.config()
    assert loaded.classes == ["cat", "dog", "eel"]
    assert loaded.feature_names == ["w", "h", "age", "len"]
    assert loaded.metadata == {"target": "kind", "metrics": {"test_accuracy": 0.9}, "nan": None}
    X = rng.normal(size=(50, 4))
    assert net.predict(X).tobytes() == loaded.predict(X).tobytes()
    np.testing.assert_array_equal(loaded.predict_labels(X), net.predict_labels(X))
    assert set(loaded.predict_labels(X)) <= {"cat", "dog", "eel"}
    # a loaded model keeps training
    loaded.fit(X, rng.integers(0, 3, 50), epochs=1, verbose=0, seed=0)


def test_round_trip_regression_with_target_scaling(tmp_path, rng):
    net = regressor()
    bp.save(net, tmp_path / "r.safetensors")
    loaded = bp.load(str(tmp_path / "r.safetensors"))
    X = rng.normal(size=(7, 2))
    assert net.predict(X).tobytes() == loaded.predict(X).tobytes()
    np.testing.assert_array_equal(loaded.predict_labels(X), loaded.predict(X)[:, 0])
    assert loaded.layers[-1].inverse and loaded.classes is None


def test_labels_survive_copies_and_dtype_changes():
    net = classifier()
    for other in (copy.deepcopy(net), net.astype(np.float64)):
        assert other.classes == net.classes and other.feature_names == net.feature_names
        assert other.metadata == net.metadata


def test_network_validates_labels_and_names():
    dense = [bp.Dense(2, 1, "sigmoid", seed=0)]
    assert bp.Network(dense, "binary_crossentropy", classes=np.array([3, 7])).classes == [3, 7]
    with pytest.raises(ValueError, match="3 classes given but the binary_crossentropy output "
                                         r"with 1 unit\(s\) needs 2"):
        bp.Network(dense, "binary_crossentropy", classes=["a", "b", "c"])
    with pytest.raises(ValueError, match="classes must be distinct"):
        bp.Network(dense, "binary_crossentropy", classes=["a", "a"])
    with pytest.raises(ValueError, match="classes need a classification loss"):
        bp.Network([bp.Dense(2, 1, "linear")], "mse", classes=["a", "b"])
    with pytest.raises(ValueError, match="1 feature_names given but the network has n_in=2"):
        bp.Network(dense, "binary_crossentropy", feature_names=["x"])
    with pytest.raises(TypeError, match="classes\\[1\\] must be a str, int, finite float or bool"):
        bp.Network(dense, "binary_crossentropy", classes=["a", None])


def test_save_refuses_nan_weights_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "m.safetensors"
    good = classifier()
    good.save(path)
    before = path.read_bytes()
    bad = classifier()
    bad.layers[1].params["W"][2, 3] = np.nan
    with pytest.raises(ValueError, match=r"cannot save layers\.1\.W: it holds nan at index "
                                         r"\[2, 3\]"):
        bad.save(path)
    assert path.read_bytes() == before
    with pytest.raises(TypeError, match=r"header\['metadata'\]\['x'\] holds object"):
        bad.layers[1].params["W"][2, 3] = 0
        bad.metadata = {"x": object()}
        bad.save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.safetensors"]


# --------------------------------------------------------------------------- atomic writes
def test_atomic_write_replaces_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "f.txt"
    atomic_write(path, "one")
    os.chmod(path, 0o640)
    atomic_write(path, b"two")
    assert path.read_bytes() == b"two"
    assert os.stat(path).st_mode & 0o777 == 0o640  # keeps the file's permissions
    assert os.listdir(tmp_path) == ["f.txt"]
    with pytest.raises(FileNotFoundError, match="cannot write .*: folder .*nope does not exist"):
        atomic_write(tmp_path / "nope" / "f.txt", "x")
    with pytest.raises(IsADirectoryError):
        atomic_write(tmp_path, "x")


def test_failed_write_keeps_the_old_file_and_removes_the_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "f.txt"
    atomic_write(path, "old")

    def crash(*args):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk on fire"):
        atomic_write(path, "new")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["f.txt"]


KILL_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import backprop as bp
    net = bp.Network([bp.Dense(1500, 1500, "tanh", dtype=np.float64, seed=1),
                      bp.Dense(1500, 1, "linear", dtype=np.float64, seed=2)], loss="mse")
    print("ready", flush=True)
    while True:
        net.save(sys.argv[1])
""")


def test_kill_9_during_save_leaves_the_previous_model_loadable(tmp_path):
    path = tmp_path / "model.safetensors"
    old = bp.Network([bp.Dense(1500, 1500, "tanh", dtype=np.float64, seed=7),
                      bp.Dense(1500, 1, "linear", dtype=np.float64, seed=8)], loss="mse")
    old.save(path)
    new_w = bp.Dense(1500, 1500, "tanh", dtype=np.float64, seed=1).params["W"]
    killed_mid_write = False
    for _ in range(5):
        proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(path)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not glob.glob(str(tmp_path / ".*.tmp")):
            time.sleep(0.001)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        temps = glob.glob(str(tmp_path / ".model.safetensors.*.tmp"))
        loaded = bp.load(path)  # never a torn file
        w = loaded.layers[0].params["W"]
        assert w.tobytes() in (old.layers[0].params["W"].tobytes(), new_w.tobytes())
        if temps:  # the kill landed mid-write: the half-written temp file stayed behind
            killed_mid_write = True
            assert os.path.getsize(temps[0]) < os.path.getsize(path)
            break
    assert killed_mid_write


# --------------------------------------------------------------------------- bad files
def saved(tmp_path, net=None):
    path = tmp_path / "m.safetensors"
    (net or classifier()).save(path)
    return path


def rewrite(path, edit_header=None, edit_meta=None, edit_tensors=None, fix_checksum=True):
    """Re-write a model file with its JSON header, metadata or arrays edited (as a tamperer
    would, with the safetensors library)."""
    data = path.read_bytes()
    tensors = st_load(data)
    n = int.from_bytes(data[:8], "little")
    meta = json.loads(data[8:8 + n])["__metadata__"]
    header = json.loads(meta["header"])
    if edit_header:
        edit_header(header)
    if edit_tensors:
        edit_tensors(tensors)
    meta["header"] = json.dumps(header)
    if edit_meta:
        edit_meta(meta)
    if fix_checksum:
        meta["sha256"] = checksum(tensors, meta["kind"], meta["header"])
    path.write_bytes(st_save(tensors, metadata=meta))
    return path


def expect_error(path, pattern):
    with pytest.raises(bp.ModelFileError, match="^" + str(path).replace("\\", "\\\\") + ": "
                       + pattern) as e:
        bp.load(path)
    assert "\n" not in str(e.value)


def test_missing_empty_and_folder(tmp_path):
    expect_error(tmp_path / "none.safetensors", "no such file")
    (tmp_path / "empty.safetensors").write_bytes(b"")
    expect_error(tmp_path / "empty.safetensors", r"empty file \(0 bytes\)")
    expect_error(tmp_path, "is a folder")


@pytest.mark.parametrize("keep", [0.0, 0.01, 0.3, 0.5, 0.99])
def test_truncated_file(tmp_path, keep):
    path = saved(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep) or 3])
    expect_error(path, "not a valid safetensors file, truncated or corrupted")


def test_garbage_and_foreign_safetensors(tmp_path):
    path = tmp_path / "g.safetensors"
    path.write_bytes(os.urandom(64))
    expect_error(path, "not a valid safetensors file")
    path.write_bytes(st_save({"w": np.ones(3, np.float32)}))
    expect_error(path, "not a numpy-backprop file")


def test_flipped_weight_byte_fails_the_checksum(tmp_path):
    path = saved(tmp_path)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x10
    path.write_bytes(bytes(data))
    expect_error(path, r"the arrays and header do not match the checksum recorded in the file "
                       r"\(corrupted or edited\)")


def test_future_and_invalid_format_versions(tmp_path):
    path = rewrite(saved(tmp_path), edit_meta=lambda m: m.update(
        format_version=str(FORMAT_VERSION + 1)))
    expect_error(path, f"written in format version {FORMAT_VERSION + 1} by a newer numpy-backprop;"
                       f" this version reads format version {FORMAT_VERSION} or older")
    path = rewrite(saved(tmp_path), edit_meta=lambda m: m.update(format_version="one"))
    expect_error(path, "invalid format version 'one'")
    path = rewrite(saved(tmp_path), edit_meta=lambda m: m.update(kind="checkpoint"))
    expect_error(path, "holds a 'checkpoint', not a 'model'")


def test_bad_json_header(tmp_path):
    path = rewrite(saved(tmp_path), edit_meta=lambda m: m.update(header="{not json"))
    expect_error(path, "its JSON header is not valid JSON")
    path = rewrite(saved(tmp_path), edit_meta=lambda m: m.update(header="[1, 2]"))
    expect_error(path, "its JSON header is not an object")
    deep = "[" * 100_000 + "]" * 100_000  # valid JSON that the parser cannot nest that deep
    path = rewrite(saved(tmp_path), edit_meta=lambda m: m.update(header=deep))
    expect_error(path, r"its JSON header is not valid JSON \(maximum recursion depth")


def set_layer(i, **changes):
    return lambda h: h["network"]["layers"][i].update(changes)


def test_metadata_edited_to_mismatched_shapes(tmp_path):
    # n_out 6 -> 5: the arrays in the file no longer fit the architecture
    path = rewrite(saved(tmp_path), edit_header=set_layer(1, n_out=5))
    expect_error(path, r"array layers\.1\.W has shape \(4, 6\) but the architecture needs "
                       r"\(4, 5\)")
    # a consistent edit of both layers that the arrays cannot satisfy either
    path = rewrite(saved(tmp_path), edit_header=lambda h: (set_layer(1, n_out=7)(h),
                                                           set_layer(3, n_in=7)(h)))
    expect_error(path, r"array layers\.1\.W has shape \(4, 6\)")
    # a huge width is caught before anything that large is allocated
    path = rewrite(saved(tmp_path), edit_header=set_layer(1, n_in=10**12))
    expect_error(path, r"array layers\.1\.W has shape \(4, 6\) but the architecture needs "
                       r"\(1000000000000, 6\)")


def test_edited_architecture_and_labels(tmp_path):
    arch = "invalid architecture in the header: "
    model = "the header does not describe a valid model: "
    cases = [
        (set_layer(1, type="Conv9D"), arch + r"layers\[1\]: unknown layer type 'Conv9D'"),
        (set_layer(1, n_in="four"), arch + r"layers\[1\]: n_in must be a positive integer, "
                                           r"got 'four'"),
        (lambda h: h["network"].update(dtype="float16"),
         arch + "dtype must be 'float32' or 'float64', got 'float16'"),
        (lambda h: h["network"].pop("layers"),
         arch + "'network' must be an object with a 'layers' list"),
        (set_layer(1, activation="swish9"), model + "unknown activation 'swish9'"),
        (lambda h: h["network"].update(loss="hinge"), model + "unknown loss 'hinge'"),
        (lambda h: h.update(classes=["a", "b"]),
         model + "2 classes given but the categorical_crossentropy output"),
        (lambda h: h.update(feature_names=["x"]),
         model + "1 feature_names given but the network has n_in=4"),
        (lambda h: h.update(metadata=[1]), model + "metadata must be a dict"),
    ]
    for edit, pattern in cases:
        expect_error(rewrite(saved(tmp_path), edit_header=edit), pattern)


def test_edited_arrays(tmp_path):
    def nan(t):
        t["layers.3.b"][1] = np.nan

    expect_error(rewrite(saved(tmp_path), edit_tensors=nan),
                 r"array layers\.3\.b holds nan at index \[1\]")
    expect_error(rewrite(saved(tmp_path), edit_tensors=lambda t: t.pop("layers.1.b")),
                 r"arrays do not match the architecture: missing array\(s\) \['layers\.1\.b'\]")
    expect_error(rewrite(saved(tmp_path), edit_tensors=lambda t: t.update(x=np.ones(2))),
                 r"arrays do not match the architecture: unexpected array\(s\) \['x'\]")

    def to64(t):
        t["layers.1.W"] = t["layers.1.W"].astype(np.float64)

    expect_error(rewrite(saved(tmp_path), edit_tensors=to64),
                 r"array layers\.1\.W has dtype float64, expected float32")

    def zero_scale(t):
        t["layers.0.scale"][0] = 0.0

    expect_error(rewrite(saved(tmp_path), edit_tensors=zero_scale),
                 "the arrays do not fit the model: layers.0 \\(Standardize\\): scale must be "
                 "positive; entry 0 is 0.0")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_model_file_error(tmp_path, data):
    path = tmp_path / "fuzz.safetensors"
    path.write_bytes(data)
    with pytest.raises(bp.ModelFileError):
        bp.load(path)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, 10**6), flips=st.lists(st.tuples(st.integers(0, 10**6),
                                                           st.integers(1, 255)), max_size=4))
def test_damaged_model_files_load_identically_or_raise_model_file_error(tmp_path, cut, flips):
    path = tmp_path / "m.safetensors"
    if not path.exists():
        classifier().save(path)
    data = bytearray(path.read_bytes())
    for pos, mask in flips:
        data[pos % len(data)] ^= mask
    damaged = bytes(data[:len(data) - cut % 3 * (cut % len(data))])
    fuzz = tmp_path / "fuzz.safetensors"
    fuzz.write_bytes(damaged)
    try:
        net = bp.load(fuzz)
    except bp.ModelFileError:
        return
    # a flip inside JSON whitespace or a string value can leave a valid model: it must still
    # predict, with arrays exactly the original's (the checksum guards them)
    ref = bp.load(path)
    for (_, _, a), (_, _, b) in zip(arrays(ref), arrays(net)):
        assert a.tobytes() == b.tobytes()


HEADERS = [
    "{}", "[]", "null", '{"network": 1}', '{"network": {"layers": [{"type": "Dense"}]}}',
    '{"network": {"layers": [{"type": "Dense", "n_in": 2, "n_out": 1, "activation": "relu"}],'
    ' "loss": "mse"}}',
    '{"network": {"layers": [{"type": "Standardize", "n_features": 2, "inverse": true}, '
    '{"type": "Dense", "n_in": 2, "n_out": 1, "activation": "linear"}], "loss": "mse"}, '
    '"classes": [1, 2], "feature_names": [3], "metadata": {}}',
]
TENSORS = {
    "none": {},
    "dense": {"layers.0.W": np.ones((2, 1), np.float32), "layers.0.b": np.zeros(1, np.float32)},
    "std": {"layers.0.mean": np.zeros(2), "layers.0.scale": np.array([1.0, -1.0]),
            "layers.1.W": np.ones((2, 1), np.float32), "layers.1.b": np.zeros(1, np.float32)},
}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(meta=st.fixed_dictionaries({}, optional={
    "format": st.sampled_from(["numpy-backprop", "other", ""]),
    "kind": st.sampled_from(["model", "checkpoint", ""]),
    "format_version": st.sampled_from(["1", "0", "2", "-1", "1.0", "", "١"]),
    "header": st.one_of(st.sampled_from(HEADERS), st.text(max_size=30)),
    "sha256": st.sampled_from(["", "0" * 64, "good"])}),
    which=st.sampled_from(sorted(TENSORS)))
def test_well_formed_safetensors_with_arbitrary_metadata_raise_only_model_file_error(
        tmp_path, meta, which):
    tensors = TENSORS[which]
    if meta.get("sha256") == "good":
        meta["sha256"] = checksum(tensors)
    path = tmp_path / "meta.safetensors"
    path.write_bytes(st_save(tensors, metadata=meta))
    try:
        net = bp.load(path)
    except bp.ModelFileError:
        return
    assert net.predict(np.ones((1, net.n_in))).shape == (1, 1)


def test_generic_container_for_other_kinds(tmp_path):
    path = tmp_path / "c.safetensors"
    state = {"step": np.array([3], np.int64), "m": np.arange(4.0)}
    write_safetensors(path, state, {"epoch": np.int64(2), "loss": float("inf")}, kind="checkpoint")
    contents = read_safetensors(path, kind="checkpoint")
    assert contents.header == {"epoch": 2, "loss": None}
    assert contents.format_version == FORMAT_VERSION and contents.kind == "checkpoint"
    np.testing.assert_array_equal(contents.tensors["step"], [3])
    assert contents.tensors["m"].tobytes() == state["m"].tobytes()
    with pytest.raises(bp.ModelFileError, match="holds a 'checkpoint', not a 'model'"):
        bp.load(path)


def test_a_flipped_byte_in_the_header_fails_the_checksum(tmp_path):
    """The class names, feature names and architecture live in the JSON header: a changed
    byte there (a class "dog" read back as "dig") must not load."""
    path = saved(tmp_path)
    data = path.read_bytes()
    at = data.index(b'\\"dog\\"') + 3  # inside the header's escaped JSON text
    path.write_bytes(data[:at] + b"i" + data[at + 1:])
    expect_error(path, "the arrays and header do not match the checksum")


def test_a_format_version_1_file_still_loads(tmp_path):
    """Files written before the header joined the checksum: the arrays' checksum is checked."""
    path = saved(tmp_path)
    net = bp.load(path)

    def as_version_1(meta):
        meta["format_version"] = "1"
        meta["sha256"] = checksum(st_load(path.read_bytes()))

    rewrite(path, edit_meta=as_version_1, fix_checksum=False)
    old = bp.load(path)
    X = np.random.default_rng(0).normal(size=(5, 4))
    np.testing.assert_array_equal(old.predict(X), net.predict(X))
    assert old.classes == net.classes
    rewrite(path, edit_tensors=lambda t: t["layers.1.b"].__setitem__(0, 7.0),
            edit_meta=lambda m: None, fix_checksum=False)
    expect_error(path, r"the arrays do not match the checksum")
