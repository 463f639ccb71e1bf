"""Network: a list of layers and a loss; forward, backward (``loss_and_grads``), predict, fit.

Forward propagation calls each layer's ``forward`` in turn, keeping every cache; backward
propagation starts from the output gradient and calls each layer's ``backward`` in reverse::

    a[0] = X;   a[l], cache[l] = layer[l].forward(a[l-1])          l = 1 .. L
    J = loss(a[L], y) + (l2 / 2) sum_l ||W[l]||^2
    dz[L] = (a[L] - y) / m                (fused: sigmoid + BCE, softmax + CE)
       or da[L] = dJ/da[L]                (any other pairing)
    da[l-1], grads[l] = layer[l].backward(da[l], cache[l])        l = L .. 1
    grads[l]["W"] += l2 W[l]
"""

from __future__ import annotations

import copy
import functools
import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from backprop import _kernels
from backprop.nn.checks import check_classes, check_feature_names, check_finite, check_X
from backprop.nn.layers import LAYERS, Dense, Dropout, Layer, Standardize, as_rng
from backprop.nn.losses import Loss, check_sample_weight, get_loss
from backprop.nn.workspace import NonFiniteZ, Workspace

__all__ = ["Network", "mlp", "check_X", "check_finite", "check_classes", "check_feature_names"]

Array = np.ndarray
_NO_WEIGHTS = np.empty(0)  # "no sample weights" for the softmax + cross-entropy kernel


def _buffered(layer: Layer) -> bool:
    """True when ``layer`` has a workspace path (Dense, Dropout) that its class does not
    bypass: a subclass that overrides ``forward``/``backward`` (say, a test that injects a wrong
    gradient) is run through its own public methods."""
    cls = type(layer)
    verdict = _BUFFERED.get(cls)
    if verdict is None:
        verdict = False
        if issubclass(cls, Dense):
            verdict = (cls.forward is Dense.forward and cls.backward is Dense.backward
                       and cls.backward_from_dz is Dense.backward_from_dz)
        elif issubclass(cls, Dropout):
            verdict = cls.forward is Dropout.forward and cls.backward is Dropout.backward
        _BUFFERED[cls] = verdict
    return verdict


_BUFFERED: dict[type, bool] = {}  # _buffered's verdict per layer class


@functools.cache
def _softmax_xent_scalars(dtype: np.dtype) -> tuple[Any, ...]:
    """The ``softmax_xent`` kernel's constants ``0, 1, log(tiny)`` as ``dtype`` scalars."""
    return _kernels.scalars(dtype, 0, 1, math.log(np.finfo(dtype).tiny))


