"""The argparse value types of the command line, and checks on the parsed arguments.

Each type is a function ``text -> value`` that raises ``argparse.ArgumentTypeError`` with a
message saying what was expected and quoting the text; argparse turns it into a usage error
(exit 2) before any work is done.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable

from backprop._utils import check_int, check_positive, check_real
from backprop.data import BUILTIN_DATASETS, IDX_DATASETS
from backprop.data.csv_dialect import check_encoding, parse_sep
from backprop.plotting import plot_formats

__all__ = [
    "NAMED_DATASETS",
    "class_weight",
    "column_list",
    "data_source",
    "fraction",
    "hidden_sizes",
    "non_negative_float",
    "non_negative_int",
    "plot_path",
    "positive_float",
    "positive_int",
    "separator",
    "test_fraction",
    "text_encoding",
    "shows_progress",
]

#: The data sets ``--data`` accepts by name.
NAMED_DATASETS = sorted(BUILTIN_DATASETS) + sorted(IDX_DATASETS)


def _integer(low: int, expected: str) -> Callable[[str], int]:
    """An argparse type: an integer ``>= low``, else a usage error that names ``expected``."""

    def parse(text: str) -> int:
        try:
            return check_int("value", int(text), low)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None

    return parse


def _real(expected: str, low: float, high: float = math.inf, *, low_open: bool = False,
          high_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number in the interval from ``low`` to ``high`` (NaN never
    is), else a usage error that names ``expected``."""

    def parse(text: str) -> float:
        try:
            return check_real("value", float(text), low, high, low_open=low_open,
                              high_open=high_open or high == math.inf)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None

    return parse


positive_int = _integer(1, "a positive integer")
non_negative_int = _integer(0, "an integer >= 0")
positive_float = _real("a positive number", 0, low_open=True)
non_negative_float = _real("a number >= 0", 0)
fraction = _real("a number in [0, 1)", 0, 1, high_open=True)
test_fraction = _real("a number in (0, 1)", 0, 1, low_open=True, high_open=True)


def hidden_sizes(text: str) -> list[int]:
    """Parse ``"16,8"`` into ``[16, 8]`` (an empty string means no hidden layer)."""
    if text.strip() == "":
        return []
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--hidden must be comma-separated positive integers, got {text!r}"
        ) from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"--hidden sizes must be positive, got {text!r}")
    return sizes


def column_list(text: str) -> list[str]:
    """Parse ``"a,b, c"`` into ``["a", "b", "c"]``."""
    names = [part.strip() for part in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected comma-separated column names, got {text!r}")
    return names


def class_weight(text: str) -> str | dict[str, float]:
    """Parse ``--class-weight``: ``"balanced"``, or ``"yes=3,no=1"`` into ``{"yes": 3.0,
    "no": 1.0}`` (class labels as text, each with a positive weight; the last ``=`` of an entry
    separates them, so a label may hold one)."""
    if text.strip() == "balanced":
        return "balanced"
    weights: dict[str, float] = {}
    for entry in text.split(","):
        label, sep, value = (part.strip() for part in entry.rpartition("="))
        if not sep or not label:
            raise argparse.ArgumentTypeError(
                f"expected 'balanced' or LABEL=WEIGHT pairs separated by commas (yes=3,no=1), "
                f"got {text!r}")
        if label in weights:
            raise argparse.ArgumentTypeError(f"class {label!r} is given twice in {text!r}")
        try:
            weights[label] = check_positive("value", float(value))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"the weight of class {label!r} must be a positive number, got {value!r}"
            ) from None
    return weights


def data_source(text: str) -> str:
    """A named data set, or something that looks like a path.  A missing file is a data error
    (exit 1) found when it is read; a bare unknown word is a usage error (exit 2) now."""
    if text in NAMED_DATASETS or os.path.exists(text) or os.sep in text or "." in text:
        return text
    raise argparse.ArgumentTypeError(
        f"{text!r} is neither a built-in data set ({', '.join(NAMED_DATASETS)}) nor a file"
    )


def separator(text: str) -> str:
    """A CSV delimiter: one character, or its name (``semicolon``, ``tab``, ``\\t`` ...)."""
    try:
        return parse_sep(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def text_encoding(text: str) -> str:
    """A text encoding Python knows (``cp1252``, ``latin-1``, ``utf-16`` ...), as given."""
    try:
        check_encoding(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def plot_path(text: str) -> str:
    """An image path whose extension matplotlib can write, checked before any training.
    Without matplotlib any path passes here, and ``train`` reports the missing package."""
    try:
        formats = plot_formats()
    except ImportError:
        return text
    ext = os.path.splitext(text)[1].lstrip(".").lower()
    if ext not in formats:
        raise argparse.ArgumentTypeError(
            f"cannot tell the image format of {text!r}; end it in one of "
            f"{', '.join('.' + e for e in formats)}"
        )
    return text


def _same_file(a: str, b: str) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)  # hard links
    except OSError:  # one of them does not exist (yet)
        return False


def check_outputs_apart(outputs: dict[str, str | None], inputs: dict[str, str | None]) -> None:
    """Refuse, before any work, an output path that is one of the inputs (writing it would
    replace the data or the model being read) or another output: ``ValueError`` naming both
    options.  Keys are option names (``"--out"``), values paths or None (not given)."""
    given = [(opt, path) for opt, path in outputs.items() if path is not None]
    for i, (opt, path) in enumerate(given):
        for in_opt, in_path in inputs.items():
            if in_path is not None and os.path.exists(in_path) and _same_file(path, in_path):
                raise ValueError(f"{opt} {path} is the input {in_opt} {in_path}: an output never "
                                 "replaces an input; choose another path")
        for other_opt, other in given[i + 1:]:
            if _same_file(path, other):
                raise ValueError(f"{opt} and {other_opt} are the same file {path}; choose "
                                 "different paths")


def shows_progress(args: argparse.Namespace) -> bool:
    """Whether a long read shows a progress bar: when stderr is a terminal, unless
    ``--quiet``."""
    return sys.stderr.isatty() and not getattr(args, "quiet", False)
