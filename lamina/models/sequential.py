"""`Sequential`: a plain stack of layers, each feeding the next.

    model = Sequential()
    model.add(Dense(64, activation="relu", input_shape=(784,)))
    model.add(Dense(10, activation="softmax"))

When the input shape is known (`input_shape=` on the first layer, or an
`Input`), each layer is built as it is added, so a wrong shape fails at once
with the layer's name, and `summary()` works before training.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lamina import registry
from lamina.layers.base import Layer
from lamina.layers.core import InputLayer
from lamina.layers.mask_utils import MASK_ATTR
from lamina.layers.symbolic import KerasTensor, Node, is_shape, source_tensor
from lamina.models import conv_bn_folding
from lamina.models.functional import note_owner
from lamina.models.model import Model
from lamina.saving.serialization import deserialize_layer, serialize_layer
from lamina.tree import flatten


@registry.register("layer", "Sequential")
class Sequential(Model):
    """A linear stack of layers.

    Once the input shape is known, the model holds a symbolic graph as Keras 3 does: an
    `InputLayer` (not in `layers`) and one call of each layer on the previous output, so
    `model.inputs`, `model.outputs` and every `layer.output` exist and
    `Model(model.inputs, model.layers[i].output)` extracts feature maps.

    Masks (Embedding(mask_zero=True), Masking) pass from layer to layer as in Keras. Whether
    any layer makes one is known from the graph, so a stack without masks runs its plain
    loop, with no per-layer mask work.
    """

    _masks_from_graph = True

    def __init__(
        self,
        layers: list[Any] | None = None,
        name: str | None = None,
        trainable: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._stack = nn.ModuleList()
        self._input_shape: tuple | None = None
        self._shape_now: tuple | None = None
        # The graph: kept out of the module tree (the InputLayer holds no weights and is
        # not one of `layers`); `_graph_nodes` are the calls this model made, removed
        # from their layers when the graph is rebuilt, so no layer collects stale nodes.
        self.__dict__["_input_layer"] = None
        self._graph_nodes: list[Node] = []
        self._output_tensor: KerasTensor | None = None
        self._mask_flow = False  # some layer makes a mask (from the graph; see call)
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self) -> list[Layer]:
        return list(self._stack)

    def add(self, layer: Any) -> None:
        """Append a layer (or an `Input`, which fixes the input shape)."""
        if isinstance(layer, KerasTensor) and layer.node is not None:
            layer = layer.node.layer
        if isinstance(layer, InputLayer):
            self.__dict__["_input_layer"] = layer
            self._set_input_shape(source_tensor(layer).shape)
            return
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Sequential '{self.name}' expected a lamina Layer, received: "
                f"layer={layer!r} (type {type(layer).__name__}). Wrap torch modules in a Layer."
            )
        if not self._stack and self._input_shape is None:
            shape = _declared_input_shape(layer)
            if shape is not None:
                self._set_input_shape(shape)
        if self._output_tensor is not None:
            self._output_tensor = self._connect_layer(layer, self._output_tensor)
            self._shape_now = self._output_tensor.shape
            self.built = True
        elif layer._creates_mask or isinstance(layer, Model):
            self._mask_flow = True  # no graph yet to tell: the masked loop, to be safe
        self._stack.append(layer)

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self._stack:
            raise ValueError(f"Sequential '{self.name}' has no layers to pop, received: len=0")
        layer = self._stack[-1]
        del self._stack[-1]
        if self._input_shape is not None:
            self._connect()
        return layer

    def _set_input_shape(self, shape: tuple) -> None:
        self._input_shape = tuple(shape)
        # A first call inside predict's inference mode must not make inference-tensor
        # weights (set_weights and training could not update them afterwards).
        with torch.inference_mode(False):
            self._connect()

    def _connect(self) -> None:
        """(Re)build the symbolic graph: the input tensor, then each layer called once."""
        self._disconnect()
        inp = self._input_layer
        if inp is None or tuple(source_tensor(inp).shape) != self._input_shape:
            inp = InputLayer(shape=self._input_shape[1:], batch_size=self._input_shape[0])
            self.__dict__["_input_layer"] = inp
        note_owner(inp, self.name)
        x = source_tensor(inp)
        self._mask_flow = False
        for layer in self._stack:
            x = self._connect_layer(layer, x)
        self._output_tensor = x
        self._shape_now = x.shape

    def _connect_layer(self, layer: Layer, x: KerasTensor) -> KerasTensor:
        """Call `layer` on `x` symbolically (building it), remembering the node made."""
        out = layer(x)
        self._graph_nodes.append(layer._inbound_nodes[-1])
        if not isinstance(out, KerasTensor):
            raise ValueError(
                f"Sequential '{self.name}' expected layers with one output, received: "
                f"layer '{layer.name}' ({type(layer).__name__}) returned {len(flatten(out))}"
            )
        if getattr(out, MASK_ATTR, None) is not None:
            self._mask_flow = True
        return out

    def _disconnect(self) -> None:
        for node in self._graph_nodes:
            nodes = node.layer._inbound_nodes
            for i, n in enumerate(nodes):
                if n is node:
                    del nodes[i]
                    break
        self._graph_nodes = []
        self._output_tensor = None

    def build(self, input_shape: Any = None) -> None:
        """Build every layer for `input_shape` (batch dim included)."""
        if input_shape is None:
            input_shape = self._input_shape
        if input_shape is None:
            raise ValueError(
                f"Sequential '{self.name}' expected an input shape to build, received: "
                "input_shape=None. Give the first layer input_shape=... or call build((None, ...))."
            )
        if self._input_shape is None or tuple(input_shape) != self._input_shape:
            self._set_input_shape(tuple(input_shape))
        self._build_input_shape = self._input_shape
        self.built = True

    def _output_layers(self) -> list[Layer | None]:
        """The last layer, or a nested Sequential's (the engine's logits shortcut reads it)."""
        layers = self.layers
        if not layers:
            return [None]
        last = layers[-1]
        return last._output_layers() if isinstance(last, Sequential) else [last]

    def _maybe_build(self, input_shape: Any) -> None:
        if self._input_shape is None and is_shape(input_shape):
            self._set_input_shape(tuple(input_shape))
        self.built = True

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        if mask is not None or self._mask_flow:
            return self._call_masked(inputs, training, mask)
        folded = conv_bn_folding.sequential_call(self, inputs, training)  # inference only
        if folded is not None:
            return folded
        x = inputs
        for layer in self._stack:
            # after the first batch, a tensor of the checked shape skips the per-call checks
            if isinstance(x, torch.Tensor) and layer.built:
                x = layer.call_fast(x, training)
            else:
                x = layer(x, training=training)
        return x

    def _call_masked(self, x: Any, training: bool | None, mask: Any) -> Any:
        """The loop with masks: each layer gets the mask the previous one left (Keras's
        Sequential), through its full call, which hands the mask on or drops it."""
        for layer in self._stack:
            if mask is not None:
                x = layer(x, training=training, mask=mask)
            else:
                x = layer(x, training=training)
            mask = getattr(x, MASK_ATTR, None) if isinstance(x, torch.Tensor) else None
        return x

    def _graph_output_masks(self) -> Any:
        return getattr(self._output_tensor, MASK_ATTR, None)

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = input_shape
        for layer in self._stack:
            shape = layer.compute_output_shape(shape)
        return shape

    # ------------------------------------------------------------- the graph
    def _graph(self, what: str) -> KerasTensor:
        if self._output_tensor is None:
            raise ValueError(
                f"Sequential '{self.name}' has no {what} yet. Expected a known input shape "
                "(input_shape= on the first layer, a first lamina.Input(...), build((None, ...)), "
                "or a first call or fit), received: input_shape=None"
            )
        return self._output_tensor if what == "outputs" else source_tensor(self._input_layer)

    @property
    def inputs(self) -> list[KerasTensor]:
        """The model's input tensor, in a list (Keras's `model.inputs`)."""
        return [self._graph("inputs")]

    @property
    def outputs(self) -> list[KerasTensor]:
        """The last layer's output tensor, in a list (Keras's `model.outputs`)."""
        return [self._graph("outputs")]

    @property
    def input(self) -> Any:
        """The input of this model's call in an outer graph, else its own input tensor."""
        return super().input if self._inbound_nodes else self._graph("inputs")

    @property
    def output(self) -> Any:
        """The output of this model's call in an outer graph, else its own output tensor."""
        return super().output if self._inbound_nodes else self._graph("outputs")

    @property
    def input_shape(self) -> tuple | None:
        return self._input_shape

    @property
    def output_shape(self) -> Any:
        if self._output_tensor is not None:
            return self._output_tensor.shape
        return super().output_shape

    def get_config(self) -> dict[str, Any]:
        """Keras 3's layout: the InputLayer (once the input is known), then each layer."""
        entries = [serialize_layer(la) for la in self._stack]
        if self._input_layer is not None and self._output_tensor is not None:
            entries.insert(0, serialize_layer(self._input_layer))
        return {
            "name": self.name,
            "trainable": self.trainable,
            "layers": entries,
            "build_input_shape": list(self._input_shape) if self._input_shape else None,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Sequential:
        """Rebuild from `get_config()` (Lamina's or Keras 3's), with new weights."""
        if not isinstance(config, dict) or "layers" not in config:
            raise ValueError(
                "Expected a Sequential config with 'layers', received: "
                f"keys={sorted(config) if isinstance(config, dict) else config!r}"
            )
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for entry in config["layers"]:
            model.add(deserialize_layer(entry, custom_objects))
        shape = config.get("build_input_shape")
        if shape and model._input_shape is None:
            model.build(tuple(shape))
        return model


def _declared_input_shape(layer: Layer) -> tuple | None:
    """The input shape a first layer fixes: its `input_shape=`, or a model's own input."""
    if layer._input_shape_arg is not None:
        return (None, *layer._input_shape_arg)
    if isinstance(layer, Sequential):
        return layer._input_shape
    inputs = getattr(layer, "inputs", None) if isinstance(layer, Model) else None
    if isinstance(inputs, list) and len(inputs) == 1 and isinstance(inputs[0], KerasTensor):
        return tuple(inputs[0].shape)
    return None
