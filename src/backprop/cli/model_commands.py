"""The model commands of the CLI: ``predict``, ``evaluate``, ``inspect`` and ``gradcheck``.

Each takes the parsed arguments of :func:`backprop.cli.parser.build_parser`, prints its report
and returns the exit code; errors propagate as :class:`~backprop.saving.ModelFileError`,
:class:`~backprop.data.readers.DataError` or ``OSError`` to :func:`backprop.cli.main`, which
prints them on one line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import warnings
from typing import Any

import numpy as np

from backprop._utils import optional_import
from backprop.cli.args import NAMED_DATASETS, check_outputs_apart, shows_progress
from backprop.cli.class_report import class_scores, majority_warning
from backprop.cli.describe import layer_table
from backprop.data import DataError, Dataset, data_format, load_dataset, npz_members
from backprop.data.kept_columns import KEEP_FORMATS, read_kept_columns
from backprop.gradcheck import gradient_check
from backprop.model import Network, load
from backprop.saving import (
    atomic_write,
    check_destination,
    network_from_contents,
    read_safetensors,
)

__all__ = ["cmd_predict", "cmd_evaluate", "cmd_inspect", "cmd_gradcheck", "model_task",
           "model_data"]


def model_task(net: Network) -> str:
    """``"binary"``, ``"multiclass"``, ``"multilabel"`` or ``"regression"`` from the loss and
    output width."""
    if not net.loss.is_classifier:
        return "regression"
    if net.loss.fused_activation == "softmax":
        return "multiclass"
    return "binary" if net.n_out == 1 else "multilabel"


def _class_labels(net: Network) -> list[Any]:
    """The model's classes, or the class indices when it has no names."""
    if net.classes is not None:
        return list(net.classes)
    return [0, 1] if model_task(net) == "binary" else list(range(net.n_out))


def _source_format(source: str) -> str:
    """``"named"`` for a built-in data set, else the data file's format."""
    if source in NAMED_DATASETS and not os.path.exists(source):
        return "named"
    return data_format(source)


def model_data(args: argparse.Namespace, net: Network, need_target: bool) -> tuple[Dataset,
                                                                                    str]:
    """Load ``--data`` for a model: its feature columns by name for CSV/Parquet, built-in
    sets and NPZ files with ``feature_names`` (by width for other NPZ and IDX); the test part
    of a set with an official split; the features in the model's dtype.  Returns the rows to
    use and a description of them."""
    source = args.data
    fmt = _source_format(source)
    # columns are matched by name wherever the data names them (an NPZ may, or may not)
    by_name = fmt in ("named", "csv", "tsv", "parquet") or (
        fmt == "npz" and "feature_names" in npz_members(source))
    features = net.feature_names if by_name else None
    pre = net.preprocessor
    if pre is not None:
        if fmt not in ("csv", "tsv", "parquet"):
            raise DataError(f"{source}: the model {args.model} encodes the columns of a table "
                            f"({len(pre.columns_used)} columns: "
                            f"{', '.join(pre.columns_used[:8])}...); give it a CSV or Parquet "
                            f"file with those columns")
        features = None  # the preprocessor reads its own columns, by name
    task = model_task(net)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        if need_target:
            if task == "multilabel":
                raise DataError(f"{args.model}: evaluating multi-label models from files is "
                                f"not supported; use Network.evaluate in Python")
            target = args.target
            if target is None and fmt in ("csv", "tsv", "parquet", "npz"):
                target = net.metadata.get("target")
                if target is None and fmt != "npz":
                    raise DataError(f"{args.model}: the model does not record its target "
                                    f"column; name it with --target COLUMN")
            data = load_dataset(source, target=target, features=features, task=task,
                                data_dir=args.data_dir, preprocessor=pre,
                                classes=_class_labels(net) if task != "regression" else None,
                                sep=args.sep, decimal=args.decimal, encoding=args.encoding,
                                dtype=net.dtype, progress=shows_progress(args))
        else:
            data = load_dataset(source, features=features, data_dir=args.data_dir,
                                require_target=False, preprocessor=pre, sep=args.sep,
                                decimal=args.decimal, encoding=args.encoding,
                                dtype=net.dtype, progress=shows_progress(args))
    for w in caught:  # unseen categories: said once, plainly, on stderr
        print(f"warning: {source}: {w.message}", file=sys.stderr)
    if data.X.shape[1] != net.n_in:
        raise DataError(f"{source}: {data.X.shape[1]} feature columns, but the model "
                        f"{args.model} takes {net.n_in}")
    if data.split is not None:
        test = data.split[1]
        data = dataclasses.replace(data, X=data.X[test], split=None,
                                   y=None if data.y is None else data.y[test])
        return data, f"{source} (its official test split, {len(test)} rows)"
    return data, f"{source} ({data.X.shape[0]} rows)"


