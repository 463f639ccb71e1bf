"""Model files for the scikit-learn estimators of :mod:`backprop.sklearn`.

:class:`ModelFileMixin` gives ``BackpropClassifier`` / ``BackpropRegressor`` their ``save`` and
``load``: an estimator is written as an ordinary model file of :mod:`backprop.saving`
(safetensors + JSON, atomic, never pickled) whose network predicts like the estimator, with the
hyperparameters and fitted attributes in the file's JSON metadata under :data:`META_KEY`.  The
estimator classes supply three hooks: ``_file_layers`` (the layers and classes to save),
``_extra_attributes`` (their own JSON attributes) and ``_restore_from_file`` (the inverse); the
shared base supplies ``_architecture`` and ``_build_network``.

A loaded file is trusted only as far as it is checked: the saved hyperparameters must build a
network of exactly the loaded one's configuration (layers, loss, dtype), so that the estimator
read back is one that ``fit`` could have made.  The comparison goes through the layers'
``config()``, never through their classes.
"""

from __future__ import annotations

import math
import numbers
import os
from typing import Any

import numpy as np
import sklearn
from sklearn.utils.validation import check_is_fitted

from backprop._version import __version__
from backprop.model import Network
from backprop.model import load as load_network
from backprop.optim import OPTIMIZERS, Optimizer, get_optimizer
from backprop.saving import ModelFileError
from backprop.sklearn._params import make_rng

__all__ = ["ModelFileMixin", "META_KEY", "label_dtype"]

#: Key of the estimator's entry in a model file's JSON metadata.
META_KEY = "sklearn_estimator"
#: dtypes a model file may name for labels (anything else is rejected as untrusted input).
LABEL_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                 "float16", "float32", "float64"}

#: Fitted attributes stored in a model file's metadata (beside the network itself).
SAVED_ATTRIBUTES = ("n_iter_", "t_", "loss_", "loss_curve_", "validation_scores_",
                    "best_loss_", "best_validation_score_")


def _params_to_json(params: dict[str, Any]) -> dict[str, Any]:
    """Hyperparameters as JSON values (an optimizer instance as its registry name and
    hyperparameters; a Generator/RandomState ``random_state`` as None; an infinite
    ``n_iter_no_change`` as ``"inf"``)."""
    out = dict(params)
    opt = params["solver"]
    if isinstance(opt, Optimizer):
        names = [k for k, v in OPTIMIZERS.items() if type(opt) is v]
        if not names:
            raise ValueError(f"cannot save optimizer {opt!r}: {type(opt).__name__} is not in "
                             "backprop.OPTIMIZERS")
        out["solver"] = {"name": names[0], "hyperparameters": opt.hyperparameters()}
    if not isinstance(params["random_state"], numbers.Integral):
        out["random_state"] = None
    sizes = params["hidden_layer_sizes"]
    out["hidden_layer_sizes"] = (int(sizes) if isinstance(sizes, numbers.Integral)
                                 else [int(s) for s in sizes])
    out["dtype"] = "auto" if params["dtype"] == "auto" else np.dtype(params["dtype"]).name
    if isinstance(params["n_iter_no_change"], numbers.Real) and \
            params["n_iter_no_change"] == math.inf:
        out["n_iter_no_change"] = "inf"  # JSON has no infinity
    return out


