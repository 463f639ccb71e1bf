"""Data sets: the bundled scikit-learn sets, named IDX sets and your own files.

A :class:`Dataset` holds ``X`` (shape (m, n), finite, float32 unless float64 is asked for), ``y``
and what is needed to read predictions back: the task, feature names and class labels.
:func:`load_dataset` reads a built-in set, Fashion-MNIST, or a CSV/TSV, Parquet, NPZ or IDX
file (see :mod:`backprop.data.readers`), and infers the task from the target unless told and
encodes the target (see :mod:`backprop.data.targets`: text, booleans and integers with few
distinct values are class labels, which become indices ``0 .. k-1`` into ``Dataset.classes``;
other numbers are a regression target).  Bad input raises :class:`DataError` naming the file,
and the row and column of a bad value.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backprop.data.columns import (
    as_matrix,
    choose_columns,
    labels_vector,
    pixel_names,
    take_columns,
)
from backprop.data.files import combined_sha256, idx_contents, npz_contents, table_contents
from backprop.data.readers import DataError, data_format, read_idx
from backprop.data.tabular import TablePreprocessor
from backprop.data.targets import check_task, encode_target

__all__ = [
    "Dataset",
    "IdxDataset",
    "BUILTIN_DATASETS",
    "IDX_DATASETS",
    "load_builtin",
    "load_dataset",
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
    X : ndarray of shape (m, n), float32 (or the dtype asked of :func:`load_dataset`)
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
    frame : pandas DataFrame or None
        The raw feature columns of a table that needed preprocessing (text, categories, dates,
        empty cells); ``X`` is then their encoding by ``preprocessor``.
    preprocessor : TablePreprocessor or None
        What encoded ``frame`` into ``X`` (its encoded column names are ``feature_names``).
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
    frame: Any = None
    preprocessor: TablePreprocessor | None = None

    def refit_preprocessor(self, rows: Array) -> None:
        """Fit the preprocessor again on ``rows`` alone (the training rows: categories, fill
        values and scales must not come from test rows) and re-encode every row with it; a
        data set without a preprocessor is left as it is."""
        if self.preprocessor is None:
            return
        pre = TablePreprocessor(**self.preprocessor.get_params())
        try:
            pre.fit(self.frame.iloc[rows])
            with warnings.catch_warnings():  # held-out rows may hold categories unseen in these
                warnings.simplefilter("ignore", UserWarning)
                self.X = pre.transform(self.frame, dtype=self.X.dtype)
        except ValueError as exc:
            raise DataError(f"{self.source or self.name}: {exc}") from None
        self.preprocessor = pre
        self.feature_names = list(pre.feature_names_out_)

    @property
    def n_outputs(self) -> int:
        """Output units: 1 for binary and regression, the class count for multi-class."""
        return len(self.classes) if self.task == "multiclass" else 1


def load_builtin(name: str, dtype: Any = np.float32) -> Dataset:
    """Load one of :data:`BUILTIN_DATASETS` (bundled with scikit-learn, no download), its
    features as ``dtype``."""
    if name not in BUILTIN_DATASETS:
        raise ValueError(f"unknown data set {name!r}; choose one of {sorted(BUILTIN_DATASETS)}")
    from sklearn import datasets

    loader, task = BUILTIN_DATASETS[name]
    bunch = getattr(datasets, loader)()
    X = np.asarray(bunch.data, dtype=dtype)
    names = [str(f) for f in getattr(bunch, "feature_names", [f"x{i}" for i in range(X.shape[1])])]
    if task == "regression":
        return Dataset(X, np.asarray(bunch.target, dtype=np.float64), task, names, [], name,
                       target="target", task_reason="built-in regression set")
    classes = [str(c) for c in bunch.target_names]
    return Dataset(X, np.asarray(bunch.target, dtype=np.int64), task, names, classes, name,
                   target="target", task_reason=f"built-in {task} set")


def load_dataset(
    source: str | os.PathLike[str],
    target: str | None = None,
    features: Sequence[str] | None = None,
    task: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    classes: Sequence[Any] | None = None,
    require_target: bool = True,
    preprocessor: TablePreprocessor | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    encoding: str | None = None,
    dtype: Any = np.float32,
    progress: bool = False,
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
    preprocessor : TablePreprocessor, optional
        CSV/Parquet: how to encode columns that are not clean numbers (text, categories, dates,
        empty cells).  A fitted one (a model's) only transforms, and ``features`` may then be
        None (its columns are read); an unfitted one is fitted on every row when the table
        needs it or it sets column options.  Default: a ``TablePreprocessor()`` when needed.
    sep, decimal, encoding : str, optional
        How a CSV/TSV file is written: the field delimiter (a character, or ``"semicolon"``,
        ``"tab"``...), the decimal mark (``"."`` or ``","``) and the text encoding (a Python
        codec name: ``"cp1252"``, ``"utf-16"``...).  Each is sniffed from the file's first lines
        when not given (see :func:`~backprop.data.readers.read_table`); other formats ignore
        them.
    dtype : float32 (default) or float64
        The dtype of ``X``.  Numbers are read into it directly (a CSV's text is parsed as
        float32), so float32 data is never widened to float64 on the way; a float64 value
        beyond float32's range is an error.
    progress : bool, default False
        Show a progress bar on stderr while a big file is read (it appears after
        :data:`backprop.data.blocks.PROGRESS_DELAY` seconds).

    Returns
    -------
    Dataset
        ``X`` of shape (m, n) and ``dtype``, finite; ``y`` class indices or values.

    Raises
    ------
    DataError
        Naming the file and the problem: missing/empty file, header only, missing target or
        feature column, non-numeric or missing feature value (row and column), ragged rows,
        text not in the file's encoding, a single class, a regression target with text, ...
    """
    src = os.fspath(source)
    check_task(task)
    if not os.path.exists(src):  # a file of that name would win over a named set
        if src in BUILTIN_DATASETS:
            return _load_builtin_source(src, target, features, task, classes, dtype)
        if src in IDX_DATASETS:
            spec = IDX_DATASETS[src]
            folder = os.fspath(data_dir) if data_dir is not None else spec.folder
            return _load_idx_folder(folder, src, features, task, classes, spec, dtype)
        raise DataError(f"{src}: no such file (and not a built-in data set: "
                        f"{', '.join(sorted(BUILTIN_DATASETS) + sorted(IDX_DATASETS))})")
    fmt = data_format(src)
    if fmt == "idx-dir":
        return _load_idx_folder(src, os.path.basename(os.path.normpath(src)), features, task,
                                classes, None, dtype)
    if fmt == "npz":
        raw = npz_contents(src, target, features, require_target, dtype, progress)
    elif fmt == "idx":
        raw = idx_contents(src, target, features, require_target, dtype)
    else:
        if features is None and preprocessor is not None and preprocessor.is_fitted:
            features = preprocessor.columns_used
        raw = table_contents(src, fmt, target, features, require_target, preprocessor, dtype,
                             progress, sep=sep, decimal=decimal, encoding=encoding)
    name = os.path.basename(src)
    if raw.y is None:
        return Dataset(raw.X, None, None, raw.names, [], name, target=None, source=src,
                       sha256=raw.sha256, frame=raw.frame, preprocessor=raw.preprocessor)
    y, kind, labels, reason = encode_target(raw.y, task, classes, src, str(raw.target or "y"))
    return Dataset(raw.X, y, kind, raw.names, labels, name, target=raw.target or "y",
                   source=src, sha256=raw.sha256, task_reason=reason, frame=raw.frame,
                   preprocessor=raw.preprocessor)


