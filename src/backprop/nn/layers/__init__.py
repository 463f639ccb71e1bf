"""Layers: each one a forward/backward pair that share a cache, and the registry of them.

A new layer is one new module here with a class decorated by :func:`register`, imported below.
"""

from backprop.nn.initializers import INIT_ALIASES, INITIALIZERS
from backprop.nn.layers.activation import Activation, ActivationCache
from backprop.nn.layers.base import LAYERS, Layer, register
from backprop.nn.layers.batchnorm import BatchNorm, BatchNormCache
from backprop.nn.layers.conv import Conv2D, ConvCache
from backprop.nn.layers.dense import Dense, DenseCache
from backprop.nn.layers.dropout import Dropout, DropoutCache
from backprop.nn.layers.flatten import Flatten, FlattenCache
from backprop.nn.layers.pooling import AvgPool2D, MaxPool2D, PoolCache
from backprop.nn.layers.standardize import Standardize

__all__ = ["LAYERS", "Layer", "register", "Activation", "ActivationCache", "BatchNorm",
           "BatchNormCache", "Dense", "DenseCache", "Dropout", "DropoutCache", "Standardize",
           "Conv2D", "ConvCache", "MaxPool2D", "AvgPool2D", "PoolCache", "Flatten",
           "FlattenCache", "INITIALIZERS", "INIT_ALIASES"]
