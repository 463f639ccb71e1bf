"""Data: readers of data files, data sets, targets, preprocessing and splits.

This package never imports :mod:`backprop.nn`, :mod:`backprop.optim` or anything above them:
it turns files into checked arrays and row indices, and the layers that use them are built by
the caller.
"""

from backprop.data.datasets import (
    BUILTIN_DATASETS,
    IDX_DATASETS,
    Dataset,
    IdxDataset,
    load_builtin,
    load_dataset,
)
from backprop.data.preprocessing import Standardizer, feature_scale
from backprop.data.readers import (
    FORMATS,
    DataError,
    data_format,
    file_sha256,
    npz_members,
    read_idx,
    read_npz,
    read_table,
)
from backprop.data.split import (
    group_rows,
    minibatches,
    split,
    stratify_labels,
    train_validation_split,
)
from backprop.data.tabular import TablePreprocessor, needs_preprocessing
from backprop.data.targets import MAX_INTEGER_CLASSES, TASKS, check_task, encode_target, infer_task

__all__ = [
    "BUILTIN_DATASETS",
    "IDX_DATASETS",
    "Dataset",
    "IdxDataset",
    "load_builtin",
    "load_dataset",
    "Standardizer",
    "feature_scale",
    "FORMATS",
    "DataError",
    "data_format",
    "file_sha256",
    "read_idx",
    "read_npz",
    "npz_members",
    "read_table",
    "split",
    "train_validation_split",
    "stratify_labels",
    "minibatches",
    "group_rows",
    "TASKS",
    "MAX_INTEGER_CLASSES",
    "check_task",
    "infer_task",
    "encode_target",
    "TablePreprocessor",
    "needs_preprocessing",
]
