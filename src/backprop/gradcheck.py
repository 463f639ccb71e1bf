"""Gradient checking: backprop's gradients against central differences.

For every parameter entry ``θ_i`` (or a sample of ``max_entries`` per parameter), on a float64
copy of the network::

    n_i = (J(θ + eps e_i) - J(θ - eps e_i)) / (2 eps)
    relative error = |g_i - n_i| / max(|g_i| + |n_i|, 1e-12)

where ``g_i`` is the gradient from :meth:`Network.loss_and_grads` computed in float64.

The two costs ``J(θ ± eps e_i)`` are evaluated in ``numpy.longdouble`` when the platform's is
wider than float64 (80-bit on x86-64 Linux and macOS-x86, 128-bit on aarch64 Linux), otherwise in
float64.  In float64 the difference quotient carries a rounding floor of about
``1e-16 * J / eps ~ 1e-10``, which alone makes any entry with ``|g| < 1e-3`` look wrong at a
``1e-7`` tolerance; in extended precision that floor drops below ``1e-13`` and the reported error
measures backprop, not the checker's arithmetic.  Pass ``numeric_dtype=np.float64`` for the plain
float64 check.  The input gradient ``dJ/dX``
is checked the same way, so a wrong ``da_prev`` in the first layer cannot hide.  Dropout layers
draw the same mask for every evaluation.  An entry whose perturbation moves a ReLU-family input
``z`` across the kink at 0 (the function is not differentiable there) is counted as *skipped*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from backprop.nn.checks import check_X
from backprop.nn.layers import Dense, Dropout
from backprop.nn.losses import check_sample_weight

if TYPE_CHECKING:
    from backprop.nn.sequential import Network

__all__ = ["ParamCheck", "GradientCheckReport", "gradient_check", "relative_error"]

Array = np.ndarray


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
        widths = [max(len(h), *(len(row[i]) for row in lines)) for i, h in enumerate(header)]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths)
        rows = [header, ["-" * w for w in widths], *lines]
        out = [fmt.format(*row).rstrip() for row in rows]
        verdict = "PASSED" if self.passed else "FAILED"
        out.append(
            f"gradient check {verdict}: max relative error {self.max_relative_error:.2e} "
            f"(threshold {self.threshold:.0e}, eps {self.eps:.0e}; backprop in float64, "
            f"differences in {self.numeric_dtype})"
        )
        return "\n".join(out)


def gradient_check(
    net: Network,
    X: Array,
    y: Array,
    eps: float = 1e-6,
    max_entries: int | None = None,
    seed: int = 0,
    threshold: float = 1e-6,
    sample_weight: Array | None = None,
    check_input: bool = True,
    numeric_dtype: type | None = None,
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
    """
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps!r}")
    if max_entries is not None and (not isinstance(max_entries, (int, np.integer))
                                    or max_entries < 1):
        raise ValueError(f"max_entries must be a positive integer or None, got {max_entries!r}")
    if numeric_dtype is None:
        wider = np.finfo(np.longdouble).nmant > np.finfo(np.float64).nmant
        numeric_dtype = np.longdouble if wider else np.float64
    net64 = net.astype(np.float64)
    X64 = check_X(X, net64.n_in, np.float64)
    y = net64.check_targets(y, X64.shape[0])
    w = check_sample_weight(sample_weight, X64.shape[0])
    rng = np.random.default_rng(seed)
    dropouts = [la for la in net64.layers if isinstance(la, Dropout)]
    for i, layer in enumerate(dropouts):
        layer.rng = np.random.default_rng([seed, i])
    # the network whose costs are differenced, and its input, in numeric_dtype
    net_num = net64.astype(numeric_dtype)
    X_num = X64.astype(numeric_dtype)
    states = [la.rng.bit_generator.state for la in dropouts]
    num_dropouts = [la for la in net_num.layers if isinstance(la, Dropout)]
    kinked = [i for i, la in enumerate(net64.layers)
              if isinstance(la, Dense) and la.activation.kink]

    def reset_masks() -> None:
        for la, la_num, st in zip(dropouts, num_dropouts, states):
            la.rng.bit_generator.state = st
            la_num.rng.bit_generator.state = st

    layers = net_num.layers

    # One forward pass with the fixed masks; a perturbed cost then reruns only the layers from
    # the perturbed one on (those before it see no change), and a Dense layer updates its own
    # product z = a_prev @ W + b for the one perturbed entry instead of recomputing it.  For a
    # wide first layer this makes each cost several times cheaper than a whole forward pass.
    reset_masks()
    base_caches, inputs, a = [], [], X_num
    for layer in layers:
        inputs.append(a)
        a, cache = layer.forward(a, training=True)
        base_caches.append(cache)

    # the L2 term changes only with a perturbed W, and then only in that layer's ||W||^2
    l2_terms = net_num._l2_terms() if net_num.l2 else {}
    l2_base = net_num._l2_penalty(False, l2_terms)

    def l2_penalty(layer: int, pname: str) -> float:
        """The L2 term with entry of ``pname`` of ``layer`` perturbed (as it is now)."""
        if pname != "W" or layer not in l2_terms:
            return l2_base
        return net_num._l2_penalty(False, {**l2_terms, **net_num._l2_terms(only=layer)})

    def cost(start: int, first_z: Array | None, l2: float) -> tuple[float, list[Array]]:
        """J, and the sign pattern of every kinked z from layer ``start`` on, when the layers
        from ``start`` on are rerun (``first_z``: the start layer's z, already computed; ``l2``:
        the L2 term)."""
        reset_masks()  # every Dropout has its own generator: the same masks as the base pass
        caches, a = list(base_caches[:start]), inputs[start]
        for i in range(start, len(layers)):
            if i == start and first_z is not None:
                a_next = layers[i].activation.value(first_z)
                caches.append((a, first_z, a_next))
                a = a_next
            else:
                a, cache = layers[i].forward(a, training=True)
                caches.append(cache)
        J = net_num._data_cost(a, caches, y, w) + l2
        return J, [caches[i][1] > 0 for i in kinked if i >= start]

    def plain_dense(i: int) -> bool:
        return isinstance(layers[i], Dense) and type(layers[i]).forward is Dense.forward

    def perturbed_z(li: int, pname: str, idx: tuple, delta: float) -> Array | None:
        """The layer's z after adding ``delta`` to entry ``idx``, or None (rerun the layer)."""
        if li < 0:  # the input X[i, j]: row i of the first layer's z moves by delta W[j, :]
            if not plain_dense(0):
                return None
            z = base_caches[0][1].copy()
            z[idx[0], :] += delta * layers[0].params["W"][idx[1], :]
            return z
        if not plain_dense(li):
            return None
        z = base_caches[li][1].copy()
        if pname == "W":  # column k moves by delta a_prev[:, j]
            z[:, idx[1]] += delta * inputs[li][:, idx[0]]
        else:  # "b": column k moves by delta
            z[:, idx[0]] += delta
        return z

    reset_masks()
    J0, grads, _, dX = net64._loss_and_grads(X64, y, w, training=True, need_input_grad=True)

    def check(array: Array, grad: Array, layer: int, name: str, pname: str) -> ParamCheck:
        n = array.size
        flat = np.arange(n) if max_entries is None or max_entries >= n else np.sort(
            rng.choice(n, size=max_entries, replace=False))
        start = max(layer, 0)
        errors, skipped = [], 0
        worst = (-1.0, None, 0.0, 0.0)
        for k in flat:
            idx = np.unravel_index(k, array.shape)
            orig = array[idx]
            results = []
            for sign in (1, -1):
                array[idx] = orig + sign * eps  # (the L2 term reads the perturbed weights)
                delta = array[idx] - orig
                results.append(cost(start, perturbed_z(layer, pname, idx, delta),
                                    l2_penalty(layer, pname)))
            array[idx] = orig
            (j_plus, s_plus), (j_minus, s_minus) = results
            if any(not np.array_equal(a, b) for a, b in zip(s_plus, s_minus)):
                skipped += 1
                continue
            numeric = float((j_plus - j_minus) / (2 * eps))
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

    rows = []
    for li, (layer, g) in enumerate(zip(net_num.layers, grads)):
        for pname, p in layer.params.items():
            rows.append(check(p, g[pname], li, type(layer).__name__, pname))
    if check_input:
        rows.append(check(X_num, dX, -1, "input", "X"))
    return GradientCheckReport(rows=rows, threshold=threshold, eps=eps, loss=float(J0),
                               numeric_dtype=np.dtype(numeric_dtype).name)
