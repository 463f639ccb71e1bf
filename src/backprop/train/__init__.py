"""Training: the loop, callbacks, checkpoints, the divergence guard and signals."""
