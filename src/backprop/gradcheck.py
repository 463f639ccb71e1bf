"""Gradient checking: backprop's gradients against central differences.

For every parameter entry ``θ_i`` (or a sample of ``max_entries`` per parameter), on a float64
copy of the network::

    n_i = (J(θ + eps e_i) - J(θ - eps e_i)) / (2 eps)
    relative error = |g_i - n_i| / max(|g_i| + |n_i|, 1e-12)

where ``g_i`` is backprop's gradient (:meth:`Sequential.forward_backward`) computed in float64.

The two costs ``J(θ ± eps e_i)`` are evaluated in ``numpy.longdouble`` when the platform's is
wider than float64 (80-bit on x86-64 Linux and macOS-x86, 128-bit on aarch64 Linux), otherwise in
float64.  In float64 the difference quotient carries a rounding floor of about
``1e-16 * J / eps ~ 1e-10``, which alone makes any entry with ``|g| < 1e-3`` look wrong at a
``1e-7`` tolerance; in extended precision that floor drops below ``1e-13`` and the reported error
measures backprop, not the checker's arithmetic.  Pass ``numeric_dtype=np.float64`` for the plain
float64 check.

A gradient that is exactly zero (a bias just before a training-mode BatchNorm, whose batch mean
removes any constant shift) comes out of the difference quotient as rounding noise, and no
relative error can compare noise with zero.  So when both ``|g_i|`` and ``|n_i|`` are within
the quotient's resolution, ``64 * finfo(dtype).eps * max |J(θ ± eps e_i)| / eps`` (the costs'
rounding, a few dozen units in the last place of a forward pass, over the step), the entry
counts as checked with error 0: both say zero, to the precision the check has.

The input gradient ``dJ/dX`` is checked the same way as the parameters, so a wrong ``da_prev``
in the first layer cannot hide.  An entry whose
perturbation moves a ReLU-family input ``z`` across the kink at 0 (the function is not
differentiable there) is counted as *skipped*.

Training mode and eval mode.  By default the check runs the network as ``fit`` does
(``training=True``): Dropout layers apply a mask, the same one for every evaluation, and
BatchNorm layers normalise with the statistics of the batch ``X``, so that ``J`` is the function
``fit`` differentiates, the batch mean and variance included (each perturbed entry of ``X`` or
of an earlier layer moves them; their gradient paths are part of what is checked).  A training
pass updates BatchNorm's running statistics: every evaluation starts from the buffers as they
were (saved once, restored before each pass), and the check runs on copies of the network, so
the network passed in keeps its parameters and buffers.  ``training=False`` checks the network
as ``predict`` and ``evaluate`` run it: no dropout, and BatchNorm as the fixed affine map of its
running statistics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backprop._utils import check_int, render_table
from backprop.nn.losses import check_sample_weight
from backprop.nn.propagation import Gradients
from backprop.nn.sequential import Sequential

__all__ = ["ParamCheck", "GradientCheckReport", "gradient_check", "relative_error"]

Array = np.ndarray
#: units in the last place of a cost that its forward pass's rounding stays within
_ROUNDING_ULPS = 64


def relative_error(g: Array, n: Array) -> Array:
    """``|g - n| / max(|g| + |n|, 1e-12)``, element-wise."""
    return np.abs(g - n) / np.maximum(np.abs(g) + np.abs(n), 1e-12)


@dataclass
class ParamCheck:
    """One row of the report: a parameter (or the input ``X``) of one layer."""

    layer: int  # index in net.layers; -1 for the input X
    layer_name: str
    param: str
    shape: tuple[int, ...]
    checked: int
    skipped: int
    max_relative_error: float
    mean_relative_error: float
    worst_index: tuple[int, ...] | None
    worst_backprop: float
    worst_numeric: float

    def passed(self, threshold: float) -> bool:
        """True when every checked entry's relative error is at most ``threshold``."""
        return self.max_relative_error <= threshold


@dataclass
class GradientCheckReport:
    """The result of :func:`gradient_check`; ``print(report)`` shows a table."""

    rows: list[ParamCheck]
    threshold: float
    eps: float
    loss: float = field(default=float("nan"))
    numeric_dtype: str = "float64"

    @property
    def max_relative_error(self) -> float:
        """Largest relative error over all checked entries."""
        return max((r.max_relative_error for r in self.rows if r.checked), default=0.0)

    @property
    def passed(self) -> bool:
        """True when every row is within :attr:`threshold` and something was checked."""
        checked = any(r.checked for r in self.rows)
        return checked and all(r.passed(self.threshold) for r in self.rows)

    def __str__(self) -> str:
        header = ("layer", "param", "shape", "checked", "skipped", "max rel err", "mean rel err",
                  "worst entry (backprop vs numeric)")
        lines = []
        for r in self.rows:
            worst = "-" if r.worst_index is None else (
                f"{list(r.worst_index)}: {r.worst_backprop:.6e} vs {r.worst_numeric:.6e}"
            )
            lines.append((
                "input" if r.layer < 0 else f"{r.layer} {r.layer_name}",
                r.param, "x".join(map(str, r.shape)), str(r.checked), str(r.skipped),
                f"{r.max_relative_error:.2e}", f"{r.mean_relative_error:.2e}", worst,
            ))
        out = [render_table(header, lines)]
        verdict = "PASSED" if self.passed else "FAILED"
        out.append(
            f"gradient check {verdict}: max relative error {self.max_relative_error:.2e} "
            f"(threshold {self.threshold:.0e}, eps {self.eps:.0e}; backprop in float64, "
            f"differences in {self.numeric_dtype})"
        )
        return "\n".join(out)


