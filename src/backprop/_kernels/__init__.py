"""Fused element-wise kernels for the training hot path, compiled with numba.

Why this package exists.  One training step of an MLP is a handful of matrix products;
everything else is element-wise work: the bias and activation after each product, the
activation's derivative and the bias gradient before the next one, the output's softmax and
loss, and the optimizer's update.  In NumPy each of those operations is one more pass over
memory and one more call: Adam's update alone is a dozen passes over every parameter, and on
the benchmark's network it would cost as much as the step's matrix products.  Each kernel here
does the work of several NumPy operations in a single pass, so that training runs near the
speed of its matrix products (``benchmarks/bench_train.py`` and
``benchmarks/bench_breakdown.py`` measure it).

Every kernel here has a plain NumPy twin, which stays the reference: the activations'
``value``/``backward``, the losses' ``value_from_logits``/``gradient_wrt_logits``, each
optimizer's ``_update``.  ``tests/kernels`` checks that the two agree to float rounding.  The
kernels evaluate the same expressions in the same order and dtype as their twins.

The modules, by domain: :mod:`~backprop._kernels.registry` (registration, compilation,
:func:`get`, :func:`disabled`), :mod:`~backprop._kernels.numerics` (finiteness checks, flat
arrays, dtype scalars, the L2 penalty's reductions), :mod:`~backprop._kernels.optim` (the
optimizers' updates), :mod:`~backprop._kernels.dense` (bias + activation, softmax forward),
:mod:`~backprop._kernels.batchnorm` (batch normalisation's statistics, affine map and backward),
:mod:`~backprop._kernels.losses` (softmax + cross-entropy, accuracy) and
:mod:`~backprop._kernels.conv` (im2col, col2im and pooling on channels-last images), with
:mod:`~backprop._kernels.threads` (image layers' work split over threads).  This
package imports nothing of ``backprop`` but itself: what a kernel needs from a layer (leaky
ReLU's slope) arrives as an argument.

The kernels are compiled on first use (then cached on disk by numba).  :func:`get` returns None
when numba cannot be imported, when the environment variable ``BACKPROP_DISABLE_NUMBA`` is set
to a non-empty value other than ``0``, or inside :func:`disabled`; callers then take the NumPy
path.
"""

from backprop._kernels import batchnorm, conv, dense, losses, numerics, optim, registry, threads
from backprop._kernels.conv import image_activation_kernels
from backprop._kernels.dense import ActivationKernels, activation_kernels
from backprop._kernels.numerics import (
    all_finite,
    first_nonfinite,
    flat,
    scalars,
    smallest_normal,
    square_floor,
)
from backprop._kernels.optim import constants, flush_subnormals, moment_square
from backprop._kernels.registry import KERNELS, available, disabled, enabled, get, register
from backprop._kernels.threads import split

__all__ = [
    "KERNELS",
    "ActivationKernels",
    "activation_kernels",
    "all_finite",
    "available",
    "constants",
    "disabled",
    "enabled",
    "first_nonfinite",
    "flat",
    "flush_subnormals",
    "get",
    "image_activation_kernels",
    "moment_square",
    "register",
    "scalars",
    "smallest_normal",
    "split",
    "square_floor",
    # the modules (importing them registers their kernels)
    "batchnorm",
    "conv",
    "dense",
    "losses",
    "numerics",
    "optim",
    "registry",
    "threads",
]