# --------------------------------------------------------------------------- predict
def cmd_predict(args: argparse.Namespace) -> int:
    """Write one prediction per row (original labels; with --proba, class probabilities)."""

    if args.output is not None:  # before any work
        check_outputs_apart({"--output": args.output}, {"MODEL": args.model, "--data": args.data})
        check_destination(args.output)
    pd = optional_import("pandas")
    net = load(args.model)
    task = model_task(net)
    if args.proba and task == "regression":
        raise ValueError(f"--proba needs a classifier, but {args.model} is a regression model")
    if args.keep and _source_format(args.data) not in KEEP_FORMATS:
        raise DataError(f"{args.data}: --keep takes columns from a CSV, TSV, Parquet or NPZ "
                        f"file, and {args.data} is not one")
    data, rows = model_data(args, net, need_target=False)
    kept = None
    if args.keep:  # before the forward pass: a missing column is found without waiting
        kept = read_kept_columns(args.data, args.keep, data.X.shape[0], sep=args.sep,
                                 decimal=args.decimal, encoding=args.encoding)
    out = net.predict(data.X)
    labels = net.labels_from_output(out)  # from the same forward pass
    table: dict[str, Any] = {}
    if labels.ndim == 2:
        table.update({f"prediction_{j}": labels[:, j] for j in range(labels.shape[1])})
    else:
        table["prediction"] = labels
    if args.proba:
        if task == "binary":
            c0, c1 = _class_labels(net)
            table[f"proba_{c0}"] = 1 - out[:, 0]
            table[f"proba_{c1}"] = out[:, 0]
        else:
            names = _class_labels(net)
            table.update({f"proba_{c}": out[:, j] for j, c in enumerate(names)})
    frame = pd.DataFrame(table)
    if kept is not None:
        clash = [c for c in kept.columns if c in table]
        if clash:
            raise ValueError(f"--keep {clash[0]!r}: the predictions have a column of that "
                             f"name; keep another column or rename it in {args.data}")
        frame = pd.concat([kept, frame], axis=1)  # the kept columns first
    text = frame.to_csv(index=False)
    if args.output:
        atomic_write(args.output, text)
        print(f"wrote {len(labels)} predictions for {rows} to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


# --------------------------------------------------------------------------- evaluate
def cmd_evaluate(args: argparse.Namespace) -> int:
    """Print loss and metrics of a saved model on labelled data."""
    from sklearn import metrics as skm  # slow to import; only scoring needs it

    pd = optional_import("pandas")
    net = load(args.model)
    data, rows = model_data(args, net, need_target=True)
    task = model_task(net)
    print(f"model: {args.model} ({task}, {net.n_parameters()} parameters)")
    print(f"data: {rows}; target {data.target!r}")
    # one forward pass for all metrics (evaluate's loss and the predictions)
    logs, out = net.evaluate_with_output(data.X, data.y)
    if task == "regression":
        pred, y = out[:, 0], data.y
        print(f"loss ({net.loss.name}): {logs['loss']:.6f}")
        print(f"mse: {skm.mean_squared_error(y, pred):.6f}")
        print(f"mae: {skm.mean_absolute_error(y, pred):.6f}")
        r2 = skm.r2_score(y, pred) if len(y) > 1 else float("nan")
        print(f"r2: {r2:.4f}")
        return 0
    pred = net.classes_from_output(out)
    names = [str(c) for c in _class_labels(net)]
    k = len(names)
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        data.y, pred, labels=np.arange(k), zero_division=0)
    print(f"loss ({net.loss.name}): {logs['loss']:.6f}")
    print(f"accuracy: {logs['accuracy']:.4f}")
    scores = class_scores(data.y, pred, k)
    print(f"balanced accuracy: {scores.balanced_accuracy:.4f}")
    weighted = net.metadata.get("training", {}).get("class_weight") is not None
    warning = majority_warning(scores, _class_labels(net), "", " even with class weights"
                               if weighted else "; retrain with --class-weight balanced")
    if warning is not None:
        print(warning)
    table = pd.DataFrame({"precision": precision, "recall": recall, "f1-score": f1,
                          "support": support}, index=names)
    per_class = np.stack([precision, recall, f1])  # averaged as scikit-learn's average=
    table.loc["macro avg"] = [*per_class.mean(axis=1), support.sum()]
    table.loc["weighted avg"] = [*np.average(per_class, axis=1, weights=support), support.sum()]
    table["support"] = table["support"].astype(int)
    print("\nper class:")
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    cm = skm.confusion_matrix(data.y, pred, labels=np.arange(k))
    print("\nconfusion matrix (rows: true class, columns: predicted class):")
    print(pd.DataFrame(cm, index=names, columns=names).to_string())
    return 0


