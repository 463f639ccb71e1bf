"""Training: the loop, callbacks, early stopping, checkpoints, the divergence guard, signals."""

from backprop.train.callbacks import Callback, History, LambdaCallback, MonitorCallback
from backprop.train.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from backprop.train.divergence import TrainingDiverged
from backprop.train.early_stopping import EarlyStopping
from backprop.train.gradient_flow import GradientFlow
from backprop.train.loop import fit
from backprop.train.step import train_step

__all__ = ["Callback", "Checkpoint", "EarlyStopping", "GradientFlow", "History", "LambdaCallback",
           "MonitorCallback", "TrainingDiverged", "fit", "load_checkpoint", "save_checkpoint",
           "train_step"]
