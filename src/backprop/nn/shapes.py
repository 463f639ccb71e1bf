"""How layers chain: each layer's trailing input and output shape, checked against the next."""

from __future__ import annotations

from collections.abc import Sequence

from backprop.nn.layers.base import Layer

__all__ = ["chain_shapes"]

Shape = tuple[int, ...]


def chain_shapes(layers: Sequence[Layer], input_shape: Shape | None) -> list[tuple[Shape, Shape]]:
    """Each layer's trailing input and output shape, from ``input_shape`` or, when it is None,
    from the first layer that declares one (the layers before it must keep the shape they
    get); ``ValueError`` when they do not chain."""
    shape = input_shape
    if shape is None:
        start = next((i for i, la in enumerate(layers) if la.input_shape is not None), None)
        if start is None:
            raise ValueError("a network needs a layer with a known input shape (a Dense layer, "
                             "say), or input_shape=")
        reshaping = next((i for i in range(start)
                          if type(layers[i]).output_shape is not Layer.output_shape), None)
        if reshaping is not None:
            raise ValueError(f"the input shape cannot be inferred through layers[{reshaping}] "
                             f"({type(layers[reshaping]).__name__}), which changes the shape: "
                             "give input_shape=")
        shape = layers[start].input_shape
    shape, shapes = tuple(shape), []
    for i, layer in enumerate(layers):
        want = layer.input_shape
        if want is not None and tuple(want) != shape:
            prev = f"layers[{i - 1}] ({type(layers[i - 1]).__name__}) returns {shape}"
            raise ValueError(f"layer sizes do not chain: {prev} but layers[{i}] "
                             f"({type(layer).__name__}) expects {tuple(want)}")
        problem = layer.check_input_shape(shape)
        if problem is not None:
            prev = (f"layers[{i - 1}] ({type(layers[i - 1]).__name__}) returns {shape}" if i
                    else f"the input shape is {shape}")
            raise ValueError(f"layer sizes do not chain: {prev} but layers[{i}] "
                             f"({type(layer).__name__}) {problem}")
        try:
            out = tuple(layer.output_shape(shape))
        except ValueError as e:  # an image layer given the wrong channels or too small a size
            raise ValueError(f"layers[{i}] ({type(layer).__name__}): {e}") from None
        shapes.append((shape, out))
        shape = out
    return shapes
