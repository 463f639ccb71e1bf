"""Neural-network building blocks: layers, activations, losses and the sequential network."""
