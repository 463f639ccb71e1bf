"""scikit-learn's own MLP tests, run against our estimators.

The file ``sklearn/neural_network/tests/test_mlp.py`` ships inside the installed scikit-learn
wheel.  It is read from there (never copied into this repository), its one import of
``MLPClassifier`` / ``MLPRegressor`` is replaced by ours, and its test functions are collected
here as if they were written in this module.  Three tests read scikit-learn's private
internals, which our estimators do not have; they are skipped by name with the reason.
"""

import importlib.util
import re
import sys
import types
from pathlib import Path

import pytest
import sklearn

#: the line that test_mlp.py imports scikit-learn's estimators with, and ours in its place
SKLEARN_IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
OUR_IMPORT = ("from backprop.sklearn import BackpropClassifier as MLPClassifier, "
              "BackpropRegressor as MLPRegressor")

#: tests of scikit-learn's private internals, which have no counterpart here
PRIVATE = {
    "test_gradient": "calls MLPClassifier._loss_grad_lbfgs, scikit-learn's private packed "
                     "loss-and-gradient function (our gradients are checked by "
                     "backprop.gradient_check in tests/test_gradcheck.py)",
    "test_n_iter_no_change": "reads MLPClassifier._no_improvement_count, a private counter of "
                             "scikit-learn's stopping rule",
    "test_n_iter_no_change_inf": "reads MLPClassifier._no_improvement_count, a private counter "
                                 "of scikit-learn's stopping rule",
}


def _load_sklearn_tests() -> types.ModuleType:
    path = Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
    source = path.read_text()
    if source.count(SKLEARN_IMPORT) != 1:
        raise RuntimeError(f"{path}: expected the line {SKLEARN_IMPORT!r} exactly once")
    name = "_sklearn_test_mlp_on_backprop"
    spec = importlib.util.spec_from_loader(name, loader=None, origin=str(path))
    module = importlib.util.module_from_spec(spec)
    module.__file__ = str(path)
    sys.modules[name] = module
    exec(compile(source.replace(SKLEARN_IMPORT, OUR_IMPORT), str(path), "exec"),
         module.__dict__)
    return module


_mlp = _load_sklearn_tests()
_TESTS = {k: v for k, v in vars(_mlp).items() if k.startswith("test_") and callable(v)}

for _name, _test in _TESTS.items():
    if _name in PRIVATE:
        _test = pytest.mark.skip(reason=PRIVATE[_name])(_test)
    globals()[_name] = _test


@pytest.fixture(params=[42])
def global_random_seed(request) -> int:
    """scikit-learn's conftest fixture of the same name (its default seed, 42)."""
    return request.param


def test_the_suite_is_scikit_learns_own():
    # the tests above are scikit-learn's with our estimators in place of its own
    assert _mlp.MLPClassifier.__module__.startswith("backprop.sklearn")
    assert _mlp.MLPRegressor.__module__.startswith("backprop.sklearn")
    assert len(_TESTS) == 43  # 59 tests once parametrised
    assert set(PRIVATE) <= set(_TESTS)
    # the private tests really do read private internals (so skipping them hides nothing)
    source = Path(_mlp.__file__).read_text()
    for name in PRIVATE:
        body = re.search(rf"def {name}\(.*?(?=\ndef |\n@)", source, re.S).group(0)
        assert re.search(r"\._(loss_grad_lbfgs|no_improvement_count)\b", body), name
