"""The output's kernels: softmax + cross-entropy cost and gradient in one pass, and the
accuracy count."""

from __future__ import annotations

import numpy as np

from backprop._kernels.registry import register

__all__: list[str] = []


@register("softmax_xent")
def _softmax_xent(z, a, y, scale, w, dz, db, zero, one, log_tiny):
    """Softmax + categorical cross-entropy with integer labels ``y`` (m,), from the logits ``z``
    and the softmax ``a``: writes ``dz = (a - onehot(y)) * scale[i]`` and ``db = sum_i dz``, and
    returns the cost ``mean_i(logsumexp(z_i) - z_i[y_i])`` (``w``-weighted when ``w`` is not
    empty), accumulated in float64."""
    m, n = z.shape
    db[:] = zero
    total = 0.0
    for i in range(m):
        zmax = z[i, 0]
        for j in range(n):
            zmax = max(zmax, z[i, j])
        s = zero
        for j in range(n):
            x = z[i, j] - zmax
            if x >= log_tiny:  # a subnormal term is below the rounding of s >= 1
                s += np.exp(x)
        loss_i = -((z[i, y[i]] - zmax) - np.log(s))
        total += np.float64(loss_i) * (w[i] if w.size else 1.0)
        for j in range(n):
            d = a[i, j]
            if j == y[i]:
                d = d - one
            d = d * scale[i]
            dz[i, j] = d
            db[j] += d
    return total / (w.sum() if w.size else m)


@register("argmax_hits")
def _argmax_hits(a, y):
    """How many rows of ``a`` (m, k) have their first maximum at column ``y[i]`` (the count
    behind ``mean(a.argmax(axis=1) == y)``)."""
    m, n = a.shape
    hits = 0
    for i in range(m):
        best = 0
        for j in range(1, n):
            if a[i, j] > a[i, best] or (a[i, j] != a[i, j] and a[i, best] == a[i, best]):
                best = j  # a NaN counts as the maximum, as in np.argmax
        hits += best == y[i]
    return hits
