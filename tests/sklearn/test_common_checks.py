"""backprop.sklearn: scikit-learn's own estimator checks on both estimators."""


from sklearn.utils.estimator_checks import parametrize_with_checks

from backprop.sklearn import BackpropClassifier, BackpropRegressor
from helpers import no_convergence_warning


# --------------------------------------------------------------------------- estimator checks
# The whole default suite on default-constructed estimators, nothing marked as expected to
# fail and nothing skipped.  With dtype="auto" they train in float64 on the checks' float64
# data, as scikit-learn's MLP does; two checks (sample_weight == repeated rows, predictions
# invariant to the batch they are computed in) compare at rtol=1e-7, below float32's resolution,
# so float32 training is held to the same properties at float32 tolerance by
# test_float32_sample_weight_equals_repetition and test_float32_predictions_batch_invariant.
@no_convergence_warning
@parametrize_with_checks([BackpropClassifier(), BackpropRegressor()])
def test_sklearn_estimator_checks(estimator, check, monkeypatch):
    # check_array_api_input (NumPy namespace, which estimators without array API support must
    # pass) only runs when SCIPY_ARRAY_API is set.
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    check(estimator)