def _params_from_json(params: dict[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`_params_to_json` (values are validated later, by ``fit``'s checks)."""
    if not isinstance(params, dict):
        raise TypeError(f"params must be an object, got {params!r}")
    out = dict(params)
    opt = out.get("solver")
    if isinstance(opt, dict):
        out["solver"] = get_optimizer(opt["name"], **opt["hyperparameters"])
    if isinstance(out.get("hidden_layer_sizes"), list):
        out["hidden_layer_sizes"] = tuple(out["hidden_layer_sizes"])
    if out.get("n_iter_no_change") == "inf":
        out["n_iter_no_change"] = math.inf
    return out


def label_dtype(name: Any) -> np.dtype:
    """A label dtype named in a model file: only plain numeric names are accepted."""
    if name not in LABEL_DTYPES:
        raise ValueError(f"unsupported label dtype {name!r}")
    return np.dtype(name)


class ModelFileMixin:
    """``save`` / ``load`` for the estimators of :mod:`backprop.sklearn`."""

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the fitted estimator to a safe model file (safetensors + JSON; see
        :mod:`backprop.saving`), atomically.  Never pickles.

        The file is an ordinary model file: ``backprop.load(path)`` returns a network that
        predicts like the estimator (with ``classes`` and ``feature_names``; a regressor's file
        ends with an inverse :class:`backprop.Standardize` layer that restores the target's
        units).  Hyperparameters and fitted attributes go into its JSON metadata, from which
        :meth:`load` rebuilds the estimator.  The optimizer's running state is not saved:
        training after :meth:`load` starts a fresh optimizer.  ``random_state`` objects
        (Generator, RandomState) are stored as None.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        ValueError
            When the hyperparameters no longer describe the fitted network (changed with
            ``set_params`` since the fit), or an optimizer instance is not in
            :data:`backprop.OPTIMIZERS`.
        """
        check_is_fitted(self)
        self._sync_weights()
        if self._architecture() != self._arch:
            raise ValueError("the hyperparameters were changed since fit and no longer "
                             "describe network_; refit (or restore them) before saving")
        meta = {
            "estimator": type(self).__name__,
            "backprop_version": __version__,
            "sklearn_version": sklearn.__version__,
            "params": _params_to_json(self.get_params()),
            "attributes": {**{k: getattr(self, k) for k in SAVED_ATTRIBUTES},
                           **self._extra_attributes()},
        }
        names = getattr(self, "feature_names_in_", None)
        net = self.network_
        layers, classes = self._file_layers()
        Network(layers, loss=net.loss, l2=net.l2, l2_per_sample=net.l2_per_sample,
                classes=classes,
                feature_names=None if names is None else [str(n) for n in names],
                metadata={**net.metadata, META_KEY: meta}).save(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]):
        """Rebuild an estimator saved by :meth:`save`, ready to predict (and to train on with
        ``partial_fit`` or ``warm_start``).

        Raises
        ------
        backprop.ModelFileError
            For a missing or damaged file (see :func:`backprop.load`), a plain network file, a
            file of the other estimator class, or metadata that does not fit the network.
        """
        name = os.fspath(path)
        net = load_network(name)
        meta = net.metadata.get(META_KEY)
        found = meta.get("estimator") if isinstance(meta, dict) else None
        if found != cls.__name__:
            what = f"a {found}" if isinstance(found, str) else "a network without estimator data"
            raise ModelFileError(f"{name}: holds {what}, not a {cls.__name__}")
        try:
            est = cls(**_params_from_json(meta["params"]))
            est._restore(net, meta["attributes"])
        except (KeyError, TypeError, ValueError) as exc:  # untrusted JSON
            raise ModelFileError(
                f"{name}: its {cls.__name__} metadata does not fit the network: {exc}"
            ) from None
        return est

    def _restore(self, net: Network, attrs: dict[str, Any]) -> None:
        """Set the fitted state from a loaded network and the saved attributes."""
        net = self._restore_from_file(net, attrs)
        arch = self._architecture()
        dtype = net.dtype if arch["dtype"] == "auto" else np.dtype(arch["dtype"])
        problem = _difference(self._build_network(arch, net.n_in, dtype, seed=0).config(),
                              net.config())
        if problem is not None:
            raise ValueError(f"the hyperparameters {arch} do not describe the network: {problem}")
        self._start(net, arch, keep=False)
        self.n_features_in_ = net.n_in
        if net.feature_names is not None:
            self.feature_names_in_ = np.asarray(net.feature_names, dtype=object)
        self.n_iter_ = int(attrs["n_iter_"])
        self.t_ = int(attrs["t_"])
        self.loss_curve_ = [float(v) for v in attrs["loss_curve_"]]
        scores = attrs["validation_scores_"]
        self.validation_scores_ = None if scores is None else [float(v) for v in scores]
        for key in ("loss_", "best_loss_", "best_validation_score_"):
            setattr(self, key, None if attrs[key] is None else float(attrs[key]))
        self._rng = make_rng(self.random_state)


def _difference(described: dict[str, Any], found: dict[str, Any]) -> str | None:
    """The first way in which the network config ``found`` differs from ``described`` (the
    one the hyperparameters build), in words; None when they agree (the L2 factor aside: it
    follows ``alpha`` at every fit)."""
    for key in ("loss", "dtype"):
        if described[key] != found[key]:
            return f"they give {key} {described[key]!r}, the file holds {found[key]!r}"
    want, got = described["layers"], found["layers"]
    for i, (a, b) in enumerate(zip(want, got)):
        if a != b:
            return f"they give layers[{i}] = {a}, the file holds {b}"
    if len(want) != len(got):
        return f"they give {len(want)} layers, the file holds {len(got)}"
    return None
