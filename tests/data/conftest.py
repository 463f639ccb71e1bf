"""Helpers for the data tests: small files written into a test's temporary folder."""

import gzip

import numpy as np
import pytest


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _write_idx(path, arr, gz=False):
    """An IDX file as MNIST's: magic 0 0 <dtype code> <ndim>, big-endian sizes, big-endian data."""
    codes = {np.dtype(np.uint8): 0x08, np.dtype(np.int16): 0x0B, np.dtype(np.float32): 0x0D}
    arr = np.asarray(arr)
    head = bytes([0, 0, codes[arr.dtype], arr.ndim]) + np.array(arr.shape, ">u4").tobytes()
    data = head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    with open(path, "wb") as f:
        f.write(gzip.compress(data) if gz else data)
    return str(path)


@pytest.fixture
def write():
    """``write(tmp_path, name, text)``: a text file; returns its path as a string."""
    return _write


@pytest.fixture
def write_idx():
    """``write_idx(path, arr, gz=False)``: an IDX file holding ``arr``; returns the path."""
    return _write_idx