class Network:
    """A feed-forward network: ``layers`` applied in order, trained against ``loss``.

    Parameters
    ----------
    layers : sequence of Layer
        ``Dense`` widths must chain (each ``n_in`` equals the previous ``Dense``'s ``n_out``).
    loss : str or Loss
        ``"binary_crossentropy"`` (needs a sigmoid output), ``"categorical_crossentropy"``
        (needs a softmax output) or ``"mse"``.
    l2 : float, default 0
        L2 penalty ``(l2 / 2) sum ||W||^2`` on weights (not biases), part of ``J`` and its
        gradient.
    classes : list, optional
        Original class labels (str, int, float or bool), index ``i`` naming class ``i``: one per
        softmax unit, two for a single sigmoid unit.  Used by :meth:`predict_labels` and saved
        in model files.
    feature_names : list of str, optional
        Names of the ``n_in`` input columns (checked against data files by the CLI).
    metadata : dict, optional
        JSON-able description (data source, training settings, metrics), saved with the model.
    """

    def __init__(
        self,
        layers: Sequence[Layer],
        loss: str | Loss = "mse",
        l2: float = 0.0,
        *,
        classes: Sequence[Any] | None = None,
        feature_names: Sequence[str] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        layers = list(layers)
        if not layers:
            raise ValueError("layers must not be empty")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layers[{i}] must be a Layer, got {type(layer).__name__}")
        dense = [(i, layer) for i, layer in enumerate(layers) if isinstance(layer, Dense)]
        if not dense:
            raise ValueError("a network needs at least one Dense layer")
        for (i, prev), (j, cur) in zip(dense, dense[1:]):
            if prev.n_out != cur.n_in:
                raise ValueError(
                    f"layer sizes do not chain: layers[{i}] has n_out={prev.n_out} but "
                    f"layers[{j}] has n_in={cur.n_in}"
                )
        dtypes = {layer.params["W"].dtype for _, layer in dense}
        if len(dtypes) > 1:
            raise ValueError(f"all layers must share one dtype, got {sorted(map(str, dtypes))}")
        if not isinstance(l2, (int, float, np.floating)) or not np.isfinite(l2) or l2 < 0:
            raise ValueError(f"l2 must be a non-negative number, got {l2!r}")
        self.layers: list[Layer] = layers
        self.loss: Loss = get_loss(loss)
        self.l2 = float(l2)
        out = layers[-1]
        fused = self.loss.fused_activation
        if fused is not None:
            if not isinstance(out, Dense) or out.activation.name != fused:
                got = out.activation.name if isinstance(out, Dense) else type(out).__name__
                raise ValueError(
                    f"loss {self.loss.name!r} needs a final Dense layer with {fused!r} "
                    f"activation, got {got!r}"
                )
            if fused == "softmax" and out.n_out < 2:
                raise ValueError("categorical_crossentropy needs at least 2 output units")
        #: True when the output gradient is the fused ``dz = (a - y) / m``
        self.fused = fused is not None
        for i, layer in enumerate(layers):
            if isinstance(layer, Standardize):
                after = next((la for la in layers[i + 1:] if isinstance(la, Dense)), None)
                width = after.n_in if after is not None else self.n_out
                if layer.n_features != width:
                    raise ValueError(f"layers[{i}] Standardize has {layer.n_features} features "
                                     f"but the adjacent Dense layer has width {width}")
        self.classes: list[Any] | None = check_classes(classes, self.loss, self.n_out)
        self.feature_names: list[str] | None = check_feature_names(feature_names, self.n_in)
        if metadata is not None and not isinstance(metadata, dict):
            raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
        self.metadata: dict[str, Any] = dict(metadata or {})

    # ----------------------------------------------------------------- structure
    @property
    def n_in(self) -> int:
        """Number of input features (the first Dense layer's ``n_in``)."""
        return next(la for la in self.layers if isinstance(la, Dense)).n_in

    @property
    def n_out(self) -> int:
        """Number of output units (the last Dense layer's ``n_out``)."""
        return next(la for la in reversed(self.layers) if isinstance(la, Dense)).n_out

    @property
    def dtype(self) -> np.dtype:
        """The parameters' dtype (float32 or float64)."""
        return next(la for la in self.layers if isinstance(la, Dense)).params["W"].dtype

    def parameters(self) -> list[Array]:
        """Every parameter array, layer by layer in ``params`` order (the arrays themselves)."""
        return [p for layer in self.layers for p in layer.params.values()]

    def n_parameters(self) -> int:
        """Total number of trainable scalars."""
        return sum(p.size for p in self.parameters())

    def get_weights(self) -> list[dict[str, Array]]:
        """A copy of every layer's ``params``."""
        return [{k: v.copy() for k, v in layer.params.items()} for layer in self.layers]

    def set_weights(self, weights: Sequence[dict[str, Array]]) -> None:
        """Copy ``weights`` (as from :meth:`get_weights`) into the parameter arrays in place;
        everything is checked first, so a bad entry leaves the network unchanged."""
        if len(weights) != len(self.layers):
            raise ValueError(f"expected weights for {len(self.layers)} layers, got {len(weights)}")
        for i, (layer, w) in enumerate(zip(self.layers, weights)):
            if set(w) != set(layer.params):
                raise ValueError(
                    f"layer {i}: expected keys {sorted(layer.params)}, got {sorted(w)}"
                )
            for k, p in layer.params.items():
                if np.shape(w[k]) != p.shape:
                    raise ValueError(
                        f"layer {i} {k}: expected shape {p.shape}, got {np.shape(w[k])}"
                    )
                dt = np.asarray(w[k]).dtype
                if dt.kind not in "biuf":
                    raise ValueError(f"layer {i} {k}: expected numbers, got dtype {dt}")
        for layer, w in zip(self.layers, weights):  # checked: nothing below can fail
            for k, p in layer.params.items():
                p[...] = w[k]

    def astype(self, dtype: Any) -> Network:
        """A deep copy of the network with parameters cast to ``dtype``."""
        net = copy.deepcopy(self)
        for layer in net.layers:
            layer.astype(dtype)
        return net

    def config(self) -> dict[str, Any]:
        """A JSON-able description (layers, loss, l2) from which :meth:`from_config` rebuilds
        the architecture."""
        return {
            "layers": [layer.config() for layer in self.layers],
            "loss": self.loss.name,
            "l2": self.l2,
            "dtype": str(self.dtype),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], seed: int | None = None) -> Network:
        """Build a network (freshly initialised) from :meth:`config` output."""
        rng = as_rng(seed)
        layers: list[Layer] = []
        for i, spec in enumerate(config["layers"]):
            spec = dict(spec)
            kind = spec.pop("type", None)
            if kind not in LAYERS:
                raise ValueError(f"layers[{i}]: unknown layer type {kind!r}")
            if kind == "Dense":
                layers.append(Dense(**spec, dtype=config.get("dtype", "float32"), seed=rng))
            elif kind == "Standardize":
                layers.append(Standardize.identity(**spec))
            else:
                layers.append(Dropout(**spec, seed=rng))
        return cls(layers, loss=config["loss"], l2=config.get("l2", 0.0))

    def __repr__(self) -> str:
        inner = ", ".join(map(repr, self.layers))
        return f"Network([{inner}], loss={self.loss.name!r}, l2={self.l2})"

    # ----------------------------------------------------------------- forward / backward
    def forward(self, X: Array, training: bool = False) -> tuple[Array, list[Any]]:
        """Forward propagation: ``(a[L], [cache[1], ..., cache[L]])`` for ``X`` of shape
        (m, n_in)."""
        a = check_X(X, self.n_in, self.dtype)
        return self._forward(a, training)

    def _forward(self, a: Array, training: bool, ws: Workspace | None = None
                 ) -> tuple[Array, list[Any]]:
        """Unchecked forward pass; with a workspace ``ws`` the layers that can write into its
        arrays do (see ``_workspace``)."""
        caches = []
        for layer in self.layers:
            if ws is not None and _buffered(layer):
                a, cache = layer._forward(a, training, ws)
            else:
                a, cache = layer.forward(a, training=training)
            caches.append(cache)
        return a, caches

    def check_targets(self, y: object, m: int, name: str = "y", x_name: str = "X") -> Array:
        """Validate ``y`` against the loss and output width; ``m`` rows (of ``x_name``)
        expected.  Float targets (BCE labels, regression targets, one-hot rows) come back in
        the network's dtype, so that ``a - y`` and every gradient stay in it."""
        y_arr = self.loss.check_targets(y, self.n_out, name)
        if y_arr.shape[0] != m:
            raise ValueError(
                f"{x_name} and {name} have different numbers of rows: {m} and {y_arr.shape[0]}"
            )
        if y_arr.dtype.kind == "f":
            y_arr = y_arr.astype(self.dtype, copy=False)
        return y_arr

    def loss_and_grads(
        self,
        X: Array,
        y: Array,
        sample_weight: Array | None = None,
        training: bool = True,
    ) -> tuple[float, list[dict[str, Array]]]:
        """Cost ``J`` (mean over samples, plus the L2 term) and ``grads``, a list aligned with
        :attr:`layers` of dicts keyed and shaped like each layer's ``params``.

        ``training=True`` applies dropout (as during :meth:`fit`).
        """
        X = check_X(X, self.n_in, self.dtype)
        y = self.check_targets(y, X.shape[0])
        w = check_sample_weight(sample_weight, X.shape[0])
        J, grads, _, _ = self._loss_and_grads(X, y, w, training)
        return float(J), grads

    def _data_cost(self, out: Array, caches: list[Any], y: Array, w: Array | None) -> float:
        """The loss of a forward pass, without the L2 term: from the output layer's logits
        ``z`` (cached) for fused pairs, from ``a[L]`` otherwise."""
        if self.fused:
            return self.loss.value_from_logits(caches[-1][1], y, w)
        return self.loss.value(out, y, w)

    def _loss_and_grads(
        self,
        X: Array,
        y: Array,
        w: Array | None,
        training: bool,
        need_input_grad: bool = False,
        ws: Workspace | None = None,
    ) -> tuple[float, list[dict[str, Array]], Array, Array | None]:
        """Unchecked core of :meth:`loss_and_grads`; also returns the output ``a[L]`` and, on
        request, ``dJ/dX``.

        With a workspace ``ws`` (during :meth:`fit`) every array is written into the
        workspace and the fused kernels are used; the arrays returned are then overwritten by
        the next call.  Without one, this is the plain NumPy path (gradient checking uses it).
        """
        out, caches = self._forward(X, training, ws)
        n = len(self.layers)
        last = self.layers[-1]
        fast = ws is not None and _buffered(last)
        # layers below the first one with parameters (a Standardize, an input Dropout) need no
        # dJ/da, nor does that layer itself, unless dJ/dX is asked for
        first = 0
        if not (need_input_grad or self.layers[0].params):
            first = next(i for i, la in enumerate(self.layers) if la.params)
        need_da = n - 1 > first or need_input_grad
        if self.fused:
            J, dz, db = self._output_gradient(out, caches[-1], y, w, ws if fast else None)
            if fast:
                da, last_grads = last._backward_from_dz(dz, caches[-1], ws, need_da, db)
            else:
                da, last_grads = last.backward_from_dz(dz, caches[-1], need_da)
        else:
            J = self._data_cost(out, caches, y, w)
            da_out = self.loss.gradient(out, y, w)
            if fast:
                da, last_grads = last._backward(da_out, caches[-1], ws, need_da, da_owned=True)
            else:
                da, last_grads = last.backward(da_out, caches[-1])
        grads: list[dict[str, Array]] = [{} for _ in range(n)]
        grads[-1] = last_grads
        # da is scratch (ours) that the next backward may overwrite; a layer of unknown kind
        # (the output layer too) may return an array it keeps
        da_owned = fast
        for i in range(n - 2, first - 1, -1):
            layer = self.layers[i]
            if ws is not None and _buffered(layer):
                da, grads[i] = layer._backward(da, caches[i], ws, i > first or need_input_grad,
                                               da_owned=da_owned)
            elif i == first and not need_input_grad and type(layer).backward is Dense.backward:
                # dJ/da[first-1] is never used in training: skip the (m, n_out) @ (n_out, n_in)
                # product (a Dense subclass that overrides backward is run through it)
                z, a = caches[i][1], caches[i][2]
                da, grads[i] = layer.backward_from_dz(
                    layer.activation.backward(da, z, a), caches[i], need_da_prev=False
                )
            else:
                da, grads[i] = layer.backward(da, caches[i])
                da_owned = False  # a layer of unknown kind may return an array it keeps
        if self.l2:
            J += self._l2_penalty(ws is not None)
            add_scaled = _kernels.get("add_scaled") if ws is not None else None
            for layer, g in zip(self.layers, grads):
                if isinstance(layer, Dense):
                    W, dW = layer.params["W"], g["W"]  # d/dW of (l2 / 2) ||W||^2 is l2 W
                    if add_scaled is not None and _kernels.flat(dW, W):
                        add_scaled(dW.reshape(-1), W.dtype.type(self.l2), W.reshape(-1))
                    else:
                        dW += self.l2 * W
        return J, grads, out, da

    def _output_gradient(
        self, out: Array, cache: tuple, y: Array, w: Array | None, ws: Workspace | None
    ) -> tuple[float, Array, Array | None]:
        """``(J, dz, db)`` of a fused output pair: the cost from the logits and
        ``dz = dJ/dz``; ``db`` (the output bias gradient) when it came with ``dz``, else None.

        Softmax + cross-entropy with integer labels runs as one kernel during fit (cost,
        ``dz`` and ``db`` in one pass over the (m, k) logits); the rest is the losses' NumPy.
        """
        kernel = None
        if ws is not None and y.ndim == 1 and self.loss.fused_activation == "softmax":
            kernel = _kernels.get("softmax_xent")
        if kernel is None:
            J = self._data_cost(out, [cache], y, w)
            return J, self.loss.gradient_wrt_logits(out, y, w), None
        z = cache[1]
        m, dt = z.shape[0], z.dtype
        # per-row factor of dz: 1/m, or w_i / sum(w) (as _sample_scale computes it)
        scale = ws.get(self, "row_scale", (m,), dt)
        if w is None:
            scale.fill(1.0 / m)
        else:
            w_dt = w.astype(dt)
            np.divide(w_dt, w_dt.sum(), out=scale)
        last = self.layers[-1]
        dz = ws.get(last, "dz", z.shape, dt)
        db = ws.get(last, "db", (z.shape[1],), dt)
        J = kernel(z, out, y, scale, _NO_WEIGHTS if w is None else w, dz, db,
                   *_softmax_xent_scalars(dt))
        return J, dz, db

    # ----------------------------------------------------------------- prediction
    def predict(self, X: Array, batch_size: int = 8192) -> Array:
        """Output activations ``a[L]`` for ``X`` (probabilities for sigmoid/softmax outputs),
        computed in chunks of ``batch_size`` rows with dropout off.  Returns an array of shape
        (m, n_out) in the network's dtype."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        # The input's NaN/inf check: a NaN or inf in row i of X makes every entry of row i of
        # the first Dense layer's z = X W + b a NaN or inf (IEEE: inf * 0 is NaN), so when the
        # network starts with one, its forward kernel finds out whether z is finite while it
        # passes over z anyway (raising NonFiniteZ when not), and only then is X searched; a
        # finite X whose z overflowed is predicted as before.  This spares a pass over all of
        # X: 2.8 of the 25 ms of predicting 10,000 Fashion-MNIST images.
        first = self.layers[0]
        watch = (_buffered(first) and isinstance(first, Dense)
                 and type(first)._forward is Dense._forward)
        X = check_X(X, self.n_in, finite=not watch)
        m = X.shape[0]
        ws = Workspace(inference=True)  # chunks reuse one set of arrays; forward's numbers
        result = None
        for start in range(0, m, batch_size):
            chunk = X[start:start + batch_size]
            if chunk.dtype != self.dtype:
                cast = ws.get(self, "X", chunk.shape, self.dtype)
                np.copyto(cast, chunk, casting="same_kind")
                chunk = cast
            ws.watch_z = watch
            try:
                a = self._forward(chunk, training=False, ws=ws)[0]
            except NonFiniteZ:
                check_finite(X[start:start + batch_size], first_row=start)  # raises if X is bad
                a = self._forward(chunk, training=False, ws=ws)[0]  # z overflowed: as before
            if start == 0 and a.shape[0] == m:
                return a  # one chunk: the workspace's own array, not shared with anyone
            if result is None:
                result = np.empty((m, a.shape[1]), dtype=a.dtype)
            result[start:start + a.shape[0]] = a
        return result

    def predict_classes(self, X: Array) -> Array:
        """Class predictions: ``argmax`` for softmax outputs; ``a > 0.5`` for sigmoid outputs
        (shape (m,) for one unit, (m, k) for multi-label).  Regression networks raise."""
        if not self.loss.is_classifier:
            raise ValueError(f"predict_classes needs a classification loss, not {self.loss.name}")
        return self._classes_of(self.predict(X))

    def _classes_of(self, a: Array) -> Array:
        """:meth:`predict_classes` from the output ``a`` of a forward pass."""
        if self.loss.fused_activation == "softmax":
            return a.argmax(axis=1)
        labels = (a > 0.5).astype(np.int64)
        return labels[:, 0] if labels.shape[1] == 1 else labels

    def predict_labels(self, X: Array) -> Array:
        """Predictions in the original label space, shape (m,): the :attr:`classes` entry of
        each predicted class (class indices when ``classes`` is None; the 0/1 matrix for
        multi-label sigmoid outputs); the predicted values for a one-output regression."""
        return self._labels_of(self.predict(X))

    def _labels_of(self, out: Array) -> Array:
        """:meth:`predict_labels` from the output ``out`` of a forward pass."""
        if not self.loss.is_classifier:
            return out[:, 0] if out.shape[1] == 1 else out
        idx = self._classes_of(out)
        if self.classes is None or idx.ndim == 2:
            return idx
        kinds = {type(c) for c in self.classes}
        labels = np.array(self.classes, dtype=object if len(kinds) > 1 else None)
        return labels[idx]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model (weights, architecture, classes, feature names, metadata) to a
        safetensors file, atomically; see :func:`backprop.save`."""
        from backprop.io.model_file import save

        save(self, path)

    def evaluate(self, X: Array, y: Array, sample_weight: Array | None = None) -> dict[str, float]:
        """``{"loss": J, "accuracy": ...}`` (accuracy for classifiers only), dropout off."""
        X = check_X(X, self.n_in, self.dtype)
        y = self.check_targets(y, X.shape[0])
        w = check_sample_weight(sample_weight, X.shape[0])
        return self._evaluate(X, y, w)

    def _evaluate(self, X: Array, y: Array, w: Array | None) -> dict[str, float]:
        return self._evaluate_with_output(X, y, w)[0]

    def _evaluate_with_output(self, X: Array, y: Array, w: Array | None
                              ) -> tuple[dict[str, float], Array]:
        """:meth:`evaluate`'s metrics and the output ``a[L]`` they came from (the same numbers
        as :meth:`predict`)."""
        out, caches = self._forward(X, training=False)
        J = self._data_cost(out, caches, y, w) + self.l2_penalty()
        logs = {"loss": float(J)}
        acc = self.loss.accuracy(out, y)
        if acc is not None:
            logs["accuracy"] = acc
        return logs, out

    def _batch_accuracy(self, out: Array, y: Array) -> float | None:
        """``self.loss.accuracy(out, y)`` of a training batch; for a softmax output with
        integer labels counted by one kernel call instead of four NumPy passes."""
        if y.ndim == 1 and self.loss.fused_activation == "softmax":
            kernel = _kernels.get("argmax_hits")
            if kernel is not None and out.dtype in (np.float32, np.float64):
                return kernel(out, y) / y.shape[0]
        return self.loss.accuracy(out, y)

    def l2_penalty(self) -> float:
        """``(l2 / 2) sum ||W||^2`` over Dense layers (0 when ``l2 == 0``)."""
        return self._l2_penalty(False)

    def _l2_penalty(self, fused: bool, terms: dict[int, Any] | None = None) -> float:
        """:meth:`l2_penalty`; ``fused``: sum the squares with the kernel (no float64 copy of
        each ``W``) when it can; ``terms``: the :meth:`_l2_terms` to add up, when known."""
        if not self.l2:
            return 0.0
        total = 0.0
        for term in (self._l2_terms(fused) if terms is None else terms).values():
            total += term
        return 0.5 * self.l2 * total

    def _l2_terms(self, fused: bool = False, only: int | None = None) -> dict[int, Any]:
        """``||W||^2`` of each Dense layer (or of layer ``only``), by layer index: the terms
        of :meth:`l2_penalty`, in its order (gradient checking reuses those it did not
        perturb)."""
        acc = np.promote_types(self.dtype, np.float64)  # longdouble stays longdouble
        sum_squares = _kernels.get("sum_squares") if fused else None
        terms = {}
        for i, la in enumerate(self.layers):
            if isinstance(la, Dense) and only in (None, i):
                W = la.params["W"]
                if sum_squares is not None and _kernels.flat(W):
                    terms[i] = sum_squares(W.reshape(-1))
                else:
                    terms[i] = np.sum(np.square(W, dtype=acc))
        return terms

    # ----------------------------------------------------------------- training
    def fit(self, X: Array, y: Array, **kwargs: Any):  # -> History
        """Train with mini-batch gradient descent; see :func:`backprop.training.fit` for the
        arguments (epochs, batch_size, optimizer, validation_data, validation_split, shuffle,
        seed, verbose, callbacks, lr_schedule, sample_weight).  Returns a ``History``."""
        from backprop.train.loop import fit

        return fit(self, X, y, **kwargs)


