"""scikit-learn estimators: :class:`BackpropClassifier` and :class:`BackpropRegressor`.

Both wrap a :class:`backprop.Network` built by :func:`backprop.mlp` and trained by
:meth:`backprop.Network.fit`, so they work in pipelines, grid searches and cross-validation::

    from backprop.sklearn import BackpropClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), BackpropClassifier(hidden_layer_sizes=(32,)))
    clf.fit(X, y).score(X_test, y_test)

Output layer and loss follow the target:

=======================================  ================================  ==================
target ``y``                             output layer                      loss
=======================================  ================================  ==================
two classes (any label type)             1 sigmoid unit                    binary CE
``k > 2`` classes                        ``k`` softmax units               categorical CE
``(n, k)`` 0/1 indicator (multi-label)   ``k`` sigmoid units               binary CE
real values ``(n,)`` or ``(n, k)``       ``1`` or ``k`` linear units       MSE
=======================================  ================================  ==================

Training follows scikit-learn's ``MLPClassifier``: at most ``epochs`` passes over the data, stopping
once the training loss (or, with ``early_stopping=True``, the score on a held-out
``validation_fraction``) has not improved by ``tol`` for ``n_iter_no_change`` consecutive epochs.

Modules: :mod:`~backprop.sklearn.classifier` and :mod:`~backprop.sklearn.regressor` (the
estimators), on :mod:`~backprop.sklearn._base` (the shared ``fit``), with the hyperparameter
table (``_params``), the epoch monitor (``_monitor``), model files (``_files``) and the shared
docstring sections (``_docs``).
"""

from backprop.sklearn.classifier import BackpropClassifier
from backprop.sklearn.regressor import BackpropRegressor

__all__ = ["BackpropClassifier", "BackpropRegressor"]
