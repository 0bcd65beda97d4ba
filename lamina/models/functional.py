"""Functional models: a graph of layers called on symbolic `Input` tensors.

    inputs = Input(shape=(784,))
    h = Dense(64, activation="relu")(inputs)
    outputs = Dense(10, activation="softmax")(h)
    model = Model(inputs, outputs)

Several inputs and outputs are given as lists (or dicts); the graph is found by
walking back from the outputs, and run in topological order.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lamina import registry
from lamina.layers.base import Layer
from lamina.layers.core import InputLayer
from lamina.layers.dtypes import EXACT_DTYPES
from lamina.layers.mask_utils import get_mask, set_mask
from lamina.layers.symbolic import KerasTensor, Node
from lamina.models import inference_graph
from lamina.models.functional_config import functional_config, functional_from_config
from lamina.models.graph_order import keras_layer_order
from lamina.models.model import Model
from lamina.tree import flatten, map_structure


@registry.register("layer", "Functional")
class Functional(Model):
    """A model defined by its input and output symbolic tensors.

    Masks flow along the graph on the tensors themselves (Keras's `_keras_mask`): each
    layer's call reads its inputs' masks and sets its outputs'.
    """

    _masks_from_graph = True

    # Keras's configs number a nested functional model's calls from 1 in input_layers and
    # output_layers (its own graph counts as a first node there).
    _config_node_offset = 1

    def __init__(
        self, inputs: Any, outputs: Any, name: str | None = None, trainable: bool = True, **kw: Any
    ) -> None:
        super().__init__(name=name, trainable=trainable, **kw)
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self.inputs = flatten(inputs)
        self.outputs = flatten(outputs)
        for t in self.inputs + self.outputs:
            if not isinstance(t, KerasTensor):
                raise TypeError(
                    f"Model '{self.name}' expected symbolic tensors (from lamina.Input and layer "
                    f"calls), received: {type(t).__name__}"
                )
        for t in self.inputs:
            if not isinstance(t.node.layer, InputLayer):
                raise ValueError(
                    f"Model '{self.name}' expected inputs made by lamina.Input(...), received: "
                    f"a tensor from layer '{t.node.layer.name}'"
                )
        self._nodes = _topological_nodes(self.outputs, self.inputs, self.name)
        for t in self.inputs:
            note_owner(t.node.layer, self.name)
        ordered: list[Layer] = keras_layer_order(self.outputs, self.inputs)
        seen: dict[str, Layer] = {}
        for layer in ordered:
            if seen.setdefault(layer.name, layer) is not layer:
                raise ValueError(
                    f"Model '{self.name}' expected unique layer names (its config and "
                    f"get_layer find layers by name), received: name={layer.name!r} for 2 layers"
                )
        self._graph_layers = nn.ModuleList(ordered)
        self.built = True
        self._build_input_shape = map_structure(lambda t: t.shape, inputs)

    @property
    def layers(self) -> list[Layer]:
        return list(self._graph_layers)

    # Keras 3: a functional model's `input` / `output` are its own graph's, as given.
    @property
    def input(self) -> Any:
        return self._inputs_struct

    @property
    def output(self) -> Any:
        return self._outputs_struct

    @property
    def input_shape(self) -> Any:
        return _unpack([t.shape for t in self.inputs])

    @property
    def output_shape(self) -> Any:
        return _unpack([t.shape for t in self.outputs])

    @property
    def input_names(self) -> list[str]:
        return [t.node.layer.name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [t.node.layer.name for t in self.outputs]

    def _output_layers(self) -> list[Layer | None]:
        """The layer that produces each output (the engine's logits shortcut reads it)."""
        return [t.node.layer for t in self.outputs]

    def _maybe_build(self, input_shape: Any) -> None:
        self.built = True

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        if isinstance(inputs, dict):
            missing = [n for n in self.input_names if n not in inputs]
            if missing:
                raise ValueError(
                    f"Model '{self.name}' expected inputs named {self.input_names}, "
                    f"received: keys={sorted(inputs)}"
                )
            flat = [inputs[n] for n in self.input_names]
        else:
            flat = flatten(inputs)
        if len(flat) != len(self.inputs):
            raise ValueError(
                f"Model '{self.name}' expected {len(self.inputs)} input(s), "
                f"received: {len(flat)} input(s)"
            )
        values: dict[int, Any] = {id(k): _as_input_dtype(k, v) for k, v in zip(self.inputs, flat)}
        if mask is not None:
            _mask_inputs(self.inputs, values, flatten(mask))

        def fetch(t: Any) -> Any:
            return values[id(t)] if isinstance(t, KerasTensor) else t

        # inference: Conv+BN chains folded, intermediates dropped after their last use
        run = inference_graph.graph_run(self, training)
        for node in self._nodes:
            if run is not None and run.handles(node, values):
                continue
            args = map_structure(fetch, node.inputs)
            extra = map_structure(fetch, node.args)
            kwargs = map_structure(fetch, node.kwargs)
            # As in Keras, the model's training flag overrides one recorded in the call.
            if training is not None or "training" not in kwargs:
                kwargs["training"] = training
            out = node.layer(args, *extra, **kwargs)
            for k, v in zip(flatten(node.outputs), flatten(out)):
                values[id(k)] = v
            if run is not None:
                run.release(node, values)
        return map_structure(fetch, self._outputs_struct)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return map_structure(lambda t: t.shape, self._outputs_struct)

    def _graph_output_masks(self) -> Any:
        return [get_mask(t) for t in self.outputs]

    def get_config(self) -> dict[str, Any]:
        """Keras 3's layout: `layers` with `inbound_nodes`, `input_layers`, `output_layers`."""
        return functional_config(self)

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Functional:
        """Rebuild from `get_config()` (Lamina's or Keras 3's), with new weights."""
        return functional_from_config(cls, config, custom_objects)


def note_owner(input_layer: Layer, model_name: str) -> None:
    """Remember which models an InputLayer feeds, for the disconnected-graph error."""
    names = input_layer.__dict__.setdefault("_model_names", [])
    if model_name not in names:
        names.append(model_name)


def _unpack(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else values


def _topological_nodes(
    outputs: list[KerasTensor], inputs: list[KerasTensor], name: str
) -> list[Node]:
    """The nodes between inputs and outputs, each after the nodes it depends on."""
    order: list[Node] = []
    state: dict[int, int] = {}  # 1 = visiting, 2 = done
    input_ids = {id(t) for t in inputs}

    def visit(tensor: KerasTensor) -> None:
        node = tensor.node
        if node is None:
            raise ValueError(f"Model '{name}' expected a connected graph, received: {tensor!r}")
        if id(tensor) in input_ids:
            return
        if isinstance(node.layer, InputLayer):
            owners = node.layer.__dict__.get("_model_names", [])
            hint = (
                f" Input '{node.layer.name}' is the input of model '{owners[0]}': to read its "
                f"layers' outputs, build from its inputs, e.g. Model({owners[0]}.inputs, "
                f"{owners[0]}.get_layer(...).output)."
                if owners
                else ""
            )
            raise ValueError(
                f"Model '{name}' expected outputs computed from `inputs`, received: outputs "
                f"not connected to `inputs`: they depend on Input '{node.layer.name}' with "
                f"shape {tensor.shape}, which is not one of them.{hint}"
            )
        if state.get(id(node)) == 2:
            return
        if state.get(id(node)) == 1:
            raise ValueError(f"Model '{name}' expected an acyclic graph, received: a cycle")
        state[id(node)] = 1
        for parent in node.parent_tensors:
            visit(parent)
        state[id(node)] = 2
        order.append(node)

    for out in outputs:
        visit(out)
    return order


def _mask_inputs(inputs: list[KerasTensor], values: dict[int, Any], masks: list[Any]) -> None:
    """`model(x, mask=m)`: each input carries its mask into the graph, on an alias of the
    caller's tensor (whose own attributes stay untouched)."""
    for k, m in zip(inputs, masks):
        v = values[id(k)]
        if m is not None and isinstance(v, torch.Tensor) and get_mask(v) is not m:
            v = v.view_as(v)
            set_mask(v, m)
            values[id(k)] = v


def _as_input_dtype(spec: KerasTensor, value: Any) -> Any:
    """As in Keras, an integer or boolean `Input` converts what it receives to its dtype:
    float or uint8 arrays of token ids reach an id layer as the ids it declared."""
    target = EXACT_DTYPES.get(spec.dtype)
    if target is not None and isinstance(value, torch.Tensor) and value.dtype != target:
        return value.to(target)
    return value
