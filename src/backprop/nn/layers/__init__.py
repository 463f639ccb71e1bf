"""Layers: each one a forward/backward pair that share a cache, and the registry of them.

A new layer is one new module here with a class decorated by :func:`register`, imported below.
"""

from backprop.nn.initializers import INIT_ALIASES, INITIALIZERS
from backprop.nn.layers.activation import Activation, ActivationCache
from backprop.nn.layers.base import LAYERS, Layer, register
from backprop.nn.layers.batchnorm import BatchNorm, BatchNormCache
from backprop.nn.layers.dense import Dense, DenseCache
from backprop.nn.layers.dropout import Dropout, DropoutCache
from backprop.nn.layers.standardize import Standardize

__all__ = ["LAYERS", "Layer", "register", "Activation", "ActivationCache", "BatchNorm",
           "BatchNormCache", "Dense", "DenseCache", "Dropout", "DropoutCache", "Standardize",
           "INITIALIZERS", "INIT_ALIASES"]
