"""ONNX nodes for a model's :class:`~backprop.data.tabular.TablePreprocessor`: one graph input
per table column the model uses, encoded as the preprocessor encodes it.

* a numeric column is a ``double`` input of shape (batch, 1); NaN is an empty cell: filled with
  the training fill value (``Where(IsNaN(x), fill, x)``), scaled when the preprocessor scales,
  and flagged in the ``_na`` indicator;
* a one-hot column of text is a ``string`` input (batch, 1): ``ai.onnx.ml.LabelEncoder`` maps
  each category to its index (anything else to -1, so no column is set; the empty string and the
  ``na_values`` texts mean an empty cell), then ``Equal`` against ``0 .. k-1``;
* a one-hot column of numbers or booleans is a ``double`` input compared with its categories;
* a date column is a ``double`` input holding Unix time, seconds since 1970-01-01 UTC (NaN when
  empty; what ``Date.getTime() / 1000`` or ``time.time()`` give), from which the graph derives
  the year, month, day (Howard Hinnant's ``civil_from_days``, in exact float64 arithmetic) and
  the day of the week, then fills and scales them as a numeric column.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backprop._utils import optional_import
from backprop.data.tabular import ColumnPlan, TablePreprocessor
from backprop.export.graph import Graph
from backprop.export.layers import ExportError

__all__ = ["table_inputs", "check_exportable", "input_kind", "onnx_feeds"]

_EMPTY = -2  # the LabelEncoder code of an empty cell


def input_kind(plan: ColumnPlan) -> str:
    """``"string"`` for a one-hot column of text, ``"double"`` for every other used column."""
    if plan.kind == "onehot" and all(isinstance(c, str) for c in plan.categories):
        return "string"
    return "double"


def check_exportable(pre: TablePreprocessor) -> None:
    """ExportError naming every column that ONNX cannot encode (one-hot columns that mix text
    and numbers)."""
    problems = []
    for plan in pre.plans_:
        if plan.kind == "onehot":
            kinds = {isinstance(c, str) for c in plan.categories}
            if len(kinds) > 1:
                problems.append(f"{plan.name!r} mixes text and number categories")
    if problems:
        raise ExportError("the model's table encoding cannot be exported to ONNX: "
                          + "; ".join(problems))


def table_inputs(pre: TablePreprocessor, g: Graph, batch: str) -> str:
    """Declare one input per used column and return the name of the encoded (batch, n) float
    matrix, its columns in ``pre.feature_names_out_`` order."""
    check_exportable(pre)
    TP = g.onnx.TensorProto
    parts = []
    for plan in pre.plans_:
        if plan.kind == "dropped":
            continue
        kind = input_kind(plan)
        x = g.add_input(plan.name, TP.STRING if kind == "string" else TP.DOUBLE, [batch, 1])
        if plan.kind == "numeric":
            parts.extend(_numeric(plan, x, g))
        elif plan.kind == "date":
            parts.extend(_numeric(plan, _date_parts(x, g), g, missing=g.node("IsNaN", [x])))
        elif kind == "string":
            parts.extend(_text_onehot(plan, pre, x, g))
        else:
            parts.extend(_number_onehot(plan, x, g))
    return g.node("Concat", parts, hint="encoded", axis=1)


def _as_float(value: str, g: Graph) -> str:
    return g.node("Cast", [value], to=g.onnx.TensorProto.FLOAT)


def _numeric(plan: ColumnPlan, x: str, g: Graph, missing: str | None = None) -> list[str]:
    """Fill, scale and flag the (batch, k) values ``x``; ``missing``: the (batch, 1) empty-cell
    mask when it is not ``IsNaN(x)`` (a date's four parts share one)."""
    empty = g.node("IsNaN", [x], hint=f"{plan.name}_empty")
    values = g.node("Where", [empty, g.const("fill", np.asarray(plan.fill, np.float64)), x])
    if plan.scale:
        centered = g.node("Sub", [values, g.const("center", np.asarray(plan.center, np.float64))])
        values = g.node("Div", [centered, g.const("scale", np.asarray(plan.scale, np.float64))])
    out = [_as_float(values, g)]
    if plan.indicator:
        out.append(_as_float(empty if missing is None else missing, g))
    return out


def _date_parts(seconds: str, g: Graph) -> str:
    """(batch, 4) year, month, day, day of week (Monday 0) of Unix times (NaN stays NaN)."""

    def c(v: float) -> str:
        return g.const("k", np.float64(v))

    def floordiv(a: str, k: float) -> str:
        return g.node("Floor", [g.node("Div", [a, c(k)])])

    def op(name: str, a: str, b: str) -> str:
        return g.node(name, [a, b])

    days = floordiv(seconds, 86400.0)
    z = op("Add", days, c(719468.0))
    era = floordiv(z, 146097.0)
    doe = op("Sub", z, op("Mul", era, c(146097.0)))  # [0, 146096]
    yoe = floordiv(op("Sub", op("Add", op("Sub", doe, floordiv(doe, 1460.0)),
                                   floordiv(doe, 36524.0)), floordiv(doe, 146096.0)), 365.0)
    doy = op("Sub", doe, op("Sub", op("Add", op("Mul", yoe, c(365.0)), floordiv(yoe, 4.0)),
                              floordiv(yoe, 100.0)))
    mp = floordiv(op("Add", op("Mul", doy, c(5.0)), c(2.0)), 153.0)
    day = op("Add", op("Sub", doy, floordiv(op("Add", op("Mul", mp, c(153.0)), c(2.0)), 5.0)),
             c(1.0))
    month = g.node("Where", [op("Less", mp, c(10.0)), op("Add", mp, c(3.0)),
                             op("Sub", mp, c(9.0))])
    year = op("Add", op("Add", yoe, op("Mul", era, c(400.0))),
              g.node("Cast", [op("LessOrEqual", month, c(2.0))], to=g.onnx.TensorProto.DOUBLE))
    # 1970-01-01 was a Thursday (3 when Monday is 0)
    weekday = op("Sub", op("Add", days, c(3.0)), op("Mul", floordiv(op("Add", days, c(3.0)), 7.0),
                                                    c(7.0)))
    return g.node("Concat", [year, month, day, weekday], hint="date_parts", axis=1)


def _text_onehot(plan: ColumnPlan, pre: TablePreprocessor, x: str, g: Graph) -> list[str]:
    empties = ["", *[v for v in (pre.na_values or ()) if v not in plan.categories]]
    keys = [*plan.categories, *empties]
    codes = [*range(len(plan.categories)), *([_EMPTY] * len(empties))]
    code = g.node("LabelEncoder", [x], hint=f"{plan.name}_code", domain="ai.onnx.ml",
                  keys_strings=keys, values_int64s=codes, default_int64=-1)
    return _onehot_from_codes(plan, code, g)


def _number_onehot(plan: ColumnPlan, x: str, g: Graph) -> list[str]:
    cats = np.asarray([float(c) for c in plan.categories], np.float64)[None, :]
    out = [_as_float(g.node("Equal", [x, g.const("categories", cats)]), g)]
    if plan.indicator:
        out.append(_as_float(g.node("IsNaN", [x]), g))
    return out


def _onehot_from_codes(plan: ColumnPlan, code: str, g: Graph) -> list[str]:
    k = len(plan.categories)
    out = [_as_float(g.node("Equal", [code, g.const("codes", np.arange(k, dtype=np.int64)
                                                   [None, :])]), g)]
    if plan.indicator:
        out.append(_as_float(g.node("Equal", [code, g.const("empty", np.int64(_EMPTY))]), g))
    return out


def onnx_feeds(pre: TablePreprocessor, frame: Any) -> dict[str, np.ndarray]:
    """The ONNX inputs for the rows of a DataFrame (text as str with empty cells as ``""``,
    numbers as float64 with NaN): what onnxruntime's ``run`` takes."""
    feeds = {}
    for plan in pre.plans_:
        if plan.kind == "dropped":
            continue
        s = frame[plan.name]
        if plan.kind == "date":
            pd = optional_import("pandas")
            when = pd.to_datetime(s, errors="coerce", format="mixed")
            values = ((when - pd.Timestamp("1970-01-01")) / pd.Timedelta(seconds=1)
                      ).to_numpy(dtype=np.float64, na_value=np.nan)
        elif input_kind(plan) == "string":
            values = np.array(["" if v is None or (isinstance(v, float) and np.isnan(v))
                               else str(v).strip() for v in s.astype(object)], dtype=object)
        else:
            values = s.astype(object).where(s.notna(), np.nan).to_numpy(dtype=np.float64)
        feeds[plan.name] = values.reshape(-1, 1)
    return feeds
