"""scikit-learn estimators: :class:`BackpropClassifier` and :class:`BackpropRegressor`.

Drop-ins for scikit-learn's ``MLPClassifier`` and ``MLPRegressor``: the same parameters, defaults
and fitted attributes, so that changing one import line is enough::

    from backprop.sklearn import BackpropClassifier as MLPClassifier

scikit-learn's own ``sklearn/neural_network/tests/test_mlp.py`` runs against them that way
(``tests/sklearn/test_sklearn_mlp_suite.py``).  They work in pipelines, grid searches and
cross-validation, take SciPy sparse input, and add a few parameters of ours (``init``,
``dropout``, ``dtype``, and more ``solver`` values, optimizer objects included)::

    from backprop.sklearn import BackpropClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), BackpropClassifier(hidden_layer_sizes=(32,)))
    clf.fit(X, y).score(X_test, y_test)

Output layer and loss follow the target (scikit-learn's):

=======================================  ================================  ==================
target ``y``                             output layer                      loss
=======================================  ================================  ==================
two classes (any label type), or one     1 sigmoid unit                    binary CE
``k > 2`` classes                        ``k`` softmax units               categorical CE
``(n, k)`` 0/1 indicator (multi-label)   ``k`` sigmoid units               sum of k binary CE
real values ``(n,)`` or ``(n, k)``       ``1`` or ``k`` linear units       half squared error
counts, ``loss="poisson"``               ``1`` or ``k`` exp units          half Poisson dev.
=======================================  ================================  ==================

The stochastic solvers run :meth:`backprop.Network.fit`, at most ``max_iter`` epochs, stopping
once the training loss (or, with ``early_stopping=True``, the score on a held-out
``validation_fraction``) has not improved by ``tol`` for ``n_iter_no_change`` consecutive
epochs; ``"lbfgs"`` runs SciPy's L-BFGS-B on the network's cost and gradient.

Modules: :mod:`~backprop.sklearn.classifier` and :mod:`~backprop.sklearn.regressor` (the
estimators), on :mod:`~backprop.sklearn._base` (the shared ``fit``), with the hyperparameter
table (``_params``), scikit-learn's initialisation (``_init``), the stochastic solvers and
their learning-rate schedules (``_solvers``), L-BFGS (``_lbfgs``), ``coefs_`` and
``intercepts_`` (``_weights``), the epoch monitor (``_monitor``), model files (``_files``) and
the shared docstring sections (``_docs``).
"""

from backprop.sklearn.classifier import BackpropClassifier
from backprop.sklearn.cluster import limit_blas_threads
from backprop.sklearn.regressor import BackpropRegressor

__all__ = ["BackpropClassifier", "BackpropRegressor", "limit_blas_threads"]
