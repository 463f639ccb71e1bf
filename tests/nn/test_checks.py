"""validation: the checks of feature matrices, class labels and feature names."""

import numpy as np
import pytest

from backprop.nn.checks import check_classes, check_feature_names, check_finite, check_X
from backprop.nn.losses import get_loss


def test_check_X_casts_and_returns_the_same_array_when_it_can():
    X = np.arange(6, dtype=np.float32).reshape(3, 2)
    assert check_X(X, 2, np.float32) is X
    out = check_X([[1, 2], [3, 4]], 2, np.float64)
    assert out.dtype == np.float64 and out.tolist() == [[1.0, 2.0], [3.0, 4.0]]


@pytest.mark.parametrize("X,message", [
    (np.array(["a", "b"]).reshape(1, 2), "X must be numeric, got dtype <U1"),
    (np.zeros(3), r"X must be 2-D \(n_samples, n_features\), got shape \(3,\)"),
    (np.zeros((0, 2)), r"X has no rows \(shape \(0, 2\)\)"),
    (np.zeros((2, 3)), r"X has 3 features \(shape \(2, 3\)\) but the first layer expects n_in=2"),
])
def test_check_X_names_what_is_wrong(X, message):
    with pytest.raises(ValueError, match=message):
        check_X(X, 2)


def test_check_finite_names_the_first_bad_entry_counting_from_first_row():
    X = np.zeros((4, 3))
    X[2, 1], X[3, 0] = -np.inf, np.nan
    with pytest.raises(ValueError, match="X_val contains -inf at row 12, column 1"):
        check_finite(X, "X_val", first_row=10)
    X[2, 1] = X[3, 0] = 0
    check_finite(X)  # finite: no error
    check_finite(np.array([[1, 2]]))  # integers are always finite
    # check_X can leave the finite check out (predict makes it through the first layer)
    assert check_X(np.array([[np.nan, 1.0]]), 2, finite=False).shape == (1, 2)


def test_check_classes():
    softmax_ce = get_loss("categorical_crossentropy")
    assert check_classes(np.array(["a", "b", "c"]), softmax_ce, 3) == ["a", "b", "c"]
    assert check_classes([np.int64(0), np.int64(1)], get_loss("binary_crossentropy"), 1) == [0, 1]
    assert check_classes(None, softmax_ce, 3) is None
    with pytest.raises(ValueError, match="classes must be distinct"):
        check_classes(["a", "a", "b"], softmax_ce, 3)
    with pytest.raises(ValueError, match="2 classes given but the categorical_crossentropy "
                                         r"output with 3 unit\(s\) needs 3"):
        check_classes(["a", "b"], softmax_ce, 3)
    with pytest.raises(ValueError, match="classes need a classification loss, not mse"):
        check_classes(["a", "b"], get_loss("mse"), 2)
    with pytest.raises(TypeError, match=r"classes\[1\] must be a str, int, finite float or bool"):
        check_classes(["a", float("nan")], softmax_ce, 2)
    with pytest.raises(TypeError, match="classes must be a sequence of labels, got str"):
        check_classes("ab", softmax_ce, 2)


def test_check_feature_names():
    assert check_feature_names(("x", "y"), 2) == ["x", "y"]
    assert check_feature_names(None, 2) is None
    with pytest.raises(ValueError, match="3 feature_names given but the network has n_in=2"):
        check_feature_names(["a", "b", "c"], 2)
    with pytest.raises(ValueError, match="feature_names must be distinct; 'a' appears twice"):
        check_feature_names(["a", "a"], 2)
    with pytest.raises(TypeError, match="feature_names must be strings, got 3"):
        check_feature_names(["a", 3], 2)