def mlp(
    sizes: Sequence[int],
    activation: str = "relu",
    output: str = "sigmoid",
    loss: str | Loss | None = None,
    dropout: float = 0.0,
    l2: float = 0.0,
    init: str | None = None,
    dtype: Any = np.float32,
    seed: int | np.random.Generator | None = None,
) -> Network:
    """Build a multilayer perceptron ``sizes[0] -> ... -> sizes[-1]``.

    ``activation`` for hidden layers, ``output`` for the last; ``loss`` defaults to the output's
    natural partner (sigmoid -> BCE, softmax -> CE, otherwise MSE).  ``dropout > 0`` inserts a
    Dropout after each hidden layer.  One ``seed`` fixes every layer's weights and dropout masks.
    """
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least an input and an output width, got {sizes}")
    for i, s in enumerate(sizes):  # no int(): 2.5 would silently become 2, 0.5 a "got 0"
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1:
            raise ValueError(f"sizes[{i}] must be a positive integer, got {s!r}")
    sizes = [int(s) for s in sizes]
    if loss is None:
        loss = {"sigmoid": "binary_crossentropy", "softmax": "categorical_crossentropy"}.get(
            output, "mse"
        )
    rng = as_rng(seed)
    layers: list[Layer] = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        last = i == len(sizes) - 2
        layers.append(Dense(n_in, n_out, output if last else activation, init=init, dtype=dtype,
                            seed=rng))
        if dropout and not last:
            layers.append(Dropout(dropout, seed=int(rng.integers(2**63))))
    return Network(layers, loss=loss, l2=l2)