def _load_builtin_source(src: str, target: str | None, features: Sequence[str] | None,
                         task: str | None, classes: Sequence[Any] | None, dtype: Any
                         ) -> Dataset:
    """A built-in set with the chosen features; its target re-encoded only when a task or
    known classes are requested."""
    if target not in (None, "target"):
        raise DataError(f"{src}: a built-in data set has its own target; target={target!r} "
                        f"applies to data files")
    ds = load_builtin(src, dtype)
    keep = choose_columns(ds.feature_names, features, None, src)
    y, kind, labels, reason = ds.y, ds.task, ds.classes, ds.task_reason
    if classes is not None or task not in (None, "auto"):
        raw = np.asarray(ds.classes, dtype=object)[ds.y] if ds.classes else ds.y
        y, kind, labels, reason = encode_target(raw, task, classes, src, "target")
    return Dataset(ds.X[:, keep], y, kind, [ds.feature_names[j] for j in keep], labels, src,
                   target="target", task_reason=reason)


def _find_mnist_parts(folder: str, name: str, spec: IdxDataset | None) -> list[str]:
    """The paths of the four MNIST-style files in ``folder`` (gzipped or not)."""
    found = []
    for part in _MNIST_PARTS:
        path = next((os.path.join(folder, part + ext) for ext in (".gz", "")
                     if os.path.isfile(os.path.join(folder, part + ext))), None)
        found.append(path)
    missing = [p for p, f in zip(_MNIST_PARTS, found) if f is None]
    if missing:
        hint = f"; {spec.how_to_get}" if spec is not None else ""
        raise DataError(f"{folder}: {name} not found (missing {', '.join(missing)}[.gz]){hint}")
    return found


def _load_idx_folder(folder: str, name: str, features: Sequence[str] | None, task: str | None,
                     classes: Sequence[Any] | None, spec: IdxDataset | None, dtype: Any
                     ) -> Dataset:
    """Train and test IDX files of an MNIST-style folder, with the official split; a named
    set's labels ``i`` become its class names ``spec.classes[i]``."""
    found = _find_mnist_parts(folder, name, spec)
    tr_x, tr_y, te_x, te_y = (read_idx(p) for p in found)
    if tr_x.shape[1:] != te_x.shape[1:]:
        raise DataError(f"{found[2]}: test images have shape {te_x.shape[1:]} but the training "
                        f"images {tr_x.shape[1:]}")
    m_train = tr_x.shape[0]
    y_raw = np.concatenate([labels_vector(tr_y, m_train, "labels", found[1]),
                            labels_vector(te_y, te_x.shape[0], "labels", found[3])])
    if spec is not None:  # official label i names class i
        if y_raw.dtype.kind not in "iu" or y_raw.min() < 0 or y_raw.max() >= len(spec.classes):
            raise DataError(f"{found[1]}: labels must be integers in 0..{len(spec.classes) - 1}")
        y_raw = np.asarray(spec.classes, dtype=object)[y_raw]
    X, names = take_columns(as_matrix(np.concatenate([tr_x, te_x]), "the images", folder, dtype),
                            pixel_names(tr_x.shape[1:]), features, folder)
    known = classes if classes is not None else (list(spec.classes) if spec else None)
    y, kind, labels, reason = encode_target(y_raw, task, known, folder, "labels")
    if classes is None and spec is not None:
        reason = f"{name}'s {len(labels)} classes"
    return Dataset(X, y, kind, names, labels, name, target="labels",
                   source=folder, sha256=combined_sha256(found),
                   split=(np.arange(m_train), np.arange(m_train, X.shape[0])), task_reason=reason)
