"""Sequential: a chain of layers and a loss; forward, backward, state, prediction, evaluation.

The network knows its layers only through the layer protocol (:mod:`backprop.nn.layers.base`):
shapes chain through ``input_shape``/``output_shape``, the L2 penalty covers each layer's
``decayed`` parameters, the fused output gradient needs an output layer whose ``activation``
is the loss's partner, and the state is every layer's arrays and generator.  Training and
saving live one tier up (:class:`backprop.Network` adds ``fit`` and ``save``).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from backprop._utils import as_rng, check_int, check_non_negative
from backprop.nn import inference, propagation, regularization, state
from backprop.nn import trace as trace_module
from backprop.nn.checks import (
    check_classes,
    check_feature_names,
    check_preprocessor,
    check_X,
    is_raw_table,
    is_sparse,
    match_columns,
)
from backprop.nn.layers import LAYERS, Layer
from backprop.nn.losses import Loss, check_sample_weight, get_loss
from backprop.nn.shapes import chain_shapes
from backprop.nn.workspace import Workspace

__all__ = ["Sequential"]

Array = np.ndarray
Shape = tuple[int, ...]
#: the most numbers one layer's output may hold in a chunk of ``predict``
_PREDICT_ELEMENTS = 1 << 22


class Sequential:
    """A feed-forward network: ``layers`` applied in order, trained against ``loss``.

    Parameters
    ----------
    layers : sequence of Layer
        Their shapes must chain (each layer's input shape is the previous one's output).
    loss : str or Loss
        ``"binary_crossentropy"`` (needs a sigmoid output), ``"categorical_crossentropy"``
        (needs a softmax output) or ``"mse"``.
    l2 : float, default 0
        L2 penalty ``(l2 / 2) sum ||W||^2`` on weights (not biases), part of ``J`` and its
        gradient.
    l2_per_sample : bool, default False
        Divide the penalty by the total sample weight of each batch (its number of rows when
        unweighted), as scikit-learn's ``alpha``: ``(l2 / 2 S) sum ||W||^2``.  The penalty then
        weighs as much against each sample whatever the batch size.
    input_shape : tuple of int, optional
        The trailing shape of one input row; by default the first layer that declares one
        gives it (needed when a layer before it changes the shape, a Flatten say).
    classes : list, optional
        Original class labels (str, int, float or bool), index ``i`` naming class ``i``: one per
        softmax unit, two for a single sigmoid unit.  Used by :meth:`predict_labels` and saved
        in model files.
    feature_names : list of str, optional
        Names of the ``n_in`` input columns (checked against data files by the CLI); by default
        the preprocessor's encoded column names.
    preprocessor : fitted TablePreprocessor, optional
        Turns raw tables (pandas DataFrames with text, categories, dates and empty cells) into
        the ``n_in`` columns the first layer takes (see :mod:`backprop.data.tabular`).  Every
        method that takes ``X`` applies it to a DataFrame (or a dict of columns, or an object
        array); numeric arrays are taken as already encoded.  Saved in model files.
    metadata : dict, optional
        JSON-able description (data source, training settings, metrics), saved with the model.
    """

    def __init__(
        self,
        layers: Sequence[Layer],
        loss: str | Loss = "mse",
        l2: float = 0.0,
        *,
        l2_per_sample: bool = False,
        input_shape: Sequence[int] | None = None,
        classes: Sequence[Any] | None = None,
        feature_names: Sequence[str] | None = None,
        preprocessor: Any = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        layers = list(layers)
        if not layers:
            raise ValueError("layers must not be empty")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layers[{i}] must be a Layer, got {type(layer).__name__}")
        if input_shape is not None:
            input_shape = tuple(check_int(f"input_shape[{i}]", n, 1)
                                for i, n in enumerate(input_shape))
        #: the input shape as given (None: inferred from the layers)
        self._given_input_shape = input_shape
        self._shapes = chain_shapes(layers, input_shape)
        dtypes = {la.dtype for la in layers if la.dtype is not None}
        if len(dtypes) > 1:
            raise ValueError(f"all layers must share one dtype, got {sorted(map(str, dtypes))}")
        check_non_negative("l2", l2)
        self.layers: list[Layer] = layers
        self.loss: Loss = get_loss(loss)
        self.l2 = float(l2)
        self.l2_per_sample = bool(l2_per_sample)
        self._dtype = dtypes.pop() if dtypes else np.dtype(np.float32)
        fused = self.loss.fused_activation
        if fused is not None:
            out = layers[-1]
            got = out.activation.name if out.activation is not None else type(out).__name__
            if got != fused:
                raise ValueError(f"loss {self.loss.name!r} needs a final layer with {fused!r} "
                                 f"activation, got {got!r}")
            if fused == "softmax" and self.n_out < 2:
                raise ValueError("categorical_crossentropy needs at least 2 output units")
        #: True when the output gradient is the fused ``dz = (a - y) / m``
        self.fused = fused is not None
        self.classes: list[Any] | None = check_classes(classes, self.loss, self.n_out)
        self.preprocessor = check_preprocessor(preprocessor, self.n_in)
        if feature_names is None and self.preprocessor is not None:
            feature_names = list(self.preprocessor.feature_names_out_)
        self.feature_names: list[str] | None = check_feature_names(feature_names, self.n_in)
        if metadata is not None and not isinstance(metadata, dict):
            raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
        self.metadata: dict[str, Any] = dict(metadata or {})

    # ----------------------------------------------------------------- structure
    @property
    def input_shape(self) -> Shape:
        """The trailing shape of one input row (``(n_in,)`` for tables, ``(C, H, W)`` ...)."""
        return self._shapes[0][0]

    @property
    def n_in(self) -> int:
        """Number of input features (the product of :attr:`input_shape`)."""
        return int(np.prod(self.input_shape))

    @property
    def n_out(self) -> int:
        """Number of output units."""
        return int(np.prod(self._shapes[-1][1]))

    @property
    def dtype(self) -> np.dtype:
        """The parameters' dtype (float32 or float64)."""
        return self._dtype

    def layer_shapes(self) -> list[tuple[Shape, Shape]]:
        """Each layer's trailing input and output shape (without the batch dimension)."""
        return list(self._shapes)

    def parameters(self) -> list[Array]:
        """Every parameter array, layer by layer in ``params`` order (the arrays themselves)."""
        return [p for layer in self.layers for p in layer.params.values()]

    def n_parameters(self) -> int:
        """Total number of trainable scalars."""
        return sum(p.size for p in self.parameters())

    # ----------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """A copy of the network's state: every layer's parameters and buffers
        (``"layers.<i>.<name>"``) and generator state (``"layers.<i>.rng"``)."""
        return state.network_state(self.layers)

    def check_state(self, state_: dict[str, Any]) -> str | None:
        """What keeps ``state_`` from loading into this network, or None."""
        return state.state_problem(self.layers, state_)

    def load_state_dict(self, state_: dict[str, Any]) -> None:
        """Copy a :meth:`state_dict` into the network in place; checked first, so a bad one
        leaves the network unchanged (``ValueError``)."""
        state.load_network_state(self.layers, state_)

    def get_weights(self) -> list[dict[str, Array]]:
        """A copy of every layer's parameters and buffers, one dict per layer."""
        return state.layer_weights(self.layers)

    def set_weights(self, weights: Sequence[dict[str, Array]]) -> None:
        """Copy ``weights`` (as from :meth:`get_weights`) into the arrays in place; everything
        is checked first, so a bad entry leaves the network unchanged."""
        state.load_layer_weights(self.layers, weights)

    def astype(self, dtype: Any) -> Sequential:
        """A deep copy of the network with parameters cast to ``dtype``."""
        net = copy.deepcopy(self)
        for layer in net.layers:
            layer.astype(dtype)
        net._dtype = np.dtype(dtype)
        return net

    def config(self) -> dict[str, Any]:
        """A JSON-able description (layers, loss, l2) from which :meth:`from_config` rebuilds
        the architecture."""
        config = {
            "layers": [layer.config() for layer in self.layers],
            "loss": self.loss.name,
            "l2": self.l2,
            "dtype": str(self.dtype),
        }
        if self.l2_per_sample:
            config["l2_per_sample"] = True
        if self._given_input_shape is not None:
            config["input_shape"] = list(self._given_input_shape)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], seed: int | None = None, **kwargs: Any
                    ) -> Sequential:
        """Build a network (freshly initialised) from :meth:`config` output; ``kwargs`` go to
        the constructor (classes, feature names, metadata)."""
        rng = as_rng(seed)
        dtype = config.get("dtype", "float32")
        layers = []
        for i, spec in enumerate(config["layers"]):
            kind = spec.get("type")
            if kind not in LAYERS:
                raise ValueError(f"layers[{i}]: unknown layer type {kind!r} "
                                 f"(known: {sorted(LAYERS)})")
            # a generator of its own per layer: a layer that keeps one (Dropout) must not share
            # it with another, or their states (saved, rewound, restored) would collide
            seed = np.random.default_rng(rng.integers(2**63))
            layers.append(LAYERS[kind].from_config(spec, dtype=dtype, seed=seed))
        return cls(layers, loss=config["loss"], l2=config.get("l2", 0.0),
                   l2_per_sample=bool(config.get("l2_per_sample", False)),
                   input_shape=config.get("input_shape"), **kwargs)

    def __repr__(self) -> str:
        inner = ", ".join(map(repr, self.layers))
        per_sample = ", l2_per_sample=True" if self.l2_per_sample else ""
        return (f"{type(self).__name__}([{inner}], loss={self.loss.name!r}, l2={self.l2}"
                f"{per_sample})")

    # ----------------------------------------------------------------- forward / backward
    def check_inputs(self, X: object, name: str = "X", finite: bool = True) -> Array:
        """``X`` validated against the input shape and cast to the network's dtype (a table
        with named columns is first matched to :attr:`feature_names` by name; a SciPy sparse
        matrix stays sparse, in CSR format, when the first layer accepts one)."""
        self._check_sparse_input(X, name)
        return check_X(self.by_name(X, name), self.input_shape, self.dtype, name=name,
                       finite=finite)

    def _check_sparse_input(self, X: object, name: str) -> None:
        """A sparse ``X`` needs a first layer that takes one (Dense does; a Standardize
        would densify it)."""
        if is_sparse(X) and not self.layers[0].accepts_sparse:
            raise ValueError(
                f"{name} is a sparse matrix, but the first layer "
                f"({type(self.layers[0]).__name__}) needs a dense array; pass "
                f"{name}.toarray() if it fits in memory")

    def by_name(self, X: object, name: str = "X") -> object:
        """A table with named columns (a pandas DataFrame) reordered to :attr:`feature_names`,
        so that columns are matched by name, never silently by position; ``ValueError`` naming
        the columns it lacks.  With a :attr:`preprocessor`, a raw table (a DataFrame, a dict of
        columns or an object array) is encoded by it instead.  Anything else (a numeric array,
        or a network without feature names) is returned as it is."""
        if self.preprocessor is not None and is_raw_table(X):
            return self.preprocessor.transform(X, dtype=self.dtype)
        return match_columns(X, self.feature_names, name)

    def forward(self, X: Array, training: bool = False) -> tuple[Array, list[Any]]:
        """Forward propagation: ``(a[L], [cache[1], ..., cache[L]])`` for ``X`` of shape
        ``(m, *input_shape)``."""
        return propagation.forward_pass(self.layers, self.check_inputs(X), training)

    def trace(self, X: Array, y: Array) -> trace_module.Trace:
        """One forward and backward pass on ``X``, ``y`` with every array kept, layer by layer
        (dropout off): what :func:`backprop.plot_backprop` draws and ``backprop explain``
        prints; see :mod:`backprop.nn.trace`."""
        X = self.check_inputs(X)
        return trace_module.trace_pass(self.layers, self.loss, self.fused, X,
                                       self.check_targets(y, X.shape[0]))

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

    def loss_and_grads(self, X: Array, y: Array, sample_weight: Array | None = None,
                       training: bool = True) -> tuple[float, list[dict[str, Array]]]:
        """Cost ``J`` (mean over samples, plus the L2 term) and ``grads``, a list aligned with
        :attr:`layers` of dicts keyed and shaped like each layer's ``params``.

        ``training=True`` applies dropout (as during ``fit``).
        """
        X = self.check_inputs(X)
        y = self.check_targets(y, X.shape[0])
        w = check_sample_weight(sample_weight, X.shape[0])
        result = self.forward_backward(X, y, w, training)
        return float(result.cost), result.grads

    def forward_backward(self, X: Array, y: Array, sample_weight: Array | None = None,
                         training: bool = True, need_input_grad: bool = False,
                         workspace: Workspace | None = None) -> propagation.Gradients:
        """One forward and backward pass on inputs already checked (:meth:`check_inputs`,
        :meth:`check_targets`): the cost with the L2 term, the gradients, the output and, with
        ``need_input_grad``, ``dJ/dX`` (otherwise None when the layers skipped it, as they do
        for the first layer with parameters).

        With a ``workspace`` (the training loop's) every array is written into it and the
        fused kernels are used; the arrays returned are then overwritten by the next call.
        """
        out, caches = propagation.forward_pass(self.layers, X, training, workspace)
        J, grads, da = propagation.backward_pass(
            self.layers, self.loss, self.fused, out, caches, y, sample_weight,
            need_input_grad, workspace)
        l2 = self.batch_l2(X.shape[0], sample_weight)
        if l2:
            fused = workspace is not None
            J += self.l2_penalty(self.l2_terms(fused), l2)
            regularization.add_l2_gradients(self.layers, grads, l2, fused)
        return propagation.Gradients(J, grads, out, da)

    def data_cost(self, out: Array, caches: list[Any], y: Array, w: Array | None) -> float:
        """The loss of a forward pass (its output and caches), without the L2 term."""
        return propagation.data_cost(self.loss, self.fused, self.layers[-1], out, caches[-1],
                                     y, w)

    def output_logits(self, X: Array, batch_size: int = 8192) -> Array:
        """The output layer's pre-activation ``z`` for checked inputs ``X``, computed in
        chunks, each cast to the network's dtype (dropout off): the logits of a sigmoid or
        softmax output."""
        last = self.layers[-1]
        if last.activation is None:
            raise ValueError(f"the output layer {type(last).__name__} has no pre-activation")
        parts = []
        for start in range(0, X.shape[0], batch_size):
            chunk = X[start:start + batch_size].astype(self.dtype, copy=False)
            _, caches = propagation.forward_pass(self.layers, chunk, False)
            parts.append(last.preactivation(caches[-1]))
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    # ----------------------------------------------------------------- regularisation
    def l2_terms(self, fused: bool = False, only: int | None = None
                 ) -> dict[tuple[int, str], Any]:
        """``||p||^2`` of every decayed parameter (see :mod:`backprop.nn.regularization`)."""
        return regularization.l2_terms(self.layers, self.dtype, fused, only)

    def batch_l2(self, m: int, sample_weight: Array | None = None) -> float:
        """The L2 coefficient for a batch of ``m`` rows with these sample weights: ``l2``, or
        with :attr:`l2_per_sample` ``l2`` divided by the batch's total weight (0 when that is
        0: such a batch takes no step)."""
        if not self.l2_per_sample or not self.l2:
            return self.l2
        total = float(m) if sample_weight is None else float(np.sum(sample_weight))
        return self.l2 / total if total > 0 else 0.0

    def l2_penalty(self, terms: dict[tuple[int, str], Any] | None = None,
                   l2: float | None = None) -> float:
        """``(l2 / 2) sum ||W||^2`` over the decayed parameters (0 when ``l2 == 0``);
        ``terms``: the :meth:`l2_terms` to add up, when known; ``l2``: the coefficient (by
        default :attr:`l2`; :meth:`batch_l2` gives a batch's)."""
        l2 = self.l2 if l2 is None else l2
        if not l2:
            return 0.0
        return regularization.l2_penalty(l2, self.l2_terms() if terms is None else terms)

    # ----------------------------------------------------------------- prediction
    def predict(self, X: Array, batch_size: int = 8192) -> Array:
        """Output activations ``a[L]`` for ``X`` (probabilities for sigmoid/softmax outputs),
        computed in chunks of at most ``batch_size`` rows with dropout off (fewer rows when a
        layer's output is wide, as a convolution's is: each layer's output in a chunk holds
        at most about 4 million numbers, which keeps the chunk's arrays in memory that is
        cheap to reach).  Returns an array of shape (m, n_out) in the network's dtype."""
        batch_size = self._chunk_rows(batch_size)
        first = self.layers[0]
        self._check_sparse_input(X, "X")
        # a sparse X is checked on its stored entries up front (cheap), not watched
        watch = first.workspace_path and first.watches_input and not is_sparse(X)
        # not cast here: each chunk is cast into a reused array (no copy of all of X)
        X = check_X(self.by_name(X), self.input_shape, finite=not watch)
        return inference.predict(self.layers, X, self.dtype, batch_size, watch)

    def _chunk_rows(self, batch_size: int) -> int:
        """At most ``batch_size`` rows, fewer when a layer's output is wide (a convolution's):
        each layer's output in a chunk holds at most about 4 million numbers."""
        check_int("batch_size", batch_size, 1)
        widest = max(int(np.prod(out)) for _, out in self._shapes)
        return min(batch_size, max(1, _PREDICT_ELEMENTS // widest))

    def predict_classes(self, X: Array) -> Array:
        """Class predictions: ``argmax`` for softmax outputs; ``a > 0.5`` for sigmoid outputs
        (shape (m,) for one unit, (m, k) for multi-label).  Regression networks raise."""
        if not self.loss.is_classifier:
            raise ValueError(f"predict_classes needs a classification loss, not {self.loss.name}")
        return self.classes_from_output(self.predict(X))

    def classes_from_output(self, a: Array) -> Array:
        """:meth:`predict_classes` from the output ``a`` of a forward pass."""
        return inference.classes_from_output(self.loss, a)

    def predict_labels(self, X: Array) -> Array:
        """Predictions in the original label space, shape (m,): the :attr:`classes` entry of
        each predicted class (class indices when ``classes`` is None; the 0/1 matrix for
        multi-label sigmoid outputs); the predicted values for a one-output regression."""
        return self.labels_from_output(self.predict(X))

    def labels_from_output(self, out: Array) -> Array:
        """:meth:`predict_labels` from the output ``out`` of a forward pass."""
        return inference.labels_from_output(self.loss, self.classes, out)

    def evaluate(self, X: Array, y: Array, sample_weight: Array | None = None,
                 batch_size: int = 8192) -> dict[str, float]:
        """``{"loss": J, "accuracy": ...}`` (accuracy for classifiers only), dropout off,
        computed in chunks of ``batch_size`` rows."""
        return self.evaluate_with_output(X, y, sample_weight, batch_size=batch_size)[0]

    def evaluate_with_output(self, X: Array, y: Array, sample_weight: Array | None = None,
                             checked: bool = False, batch_size: int = 8192
                             ) -> tuple[dict[str, float], Array]:
        """:meth:`evaluate`'s metrics and the output ``a[L]`` they came from (the same numbers
        as :meth:`predict`); ``checked=True``: ``X``, ``y`` and the weights are already
        validated (as the training loop's are).

        The forward pass runs in chunks of at most ``batch_size`` rows (fewer for wide layers,
        as :meth:`predict`'s), each cast to the network's dtype, so that neither a cast copy of
        ``X`` nor the activations of all its rows are held at once; the cost is the chunks'
        costs weighted by their rows (see :func:`backprop.nn.inference.evaluate`).
        """
        batch_size = self._chunk_rows(batch_size)
        if not checked:
            # not cast here: each chunk is cast (no copy of all of X)
            X = check_X(self.by_name(X), self.input_shape, name="X")
            y = self.check_targets(y, X.shape[0])
            sample_weight = check_sample_weight(sample_weight, X.shape[0])
        J, out = inference.evaluate(self.layers, self.loss, self.fused, X, y, sample_weight,
                                    self.dtype, batch_size)
        J += self.l2_penalty(l2=self.batch_l2(X.shape[0], sample_weight))
        logs = {"loss": float(J)}
        acc = self.loss.accuracy(out, y)
        if acc is not None:
            logs["accuracy"] = acc
        return logs, out
