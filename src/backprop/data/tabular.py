"""Tables as they come: numeric, categorical, boolean and date columns with empty cells, turned
into the numeric matrix a network takes, by a :class:`TablePreprocessor` that a model keeps.

The preprocessor plays the part of scikit-learn's ``ColumnTransformer(SimpleImputer,
OneHotEncoder(handle_unknown="ignore"), StandardScaler)``, Keras' ``FeatureSpace`` and fastai's
``Categorify``/``FillMissing``/``Normalize``: it is fitted once on training rows, decides what each
column is, and stores what it learnt (categories, fill values, scales) as JSON, so that a saved
model encodes raw rows the same way with no code from the user.

Each column becomes one of:

* ``numeric``: the values, an empty cell filled with the training median (or mean), plus an
  indicator column ``<name>_na`` (1 where the cell was empty) when the training rows had gaps;
  standardized when ``scale`` is on.
* ``one-hot``: one 0/1 column ``<name>=<category>`` per category seen in training (text,
  booleans, pandas categoricals); an empty cell sets ``<name>_na`` when training had gaps; a
  category never seen in training sets no column (and is counted in a warning).
* ``date``: year, month, day and day of the week as numbers (then as ``numeric``); or left out
  with ``dates="drop"``.
* left out: identifiers (unique per row), free text, text with too many distinct values for
  one-hot, constant and empty columns: each with the reason, shown by :meth:`describe`.

Anything it cannot decide (a column of numbers with a few junk cells such as ``"?"``, a column of
lists) is a :class:`~backprop.data.readers.DataError` naming every such column, with a count and
what to do.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from backprop._utils import check_int, clip_repr, jsonable, optional_import
from backprop.data.column_plan import (
    DATE_TEXT,
    DECIMAL_COMMA,
    JUNK_VALUES,
    THOUSANDS,
    ColumnPlan,
    category_value,
    date_values,
    is_date_object,
    looks_like_id,
    number_text,
    sorted_labels,
    with_na_values,
)
from backprop.data.readers import DataError

__all__ = ["TablePreprocessor", "ColumnPlan", "IMPUTE", "DATES", "needs_preprocessing"]

Array = np.ndarray

#: How a numeric column's empty cells are filled.
IMPUTE = ("median", "mean")
#: What becomes of a date column.
DATES = ("expand", "drop")
def needs_preprocessing(frame: Any) -> bool:
    """True when a DataFrame's columns are not all numbers (or booleans) without empty cells:
    such a table needs a :class:`TablePreprocessor` before a network can take it."""
    pd = optional_import("pandas")
    types = pd.api.types
    for name in frame.columns:
        s = frame[name]
        if types.is_bool_dtype(s.dtype):
            continue
        if not types.is_numeric_dtype(s.dtype) or types.is_complex_dtype(s.dtype):
            return True
        if s.isna().any():
            return True
    return False


class TablePreprocessor:
    """Turn a table's raw columns (text, categories, booleans, dates, numbers with gaps) into a
    float matrix, as learnt from training rows; the fitted state is JSON and travels in model
    files.

    Use it in Python as a scikit-learn transformer (``fit``, ``transform``,
    ``get_feature_names_out``; it fits in a ``Pipeline``), or hand it to a network
    (``bp.Network(layers, ..., preprocessor=pre)``) so that ``predict`` takes raw DataFrames.
    ``backprop train`` builds one for every table that needs it.

    Parameters
    ----------
    categorical, numeric, drop : sequence of str, optional
        Columns forced to one-hot, forced to numbers, or left out (overriding the automatic
        choice).  A forced-numeric column with text in it is an error naming the cells.
    impute : {"median", "mean"}
        Fill value for empty cells of numeric (and date) columns.
    indicator : bool, default True
        Add a ``<name>_na`` column for every column that had empty cells in training.
    max_categories : int, default 50
        A text column with more distinct values is left out (unless forced ``categorical``:
        then its ``max_categories`` most frequent values are kept and the rest set no column).
    dates : {"expand", "drop"}
        Expand date columns to year, month, day and day of the week, or leave them out.
    na_values : sequence of str, optional
        Cell texts that mean "empty" (besides empty cells and NA), e.g. ``["?", "-"]``.
    scale : bool, default True
        Standardize the numeric and date outputs with the training mean and standard deviation
        (one-hot and indicator columns stay 0/1).  ``backprop train`` turns it off and puts a
        :class:`~backprop.nn.layers.Standardize` layer first instead.

    Attributes (after :meth:`fit`)
    ------------------------------
    plans_ : list of ColumnPlan
        One per input column, in input order.
    feature_names_in_ : list of str
        The input columns.
    feature_names_out_ : list of str
        The encoded columns.
    """

    def __init__(self, categorical: Sequence[str] | None = None,
                 numeric: Sequence[str] | None = None, drop: Sequence[str] | None = None,
                 impute: str = "median", indicator: bool = True, max_categories: int = 50,
                 dates: str = "expand", na_values: Sequence[str] | None = None,
                 scale: bool = True) -> None:
        self.categorical = categorical
        self.numeric = numeric
        self.drop = drop
        self.impute = impute
        self.indicator = indicator
        self.max_categories = max_categories
        self.dates = dates
        self.na_values = na_values
        self.scale = scale

    # ----------------------------------------------------------------- scikit-learn protocol
    _PARAMS = ("categorical", "numeric", "drop", "impute", "indicator", "max_categories", "dates",
               "na_values", "scale")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments (scikit-learn's estimator protocol)."""
        return {k: getattr(self, k) for k in self._PARAMS}

    def set_params(self, **params: Any) -> TablePreprocessor:
        """Set constructor arguments (scikit-learn's estimator protocol)."""
        for k, v in params.items():
            if k not in self._PARAMS:
                raise ValueError(f"invalid parameter {k!r} for TablePreprocessor; valid: "
                                 f"{list(self._PARAMS)}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        changed = [f"{k}={getattr(self, k)!r}" for k, d in zip(self._PARAMS, _DEFAULTS)
                   if getattr(self, k) != d]
        return f"TablePreprocessor({', '.join(changed)})"

    @property
    def is_fitted(self) -> bool:
        """Whether :meth:`fit` (or :meth:`from_config`) has set the column plans."""
        return hasattr(self, "plans_")

    def get_feature_names_out(self, input_features: Any = None) -> Array:
        """The encoded column names (scikit-learn's protocol)."""
        self._check_fitted()
        return np.asarray(self.feature_names_out_, dtype=object)

    @property
    def columns_used(self) -> list[str]:
        """The input columns :meth:`transform` needs (those not left out)."""
        self._check_fitted()
        return [p.name for p in self.plans_ if p.kind != "dropped"]

    @property
    def uses_options(self) -> bool:
        """Whether a column option (``categorical``, ``numeric``, ``drop``, ``na_values``) is
        set: a table of clean numbers then still goes through the preprocessor."""
        return any(getattr(self, k) for k in ("categorical", "numeric", "drop", "na_values"))

    @property
    def n_features_out(self) -> int:
        """How many columns :meth:`transform` returns."""
        self._check_fitted()
        return len(self.feature_names_out_)

    def fit_transform(self, X: Any, y: Any = None, dtype: Any = np.float32) -> Array:
        """:meth:`fit`, then :meth:`transform` the same rows."""
        return self.fit(X).transform(X, dtype=dtype)

    # ----------------------------------------------------------------- fitting
    def fit(self, X: Any, y: Any = None) -> TablePreprocessor:
        """Decide what each column of ``X`` (a DataFrame, or a dict of columns) becomes and learn
        its categories, fill values and scales.

        Raises :class:`DataError` naming every column it cannot handle (with counts), and when
        no column is left.
        """
        frame = _as_frame(X, None, "X")
        self._check_options(list(frame.columns))
        plans, problems = [], []
        for name in frame.columns:
            plan = self._plan(str(name), frame[name], problems)
            if plan is not None:
                plans.append(plan)
        if problems:
            raise DataError(f"{len(problems)} column(s) cannot be used as they are: "
                            + "; ".join(problems))
        if not any(p.kind != "dropped" for p in plans):
            raise DataError("no usable feature column: " + "; ".join(
                f"{p.name!r} {p.describe()}" for p in plans))
        self._set_plans(plans)
        return self

    def _set_plans(self, plans: list[ColumnPlan]) -> None:
        self.plans_ = plans
        self.feature_names_in_ = [p.name for p in plans]
        self.feature_names_out_ = [name for p in plans for name in p.outputs]
        if len(set(self.feature_names_out_)) != len(self.feature_names_out_):
            dup = next(n for n in self.feature_names_out_ if self.feature_names_out_.count(n) > 1)
            raise DataError(f"two encoded columns would both be named {dup!r}; rename the "
                            f"column that clashes")

    def _check_options(self, columns: list[str]) -> None:
        if self.impute not in IMPUTE:
            raise ValueError(f"impute must be one of {list(IMPUTE)}, got {self.impute!r}")
        if self.dates not in DATES:
            raise ValueError(f"dates must be one of {list(DATES)}, got {self.dates!r}")
        check_int("max_categories", self.max_categories, 1)
        named = {}
        for option in ("categorical", "numeric", "drop"):
            names = list(getattr(self, option) or [])
            unknown = [n for n in names if n not in columns]
            if unknown:
                raise DataError(f"{option}: no column(s) {unknown} (the table has "
                                f"{clip_repr(columns, 300)})")
            for n in names:
                if n in named and named[n] != option:
                    raise DataError(f"column {n!r} is both {named[n]} and {option}")
                named[n] = option

    def _plan(self, name: str, s: Any, problems: list[str]) -> ColumnPlan | None:
        """The plan for one column, or None after appending what is wrong to ``problems``."""
        pd = optional_import("pandas")
        types = pd.api.types
        m = len(s)
        if name in (self.drop or ()):
            return ColumnPlan(name, "dropped", "left out as asked")
        s = with_na_values(s, self.na_values)
        missing = int(s.isna().sum())
        if missing == m:
            return ColumnPlan(name, "dropped", f"all {m} cells are empty", missing=missing)
        if name in (self.categorical or ()):
            return self._onehot_plan(name, s, missing, forced=True)
        if types.is_bool_dtype(s.dtype) or isinstance(s.dtype, pd.CategoricalDtype):
            return self._onehot_plan(name, s, missing, forced=False)
        if types.is_datetime64_any_dtype(s.dtype):
            return self._date_plan(name, date_values(s), missing)
        if types.is_numeric_dtype(s.dtype) and not types.is_complex_dtype(s.dtype):
            return self._numeric_plan(name, s.to_numpy(dtype=np.float64, na_value=np.nan),
                                      missing, problems)
        if not (types.is_object_dtype(s.dtype) or types.is_string_dtype(s.dtype)):
            problems.append(f"{name!r} has type {s.dtype}, which is not numbers, text, "
                            f"booleans or dates (leave it out with --drop {name})")
            return None
        present = s.dropna()
        kinds = {type(v) for v in present}
        if kinds - {str, bool, int, float, np.bool_, np.int64, np.float64}:
            if all(is_date_object(v) for v in present):
                return self._date_plan(name, date_values(s), missing)
            bad = next(k for k in kinds if k not in (str, bool, int, float))
            problems.append(f"{name!r} holds {len(present)} value(s) of type {bad.__name__} "
                            f"(leave it out with --drop {name})")
            return None
        text = present.astype(str)
        numbers = pd.to_numeric(text.str.strip(), errors="coerce")
        junk = numbers.isna().to_numpy()
        forced_numeric = name in (self.numeric or ())
        if not junk.any():
            values = np.full(m, np.nan)
            values[np.flatnonzero(s.notna().to_numpy())] = numbers.to_numpy(dtype=np.float64)
            return self._numeric_plan(name, values, missing, problems)
        junk_values = sorted(set(text[junk]))
        if all(THOUSANDS.fullmatch(v.strip()) for v in junk_values):
            # "52,000" in a file whose decimal mark is a point: a thousands separator
            grouped = pd.to_numeric(text.str.strip().str.replace(",", "", regex=False),
                                    errors="coerce")
            values = np.full(m, np.nan)
            values[np.flatnonzero(s.notna().to_numpy())] = grouped.to_numpy(dtype=np.float64)
            plan = self._numeric_plan(name, values, missing, problems)
            if plan is not None and plan.kind == "numeric":
                plan.thousands, plan.reason = True, "numbers with thousands separators"
            return plan
        if all(DECIMAL_COMMA.fullmatch(v.strip()) for v in junk_values):
            i = int(np.flatnonzero(s.index.isin(present.index[junk]))[0])
            problems.append(f"{name!r} holds numbers written with a decimal comma (row {i + 1}: "
                            f"{clip_repr(s.iloc[i], 20)}); read the file with --decimal ',' "
                            f"(decimal=',' in Python)")
            return None
        if forced_numeric or (junk.sum() * 2 < len(present) and len(junk_values) <= JUNK_VALUES):
            rows = np.flatnonzero(s.index.isin(present.index[junk]))
            shown = ", ".join(f"row {i + 1}: {clip_repr(s.iloc[i], 20)}" for i in rows[:3])
            markers = ",".join(junk_values) if (len(junk_values) <= JUNK_VALUES
                                                and junk.sum() * 2 < len(present)) else None
            fix = (f"mark them empty with --na-values '{markers}'" if markers else
                   "it is text: leave it out of --numeric" if forced_numeric else
                   f"fix those cells or leave the column out with --drop {name}")
            if not forced_numeric:
                fix += f", or treat the column as categories with --categorical {name}"
            what = "given as --numeric but holds" if forced_numeric else "is numbers except for"
            problems.append(f"{name!r} {what} {int(junk.sum())} cell(s) that are not numbers "
                            f"({shown}{', ...' if len(rows) > 3 else ''}); {fix}")
            return None
        if text.str.match(DATE_TEXT).all():
            parsed = pd.to_datetime(text, errors="coerce", format="mixed")
            if parsed.notna().all():
                values = pd.Series(pd.NaT, index=s.index, dtype=parsed.dtype)
                values[present.index] = parsed
                return self._date_plan(name, date_values(values), missing)
        return self._text_plan(name, s, text, missing)

    def _text_plan(self, name: str, s: Any, text: Any, missing: int) -> ColumnPlan:
        distinct = text.nunique()
        words = float(text.str.split().str.len().mean())
        if words >= 3 or float(text.str.len().mean()) > 40:
            return ColumnPlan(name, "dropped", f"free text ({distinct} distinct values, "
                              f"{words:.1f} words on average)", missing=missing)
        if distinct == len(s) and distinct > 1:
            return ColumnPlan(name, "dropped", "an identifier (unique per row)")
        if distinct > self.max_categories:
            return ColumnPlan(name, "dropped", f"text with {distinct} distinct values, more than "
                              f"max_categories={self.max_categories} (force one-hot with "
                              f"--categorical {name})", missing=missing)
        return self._onehot_plan(name, s, missing, forced=False)

    def _onehot_plan(self, name: str, s: Any, missing: int, forced: bool) -> ColumnPlan:
        counts = {category_value(k): int(v) for k, v in
                  s.dropna().map(category_value).value_counts(sort=False).items()}
        if len(counts) == 1 and not missing:
            return ColumnPlan(name, "dropped", f"constant ({clip_repr(next(iter(counts)), 20)})")
        keep = list(counts)
        reason = "categories"
        if len(keep) > self.max_categories:
            # the most frequent, ties broken by the label's text
            order = sorted(keep, key=lambda c: (-counts[c], str(c)))
            keep = order[:self.max_categories]
            # (transform tells a truncated plan by this reason's first word)
            reason = (f"the {self.max_categories} most frequent of {len(counts)} categories "
                      f"(the others set no column)")
        return ColumnPlan(name, "onehot", reason, categories=sorted_labels(keep),
                          indicator=bool(self.indicator and missing), missing=missing)

    def _numeric_plan(self, name: str, values: Array, missing: int, problems: list[str]
                      ) -> ColumnPlan | None:
        finite = values[np.isfinite(values)]
        if finite.size < values.size - missing:
            rows = np.flatnonzero(np.isinf(values))
            problems.append(f"{name!r} holds inf in {rows.size} cell(s) (row {rows[0] + 1} "
                            f"first); replace them, or leave the column out with --drop {name}")
            return None
        if not missing and np.unique(finite).size == 1:
            return ColumnPlan(name, "dropped", f"constant ({number_text(finite[0])})")
        if not missing and looks_like_id(name, finite):
            return ColumnPlan(name, "dropped", "an identifier (whole numbers, unique per row)")
        return self._filled_plan(ColumnPlan(name, "numeric", "numbers", missing=missing),
                                 values[:, None])

    def _date_plan(self, name: str, parts: Array, missing: int) -> ColumnPlan:
        if self.dates == "drop":
            return ColumnPlan(name, "dropped", "a date (dates='drop')", missing=missing)
        return self._filled_plan(ColumnPlan(name, "date", "dates", missing=missing), parts)

    def _filled_plan(self, plan: ColumnPlan, values: Array) -> ColumnPlan:
        """Fill values and scales of numeric outputs ``values`` (m, k) with NaN for gaps."""
        filled = values.copy()
        fill = []
        for j in range(values.shape[1]):
            col = values[:, j]
            ok = col[~np.isnan(col)]
            v = float(np.median(ok) if self.impute == "median" else np.mean(ok))
            fill.append(v)
            filled[np.isnan(col), j] = v
        plan.fill = fill
        plan.indicator = bool(self.indicator and plan.missing)
        if self.scale:
            plan.center = [float(v) for v in filled.mean(axis=0)]
            std = filled.std(axis=0)
            plan.scale = [float(v) if v > 0 else 1.0 for v in std]
        return plan

    # ----------------------------------------------------------------- transforming
    def transform(self, X: Any, dtype: Any = np.float32) -> Array:
        """The encoded matrix (m, :attr:`n_features_out`) of ``dtype`` for the table ``X`` (a
        DataFrame or dict of columns, matched by name; extra columns are ignored; a 2-D array
        is read as the input columns in order).

        Empty cells are filled; categories never seen in training set no column (a
        ``UserWarning`` counts them per column); ``ValueError`` names missing columns and cells
        of a numeric column that are not numbers.
        """
        self._check_fitted()
        frame = _as_frame(X, self.feature_names_in_, "X", required=self.columns_used)
        out = np.empty((len(frame), self.n_features_out), dtype=dtype)
        j, unseen, problems = 0, [], []
        for plan in self.plans_:
            width = len(plan.outputs)
            if width:
                self._encode(plan, frame[plan.name], out[:, j:j + width], unseen, problems)
            j += width
        if problems:
            raise ValueError("cannot encode the table: " + "; ".join(problems))
        if unseen:
            warnings.warn("categories not seen in training (they set no one-hot column): "
                          + "; ".join(unseen), UserWarning, stacklevel=2)
        return out

    def _encode(self, plan: ColumnPlan, s: Any, out: Array, unseen: list[str],
                problems: list[str]) -> None:
        pd = optional_import("pandas")
        s = with_na_values(s.reset_index(drop=True), self.na_values)
        empty = s.isna().to_numpy()
        if plan.kind == "onehot":
            cats = pd.Index(plan.categories)
            values = s.map(category_value)
            idx = cats.get_indexer(values)
            if ((idx < 0) & ~empty).any():  # "1" in a new file for the category 1, say
                by_text = pd.Index([str(c) for c in plan.categories]).get_indexer(
                    values.astype(str))
                idx = np.where((idx < 0) & ~empty, by_text, idx)
            new = (idx < 0) & ~empty
            if new.any() and not plan.reason.startswith("the "):  # top-N: the rest is expected
                shown = ", ".join(clip_repr(v, 20) for v in pd.unique(s[new])[:3])
                unseen.append(f"{plan.name!r}: {int(new.sum())} row(s) ({shown})")
            k = len(plan.categories)
            out[:, :k] = 0
            rows = np.flatnonzero(idx >= 0)
            out[rows, idx[rows]] = 1
        else:
            k = len(plan.fill)
            values = self._numbers(plan, s, empty, problems)
            if values is None:
                return
            values = np.where(np.isnan(values), np.asarray(plan.fill), values)
            if plan.scale:
                values = (values - np.asarray(plan.center)) / np.asarray(plan.scale)
            out[:, :k] = values
        if plan.indicator:
            out[:, k] = empty

    def _numbers(self, plan: ColumnPlan, s: Any, empty: Array, problems: list[str]
                 ) -> Array | None:
        """(m, k) float64 values of a numeric or date column, NaN where empty."""
        pd = optional_import("pandas")
        types = pd.api.types
        if plan.kind == "date":
            if not types.is_datetime64_any_dtype(s.dtype):
                s = pd.to_datetime(s.astype(object).where(~empty, None), errors="coerce",
                                   format="mixed")
            return date_values(s)
        if types.is_bool_dtype(s.dtype) or (types.is_numeric_dtype(s.dtype)
                                            and not types.is_complex_dtype(s.dtype)):
            values = s.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            sep = "," if plan.thousands else None
            num = pd.to_numeric(s.astype(object).where(~empty, None).map(
                lambda v: (v.strip().replace(sep, "") if sep else v.strip())
                if isinstance(v, str) else v), errors="coerce")
            bad = (num.isna().to_numpy() & ~empty)
            if bad.any():
                rows = np.flatnonzero(bad)
                shown = ", ".join(f"row {i + 1}: {clip_repr(s.iloc[i], 20)}" for i in rows[:3])
                problems.append(f"column {plan.name!r} is numeric but {len(rows)} cell(s) are "
                                f"not numbers ({shown})")
                return None
            values = num.to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isinf(values).any():
            i = int(np.argmax(np.isinf(values)))
            problems.append(f"column {plan.name!r}, row {i + 1} holds {values[i]}")
            return None
        return values[:, None]

    # ----------------------------------------------------------------- description, JSON
    def describe(self) -> list[str]:
        """One line per input column: its name and what becomes of it."""
        self._check_fitted()
        width = max(len(p.name) for p in self.plans_)
        return [f"{p.name:<{width}}  {p.describe()}" for p in self.plans_]

    def config(self) -> dict[str, Any]:
        """The options and fitted plans as JSON-able data (saved in model files)."""
        self._check_fitted()
        return {"type": "TablePreprocessor",
                "options": jsonable(self.get_params()),
                "columns": [p.config() for p in self.plans_]}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TablePreprocessor:
        """The fitted preprocessor :meth:`config` described; ``ValueError`` when the data does
        not describe one."""
        if not isinstance(config, Mapping) or config.get("type") != "TablePreprocessor":
            raise ValueError("not a TablePreprocessor config")
        options = config.get("options")
        columns = config.get("columns")
        if not isinstance(options, Mapping) or not isinstance(columns, list) or not columns:
            raise ValueError("a TablePreprocessor config needs options and columns")
        pre = cls(**{k: v for k, v in options.items() if k in cls._PARAMS})
        pre._set_plans([ColumnPlan.from_config(c) for c in columns])
        return pre

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise ValueError("this TablePreprocessor is not fitted yet; call fit(X) first")


