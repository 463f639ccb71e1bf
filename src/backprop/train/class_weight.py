"""Class weights: a weight per class, multiplied into the sample weight of every row of that
class, so that a rare class counts as much in the cost as its weight says.

The semantics are Keras's ``class_weight`` and scikit-learn's: ``"balanced"`` gives class ``c``
the weight ``n / (k * n_c)`` (``sklearn.utils.class_weight.compute_class_weight``), where
``n`` training rows fall into ``k`` classes, ``n_c`` of them into ``c``; each class then
carries the same total weight.  A dict names a weight per class: by its label when the
network has :attr:`~backprop.nn.Sequential.classes`, else by its index.

Targets given as probability rows (soft labels) weigh each row by its expected class weight,
``y @ weights``, which is the weight of its class for a one-hot row; the counts of
``"balanced"`` are then the column sums.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from backprop._utils import clip_repr

if TYPE_CHECKING:
    from backprop.nn.sequential import Sequential

__all__ = ["ClassWeight", "check_class_weight", "class_weights", "class_counts",
           "balanced_weights", "row_class_weights", "class_weight_setting"]

Array = np.ndarray

#: What ``fit(class_weight=...)`` accepts.
ClassWeight = str | Mapping[Any, float] | None


def _n_classes(network: Sequential) -> int:
    """The number of classes of a single-label classifier; ``ValueError`` for anything else."""
    loss = network.loss
    if not loss.is_classifier:
        raise ValueError(f"class_weight needs a classifier, but the network's loss is "
                         f"{loss.name} (a regression); weigh rows with sample_weight instead")
    if loss.fused_activation == "softmax":
        return network.n_out
    if network.n_out == 1:
        return 2
    raise ValueError(f"class_weight needs one class per row, but the network has "
                     f"{network.n_out} independent {loss.name} outputs (multi-label); weigh "
                     f"rows with sample_weight instead")


def _class_names(network: Sequential, k: int) -> list[Any]:
    """What the keys of a class_weight dict are: the labels, or the indices without them."""
    return list(network.classes) if network.classes is not None else list(range(k))


def check_class_weight(network: Sequential, class_weight: ClassWeight) -> str | Array | None:
    """``class_weight`` checked against ``network``: None, ``"balanced"``, or the weights as an
    array of shape (k,) indexed by class.

    Raises ``ValueError`` for a regression or multi-label network, a string other than
    ``"balanced"``, a key that is not a class, a class without a key, and a weight that is not
    a positive finite number (a zero weight would leave a batch of that class alone with no
    weight to average over); ``TypeError`` for anything but a string or a mapping.
    """
    if class_weight is None:
        return None
    k = _n_classes(network)
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(f"class_weight must be 'balanced', a dict or None, "
                             f"got {class_weight!r}")
        return "balanced"
    if not isinstance(class_weight, Mapping):
        raise TypeError(f"class_weight must be 'balanced', a dict or None, got "
                        f"{type(class_weight).__name__}")
    names = _class_names(network, k)
    index = {name: i for i, name in enumerate(names)}
    what = "class labels (net.classes)" if network.classes is not None else "class indices"
    unknown = [key for key in class_weight if not _hashable(key) or key not in index
               or isinstance(key, bool) != isinstance(names[index[key]], bool)]
    if unknown:
        raise ValueError(f"class_weight has key(s) {', '.join(map(clip_repr, unknown))} that "
                         f"are not classes of the network; its keys are {what}: "
                         f"{clip_repr(names, 200)}")
    weights = np.empty(k)
    for key, value in class_weight.items():
        if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)) \
                or not math.isfinite(value) or value <= 0:
            raise ValueError(f"class_weight[{key!r}] must be a positive finite number, "
                             f"got {value!r}")
        weights[index[key]] = float(value)
    given = {index[key] for key in class_weight}
    missing = [names[i] for i in range(k) if i not in given]
    if missing:
        raise ValueError(f"class_weight gives no weight for class(es) "
                         f"{', '.join(map(repr, missing))}; give one for each of the {k} "
                         f"classes ({what}) or use 'balanced'")
    return weights


def _hashable(key: Any) -> bool:
    try:
        hash(key)
    except TypeError:
        return False
    return True


def _class_counts(y: Array, k: int) -> Array:
    """Rows (or, for probability rows, total probability) per class, shape (k,)."""
    if y.ndim == 2 and y.shape[1] == k:  # one-hot or probability rows
        return y.sum(axis=0, dtype=np.float64)
    labels = y.reshape(-1).astype(np.int64)  # integer labels, or a sigmoid's 0/1 column
    return np.bincount(labels, minlength=k).astype(np.float64)


def class_weights(network: Sequential, y: Array, class_weight: ClassWeight,
                  rows: Array | None = None) -> Array | None:
    """The weight of each class, shape (k,), for targets ``y`` already checked by
    ``network.check_targets``; ``"balanced"`` counts the classes over ``rows`` of ``y`` (the
    training rows; all of them when None).  None when ``class_weight`` is None.

    Raises ``ValueError`` as :func:`check_class_weight`, and for ``"balanced"`` when a class
    has no training row (its weight would be infinite).
    """
    checked = check_class_weight(network, class_weight)
    if checked is None or not isinstance(checked, str):
        return checked
    return balanced_weights(network, class_counts(network, y if rows is None else y[rows]))


def class_counts(network: Sequential, y: Array) -> Array:
    """Rows (or, for probability rows, total probability) of each of the network's classes
    in ``y``, shape (k,), float64."""
    return _class_counts(y, _n_classes(network))


def balanced_weights(network: Sequential, counts: Array) -> Array:
    """``"balanced"`` weights ``n / (k * n_c)`` from the class counts of the training rows
    (:func:`class_counts`, summed over the processes of a many-process run); ``ValueError``
    when a class has no row."""
    k = counts.shape[0]
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        names = _class_names(network, k)
        shown = ", ".join(repr(names[i]) for i in empty[:10])
        raise ValueError(f"class_weight='balanced' needs training rows of every class, but "
                         f"class(es) {shown} have none; give a dict of weights instead")
    return counts.sum() / (k * counts)


def row_class_weights(y: Array, weights: Array) -> Array:
    """Each row's class weight, shape (m,), float64: ``weights[label]`` for integer labels (or
    a sigmoid's 0/1 column), ``y @ weights`` for one-hot or probability rows."""
    k = weights.shape[0]
    if y.ndim == 2 and y.shape[1] == k:
        return y.astype(np.float64, copy=False) @ weights
    return weights[y.reshape(-1).astype(np.int64)]


def class_weight_setting(network: Sequential, class_weight: ClassWeight) -> Any:
    """``class_weight`` as a resumed run compares it: None, ``"balanced"`` or the list of
    weights by class index."""
    checked = check_class_weight(network, class_weight)
    return checked.tolist() if isinstance(checked, np.ndarray) else checked
