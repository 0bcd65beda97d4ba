"""`Pipeline`: layers applied one after the other, as one layer (Keras's preprocessing chain).

    augment = Pipeline([RandomFlip(), RandomRotation(0.1), Rescaling(1 / 255)])

Unlike a Sequential model it is a plain layer: usable inside a model or on its own,
handing each layer's training flag and mask on to the next, as Keras does. As in Keras,
a call that does not say `training` runs in training mode (augmentations apply); `fit`,
`evaluate` and `predict` say it, so `predict` runs it in inference mode. Its config
lists its layers as entries `{"class_name": ..., "config": ...}` rebuilt through the
registry only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

from lamina import registry
from lamina.layers.base import Layer
from lamina.layers.mask_utils import masks_of
from lamina.layers.symbolic import any_symbolic
from lamina.layers.wrapper import deserialize_nested, serialize_nested


@registry.register("layer", "Pipeline")
class Pipeline(Layer):
    """Calls each of `layers` on the previous one's output."""

    supports_masking = True

    def __init__(self, layers: Sequence[Layer], name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        layers = list(layers)
        bad = [type(layer).__name__ for layer in layers if not isinstance(layer, Layer)]
        if bad:
            raise ValueError(
                f"Layer '{self.name}' (Pipeline) expected a list of lamina layers, "
                f"received: layers of types {bad}"
            )
        self.pipeline_layers = nn.ModuleList(layers)

    @property
    def layers(self) -> list[Layer]:
        return list(self.pipeline_layers)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("training") is None and not (args and any_symbolic(args[0])):
            kwargs["training"] = True  # Keras's Pipeline.call(training=True) default
        return super().__call__(*args, **kwargs)

    def build(self, input_shape: Any) -> None:
        shape = input_shape
        for layer in self.pipeline_layers:
            layer._build_device = getattr(self, "_build_device", None)
            layer._maybe_build(shape)
            shape = layer.compute_output_shape(shape)

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        outputs = inputs
        for layer in self.pipeline_layers:
            kwargs: dict[str, Any] = {"training": training}
            if mask is not None:
                kwargs["mask"] = mask
            outputs = layer(outputs, **kwargs)
            mask = masks_of(outputs)
        return outputs

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return None  # the last layer's own mask stays on the outputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = input_shape
        for layer in self.pipeline_layers:
            shape = layer.compute_output_shape(shape)
        return shape

    def get_config(self) -> dict[str, Any]:
        return {
            "layers": [serialize_nested(layer) for layer in self.pipeline_layers],
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Pipeline:
        config = dict(config)
        entries = config.get("layers")
        if not isinstance(entries, (list, tuple)):
            raise ValueError(
                "Expected a Pipeline config with a list of layer entries under 'layers', "
                f"received: layers={entries!r}"
            )
        owner = f"Layer '{config.get('name', '?')}' (Pipeline)"
        config["layers"] = [deserialize_nested(e, owner, custom_objects) for e in entries]
        return cls(**config)
