"""The argument parser of the command line: one function per sub-command adds its parser, and
each parser names the function that runs it (``args.func``)."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable

from backprop._version import __version__
from backprop.cli import args as types
from backprop.cli.explain import cmd_explain
from backprop.cli.export import cmd_export
from backprop.cli.model_commands import cmd_evaluate, cmd_gradcheck, cmd_inspect, cmd_predict
from backprop.cli.train_mpi import train_command
from backprop.data import FORMATS, IDX_DATASETS, TASKS
from backprop.data.csv_dialect import DECIMAL_MARKS
from backprop.data.tabular import DATES, IMPUTE
from backprop.nn.activations import ACTIVATIONS
from backprop.optim import OPTIMIZERS

__all__ = ["build_parser"]

#: ``name, help=..., description=...`` -> a new sub-command parser (with the common options)
_NewCommand = Callable[..., argparse.ArgumentParser]

_TARGET_OF_A_MODEL = "the label column (default: the one the model was trained on)"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for all sub-commands."""
    parser = argparse.ArgumentParser(
        prog="backprop",
        description="Train neural networks by explicit layer-level backpropagation; save, "
                    "inspect and use the models.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    new = functools.partial(sub.add_parser, parents=[common])
    for add in (_add_train, _add_predict, _add_evaluate, _add_inspect, _add_gradcheck,
                _add_explain, _add_export):
        add(new)
    return parser


def _add_data_args(p: argparse.ArgumentParser, required: bool, target_help: str) -> None:
    """``--data``, ``--target``, ``--data-dir`` and how a CSV file is written (``--sep``,
    ``--decimal``, ``--encoding``), which every command that reads rows has."""
    data_help = (f"a built-in data set ({', '.join(types.NAMED_DATASETS)}) or a data file: "
                 + "; ".join(FORMATS.values()))
    p.add_argument("--data", type=types.data_source, required=required,
                   default=None if required else "breast-cancer", metavar="SOURCE",
                   help=data_help + ("" if required else " (default: breast-cancer)"))
    p.add_argument("--target", metavar="COLUMN", help=target_help)
    p.add_argument("--data-dir", metavar="FOLDER",
                   help="folder of a named IDX data set (default for fashion-mnist: "
                        f"{IDX_DATASETS['fashion-mnist'].folder})")
    p.add_argument("--sep", type=types.separator, metavar="SEP",
                   help="CSV/TSV field delimiter: a character, or comma, semicolon, tab (or \\t),"
                        " pipe, space (default: sniffed from the first lines among , ; tab |)")
    p.add_argument("--decimal", choices=DECIMAL_MARKS,
                   help="decimal mark of CSV numbers (default: ',' when a file that is not "
                        "comma-delimited writes its numbers as 3,14, else '.')")
    p.add_argument("--encoding", type=types.text_encoding, metavar="NAME",
                   help="text encoding of a CSV/TSV file, a Python codec name such as cp1252, "
                        "latin-1 or utf-16 (default: its byte-order mark's, else UTF-8)")


def _add_model_command(new: _NewCommand, name: str, func: Callable[[argparse.Namespace], int],
                       help: str, description: str, model_help: str | None = None
                       ) -> argparse.ArgumentParser:
    """A sub-command whose first argument is a saved model file."""
    p = new(name, help=help, description=description)
    p.add_argument("model", metavar="MODEL", help=model_help)
    p.set_defaults(func=func)
    return p


def _add_quiet(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet", action="store_true",
                   help="no progress bar while a big data file is read (it shows only on a "
                        "terminal)")


def _add_train(new: _NewCommand) -> None:
    train = new(
        "train",
        help="train a network (default: the founding note's network on breast cancer)",
        description="Train a multilayer perceptron on a data set, after a gradient check.",
    )
    _add_data_args(train, False, "CSV/Parquet: the label column; NPZ: the target array "
                                 "(default y); IDX: the labels file (default: the one next to "
                                 "the images)")
    train.add_argument("--features", type=types.column_list, metavar="A,B,...",
                       help="feature columns (default: every column but the target)")
    train.add_argument("--task", default="auto", choices=TASKS,
                       help="default auto: text/boolean or few integer labels -> "
                            "classification, other numbers -> regression")
    _add_table_args(train)
    _add_network_args(train)
    _add_run_args(train)
    _add_gradcheck_args(train)
    _add_output_args(train)
    train.set_defaults(func=train_command)


def _add_table_args(train: argparse.ArgumentParser) -> None:
    """How a table's text, categories, dates and empty cells are encoded (TablePreprocessor)."""
    g = train.add_argument_group(
        "tables", "CSV/Parquet columns that are not clean numbers are encoded inside the model "
                  "(one-hot categories, filled gaps with an indicator, expanded dates; ids and "
                  "free text left out); the run's header says what became of each column")
    g.add_argument("--categorical", type=types.column_list, metavar="A,B,...",
                   help="one-hot these columns whatever they hold")
    g.add_argument("--numeric", type=types.column_list, metavar="A,B,...",
                   help="read these columns as numbers (text in them is an error)")
    g.add_argument("--drop", type=types.column_list, metavar="A,B,...",
                   help="leave these columns out")
    g.add_argument("--na-values", type=types.column_list, metavar="TEXT,...",
                   help="cell texts that mean empty, besides empty cells and NA (e.g. '?,-')")
    g.add_argument("--impute", default="median", choices=list(IMPUTE),
                   help="fill value for empty numeric cells (default: median)")
    g.add_argument("--no-indicators", action="store_true",
                   help="no <column>_na indicator columns for columns with empty cells")
    g.add_argument("--max-categories", type=types.positive_int, default=50, metavar="N",
                   help="text columns with more distinct values are left out unless named in "
                        "--categorical (then their N most frequent values are kept; default 50)")
    g.add_argument("--dates", default="expand", choices=list(DATES),
                   help="date columns: expand to year, month, day, day of week, or drop them "
                        "(default: expand)")


def _add_network_args(train: argparse.ArgumentParser) -> None:
    train.add_argument("--hidden", type=types.hidden_sizes, default=[16], metavar="SIZES",
                       help="hidden layer widths, comma-separated (default: 16)")
    train.add_argument("--activation", default="sigmoid",
                       choices=sorted(a for a in ACTIVATIONS if a != "softmax"),
                       help="hidden activation (default: sigmoid, as in the note)")


def _add_run_args(train: argparse.ArgumentParser) -> None:
    train.add_argument("--optimizer", default="adam", choices=sorted(OPTIMIZERS),
                       help="optimizer (default: adam)")
    train.add_argument("--lr", type=types.positive_float, default=None,
                       help="learning rate (default: 0.001 for adam/adamw, 0.01 for rmsprop, "
                            "0.1 for sgd/gd)")
    train.add_argument("--epochs", type=types.positive_int, default=100,
                       help="epochs (default: 100)")
    train.add_argument("--batch-size", type=types.positive_int, default=32,
                       help="mini-batch size (default: 32)")
    train.add_argument("--full-batch", action="store_true",
                       help="use the whole training set per step (plain gradient descent)")
    train.add_argument("--l2", type=types.non_negative_float, default=0.0,
                       help="L2 penalty on weights (default: 0)")
    train.add_argument("--dropout", type=types.fraction, default=0.0,
                       help="dropout rate after each hidden layer (default: 0)")
    train.add_argument("--test-size", type=types.test_fraction, default=0.2,
                       help="fraction held out for testing (default: 0.2; data sets with an "
                            "official split use it instead)")
    train.add_argument("--class-weight", type=types.class_weight, metavar="WEIGHTS",
                       help="weigh each class in the cost (classifiers): 'balanced' (n_rows / "
                            "(n_classes * rows of the class), over the training rows) or "
                            "LABEL=WEIGHT pairs for every class, e.g. yes=3,no=1 "
                            "(default: every row counts the same)")
    train.add_argument("--validation-split", type=types.fraction, default=0.0,
                       help="fraction of the training rows held out for validation curves "
                            "(default: 0)")
    train.add_argument("--seed", type=types.non_negative_int, default=0,
                       help="random seed (default: 0)")
    train.add_argument("--dtype", default="float32", choices=["float32", "float64"],
                       help="training precision, and the dtype the data is read in (default: "
                            "float32)")


def _add_gradcheck_args(train: argparse.ArgumentParser) -> None:
    train.add_argument("--no-gradcheck", action="store_true",
                       help="skip the gradient check before training")
    train.add_argument("--gradcheck-rows", type=types.positive_int, default=32,
                       help="training rows used by the gradient check (default: 32)")
    train.add_argument("--gradcheck-entries", type=types.positive_int, default=100,
                       help="entries checked per parameter, sampled (default: 100)")


def _add_output_args(train: argparse.ArgumentParser) -> None:
    train.add_argument("--out", metavar="MODEL",
                       help="save the trained model here (a .safetensors file)")
    train.add_argument("--plot", type=types.plot_path, metavar="IMAGE",
                       help="draw the loss and accuracy (or metric) curves here (.png, .svg ...)")
    train.add_argument("--history", metavar="CSV", help="write the per-epoch metrics here")
    train.add_argument("--plot-gradients", type=types.plot_path, metavar="IMAGE",
                       help="draw each layer's gradient norm and weight-update ratio per epoch "
                            "here (measured on the first 256 training rows): vanishing "
                            "gradients show as lines decades apart")
    train.add_argument("--checkpoint", metavar="PATH",
                       help="keep a checkpoint here (model, optimizer state, position, random "
                            "states), written atomically every --checkpoint-every epochs and on "
                            "Ctrl-C / SIGTERM")
    train.add_argument("--checkpoint-every", type=types.positive_int, default=1, metavar="N",
                       help="epochs between checkpoints (default: 1)")
    train.add_argument("--resume", metavar="PATH",
                       help="continue the run saved in this checkpoint (same arguments "
                            "otherwise); the result is bit-identical to an uninterrupted run")
    train.add_argument("--quiet", action="store_true",
                       help="no progress output (the bars show only on a terminal)")


def _add_predict(new: _NewCommand) -> None:
    predict = _add_model_command(
        new, "predict", cmd_predict, help="predict with a saved model",
        description="Predict with a saved model: original class labels (or values) per row, "
                    "as CSV on stdout or in --output.",
        model_help="a model file from 'train --out'")
    _add_data_args(predict, True, "unused (predictions need only the features)")
    _add_quiet(predict)
    predict.add_argument("--output", metavar="CSV", help="write the predictions here")
    predict.add_argument("--proba", action="store_true",
                         help="add a probability column per class")
    predict.add_argument("--keep", type=types.column_list, metavar="COLUMN[,COLUMN...]",
                         help="copy these columns (NPZ: arrays of one value per row), ids say, "
                              "from --data into the output before the predictions, as written "
                              "in the file (CSV/TSV cells as text: 000123 stays 000123)")


def _add_evaluate(new: _NewCommand) -> None:
    evaluate = _add_model_command(
        new, "evaluate", cmd_evaluate, help="score a saved model on labelled data",
        description="Loss and accuracy, per-class precision/recall/F1 and the confusion matrix "
                    "of a classifier; MSE, MAE and R² of a regression model.")
    _add_data_args(evaluate, True, _TARGET_OF_A_MODEL)
    _add_quiet(evaluate)


def _add_inspect(new: _NewCommand) -> None:
    inspect = _add_model_command(
        new, "inspect", cmd_inspect, help="describe a saved model",
        description="Layers, shapes, parameter count, activations, loss and metadata.")
    inspect.add_argument("--json", action="store_true",
                         help="print the model's description as JSON")


def _add_gradcheck(new: _NewCommand) -> None:
    gcheck = _add_model_command(
        new, "gradcheck", cmd_gradcheck, help="gradient-check a saved model on real rows",
        description="Compare backprop's gradients of a saved model with central differences "
                    "on rows of a data set.")
    _add_data_args(gcheck, True, _TARGET_OF_A_MODEL)
    _add_quiet(gcheck)
    gcheck.add_argument("--rows", type=types.positive_int, default=32,
                        help="rows to check on, drawn at random (default: 32)")
    gcheck.add_argument("--entries", type=types.positive_int, default=100,
                        help="entries checked per parameter, sampled (default: 100)")
    gcheck.add_argument("--eps", type=types.positive_float, default=1e-6,
                        help="perturbation (default: 1e-6)")
    gcheck.add_argument("--seed", type=types.non_negative_int, default=0,
                        help="random seed (default: 0)")


def _add_export(new: _NewCommand) -> None:
    export = _add_model_command(
        new, "export", cmd_export, help="export a saved model to ONNX",
        description="Write a saved model as an ONNX file (opset 17, IR version 8) that "
                    "onnxruntime and other ONNX runtimes serve: input X (or one input per "
                    "table column), outputs 'output' (as predict) and 'label' (classifiers).",
        model_help="a model file from 'train --out'")
    export.add_argument("out", metavar="OUT", help="the .onnx file to write")


def _add_explain(new: _NewCommand) -> None:
    explain = _add_model_command(
        new, "explain", cmd_explain, help="draw backpropagation through a saved model",
        description="The founding note's figure for a saved model on real rows: each layer's "
                    "forward function (a[l-1] -> z[l] -> a[l], caching z[l]) and backward "
                    "function (da[l] -> dz[l] -> da[l-1], dW[l], db[l]) with the real shapes "
                    "and a summary (norm, mean, std) of every array.",
        model_help="a model file from 'train --out'")
    _add_data_args(explain, True, _TARGET_OF_A_MODEL)
    explain.add_argument("--rows", type=types.positive_int, default=32,
                         help="rows of the data to trace, from the first (default: 32)")
    explain.add_argument("--out", type=types.plot_path, metavar="FIGURE",
                         help="write the figure here (.svg, .png, .pdf)")
    explain.add_argument("--text", action="store_true",
                         help="print the trace as text (the chain of shapes and norms)")
