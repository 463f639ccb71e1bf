"""The estimators' hyperparameter rules, declared as one table and checked by one function.

The names, meanings and defaults are scikit-learn's ``MLPClassifier`` / ``MLPRegressor``'s; our
additions (``init``, ``dropout``, ``dtype``, and more ``solver`` values) come after them.

As in scikit-learn's ``_parameter_constraints``, each hyperparameter has one rule; unlike it, a
rule also *normalises* the value (``"logistic"`` -> ``"sigmoid"``, ``5`` -> ``[5]``,
``np.float32`` -> ``"float32"``), so that two settings that build the same network compare
equal, which is what ``warm_start`` and model files check.  ``__init__`` stores the values as
given and never validates (scikit-learn's contract); :func:`check_params` runs at ``fit``.

A rule is a function ``rule(name, value) -> value`` that raises ``ValueError`` naming the
hyperparameter and the value; :class:`OnlyWith` makes a rule apply only while a flag is set.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, NamedTuple

import numpy as np

from backprop._utils import as_rng, check_int, check_real
from backprop.nn.activations import ACTIVATIONS
from backprop.nn.initializers import INIT_ALIASES, INITIALIZERS
from backprop.optim import OPTIMIZERS, Optimizer
from backprop.sklearn._init import SKLEARN_INIT

__all__ = ["Rule", "OnlyWith", "PARAM_RULES", "REGRESSOR_RULES", "ARCHITECTURE",
           "REGRESSOR_ARCHITECTURE", "SCHEDULES", "check_params", "make_rng"]

Rule = Callable[[str, Any], Any]


class OnlyWith(NamedTuple):
    """Apply ``rule`` only while the hyperparameter ``flag`` is true (the value is otherwise
    unused, and kept as given)."""

    flag: str
    rule: Rule


def integer(low: int, *, also: Collection[Any] = (), what: str | None = None) -> Rule:
    """An integer (not a bool) ``>= low``, or one of the values ``also``."""
    def rule(name: str, value: Any) -> Any:
        if (value is None and None in also) or (isinstance(value, str) and value in also):
            return value
        return check_int(name, value, low, what=what)
    return rule


def real(low: float, high: float = math.inf, *, low_open: bool = False,
         high_open: bool = False) -> Rule:
    """A finite real number (not a bool) in the interval from ``low`` to ``high``."""
    high_open = high_open or high == math.inf

    def rule(name: str, value: Any) -> float:
        return check_real(name, value, low, high, low_open=low_open, high_open=high_open)
    return rule


def choice(options: Mapping[str, Any], *, aliases: Mapping[str, str] | None = None,
           exclude: Collection[str] = (), none: bool = False) -> Rule:
    """A name in ``options`` (read when checked, so later registrations count) or in
    ``aliases``, returned as the name it stands for; ``none``: None is accepted too."""
    aliases = aliases or {}

    def rule(name: str, value: Any) -> Any:
        if value is None and none:
            return None
        key = aliases.get(value, value) if isinstance(value, str) else None
        if key in options and key not in exclude:
            return key
        names = sorted(set(options) - set(exclude)) + sorted(aliases)
        allowed = f"None or one of {names}" if none else f"one of {names}"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return rule


def positive_ints(name: str, value: Any) -> list[int]:
    """A positive int, or an iterable of them; the list of them."""
    sizes: Iterable[Any] = [value] if isinstance(value, numbers.Integral) else value
    try:
        return [check_int(name, s, 1) for s in sizes]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive int or a tuple of positive ints, "
                         f"got {value!r}") from None


def solver(name: str, value: Any) -> Any:
    """``"lbfgs"``, a name in :data:`backprop.OPTIMIZERS` (any case; returned in lower case) or
    an :class:`Optimizer` template (returned as it is)."""
    if isinstance(value, Optimizer):
        return value
    if isinstance(value, str) and (value.lower() == "lbfgs" or value.lower() in OPTIMIZERS):
        return value.lower()
    raise ValueError(f"{name} must be 'lbfgs', one of {sorted(OPTIMIZERS)} or a "
                     f"backprop.Optimizer, got {value!r}")


def patience(name: str, value: Any) -> float | int:
    """A positive int, or ``inf`` (never stop for want of improvement), as scikit-learn's
    ``n_iter_no_change``."""
    if isinstance(value, float | np.floating) and value == math.inf:
        return math.inf
    return check_int(name, value, 1, what="a positive integer or inf")


def initializer(name: str, value: Any) -> Any:
    """``"sklearn"`` (scikit-learn's scheme, :mod:`._init`), a name in
    :data:`backprop.INITIALIZERS` or an alias, or None."""
    if isinstance(value, str) and value == SKLEARN_INIT:
        return value
    try:
        return choice(INITIALIZERS, aliases=INIT_ALIASES, none=True)(name, value)
    except ValueError:
        raise ValueError(f"{name} must be None, {SKLEARN_INIT!r} or one of "
                         f"{sorted(INITIALIZERS) + sorted(INIT_ALIASES)}, got {value!r}") from None


def random_state(name: str, value: Any) -> Any:
    """None, an int (not a bool), a NumPy Generator or a RandomState."""
    if value is None or isinstance(value, (np.random.Generator, np.random.RandomState)) or (
            isinstance(value, numbers.Integral) and not isinstance(value, bool)):
        return value
    raise ValueError(f"{name} must be None, an int, a numpy Generator or RandomState, "
                     f"got {value!r}")


def make_rng(random_state: Any) -> np.random.Generator:
    """A Generator from a checked ``random_state`` (int, Generator, RandomState or None); a
    RandomState is drawn from once, as scikit-learn does."""
    if isinstance(random_state, np.random.RandomState):
        random_state = int(random_state.randint(np.iinfo(np.int32).max))
    return as_rng(random_state)


def precision(name: str, value: Any) -> str:
    """``"auto"``, or float32 / float64 in any spelling NumPy reads; the dtype's name."""
    if isinstance(value, str) and value == "auto":
        return "auto"
    try:
        dtype = np.dtype(value)
    except TypeError:
        dtype = None
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"{name} must be 'auto', 'float32' or 'float64', got {value!r}")
    return dtype.name


