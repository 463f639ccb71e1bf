"""One column of a table and what becomes of it: :class:`ColumnPlan` (the JSON-able record a
:class:`~backprop.data.tabular.TablePreprocessor` keeps per column) and the cell-level readings
the preprocessor's decisions rest on (empty-cell markers, dates, identifiers, number formats).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backprop._utils import clip_repr, jsonable, optional_import

__all__ = ["ColumnPlan", "DATE_PARTS", "DATE_TEXT", "THOUSANDS", "DECIMAL_COMMA",
           "JUNK_VALUES", "with_na_values", "category_value", "sorted_labels", "is_date_object",
           "date_values", "looks_like_id", "number_text"]

Array = np.ndarray

#: Date parts a date column expands to, in order.
DATE_PARTS = ("year", "month", "day", "dayofweek")

DATE_TEXT = re.compile(r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?"
                        r"\s*(Z|[+-]\d{2}:?\d{2})?\s*$")
THOUSANDS = re.compile(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?")
DECIMAL_COMMA = re.compile(r"[-+]?\d{1,3}(\.\d{3})*,\d+|[-+]?\d+,\d+")
_ID_NAME = re.compile(r"(^|[_\s.-])id$|^id([_\s.-]|$)|[a-z]Id$|ID$")
#: A text column whose junk cells take at most this many distinct values is read as numbers
#: with missing-value markers ("?", "-", "n/a"), not as text.
JUNK_VALUES = 5


@dataclass
class ColumnPlan:
    """What the preprocessor does with one input column (JSON-able through :meth:`config`).

    ``kind`` is ``"numeric"``, ``"onehot"``, ``"date"`` or ``"dropped"``; ``reason`` says why.
    ``fill``/``center``/``scale`` hold one value per numeric output (one for a numeric column,
    four for a date), ``categories`` the one-hot categories, ``indicator`` whether an ``_na``
    column follows, ``missing`` how many training cells were empty.
    """

    name: str
    kind: str
    reason: str
    fill: list[float] = field(default_factory=list)
    center: list[float] = field(default_factory=list)
    scale: list[float] = field(default_factory=list)
    categories: list[Any] = field(default_factory=list)
    indicator: bool = False
    missing: int = 0
    #: numbers written with thousands separators ("52,000"): commas are removed before parsing
    thousands: bool = False

    @property
    def outputs(self) -> list[str]:
        """The names of the encoded columns this column becomes."""
        if self.kind == "numeric":
            out = [self.name]
        elif self.kind == "date":
            out = [f"{self.name}_{p}" for p in DATE_PARTS]
        elif self.kind == "onehot":
            out = [f"{self.name}={c}" for c in self.categories]
        else:
            return []
        return out + ([f"{self.name}_na"] if self.indicator else [])

    def config(self) -> dict[str, Any]:
        """A JSON-able dict; :meth:`from_config` reads it back."""
        return jsonable({k: getattr(self, k) for k in self.__dataclass_fields__})

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ColumnPlan:
        """The plan :meth:`config` described; ``ValueError`` when it is not one."""
        try:
            plan = cls(**dict(config))
        except TypeError as exc:
            raise ValueError(f"not a column plan: {exc}") from None
        width = {"numeric": 1, "date": len(DATE_PARTS), "onehot": 0, "dropped": 0}
        if plan.kind not in width:
            raise ValueError(f"column {plan.name!r}: unknown kind {plan.kind!r}")
        n = width[plan.kind]
        for key in ("fill", "center", "scale"):
            values = getattr(plan, key)
            if key != "fill" and not values and not plan.center and not plan.scale:
                continue  # not scaled
            if len(values) != n or not all(isinstance(v, (int, float)) and np.isfinite(v)
                                           for v in values):
                raise ValueError(f"column {plan.name!r}: {key} must be {n} finite numbers")
        if any(v <= 0 for v in plan.scale):
            raise ValueError(f"column {plan.name!r}: scale must be positive")
        if plan.kind == "onehot" and not plan.categories:
            raise ValueError(f"column {plan.name!r}: a one-hot column needs categories")
        return plan

    def describe(self) -> str:
        """One line: the column and what becomes of it."""
        gaps = ""
        if self.missing:
            gaps = f"; {self.missing} empty cell(s)"
        if self.kind == "numeric":
            if self.missing:
                gaps += f" filled with {number_text(self.fill[0])}"
            grouped = " (thousands separators)" if self.thousands else ""
            return f"numeric{grouped}{gaps}{self._indicator_note()}"
        if self.kind == "date":
            return f"date, expanded to {', '.join(DATE_PARTS)}{gaps}{self._indicator_note()}"
        if self.kind == "onehot":
            shown = ", ".join(clip_repr(c, 20) for c in self.categories[:8])
            more = f", ... ({len(self.categories) - 8} more)" if len(self.categories) > 8 else ""
            return (f"one-hot, {len(self.categories)} categories ({shown}{more}){gaps}"
                    f"{self._indicator_note()}")
        return f"left out: {self.reason}"

    def _indicator_note(self) -> str:
        return f", indicator {self.name}_na" if self.indicator else ""


def number_text(v: float) -> str:
    """A fill value as a line shows it (six significant digits)."""
    return f"{v:.6g}"


def with_na_values(s: Any, na_values: Iterable[str] | None) -> Any:
    """``s`` with blank text and the ``na_values`` texts as missing."""
    pd = optional_import("pandas")
    types = pd.api.types
    if not (types.is_object_dtype(s.dtype) or types.is_string_dtype(s.dtype)):
        return s
    obj = s.astype(object)
    text = obj.map(lambda v: v.strip() if isinstance(v, str) else v)
    empty = text.map(lambda v: isinstance(v, str) and (v == "" or v in set(na_values or ())))
    return obj.where(~empty.to_numpy(dtype=bool), None).where(obj.notna(), None)


def category_value(v: Any) -> Any:
    """A category as a plain Python scalar (text stripped)."""
    if isinstance(v, np.generic):
        v = v.item()
    return v.strip() if isinstance(v, str) else v


def sorted_labels(values: list[Any]) -> list[Any]:
    """Categories in order (by type, then text, when their types do not compare)."""
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=lambda v: (type(v).__name__, str(v)))


def is_date_object(v: Any) -> bool:
    """Whether a cell holds a date or a timestamp object (not text)."""
    return isinstance(v, (dt.date, np.datetime64))


def date_values(s: Any) -> Array:
    """(m, 4) float64 year, month, day, day of week of dates (NaN where missing)."""
    pd = optional_import("pandas")
    d = pd.to_datetime(s, errors="coerce")
    parts = [d.dt.year, d.dt.month, d.dt.day, d.dt.day_of_week]
    return np.column_stack([p.to_numpy(dtype=np.float64, na_value=np.nan) for p in parts])


def looks_like_id(name: str, values: Array) -> bool:
    """Whole numbers, unique per row, named like an id (``id``, ``user_id``, ``PassengerId``)
    or numbering the rows (a run of consecutive integers)."""
    if values.size < 20 or np.any(np.mod(values, 1) != 0):
        return False
    if np.unique(values).size != values.size:
        return False
    consecutive = values.max() - values.min() + 1 == values.size
    return bool(_ID_NAME.search(name.strip()) or consecutive)
