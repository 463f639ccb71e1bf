"""Batch normalisation's kernels: per-channel statistics, the normalising affine map, and the
two passes of the training-mode backward.

Every kernel takes the layer's input as an ``(m, C, S)`` view: ``S = H * W`` for images (NCHW),
``S = 1`` for ``(m, C)`` rows.  Channel ``c``'s statistics run over ``x[:, c, :]``.  Without
fastmath LLVM does not reorder a float sum, so a sum into one accumulator runs one add at a
time; the sums here instead add whole rows into a row of accumulators (``acc[j] += x[i, c, j]``
for ``S > 1``, one per channel for ``S = 1``), a loop without a dependence from one ``j`` to the
next, which LLVM vectorises; the accumulators are added up at the end.

The sums accumulate in float64 (``np.promote_types(dtype, float64)``, as the plain twin in
:mod:`backprop.nn.layers.batchnorm` does), in a different order than NumPy's pairwise sums, so
the statistics agree with the twin to float64 rounding.  The element-wise expressions are the
twin's, in the same order and dtype: ``batchnorm_affine`` is bit for bit the twin's
``(x - mean) * inv_std * gamma + beta`` (prediction relies on it).
"""

from __future__ import annotations

import numpy as np

from backprop._kernels.registry import register

__all__: list[str] = []


@register("batchnorm_stats")
def _batchnorm_stats(x, mean, var):
    """``mean[c]`` and the biased ``var[c]`` (float64) of ``x[:, c, :]``: the mean first, then
    the mean squared deviation from it (no cancellation, unlike ``E[x^2] - mean^2``)."""
    m, C, S = x.shape
    n = m * S
    if S == 1:
        mean[:] = 0.0
        var[:] = 0.0
        for i in range(m):
            for c in range(C):
                mean[c] += x[i, c, 0]
        for c in range(C):
            mean[c] /= n
        for i in range(m):
            for c in range(C):
                d = x[i, c, 0] - mean[c]
                var[c] += d * d
        for c in range(C):
            var[c] /= n
        return
    acc = np.empty(S)
    for c in range(C):
        acc[:] = 0.0
        for i in range(m):
            row = x[i, c]
            for j in range(S):
                acc[j] += row[j]
        total = 0.0
        for j in range(S):
            total += acc[j]
        mu = total / n
        mean[c] = mu
        acc[:] = 0.0
        for i in range(m):
            row = x[i, c]
            for j in range(S):
                d = row[j] - mu
                acc[j] += d * d
        total = 0.0
        for j in range(S):
            total += acc[j]
        var[c] = total / n


@register("batchnorm_affine")
def _batchnorm_affine(x, mean, inv_std, gamma, beta, y):
    """``y = (x - mean) * inv_std * gamma + beta`` per channel, in the arrays' dtype (``y`` may
    not be ``x``: the input stays for backward)."""
    m, C, S = x.shape
    for i in range(m):
        for c in range(C):
            mu, k, g, b = mean[c], inv_std[c], gamma[c], beta[c]
            xi, yi = x[i, c], y[i, c]
            for j in range(S):
                yi[j] = (xi[j] - mu) * k * g + b


@register("batchnorm_backward_sums")
def _batchnorm_backward_sums(dy, x, mean, inv_std, dbeta, dgamma):
    """``dbeta[c] = sum dy`` and ``dgamma[c] = sum dy * xhat`` (float64) over ``[:, c, :]``,
    with ``xhat = (x - mean) * inv_std`` and the product ``dy * xhat`` in the arrays' dtype."""
    m, C, S = x.shape
    if S == 1:
        dbeta[:] = 0.0
        dgamma[:] = 0.0
        for i in range(m):
            for c in range(C):
                d = dy[i, c, 0]
                dbeta[c] += d
                dgamma[c] += d * ((x[i, c, 0] - mean[c]) * inv_std[c])
        return
    acc_b = np.empty(S)
    acc_g = np.empty(S)
    for c in range(C):
        mu, k = mean[c], inv_std[c]
        acc_b[:] = 0.0
        acc_g[:] = 0.0
        for i in range(m):
            xi, di = x[i, c], dy[i, c]
            for j in range(S):
                d = di[j]
                acc_b[j] += d
                acc_g[j] += d * ((xi[j] - mu) * k)
        total_b = 0.0
        total_g = 0.0
        for j in range(S):
            total_b += acc_b[j]
            total_g += acc_g[j]
        dbeta[c] = total_b
        dgamma[c] = total_g


@register("batchnorm_backward_dx")
def _batchnorm_backward_dx(dy, x, mean, inv_std, coef, dbeta, dgamma, n, dx):
    """``dx = coef * (n dy - dbeta - xhat dgamma)`` per channel (``coef = gamma inv_std / n``,
    ``xhat = (x - mean) * inv_std``), in the arrays' dtype; ``dx`` may be ``dy``."""
    m, C, S = x.shape
    for i in range(m):
        for c in range(C):
            mu, k, q, sb, sg = mean[c], inv_std[c], coef[c], dbeta[c], dgamma[c]
            xi, di, oi = x[i, c], dy[i, c], dx[i, c]
            for j in range(S):
                oi[j] = q * (n * di[j] - sb - ((xi[j] - mu) * k) * sg)
