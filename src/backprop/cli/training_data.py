"""The rows ``backprop train`` works on: the data set loaded from ``--data``, split into
training, validation and test rows, and standardized as the network sees them.

The data is held once.  Its rows are regrouped in place into three blocks (training,
validation, test: :func:`backprop.data.group_rows`) and standardized in place with the training
rows' statistics, so that each part is a view of the one matrix, never a copy of it.  The rows
in each part, and their order, are those of the split (:func:`split_rows`).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

from backprop._utils import as_rng
from backprop.cli.args import shows_progress
from backprop.data import (
    Dataset,
    Standardizer,
    TablePreprocessor,
    group_rows,
    load_dataset,
    split,
    train_validation_split,
)

__all__ = ["PARTS", "Prepared", "prepare", "split_rows", "table_preprocessor"]

#: The parts of a split, in the order their rows are held in the regrouped matrix.
PARTS = ("train", "validation", "test")


@dataclass
class Prepared:
    """A data set split into rows, and the standardized training rows the network fits.

    ``data.X`` and ``data.y`` hold the rows regrouped as the training, validation and test
    blocks (``data.X`` standardized in place); :meth:`part` gives each block.
    """

    data: Dataset
    train: np.ndarray  #: row indices in the file
    validation: np.ndarray
    test: np.ndarray
    how: str  #: how the rows were split, for the report
    x_scaler: Standardizer
    #: A regression target is standardized for training; the saved model undoes it.
    y_scaler: Standardizer | None
    X: np.ndarray  #: standardized training features (a view of ``data.X``)
    y_fit: np.ndarray  #: the training targets the network fits
    X_val: np.ndarray
    y_val_fit: np.ndarray

    @property
    def validation_data(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(X_val, y_val_fit)``, or None without validation rows."""
        return (self.X_val, self.y_val_fit) if len(self.validation) else None

    def part(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(standardized features, targets in their own units)`` of the ``"train"``,
        ``"validation"`` or ``"test"`` rows, as views."""
        start = 0
        for part in PARTS:
            stop = start + len(getattr(self, part))
            if part == name:
                return self.data.X[start:stop], self.data.y[start:stop]
            start = stop
        raise ValueError(f"no part {name!r}; choose one of {PARTS}")


def prepare(args: argparse.Namespace) -> Prepared:
    """Load ``--data`` in the training dtype, split its rows, encode a table's columns as
    learnt from the training rows alone, and standardize the rows in place."""
    data = load_dataset(args.data, target=args.target, features=args.features, task=args.task,
                        data_dir=args.data_dir, dtype=np.dtype(args.dtype),
                        progress=shows_progress(args), preprocessor=table_preprocessor(args),
                        sep=args.sep, decimal=args.decimal, encoding=args.encoding)
    train_idx, val_idx, test_idx, how = split_rows(args, data)
    data.refit_preprocessor(train_idx)
    fit_rows, val_rows, _ = group_rows(data.X, [train_idx, val_idx, test_idx])
    data.y = data.y[np.concatenate([train_idx, val_idx, test_idx])]
    x_scaler = Standardizer().fit(data.X[fit_rows])
    x_scaler.transform(data.X, out=data.X)
    X, y = data.X[fit_rows], data.y[fit_rows]
    X_val, y_val = data.X[val_rows], data.y[val_rows]
    y_scaler = None
    if data.task == "regression":
        y_scaler = Standardizer()
        y = y_scaler.fit_transform(y[:, None])[:, 0]
        y_val = y_scaler.transform(y_val[:, None])[:, 0]
    return Prepared(data, train_idx, val_idx, test_idx, how, x_scaler, y_scaler, X, y, X_val,
                    y_val)


def table_preprocessor(args: argparse.Namespace) -> TablePreprocessor:
    """The table encoding the options ask for; the Standardize layer scales, not it."""
    return TablePreprocessor(categorical=args.categorical, numeric=args.numeric, drop=args.drop,
                             impute=args.impute, indicator=not args.no_indicators,
                             max_categories=args.max_categories, dates=args.dates,
                             na_values=args.na_values, scale=False)


def split_rows(args: argparse.Namespace, data: Dataset, m: int | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """``(fit, validation, test)`` row indices of the ``m`` rows (default: ``data``'s) and a
    description of the split; the processes of a many-process run split the global rows
    with it too."""
    strat = data.y if data.task != "regression" else None
    if data.split is not None:
        train_idx, test_idx = data.split
        how = "the data set's official split"
    else:
        rows = data.X.shape[0] if m is None else m
        train_idx, test_idx = split(rows, args.test_size, args.seed, strat)
        how = "a stratified random split" if strat is not None else "a random split"
    val_idx = train_idx[:0]
    if args.validation_split:
        labels = None if strat is None else strat[train_idx]
        fit_pos, val_pos = train_validation_split(len(train_idx), args.validation_split,
                                                  as_rng(args.seed), labels)
        train_idx, val_idx = train_idx[fit_pos], train_idx[val_pos]
    return train_idx, val_idx, test_idx, how