def gradient_check(
    net: Sequential,
    X: Array,
    y: Array,
    eps: float = 1e-6,
    max_entries: int | None = None,
    seed: int = 0,
    threshold: float = 1e-6,
    sample_weight: Array | None = None,
    check_input: bool = True,
    numeric_dtype: type | None = None,
    training: bool = True,
) -> GradientCheckReport:
    """Compare every parameter's backprop gradient with central differences.

    Parameters
    ----------
    net : Network
        Left untouched: the check runs on a float64 copy.
    X : ndarray of shape (m, n_in); y : targets
    eps : float
        Perturbation for ``(J(θ+eps) - J(θ-eps)) / 2eps``.
    max_entries : int, optional
        Check a random sample of at most this many entries per parameter (and of ``X``).
    seed : int
        Fixes that sample and the dropout masks.
    threshold : float
        Largest relative error that passes.
    check_input : bool
        Also check ``dJ/dX``.
    numeric_dtype : dtype, optional
        Precision of the central-difference costs; default: ``longdouble`` when it is wider
        than float64, else float64.
    training : bool, default True
        Check the training-mode function (dropout masks, BatchNorm's batch statistics), as
        ``fit`` uses it; False: the eval-mode one (see the module docstring).
    """
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps!r}")
    check_int("max_entries", max_entries, 1, allow_none=True)
    if numeric_dtype is None:
        wider = np.finfo(np.longdouble).nmant > np.finfo(np.float64).nmant
        numeric_dtype = np.longdouble if wider else np.float64
    net64 = net.astype(np.float64)
    X64 = net64.check_inputs(X)
    y = net64.check_targets(y, X64.shape[0])
    w = check_sample_weight(sample_weight, X64.shape[0])
    for i, layer in enumerate(la for la in net64.layers if la.rng is not None):
        layer.rng = np.random.default_rng([seed, i])
    diffs = _CentralDifferences(net64, net64.astype(numeric_dtype), X64, y, w, eps,
                                bool(training))
    grads = diffs.backprop()
    rng = np.random.default_rng(seed)
    rows = []
    for li, (layer, g) in enumerate(zip(diffs.net.layers, grads.grads)):
        for pname, p in layer.params.items():
            rows.append(diffs.check(p, g[pname], li, type(layer).__name__, pname,
                                    _entries(p.size, max_entries, rng)))
    if check_input:
        rows.append(diffs.check(diffs.X, grads.input_grad, -1, "input", "X",
                                _entries(diffs.X.size, max_entries, rng)))
    return GradientCheckReport(rows=rows, threshold=threshold, eps=eps, loss=float(grads.cost),
                               numeric_dtype=np.dtype(numeric_dtype).name)


def _entries(n: int, max_entries: int | None, rng: np.random.Generator) -> Array:
    """The flat indices to check: all ``n``, or a sorted random sample of ``max_entries``."""
    if max_entries is None or max_entries >= n:
        return np.arange(n)
    return np.sort(rng.choice(n, size=max_entries, replace=False))


