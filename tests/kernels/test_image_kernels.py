"""The image kernels on their own: bias + activation equals the NumPy activation, im2col's
windows and padding, and the split of a batch's images over threads."""

import numpy as np
import pytest

from backprop import _kernels
from backprop.nn.activations import ACTIVATIONS, LEAKY_RELU_SLOPE

pytestmark = pytest.mark.skipif(not _kernels.available(), reason="numba is not installed")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["relu", "leaky_relu", "linear", "tanh", "sigmoid"])
def test_image_activation_kernels_equal_the_numpy_activation(name, dtype, rng):
    kernels = _kernels.image_activation_kernels(name, dtype, LEAKY_RELU_SLOPE)
    act = ACTIVATIONS[name]
    z0 = rng.normal(size=(6, 35, 7)).astype(dtype)
    b = rng.normal(size=7).astype(dtype)
    z_ref = z0 + b
    a_ref = act.value(z_ref)
    if kernels.forward is None:
        assert name in ("tanh", "sigmoid")  # NumPy's SIMD exp/tanh are faster
    else:
        z, a = z0.copy(), np.empty_like(z0)
        kernels.forward(z, b, a)
        np.testing.assert_array_equal(z, z_ref)
        np.testing.assert_array_equal(a, a_ref)
    da = rng.normal(size=z0.shape).astype(dtype)
    dz_ref = act.backward(da, z_ref, a_ref)
    dz, db = da.copy(), np.empty(7, dtype=dtype)
    kernels.backward(dz, z_ref, a_ref, db)
    np.testing.assert_allclose(dz, dz_ref, rtol=1e-6 if dtype == np.float32 else 1e-15)
    np.testing.assert_allclose(db, dz_ref.sum(axis=(0, 1)), rtol=1e-5 if dtype == np.float32
                               else 1e-12, atol=1e-6)


def test_no_image_kernels_for_softmax_or_unknown_activations():
    assert _kernels.image_activation_kernels("softmax", np.float32, 0.01) is None
    assert _kernels.image_activation_kernels("elu", np.float32, 0.01) is None


def test_im2col_copies_windows_and_pads_with_zeros(rng):
    x = rng.normal(size=(3, 5, 4, 2))
    cols = np.empty((3, 5, 4, 3, 3, 2))
    _kernels.get("im2col")(x, cols, 3, 3, 1, 1, 1, 1, 0.0)
    assert cols[0, 0, 0, 0, 0].tolist() == [0.0, 0.0]  # the padding corner
    np.testing.assert_array_equal(cols[:, 1, 1, 1, 1], x[:, 1, 1])  # a window's centre
    np.testing.assert_array_equal(cols[:, 2, 3, 0, 2], np.zeros((3, 2)))  # right of the edge


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_split_covers_every_image_once_in_order_with_one_blas_thread(n_threads, monkeypatch):
    from threadpoolctl import threadpool_info

    monkeypatch.setattr(_kernels.threads, "count", lambda: n_threads)
    seen = []

    def work(lo, hi, part):
        # NumPy's BLAS, which the image layers' products use
        blas = [i["num_threads"] for i in threadpool_info()
                if i["user_api"] == "blas" and "numpy" in i["filepath"]]
        seen.append((lo, hi, part, blas))
        return part

    assert _kernels.split(7, work) == list(range(n_threads))
    ranges = sorted((lo, hi) for lo, hi, _, _ in seen)
    assert ranges[0][0] == 0 and ranges[-1][1] == 7
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))  # contiguous, no overlap
    if n_threads > 1:
        assert all(set(blas) <= {1} for *_, blas in seen)
    assert _kernels.split(1, work) == [0]  # never more ranges than images


def test_split_raises_an_error_from_any_range_after_all_finished(monkeypatch):
    monkeypatch.setattr(_kernels.threads, "count", lambda: 2)
    done = []

    def work(lo, hi, part):
        if part == 1:
            raise ValueError("range 1 failed")
        done.append(part)

    with pytest.raises(ValueError, match="range 1 failed"):
        _kernels.split(4, work)
    assert done == [0]


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="no fork on this platform")
def test_split_works_in_a_forked_child(monkeypatch):
    """The parent's pool threads do not exist in a forked child: it must make its own."""
    import multiprocessing

    monkeypatch.setattr(_kernels.threads, "count", lambda: 2)
    assert _kernels.split(4, lambda lo, hi, part: hi - lo) == [2, 2]  # the parent's pool
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        assert pool.apply_async(_split_sizes).get(timeout=60) == [3, 3]


def _split_sizes():
    _kernels.threads.count = lambda: 2  # the child's module: set as in the parent
    return _kernels.split(6, lambda lo, hi, part: hi - lo)