_DEFAULTS = tuple(TablePreprocessor.__init__.__defaults__ or ())


def _as_frame(X: Any, columns: list[str] | None, name: str,
              required: list[str] | None = None) -> Any:
    """``X`` as a DataFrame with string column names (a 2-D array's columns named ``columns``
    in order), holding the ``required`` columns."""
    pd = optional_import("pandas")
    if isinstance(X, Mapping):
        X = pd.DataFrame(dict(X))
    elif not isinstance(X, pd.DataFrame):
        arr = np.asarray(X, dtype=object)
        if arr.ndim != 2:
            raise ValueError(f"{name} must be a table (a pandas DataFrame, a dict of columns or "
                             f"a 2-D array), got shape {arr.shape}")
        if columns is None:
            columns = [f"x{j}" for j in range(arr.shape[1])]
        if arr.shape[1] != len(columns):
            raise ValueError(f"{name} has {arr.shape[1]} columns but the preprocessor takes "
                             f"{len(columns)} ({clip_repr(columns, 300)}); pass a DataFrame to "
                             f"match them by name")
        X = pd.DataFrame(arr, columns=columns)
    if len(X) == 0:
        raise ValueError(f"{name} has no rows")
    X = X.rename(columns=str) if not all(isinstance(c, str) for c in X.columns) else X
    if required is not None:
        missing = [c for c in required if c not in X.columns]
        if missing:
            raise ValueError(f"{name} lacks the column(s) {clip_repr(missing, 300)} the model "
                             f"was trained on (it has {clip_repr(list(X.columns), 300)})")
    return X


