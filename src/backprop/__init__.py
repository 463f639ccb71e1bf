"""backprop: neural networks trained by explicit, layer-level backpropagation.

Forward propagation receives ``a[l-1]``, computes ``z[l] = a[l-1] W[l] + b[l]``, caches it and
returns ``a[l] = f(z[l])``; backward propagation receives ``dJ/da[l]`` and returns ``dJ/da[l-1]``,
``dJ/dW[l]`` and ``dJ/db[l]``.  Rows of every array are samples.
"""

from backprop._version import __version__
from backprop.data import DataError, Dataset, Standardizer, TablePreprocessor, load_dataset
from backprop.diagram import plot_backprop
from backprop.export import ExportError, export_onnx
from backprop.gradcheck import GradientCheckReport, ParamCheck, gradient_check, relative_error
from backprop.model import Network, load, mlp, save
from backprop.nn.activations import ACTIVATIONS, ActivationFunction, get_activation
from backprop.nn.layers import (
    INITIALIZERS,
    LAYERS,
    Activation,
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Layer,
    MaxPool2D,
    Standardize,
)
from backprop.nn.losses import (
    LOSSES,
    BinaryCrossEntropy,
    CategoricalCrossEntropy,
    Loss,
    MeanSquaredError,
    get_loss,
)
from backprop.optim import (
    OPTIMIZERS,
    SCHEDULES,
    SGD,
    Adam,
    AdamW,
    CosineAnnealing,
    ExponentialDecay,
    GradientDescent,
    LRSchedule,
    Optimizer,
    RMSprop,
    StepDecay,
    get_optimizer,
)
from backprop.plotting import plot_gradient_flow, plot_history, save_history_csv
from backprop.saving import ModelFileError
from backprop.train import (
    Callback,
    Checkpoint,
    EarlyStopping,
    GradientFlow,
    History,
    LambdaCallback,
    TrainingDiverged,
    load_checkpoint,
    save_checkpoint,
)

__all__ = [
    "ACTIVATIONS",
    "ActivationFunction",
    "get_activation",
    "GradientCheckReport",
    "ParamCheck",
    "gradient_check",
    "relative_error",
    "INITIALIZERS",
    "LAYERS",
    "Activation",
    "BatchNorm",
    "Dense",
    "Dropout",
    "Layer",
    "Standardize",
    "Conv2D",
    "MaxPool2D",
    "AvgPool2D",
    "Flatten",
    "DataError",
    "Dataset",
    "Standardizer",
    "load_dataset",
    "export_onnx",
    "ExportError",
    "TablePreprocessor",
    "ModelFileError",
    "Checkpoint",
    "load_checkpoint",
    "save_checkpoint",
    "TrainingDiverged",
    "load",
    "save",
    "plot_history",
    "plot_gradient_flow",
    "plot_backprop",
    "GradientFlow",
    "save_history_csv",
    "LOSSES",
    "BinaryCrossEntropy",
    "CategoricalCrossEntropy",
    "Loss",
    "MeanSquaredError",
    "get_loss",
    "Network",
    "mlp",
    "OPTIMIZERS",
    "SCHEDULES",
    "SGD",
    "Adam",
    "AdamW",
    "CosineAnnealing",
    "ExponentialDecay",
    "GradientDescent",
    "LRSchedule",
    "Optimizer",
    "RMSprop",
    "StepDecay",
    "get_optimizer",
    "Callback",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "__version__",
]
