"""``backprop train --class-weight``: the classes a user names as text matched to the data set's
labels, and the weights a run uses described for its header and its model's metadata.

The weighting itself is :mod:`backprop.train.class_weight`'s; this module only translates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from backprop.data import Dataset
from backprop.train.class_weight import ClassWeight

__all__ = ["fit_class_weight", "weights_text", "weights_metadata"]

#: Classes named in the header line; the rest are counted.
_SHOWN = 10


def _names(text: str, label: Any) -> bool:
    """Whether ``text`` (from the command line) names the class ``label``: its text, or for a
    number the same number (``1`` names 1.0), for a bool any case (``true``)."""
    if text == str(label):
        return True
    if isinstance(label, bool):
        return text.lower() == str(label).lower()
    if isinstance(label, (int, float)):
        try:
            return float(text) == label
        except ValueError:
            return False
    return False


def _listed(classes: Sequence[Any]) -> str:
    return ", ".join(map(repr, classes))


def fit_class_weight(spec: str | dict[str, float] | None, data: Dataset) -> ClassWeight:
    """``--class-weight`` as ``fit`` takes it for a network trained on ``data`` (which has no
    class names of its own): ``"balanced"``, or the weights keyed by class index.

    Raises ``ValueError`` for a regression target, a label the target does not have (naming
    the ones it has), a class named twice, and a class without a weight.
    """
    if spec is None:
        return None
    if data.task == "regression":
        raise ValueError(f"--class-weight needs a classification target, but {data.target!r} "
                         f"is a regression target; leave --class-weight out")
    if spec == "balanced":
        return "balanced"
    classes = list(data.classes)
    weights: dict[int, float] = {}
    for text, weight in spec.items():
        found = [i for i, label in enumerate(classes) if _names(text, label)]
        if not found:
            raise ValueError(f"--class-weight names class {text!r}, which the target "
                             f"{data.target!r} does not have; its classes are "
                             f"{_listed(classes)}")
        i = found[0]
        if i in weights:
            raise ValueError(f"--class-weight names class {classes[i]!r} twice")
        weights[i] = weight
    missing = [c for i, c in enumerate(classes) if i not in weights]
    if missing:
        raise ValueError(f"--class-weight gives no weight for class(es) {_listed(missing)}; "
                         f"give one for each class ({_listed(classes)}) or use "
                         f"--class-weight balanced")
    return weights


def weights_text(spec: ClassWeight, weights: np.ndarray, classes: Sequence[Any]) -> str:
    """``"class weights balanced ('no' 0.5263, 'yes' 10)"`` for the header (the first
    classes, then a count of the rest)."""
    shown = ", ".join(f"{c!r} {w:.4g}" for c, w in zip(classes[:_SHOWN], weights))
    if len(classes) > _SHOWN:
        shown += f", ... ({len(classes) - _SHOWN} more)"
    how = "balanced " if spec == "balanced" else ""
    return f"class weights {how}({shown})"


def weights_metadata(spec: ClassWeight, weights: np.ndarray | None, classes: Sequence[Any]
                     ) -> dict[str, Any] | None:
    """``{"mode": "balanced" | "given", "weights": {label: weight}}`` for the model's metadata;
    None without class weights."""
    if weights is None:
        return None
    return {"mode": "balanced" if spec == "balanced" else "given",
            "weights": {str(c): float(w) for c, w in zip(classes, weights)}}
