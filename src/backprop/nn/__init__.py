"""Neural-network building blocks: layers, activations, losses and the sequential network."""

from backprop.nn.activations import ACTIVATIONS, ActivationFunction, get_activation
from backprop.nn.layers import (
    LAYERS,
    Activation,
    BatchNorm,
    Dense,
    Dropout,
    Layer,
    Standardize,
    register,
)
from backprop.nn.losses import LOSSES, Loss, get_loss, loss_for_output
from backprop.nn.sequential import Sequential

__all__ = ["ACTIVATIONS", "ActivationFunction", "get_activation", "LAYERS", "Activation",
           "BatchNorm", "Dense", "Dropout", "Layer", "Standardize", "register", "LOSSES", "Loss",
           "get_loss", "loss_for_output", "Sequential"]