def verbosity(name: str, value: Any) -> int:
    """A non-negative int, or a bool."""
    if isinstance(value, bool):
        return int(value)
    return check_int(name, value, 0, what="a non-negative int or bool")


def flag(name: str, value: Any) -> bool:
    """Any value, read as true or false."""
    return bool(value)


#: scikit-learn's names for two activations, accepted as aliases.
ACTIVATION_ALIASES = {"logistic": "sigmoid", "identity": "linear"}

#: scikit-learn's learning-rate schedules (see :mod:`._solvers`).
SCHEDULES = {"constant": None, "invscaling": None, "adaptive": None}

#: One rule per hyperparameter of the estimators (every one of ``__init__``'s arguments).
PARAM_RULES: dict[str, Rule | OnlyWith] = {
    "hidden_layer_sizes": positive_ints,
    # softmax and exp are output activations (of the classifier, and of the Poisson loss)
    "activation": choice(ACTIVATIONS, aliases=ACTIVATION_ALIASES, exclude={"softmax", "exp"}),
    "solver": solver,
    "alpha": real(0.0),
    "batch_size": integer(1, also=("auto", None), what="a positive integer, 'auto' or None"),
    "learning_rate": choice(SCHEDULES),
    "learning_rate_init": real(0.0, low_open=True),
    "power_t": real(0.0),
    "max_iter": integer(1),
    "shuffle": flag,
    "random_state": random_state,
    "tol": real(0.0),
    "verbose": verbosity,
    "warm_start": flag,
    "momentum": real(0.0, 1.0, high_open=True),
    "nesterovs_momentum": flag,
    "early_stopping": flag,
    "validation_fraction": OnlyWith("early_stopping",
                                    real(0.0, 1.0, low_open=True, high_open=True)),
    "beta_1": real(0.0, 1.0, high_open=True),
    "beta_2": real(0.0, 1.0, high_open=True),
    "epsilon": real(0.0, low_open=True),
    "n_iter_no_change": patience,
    "max_fun": integer(1),
    "init": initializer,
    "dropout": real(0.0, 1.0, high_open=True),
    "dtype": precision,
}

#: scikit-learn's regression losses (the output activation each needs: see the regressor).
REGRESSION_LOSSES = {"squared_error": None, "poisson": None}

#: The regressor's rules: the loss, then the shared ones.
REGRESSOR_RULES: dict[str, Rule | OnlyWith] = {"loss": choice(REGRESSION_LOSSES), **PARAM_RULES}

#: The hyperparameters that shape the network (``warm_start`` and model files compare them).
ARCHITECTURE = ("hidden_layer_sizes", "activation", "init", "dropout", "dtype")
#: The regressor's: its loss chooses the output activation too.
REGRESSOR_ARCHITECTURE = ("loss", *ARCHITECTURE)


def check_params(params: Mapping[str, Any], names: Iterable[str] | None = None,
                 rules: Mapping[str, Rule | OnlyWith] = PARAM_RULES) -> dict[str, Any]:
    """Check ``params`` (all of ``rules``, or only ``names``) in the table's order; return the
    normalised values.  The first value that breaks its rule raises ``ValueError``."""
    wanted = set(rules) if names is None else set(names)
    out = {}
    for name, rule in rules.items():
        if name not in wanted:
            continue
        value = params[name]
        if isinstance(rule, OnlyWith):
            if not params[rule.flag]:
                out[name] = value
                continue
            rule = rule.rule
        out[name] = rule(name, value)
    return out
