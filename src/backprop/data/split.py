"""Splits: which rows train, which validate or test, and in which order mini-batches see them.

Everything here returns row indices; callers index their own arrays with them.  Stratified
splits keep each class's share on both sides.  :func:`group_rows` reorders an array's rows in
place so that each part of a split is one contiguous block, whose slices are views, not copies.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from backprop._utils import as_rng, check_real

__all__ = ["split", "train_validation_split", "stratify_labels", "minibatches", "group_rows"]

Array = np.ndarray


def split(
    m: int, test_size: float, seed: int | np.random.Generator | None, stratify: Array | None = None
) -> tuple[Array, Array]:
    """Row indices ``(train, test)``; ``test_size`` is a fraction in (0, 1), stratified by the
    labels ``stratify`` when given."""
    check_real("test_size", test_size, 0.0, 1.0, low_open=True, high_open=True)
    return train_validation_split(m, test_size, as_rng(seed), stratify)


def train_validation_split(
    m: int, fraction: float, rng: np.random.Generator, labels: Array | None = None
) -> tuple[Array, Array]:
    """Indices ``(train, validation)`` holding out ``fraction`` of ``m`` rows, stratified by
    ``labels`` when given (each class keeps its share on both sides).

    The training indices come back sorted, the validation ones shuffled.  Raises ValueError
    when either side would be empty.
    """
    if labels is None:
        perm = rng.permutation(m)
        n_val = int(math.ceil(fraction * m))
        val, train = perm[:n_val], perm[n_val:]
    else:
        val_parts = []
        for c in np.unique(labels):
            idx = rng.permutation(np.flatnonzero(labels == c))
            val_parts.append(idx[: int(round(fraction * idx.size))])
        val = np.concatenate(val_parts)
        if val.size == 0:
            val = rng.permutation(m)[:1]
        mask = np.ones(m, dtype=bool)
        mask[val] = False
        train = np.flatnonzero(mask)
        val = rng.permutation(val)
    if train.size == 0 or val.size == 0:
        raise ValueError(
            f"validation_split={fraction} leaves {train.size} training and {val.size} "
            f"validation rows out of {m}"
        )
    return np.sort(train), val


def stratify_labels(y: Array) -> Array | None:
    """Class labels to stratify a split on, or None for multi-label / regression targets."""
    if y.ndim == 1:
        return y
    if y.shape[1] == 1:
        return y[:, 0]
    return None


def minibatches(
    n: int, batch_size: int | None, rng: np.random.Generator | None
) -> Iterator[Array]:
    """Yield index arrays covering ``range(n)`` in batches of ``batch_size`` (the last may be
    smaller); a fresh permutation from ``rng`` when given, in order otherwise.
    ``batch_size=None`` is one full batch (plain gradient descent)."""
    order = rng.permutation(n) if rng is not None else np.arange(n)
    size = n if batch_size is None else batch_size
    for start in range(0, n, size):
        yield order[start:start + size]


#: Rows moved per step of :func:`group_rows` (a step's rows are copied once on the way).
_GROUP_ROWS = 4096


def group_rows(arr: Array, parts: list[Array]) -> list[slice]:
    """Reorder the rows of ``arr`` in place so that the rows ``parts[0]`` come first, in that
    order, then those of ``parts[1]``, and so on; return the slice of each part.

    ``parts`` must together hold every row index of ``arr`` once (a split's train, validation
    and test rows).  ``arr[slices[i]]`` then equals the old ``arr[parts[i]]``, as a view.  When
    ``parts[0]`` is increasing (training rows always are) only the rows of the other parts are
    copied aside: the first part moves down block by block, since its ``i``-th row comes from
    row ``parts[0][i] >= i``, which nothing before it has overwritten.  Otherwise the whole
    array is copied once.
    """
    m = arr.shape[0]
    order = np.concatenate(parts) if parts else np.empty(0, dtype=np.intp)
    if order.size != m or np.any(np.bincount(order, minlength=m) != 1):
        raise ValueError(f"parts must hold each of the {m} row indices once, got {order.size} "
                         f"indices")
    ends = np.cumsum([len(p) for p in parts])
    slices = [slice(int(e - len(p)), int(e)) for p, e in zip(parts, ends)]
    if np.array_equal(order, np.arange(m)):
        return slices
    first = np.asarray(parts[0])
    k = first.size
    if k and np.all(np.diff(first) > 0):
        rest = arr[order[k:]]  # the other parts: a copy of their rows only
        for start in range(0, k, _GROUP_ROWS):
            rows = first[start:start + _GROUP_ROWS]
            arr[start:start + rows.size] = arr[rows]
        arr[k:] = rest
    else:
        arr[:] = arr[order]
    return slices
