"""The order in which Keras 3 lists a functional model's layers (its `map_graph`).

Keras sorts layers by depth, the longest path from the layer to an output, deepest
first (the inputs), and within one depth by when a depth-first walk from the outputs
first meets them. `model.layers`, `model.weights`, `get_weights()` and the config all
follow it, so a weight list taken from Keras lines up with Lamina's.
"""

from __future__ import annotations

from typing import Any

from lamina.layers.symbolic import KerasTensor, Node


def keras_layer_order(outputs: list[KerasTensor], inputs: list[KerasTensor]) -> list[Any]:
    """The layers between `inputs` and `outputs` in Keras's order."""
    input_ids = {id(t) for t in inputs}
    first_seen: dict[int, int] = {}
    layers: dict[int, Any] = {}
    finished: set[int] = set()
    post_order: list[Node] = []

    def walk(tensor: KerasTensor) -> None:
        node = tensor.node
        if id(node) in finished:
            return
        layers.setdefault(id(node.layer), node.layer)
        first_seen.setdefault(id(node.layer), len(first_seen))
        if id(tensor) not in input_ids:
            for parent in node.parent_tensors:
                walk(parent)
        finished.add(id(node))
        post_order.append(node)

    for out in outputs:
        walk(out)
    node_depth: dict[int, int] = {}
    layer_depth: dict[int, int] = {}
    for node in reversed(post_order):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = depth
        node_depth[id(node)] = depth
        for parent in node.parent_tensors:
            node_depth[id(parent.node)] = max(depth + 1, node_depth.get(id(parent.node), 0))
    for t in inputs:  # an input no output depends on comes last, as in Keras
        layer = t.node.layer
        if id(layer) not in layer_depth:
            layers[id(layer)] = layer
            layer_depth[id(layer)] = 0
            first_seen[id(layer)] = -1
    ordered = sorted(layer_depth, key=lambda k: (-layer_depth[k], first_seen[k]))
    return [layers[k] for k in ordered]