# --------------------------------------------------------------------------- inspect
def _print_tree(value: Any, indent: str = "  ") -> None:
    for key, v in value.items():
        if isinstance(v, dict):
            print(f"{indent}{key}:")
            _print_tree(v, indent + "  ")
        else:
            print(f"{indent}{key}: {json.dumps(v)}")


def cmd_inspect(args: argparse.Namespace) -> int:
    """Print a saved model's layers, shapes, parameter count, loss, labels and metadata."""
    contents = read_safetensors(args.model, kind="model")
    net = network_from_contents(contents, args.model, Network)  # the same bytes, read once
    if args.json:
        print(json.dumps({"file": args.model, "bytes": contents.size,
                          "format_version": contents.format_version,
                          "parameters": net.n_parameters(), **contents.header}, indent=2))
        return 0
    print(f"model: {args.model} ({contents.size} bytes, format version "
          f"{contents.format_version})")
    print(f"task: {model_task(net)}; loss {net.loss.name}; l2 {net.l2:g}; dtype {net.dtype}")
    print(layer_table(net))
    print(f"parameters: {net.n_parameters()} trainable")
    names = net.feature_names
    shown = "unnamed" if names is None else ", ".join(names[:12]) + (
        f", ... ({len(names) - 12} more)" if len(names) > 12 else "")
    print(f"inputs: {net.n_in} features: {shown}")
    if net.preprocessor is not None:
        print(f"preprocessing: raw table columns encoded inside the model "
              f"({len(net.preprocessor.columns_used)} columns used):")
        for line in net.preprocessor.describe():
            print(f"  {line}")
    if net.classes is not None:
        print(f"classes: {', '.join(map(repr, net.classes))}")
    if net.metadata:
        print("metadata:")
        _print_tree(net.metadata)
    return 0


# --------------------------------------------------------------------------- gradcheck
def cmd_gradcheck(args: argparse.Namespace) -> int:
    """Gradient-check a saved model on randomly drawn rows of a labelled data set."""
    net = load(args.model)
    data, rows = model_data(args, net, need_target=True)
    m = data.X.shape[0]
    n = min(args.rows, m)
    pick = np.sort(np.random.default_rng(args.seed).choice(m, size=n, replace=False))
    report = gradient_check(net, data.X[pick], data.y[pick], eps=args.eps,
                            max_entries=args.entries, seed=args.seed)
    print(f"gradient check of {args.model} on {n} rows drawn from {rows} "
          f"(central differences, eps {args.eps:g}):")
    print(report)
    if not report.passed:
        print("error: gradient check failed", file=sys.stderr)
        return 1
    return 0
