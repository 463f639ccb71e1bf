"""BackpropClassifier: single-label (binary or multiclass) and multi-label classification."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.metrics import accuracy_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels

from backprop.model import Network
from backprop.nn.activations import log_softmax, sigmoid, softplus
from backprop.sklearn._base import _BackpropEstimator
from backprop.sklearn._docs import shared_sections
from backprop.sklearn._files import label_dtype

__all__ = ["BackpropClassifier"]

Array = np.ndarray


def output_logits(network: Network, X: Any) -> Array:
    """The output layer's pre-activations ``z[L]`` (shape (n, n_outputs), in the network's
    dtype) for ``X`` already checked by ``validate_data`` (so the network does not check it
    again)."""
    return network.output_logits(X)


@shared_sections(extra_attributes="""    classes_ : ndarray
        Class labels (sorted), or ``arange(n_labels)`` for multi-label targets.
""")
class BackpropClassifier(ClassifierMixin, _BackpropEstimator):
    """Multilayer-perceptron classifier trained by backpropagation: a drop-in for
    scikit-learn's ``MLPClassifier`` (same parameters, defaults and fitted attributes).

    Binary targets train one sigmoid unit with binary cross-entropy, ``k > 2`` classes a softmax
    layer with categorical cross-entropy, and an ``(n, k)`` 0/1 indicator matrix (multi-label)
    ``k`` sigmoid units with the sum of their binary cross-entropies (scikit-learn's log loss);
    a target of one class trains one sigmoid unit towards it.  Labels may be of any type that
    ``numpy.unique`` can sort (ints, strings, ...); they are stored in ``classes_``.
    """

    _is_classifier = True

    # ------------------------------------------------------------------ targets
    def _prepare_targets(self, y: Array, define: bool, partial: bool, classes: Any) -> Array:
        """Encode ``y`` for the network (0/1 floats or class indices); with ``define`` (a
        first fit, or a first ``partial_fit``), set ``classes_`` and the output width."""
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. Please change the "
                "shape of y to (n_samples,), for example using ravel().",
                DataConversionWarning, stacklevel=5,
            )
            y = y[:, 0]
        check_classification_targets(y)
        kind = type_of_target(y)
        multilabel = kind == "multilabel-indicator"
        if y.ndim == 2 and not multilabel:
            raise ValueError(
                f"y of shape {y.shape} is {kind!r}; BackpropClassifier supports one label per "
                "sample or an (n_samples, n_labels) 0/1 indicator matrix"
            )
        if define:
            self._set_classes(y, multilabel, partial, classes)
        else:
            self._check_classes(y, kind, multilabel, partial, classes)
        if multilabel:
            return y.astype(np.float64)
        codes = self._encode(y)
        return codes.astype(np.float64) if self.n_outputs_ == 1 else codes

    def _set_classes(self, y: Array, multilabel: bool, partial: bool, classes: Any) -> None:
        """``classes_`` and the output width from ``y`` (or, for ``partial_fit``,
        ``classes``)."""
        if partial and classes is None and not multilabel:
            raise ValueError("classes must be passed on the first call to partial_fit")
        if multilabel:
            new = np.arange(y.shape[1])
            if classes is not None and not np.array_equal(unique_labels(classes), new):
                raise ValueError(
                    f"for a multi-label y with {y.shape[1]} columns, classes must be "
                    f"{new.tolist()}, got {classes!r}"
                )
        else:
            new = unique_labels(classes if partial else y)
        self.classes_ = new
        self._multilabel = multilabel
        self._label_dtype = y.dtype
        # one sigmoid unit for two classes, and for one (scikit-learn's LabelBinarizer)
        self.n_outputs_ = y.shape[1] if multilabel else (1 if new.size <= 2 else new.size)

    def _check_classes(self, y: Array, kind: str, multilabel: bool, partial: bool,
                       classes: Any) -> None:
        """A later call's ``y`` (and ``classes``) must fit the classes of the first."""
        if multilabel != self._multilabel or (multilabel and y.shape[1] != self.n_outputs_):
            fitted = f"{self.n_outputs_} labels" if self._multilabel else "one label per sample"
            raise ValueError(f"y is {kind!r} with shape {y.shape}, but the model was fitted on "
                             f"{fitted}")
        if classes is not None and not np.array_equal(unique_labels(classes), self.classes_):
            raise ValueError(
                f"classes={list(classes)!r} differs from classes_={self.classes_.tolist()!r} "
                "of the previous call"
            )
        if not partial and not multilabel:
            seen = unique_labels(y)
            if set(seen) != set(self.classes_):
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes as in the "
                    f"previous call to fit. Previously got {self.classes_}, `y` has {seen}"
                )

    def _encode(self, y: Array) -> Array:
        """Indices of ``y``'s labels in ``classes_``; ValueError naming unknown labels."""
        codes = np.searchsorted(self.classes_, y)
        found = self.classes_[np.minimum(codes, self.classes_.size - 1)] == y
        if not np.all(found):
            unknown = np.unique(y[~found])
            raise ValueError(
                f"y contains labels not in classes_ {self.classes_.tolist()}: {unknown.tolist()}"
            )
        return codes.astype(np.int64)

    def _output_activation(self) -> str:
        return "sigmoid" if self._multilabel or self.n_outputs_ == 1 else "softmax"

    def _loss_name(self) -> str:
        if self._multilabel:
            return "multilabel_crossentropy"
        return "binary_crossentropy" if self.n_outputs_ == 1 else "categorical_crossentropy"

    # ------------------------------------------------------------------ model files
    def _file_layers(self) -> tuple[list, list]:
        if self.classes_.size < 2 and not self._multilabel:
            raise ValueError(f"a classifier fitted on one class ({self.classes_[0]!r}) cannot "
                             "be saved: a model file's network predicts at least 2 classes")
        return self.network_.layers, self.classes_.tolist()

    def _extra_attributes(self) -> dict[str, Any]:
        kind = self.classes_.dtype.kind
        return {"multilabel": self._multilabel,
                "label_dtype": self._label_dtype.name if self._multilabel else None,
                "classes_dtype": self.classes_.dtype.name if kind in "biuf"
                else ("object" if kind == "O" else "str")}

    def _restore_from_file(self, net: Network, attrs: dict[str, Any]) -> Network:
        if net.classes is None:
            raise ValueError("the network has no classes")
        self._multilabel = bool(attrs["multilabel"])
        kind = attrs["classes_dtype"]
        if kind == "object":
            self.classes_ = np.array(net.classes, dtype=object)
        elif kind == "str":
            self.classes_ = np.array([str(c) for c in net.classes])
        else:
            self.classes_ = np.array(net.classes, dtype=label_dtype(kind))
        # the dtype of multi-label predictions (that of the 0/1 matrix y)
        self._label_dtype = (label_dtype(attrs["label_dtype"]) if self._multilabel
                             else self.classes_.dtype)
        self.n_outputs_ = net.n_out
        return net

    # ------------------------------------------------------------------ outputs
    def _log_proba_arrays(self, X: Any) -> Array:
        """``log P`` for checked ``X``: (n, n_classes), or (n, n_labels) for multi-label."""
        z = output_logits(self.network_, X)
        if self._multilabel:
            return -softplus(-z)
        if self.classes_.size == 1:
            return np.zeros((z.shape[0], 1), dtype=z.dtype)  # the one class, surely
        if self.n_outputs_ == 1:
            return np.hstack([-softplus(z), -softplus(-z)])  # log sigmoid(-z), log sigmoid(z)
        return log_softmax(z)

    def _proba_arrays(self, X: Any) -> Array:
        if self._multilabel or self.n_outputs_ == 1:
            if self.classes_.size == 1 and not self._multilabel:
                return np.ones((X.shape[0], 1), dtype=self.network_.dtype)
            z = output_logits(self.network_, X)
            return sigmoid(z) if self._multilabel else np.hstack([sigmoid(-z), sigmoid(z)])
        return np.exp(self._log_proba_arrays(X))

    def _predict_arrays(self, X: Any) -> Array:
        proba = self._proba_arrays(X)
        if self._multilabel:
            return (proba > 0.5).astype(self._label_dtype)
        return self.classes_[np.argmax(proba, axis=1)]

    def _score_arrays(self, X: Any, y: Array, w: Array | None) -> float:
        return float(accuracy_score(y, self._predict_arrays(X), sample_weight=w))

    # ------------------------------------------------------------------ public API
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> BackpropClassifier:
        """Train on ``X`` of shape (n_samples, n_features) (an array or a SciPy sparse
        matrix) and labels ``y`` of shape (n_samples,), or a 0/1 indicator of shape
        (n_samples, n_labels); ``sample_weight`` of shape (n_samples,) makes the cost a
        weighted mean.  Returns ``self``."""
        return self._fit(X, y, sample_weight, partial=False)

    @available_if(_BackpropEstimator._check_solver)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None,
                    classes: Any = None) -> BackpropClassifier:
        """One epoch over ``(X, y)``, continuing from the current weights and optimizer state
        (only for the stochastic solvers, as in scikit-learn).

        ``classes`` (every label that will ever occur) is required on the first call, as in
        scikit-learn, unless ``y`` is a multi-label indicator matrix.  Returns ``self``.
        """
        return self._fit(X, y, sample_weight, partial=True, classes=classes)

    def predict(self, X: Any) -> Array:
        """Predicted labels: shape (n_samples,) from ``classes_``, or (n_samples, n_labels) of
        0/1 for multi-label."""
        return self._predict_arrays(self._validate_X(X))

    def decision_function(self, X: Any) -> Array:
        """Output-layer logits ``z[L]`` (in the network's dtype): shape (n_samples,) for two
        classes (positive means ``classes_[1]``), else (n_samples, n_classes) or
        (n_samples, n_labels); the probabilities are their sigmoid / softmax."""
        X = self._validate_X(X)
        z = output_logits(self.network_, X)
        return z[:, 0] if self.n_outputs_ == 1 and not self._multilabel else z

    def predict_proba(self, X: Any) -> Array:
        """Class probabilities (in the network's dtype, which follows ``X``'s): shape
        (n_samples, n_classes), columns in the order of ``classes_``; for multi-label,
        (n_samples, n_labels) probabilities of each label."""
        return self._proba_arrays(self._validate_X(X))

    def predict_log_proba(self, X: Any) -> Array:
        """Logarithm of :meth:`predict_proba`.

        Below 1/2 it is computed from the output logits, so a probability that underflows to
        0 still has a finite logarithm; from 1/2 up it is the logarithm of the probability
        itself, so that probabilities rounded to 1 tie here as they do in :meth:`predict_proba`
        (and the arg-max of the two agrees, as in scikit-learn).
        """
        X = self._validate_X(X)
        proba = self._proba_arrays(X)
        log_proba = self._log_proba_arrays(X)
        large = proba >= 0.5
        log_proba[large] = np.log(proba[large])
        return log_proba

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