class _CentralDifferences:
    """The costs ``J(θ ± eps e_i)`` of one network, with fixed dropout masks and buffers, in
    training or eval mode.

    One forward pass with the fixed masks is kept; a perturbed cost then reruns only the layers
    from the perturbed one on (those before it see no change), and the perturbed layer itself
    updates its cached output for the one entry when it can (``Layer.forward_perturbed``):
    for a wide first layer this makes each cost several times cheaper than a forward pass.
    """

    def __init__(self, net64: Sequential, net: Sequential, X64: Array, y: Array,
                 w: Array | None, eps: float, training: bool) -> None:
        self.net64, self.net, self.X64, self.y, self.w, self.eps = net64, net, X64, y, w, eps
        self.training = training
        self.X = X64.astype(net.dtype)
        self.random = [(a, b) for a, b in zip(net64.layers, net.layers) if a.rng is not None]
        self.states = [a.rng.bit_generator.state for a, _ in self.random]
        # buffers a training pass changes (running statistics) start every pass where they were
        self.buffers = [(arr, arr.copy()) for n in (net64, net) for layer in n.layers
                        for arr in layer.buffers.values()]
        self.kinked = [i for i, la in enumerate(net.layers)
                       if la.activation is not None and la.activation.kink]
        self.reset_state()
        self.inputs, self.caches, a = [], [], self.X
        for layer in net.layers:
            self.inputs.append(a)
            a, cache = layer.forward(a, training=training)
            self.caches.append(cache)
        # the L2 term changes only with a perturbed decayed parameter, and then only in that
        # layer's terms
        self.l2 = net.batch_l2(X64.shape[0], w)
        self.l2_terms = net.l2_terms() if self.l2 else {}
        self.l2_base = net.l2_penalty(self.l2_terms, self.l2)

    def reset_state(self) -> None:
        """Every layer gets back its starting generator state and buffers: the same masks and
        statistics every pass."""
        for (a, b), state in zip(self.random, self.states):
            a.rng.bit_generator.state = state
            b.rng.bit_generator.state = state
        for arr, start in self.buffers:
            arr[...] = start

    def backprop(self) -> Gradients:
        """Backprop's cost, gradients and ``dJ/dX`` in float64, with the same masks."""
        self.reset_state()
        return self.net64.forward_backward(self.X64, self.y, self.w, training=self.training,
                                           need_input_grad=True)

    def l2_penalty(self, layer: int, pname: str) -> float:
        """The L2 term with an entry of ``pname`` of ``layer`` perturbed (as it is now)."""
        if layer < 0 or pname not in self.net.layers[layer].decayed:
            return self.l2_base
        return self.net.l2_penalty({**self.l2_terms, **self.net.l2_terms(only=layer)}, self.l2)

    def cost(self, start: int, pname: str | None, idx: tuple, delta: float
             ) -> tuple[float, list[Array]]:
        """J after an entry of layer ``start``'s parameter ``pname`` (or of the input, for
        ``pname=None``) moved by ``delta``, and the sign pattern of every kinked ``z`` from
        layer ``start`` on."""
        self.reset_state()
        layers = self.net.layers
        caches, a = list(self.caches[:start]), self.inputs[start]
        for i in range(start, len(layers)):
            result = None
            if i == start:
                result = layers[i].forward_perturbed(a, self.caches[i], pname, idx, delta)
            if result is None:
                result = layers[i].forward(a, training=self.training)
            a, cache = result
            caches.append(cache)
        J = self.net.data_cost(a, caches, self.y, self.w) + self.l2_penalty(start, pname or "")
        signs = [layers[i].preactivation(caches[i]) > 0 for i in self.kinked if i >= start]
        return J, signs

    def resolution(self, j_plus: Any, j_minus: Any) -> float:
        """The smallest difference quotient that is not rounding noise of the two costs."""
        scale = max(abs(float(j_plus)), abs(float(j_minus)))
        return _ROUNDING_ULPS * float(np.finfo(self.net.dtype).eps) * scale / self.eps

    def check(self, array: Array, grad: Array, layer: int, name: str, pname: str,
              entries: Array) -> ParamCheck:
        """Compare ``grad`` with central differences on the chosen entries of ``array`` (a
        parameter of ``layer``, or the input for ``layer=-1``), perturbed in place."""
        start, key = max(layer, 0), None if layer < 0 else pname
        errors, skipped = [], 0
        worst = (-1.0, None, 0.0, 0.0)
        for k in entries:
            idx = np.unravel_index(k, array.shape)
            orig = array[idx]
            results = []
            for sign in (1, -1):
                array[idx] = orig + sign * self.eps
                results.append(self.cost(start, key, idx, array[idx] - orig))
            array[idx] = orig
            (j_plus, s_plus), (j_minus, s_minus) = results
            if any(not np.array_equal(a, b) for a, b in zip(s_plus, s_minus)):
                skipped += 1
                continue
            numeric = float((j_plus - j_minus) / (2 * self.eps))
            if max(abs(grad[idx]), abs(numeric)) <= self.resolution(j_plus, j_minus):
                err = 0.0  # both zero, to the quotient's resolution (see the module doc)
            else:
                err = float(relative_error(grad[idx], numeric))
            errors.append(err)
            if err > worst[0]:
                worst = (err, tuple(int(i) for i in idx), float(grad[idx]), numeric)
        return ParamCheck(
            layer=layer, layer_name=name, param=pname, shape=array.shape,
            checked=len(errors), skipped=skipped,
            max_relative_error=max(errors, default=0.0),
            mean_relative_error=float(np.mean(errors)) if errors else 0.0,
            worst_index=worst[1], worst_backprop=worst[2], worst_numeric=worst[3],
        )
