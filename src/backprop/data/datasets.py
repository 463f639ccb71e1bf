"""Data sets: the bundled scikit-learn sets, your own files, splitting and standardisation.

A :class:`Dataset` holds ``X`` (float64, shape (m, n), finite), ``y`` and what is needed to read
predictions back: the task, feature names and class labels.  :func:`load_dataset` reads a
built-in set, Fashion-MNIST, or a CSV/TSV, Parquet, NPZ or IDX file (see
:mod:`backprop.formats`), and infers the task from the target unless told and encodes the
target (see :mod:`backprop.targets`: text, booleans and integers with few distinct values are
class labels, which become indices ``0 .. k-1`` into ``Dataset.classes``; other numbers are a
regression target).  Bad input raises :class:`DataError` naming the file, and the row and
column of a bad value.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backprop.data.readers import (
    DataError,
    _clip,
    data_format,
    file_sha256,
    idx_labels_path,
    optional_import,
    read_idx,
    read_npz,
    read_table,
)
from backprop.data.targets import MAX_INTEGER_CLASSES, TASKS, _check_task, encode_target, infer_task
from backprop.nn.layers import as_rng

__all__ = [
    "Dataset",
    "DataError",
    "BUILTIN_DATASETS",
    "IDX_DATASETS",
    "TASKS",
    "MAX_INTEGER_CLASSES",
    "load_builtin",
    "load_dataset",
    "infer_task",
    "encode_target",
    "split",
    "Standardizer",
]

Array = np.ndarray

#: Bundled data sets: name -> (scikit-learn loader name, task)
BUILTIN_DATASETS: dict[str, tuple[str, str]] = {
    "breast-cancer": ("load_breast_cancer", "binary"),
    "digits": ("load_digits", "multiclass"),
    "iris": ("load_iris", "multiclass"),
    "wine": ("load_wine", "multiclass"),
    "diabetes": ("load_diabetes", "regression"),
}


@dataclass(frozen=True)
class IdxDataset:
    """A named MNIST-style data set read from a folder of IDX files."""

    folder: str
    classes: tuple[str, ...]
    how_to_get: str


#: Named IDX data sets, read from ``folder`` (or ``data_dir``) with their official split.
IDX_DATASETS: dict[str, IdxDataset] = {
    "fashion-mnist": IdxDataset(
        folder="/usr/share/datasets/fashion-mnist",
        classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                 "Sneaker", "Bag", "Ankle boot"),
        how_to_get=(
            "install it with 'sudo apt install dataset-fashion-mnist' (Debian/Ubuntu, puts the "
            "files in /usr/share/datasets/fashion-mnist), or download train-images-idx3-ubyte.gz,"
            " train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz"
            " from https://github.com/zalandoresearch/fashion-mnist (folder data/fashion) into a "
            "folder and pass --data-dir FOLDER (data_dir= in Python)"
        ),
    ),
}
_MNIST_PARTS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

@dataclass
class Dataset:
    """Features, targets and their description.

    Attributes
    ----------
    X : ndarray of shape (m, n), float64
    y : ndarray of shape (m,) — integer class indices for classification, floats for regression;
        None when the data was loaded without a target (for prediction)
    task : ``"binary"``, ``"multiclass"`` or ``"regression"`` (None without a target)
    feature_names : list of str
    classes : list of the original class labels (index ``i`` is class ``i``); empty for regression
    name : str
    target : str or None
        The target column (or array, or labels file).
    source : str or None
        The file or folder read (None for built-in sets).
    sha256 : str or None
        Hash of the data file(s).
    split : (train_indices, test_indices) or None
        The data set's official train/test split, when it has one (Fashion-MNIST).
    task_reason : str
        Why the task was chosen.
    """

    X: Array
    y: Array | None
    task: str | None
    feature_names: list[str]
    classes: list[Any] = field(default_factory=list)
    name: str = ""
    target: str | None = None
    source: str | None = None
    sha256: str | None = None
    split: tuple[Array, Array] | None = None
    task_reason: str = ""

    @property
    def n_outputs(self) -> int:
        """Output units: 1 for binary and regression, the class count for multi-class."""
        return len(self.classes) if self.task == "multiclass" else 1


def load_builtin(name: str) -> Dataset:
    """Load one of :data:`BUILTIN_DATASETS` (bundled with scikit-learn, no download)."""
    if name not in BUILTIN_DATASETS:
        raise ValueError(f"unknown data set {name!r}; choose one of {sorted(BUILTIN_DATASETS)}")
    from sklearn import datasets

    loader, task = BUILTIN_DATASETS[name]
    bunch = getattr(datasets, loader)()
    X = np.asarray(bunch.data, dtype=np.float64)
    names = [str(f) for f in getattr(bunch, "feature_names", [f"x{i}" for i in range(X.shape[1])])]
    if task == "regression":
        return Dataset(X, np.asarray(bunch.target, dtype=np.float64), task, names, [], name,
                       target="target", task_reason="built-in regression set")
    classes = [str(c) for c in bunch.target_names]
    return Dataset(X, np.asarray(bunch.target, dtype=np.int64), task, names, classes, name,
                   target="target", task_reason=f"built-in {task} set")


# --------------------------------------------------------------------------- features
def _names_list(names: Sequence[str], limit: int = 20) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def _choose(available: list[str], features: Sequence[str] | None, exclude: str | None,
            source: str) -> list[int]:
    """Indices into ``available`` of the requested feature names (all but ``exclude`` when
    ``features`` is None)."""
    if features is None:
        chosen = [j for j, n in enumerate(available) if n != exclude]
    else:
        features = list(features)
        missing = [n for n in features if n not in available]
        if missing:
            raise DataError(f"{source}: missing feature column(s) {_names_list(missing)} "
                            f"(the file has {_names_list(available)})")
        if exclude is not None and exclude in features:
            raise DataError(f"{source}: column {exclude!r} is the target; it cannot also be a "
                            f"feature")
        if len(set(features)) != len(features):
            dup = next(n for n in features if features.count(n) > 1)
            raise DataError(f"{source}: feature column {dup!r} is listed twice")
        chosen = [available.index(n) for n in features]
    if not chosen:
        raise DataError(f"{source}: no feature columns left (the file has "
                        f"{_names_list(available)})")
    unnamed = [j for j in chosen if not str(available[j]).strip()]
    if unnamed:
        raise DataError(f"{source}: column {unnamed[0] + 1} has no name in the header (an index "
                        f"written by pandas' to_csv?); name it or choose columns with --features")
    return chosen


def _frame_features(df: Any, names: list[str], source: str) -> Array:
    """The named DataFrame columns as a float64 (m, n) matrix, every value checked."""
    pd = optional_import("pandas")
    types = pd.api.types

    cols, bad = [], []
    for name in names:
        s = df[name]
        if types.is_bool_dtype(s.dtype):
            values = s.astype(np.float64).to_numpy()
        elif types.is_numeric_dtype(s.dtype) and not types.is_complex_dtype(s.dtype):
            values = s.to_numpy(dtype=np.float64, na_value=np.nan)
        elif types.is_object_dtype(s.dtype) or types.is_string_dtype(s.dtype) or isinstance(
                s.dtype, pd.CategoricalDtype):
            obj = s.astype(object)
            num = pd.to_numeric(obj, errors="coerce")
            wrong = (num.isna() & obj.notna()).to_numpy()
            if wrong.any():
                i = int(np.argmax(wrong))
                bad.append(f"row {i + 1}, column {name!r}: {_clip(obj.iloc[i])}")
                continue
            values = num.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            bad.append(f"column {name!r} has type {s.dtype}, row 1: {_clip(s.iloc[0])}")
            continue
        cols.append(values)
    if bad:
        raise DataError(f"{source}: non-numeric feature value(s): {'; '.join(bad[:5])}"
                        + (f"; and {len(bad) - 5} more columns" if len(bad) > 5 else "")
                        + " (choose numeric columns with --features, or encode them as numbers)")
    X = np.column_stack(cols) if cols else np.empty((len(df), 0))
    _check_finite(X, names, source, tabular=True)
    return X


def _check_finite(X: Array, names: list[str], source: str, tabular: bool = False) -> None:
    finite = np.isfinite(X)
    if not finite.all():
        i, j = (int(v) for v in np.argwhere(~finite)[0])
        what = "is empty (or NA/NaN)" if tabular and np.isnan(X[i, j]) else f"holds {X[i, j]}"
        raise DataError(f"{source}: row {i + 1}, column {names[j]!r} {what}; features must be "
                        f"finite numbers")


def _matrix(arr: Array, what: str, source: str) -> Array:
    """A numeric array of shape (m, ...) as a float64 (m, n) matrix (one copy)."""
    if arr.ndim < 2:
        raise DataError(f"{source}: {what} must have a row per sample and at least one column, "
                        f"got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{source}: {what} must be numeric, got dtype {arr.dtype}")
    if arr.shape[0] == 0:
        raise DataError(f"{source}: {what} has no rows")
    if arr.size == 0:
        raise DataError(f"{source}: {what} has no columns (shape {arr.shape})")
    return arr.reshape(arr.shape[0], -1).astype(np.float64)


def _take(X: Array, names: list[str], features: Sequence[str] | None,
          source: str) -> tuple[Array, list[str]]:
    """The requested columns of a float matrix (all of them without a copy), checked finite."""
    keep = _choose(names, features, None, source)
    if keep != list(range(len(names))):
        X, names = X[:, keep], [names[j] for j in keep]
    _check_finite(X, names, source)
    return X, names


def _pixel_names(shape: tuple[int, ...]) -> list[str]:
    if len(shape) == 1:
        return [f"x{j}" for j in range(shape[0])]
    return ["pixel_" + "_".join(map(str, ix)) for ix in np.ndindex(*shape)]


def _labels_vector(arr: Array, m: int, what: str, source: str) -> Array:
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1 or arr.shape[0] != m:
        raise DataError(f"{source}: {what} must have shape ({m},) to match the {m} feature rows, "
                        f"got {arr.shape}")
    return arr


# --------------------------------------------------------------------------- loading
def load_dataset(
    source: str | os.PathLike[str],
    target: str | None = None,
    features: Sequence[str] | None = None,
    task: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    classes: Sequence[Any] | None = None,
    require_target: bool = True,
) -> Dataset:
    """Load a built-in set, a named IDX set or a data file.

    Parameters
    ----------
    source : str or path-like
        A name in :data:`BUILTIN_DATASETS` or :data:`IDX_DATASETS` (``"fashion-mnist"``), or a
        path: ``.csv``/``.tsv`` (header row), ``.parquet``, ``.npz`` (arrays ``X`` and ``y``),
        an IDX images file, or a folder of MNIST-style IDX files.
    target : str, optional
        CSV/Parquet: the label column.  NPZ: the target array (default ``"y"``).  IDX: the
        labels file (default: the MNIST-named one next to the images).
    features : sequence of str, optional
        Feature columns, in order (default: every column but the target).  NPZ and IDX columns
        are named ``x0, x1, ...`` / ``pixel_<row>_<col>`` unless the NPZ has ``feature_names``.
    task : None/"auto", "classification", "binary", "multiclass" or "regression"
    data_dir : str or path-like, optional
        Folder of a named IDX set (default: its standard location).
    classes : sequence, optional
        Encode labels with these classes (a trained model's) instead of inferring them.
    require_target : bool
        When False and ``target`` is None, only the features are read and ``y`` is None (for
        prediction): a CSV/Parquet file needs no target column, and an NPZ file's ``y`` array or
        the labels file next to IDX images is not read.  A built-in set keeps its target.

    Returns
    -------
    Dataset
        ``X`` float64 of shape (m, n), finite; ``y`` class indices or values.

    Raises
    ------
    DataError
        Naming the file and the problem: missing/empty file, header only, missing target or
        feature column, non-numeric or missing feature value (row and column), ragged rows,
        a single class, a regression target with text, ...
    """
    src = os.fspath(source)
    _check_task(task)
    if src in BUILTIN_DATASETS and not os.path.exists(src):
        if target not in (None, "target"):
            raise DataError(f"{src}: a built-in data set has its own target; target={target!r} "
                            f"applies to data files")
        ds = load_builtin(src)
        keep = _choose(ds.feature_names, features, None, src)
        y, kind, labels, reason = ds.y, ds.task, ds.classes, ds.task_reason
        if classes is not None or task not in (None, "auto"):
            raw = np.asarray(ds.classes, dtype=object)[ds.y] if ds.classes else ds.y
            y, kind, labels, reason = encode_target(raw, task, classes, src, "target")
        return Dataset(ds.X[:, keep], y, kind, [ds.feature_names[j] for j in keep], labels, src,
                       target="target", task_reason=reason)
    if src in IDX_DATASETS and not os.path.exists(src):
        spec = IDX_DATASETS[src]
        folder = os.fspath(data_dir) if data_dir is not None else spec.folder
        return _load_idx_folder(folder, src, features, task, classes, spec)
    if not os.path.exists(src):
        raise DataError(f"{src}: no such file (and not a built-in data set: "
                        f"{', '.join(sorted(BUILTIN_DATASETS) + sorted(IDX_DATASETS))})")
    fmt = data_format(src)
    if fmt == "idx-dir":
        return _load_idx_folder(src, os.path.basename(os.path.normpath(src)), features, task,
                                classes, None)
    if fmt in ("csv", "tsv", "parquet"):
        df = read_table(src, fmt)
        columns = [str(c) for c in df.columns]
        df.columns = columns
        if target is None and require_target:
            raise DataError(f"{src}: no target column given (--target COLUMN); the file has "
                            f"{_names_list(columns)}")
        if target is not None and target not in columns:
            raise DataError(f"{src}: no target column {target!r}; the file has "
                            f"{_names_list(columns)}")
        names = [columns[j] for j in _choose(columns, features, target, src)]
        X = _frame_features(df, names, src)
        y_raw = df[target] if target is not None else None
        digest = file_sha256(src)
    elif fmt == "npz":
        arrays = read_npz(src)
        if "X" not in arrays:
            raise DataError(f"{src}: no array named 'X' (the file has {sorted(arrays)})")
        X = _matrix(arrays["X"], "X", src)
        names = _pixel_names(arrays["X"].shape[1:]) if arrays["X"].ndim > 2 else \
            [f"x{j}" for j in range(X.shape[1])]
        if "feature_names" in arrays:
            fn = arrays["feature_names"]
            if fn.dtype.kind != "U" or fn.shape != (X.shape[1],):
                raise DataError(f"{src}: feature_names must be {X.shape[1]} strings, got "
                                f"dtype {fn.dtype} shape {fn.shape}")
            names = [str(n) for n in fn]
            dup = next((n for j, n in enumerate(names) if n in names[:j]), None)
            if dup is not None:
                raise DataError(f"{src}: feature_names lists {dup!r} twice")
        tkey = target if target is not None else "y"
        y_raw = None
        if target is None and not require_target:
            pass  # features only (for prediction): an unused target array is not checked
        elif tkey in arrays and tkey not in ("X", "feature_names"):
            y_raw = _labels_vector(arrays[tkey], X.shape[0], f"array {tkey!r}", src)
        elif target is not None or require_target:
            raise DataError(f"{src}: no target array {tkey!r} (the file has {sorted(arrays)})")
        X, names = _take(X, names, features, src)
        digest = file_sha256(src)
    else:  # a single IDX images file, labels from `target` or next to it
        images = read_idx(src)
        X = _matrix(images, "the IDX array", src)
        names = _pixel_names(images.shape[1:])
        labels_file = target if target is not None else (
            idx_labels_path(src) if require_target else None)
        y_raw = None
        if labels_file is not None:
            y_raw = _labels_vector(read_idx(labels_file), X.shape[0],
                                   f"the labels in {labels_file}", src)
        elif require_target:
            raise DataError(f"{src}: no labels file found next to it; name it with --target "
                            f"LABELS_FILE (target= in Python)")
        X, names = _take(X, names, features, src)
        digest = _combined_sha256([src] + ([labels_file] if labels_file else []))
        target = labels_file
    if y_raw is None:
        return Dataset(X, None, None, names, [], os.path.basename(src), target=None, source=src,
                       sha256=digest)
    y, kind, labels, reason = encode_target(y_raw, task, classes, src, str(target or "y"))
    return Dataset(X, y, kind, names, labels, os.path.basename(src), target=target or "y",
                   source=src, sha256=digest, task_reason=reason)


def _combined_sha256(paths: Sequence[str]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(f"{file_sha256(p)}  {os.path.basename(p)}\n".encode())
    return h.hexdigest()


def _load_idx_folder(folder: str, name: str, features: Sequence[str] | None, task: str | None,
                     classes: Sequence[Any] | None, spec: IdxDataset | None) -> Dataset:
    """Train and test IDX files of an MNIST-style folder, with the official split; a named
    set's labels ``i`` become its class names ``spec.classes[i]``."""
    found = []
    for part in _MNIST_PARTS:
        path = next((os.path.join(folder, part + ext) for ext in (".gz", "")
                     if os.path.isfile(os.path.join(folder, part + ext))), None)
        found.append(path)
    missing = [p for p, f in zip(_MNIST_PARTS, found) if f is None]
    if missing:
        hint = f"; {spec.how_to_get}" if spec is not None else ""
        raise DataError(f"{folder}: {name} not found (missing {', '.join(missing)}[.gz]){hint}")
    tr_x, tr_y, te_x, te_y = (read_idx(p) for p in found)
    if tr_x.shape[1:] != te_x.shape[1:]:
        raise DataError(f"{found[2]}: test images have shape {te_x.shape[1:]} but the training "
                        f"images {tr_x.shape[1:]}")
    m_train = tr_x.shape[0]
    y_raw = np.concatenate([_labels_vector(tr_y, m_train, "labels", found[1]),
                            _labels_vector(te_y, te_x.shape[0], "labels", found[3])])
    if spec is not None:  # official label i names class i
        if y_raw.dtype.kind not in "iu" or y_raw.min() < 0 or y_raw.max() >= len(spec.classes):
            raise DataError(f"{found[1]}: labels must be integers in 0..{len(spec.classes) - 1}")
        y_raw = np.asarray(spec.classes, dtype=object)[y_raw]
    X, names = _take(_matrix(np.concatenate([tr_x, te_x]), "the images", folder),
                     _pixel_names(tr_x.shape[1:]), features, folder)
    known = classes if classes is not None else (list(spec.classes) if spec else None)
    y, kind, labels, reason = encode_target(y_raw, task, known, folder, "labels")
    if classes is None and spec is not None:
        reason = f"{name}'s {len(labels)} classes"
    return Dataset(X, y, kind, names, labels, name, target="labels",
                   source=folder, sha256=_combined_sha256(found),
                   split=(np.arange(m_train), np.arange(m_train, X.shape[0])), task_reason=reason)


# --------------------------------------------------------------------------- preprocessing
def split(
    m: int, test_size: float, seed: int | np.random.Generator | None, stratify: Array | None = None
) -> tuple[Array, Array]:
    """Row indices ``(train, test)``; ``test_size`` is a fraction in (0, 1), stratified by the
    labels ``stratify`` when given."""
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be in (0, 1), got {test_size!r}")
    from backprop.train.loop import train_validation_split

    return train_validation_split(m, test_size, as_rng(seed), stratify)


class Standardizer:
    """Per-feature ``(x - mean) / scale``, fitted on training rows only.

    Constant features get ``scale = 1`` (they map to 0 rather than to NaN).
    """

    def __init__(self) -> None:
        self.mean_: Array | None = None
        self.scale_: Array | None = None

    def fit(self, X: Array) -> Standardizer:
        """Learn mean and standard deviation of each column of ``X`` (m, n)."""
        X = np.asarray(X, dtype=np.float64)
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.scale_ = np.where(std > 1e-12 * np.maximum(np.abs(self.mean_), 1.0), std, 1.0)
        return self

    def transform(self, X: Array) -> Array:
        """Standardise ``X`` with the fitted statistics."""
        if self.mean_ is None:
            raise ValueError("Standardizer is not fitted; call fit first")
        return (np.asarray(X, dtype=np.float64) - self.mean_) / self.scale_

    def fit_transform(self, X: Array) -> Array:
        """:meth:`fit` then :meth:`transform`."""
        return self.fit(X).transform(X)

    def inverse_transform(self, X: Array) -> Array:
        """Undo :meth:`transform`."""
        return np.asarray(X, dtype=np.float64) * self.scale_ + self.mean_

    def layer(self, inverse: bool = False) -> Any:
        """The fitted statistics as a :class:`backprop.layers.Standardize` layer, to put at the
        front of a network (or, with ``inverse=True``, after a regression output)."""
        from backprop.nn.layers import Standardize

        if self.mean_ is None:
            raise ValueError("Standardizer is not fitted; call fit first")
        return Standardize(self.mean_, self.scale_, inverse=inverse)
