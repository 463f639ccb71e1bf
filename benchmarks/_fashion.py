"""Fashion-MNIST for the benchmarks: the official 60,000/10,000 split as float32 in [0, 1].

The files are the four gzipped IDX files of https://github.com/zalandoresearch/fashion-mnist,
read from /usr/share/datasets/fashion-mnist (Debian's ``dataset-fashion-mnist`` package) or from
``--data-dir``.  Loading keeps memory low: each image file becomes one float32 array, scaled in
place (no float64 copy), so a benchmark that measures memory sees the data's own size.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from backprop.data import IDX_DATASETS, read_idx

DEFAULT_DIR = IDX_DATASETS["fashion-mnist"].folder
FILES = {
    "X_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "X_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
HOW_TO_GET = (
    "Fashion-MNIST is not installed. On Debian/Ubuntu (as root):\n"
    "    apt-get install -y dataset-fashion-mnist\n"
    f"which puts the four .gz files in {DEFAULT_DIR}; or download them from\n"
    "https://github.com/zalandoresearch/fashion-mnist (folder data/fashion) and pass "
    "--data-dir FOLDER."
)


def find_files(data_dir: str | None = None) -> dict[str, str] | None:
    """Paths of the four files (``.gz`` or not), or None when any is missing."""
    folder = data_dir or DEFAULT_DIR
    paths = {}
    for key, stem in FILES.items():
        path = next((os.path.join(folder, stem + ext) for ext in (".gz", "")
                     if os.path.isfile(os.path.join(folder, stem + ext))), None)
        if path is None:
            return None
        paths[key] = path
    return paths


def load(data_dir: str | None = None, dtype: type = np.float32
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(X_train, y_train, X_test, y_test)``: images of shape (m, 784) in ``dtype`` scaled to
    [0, 1], labels int64 in 0..9.  Exits with installation instructions when the files are
    missing."""
    paths = find_files(data_dir)
    if paths is None:
        sys.exit(f"{HOW_TO_GET}\n(looked in {data_dir or DEFAULT_DIR})")

    def images(path: str) -> np.ndarray:
        raw = read_idx(path)
        X = raw.reshape(raw.shape[0], -1).astype(dtype)
        del raw
        X /= 255  # in place: one array of the final size
        return X

    def labels(path: str) -> np.ndarray:
        return read_idx(path).astype(np.int64)

    return (images(paths["X_train"]), labels(paths["y_train"]),
            images(paths["X_test"]), labels(paths["y_test"]))
