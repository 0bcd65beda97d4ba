"""`TorchModuleWrapper`: any `torch.nn.Module` as a Lamina layer.

    layer = TorchModuleWrapper(torch.nn.Linear(4, 3))
    model = Sequential([Input((4,)), layer, Dense(1)])

The module's parameters and persistent buffers are the layer's weights (in the
module's `parameters()` / `state_dict` order and torch's layouts), so optimizers,
`get_weights`, `count_params` and `summary()` see them. A call runs the module in
training mode when training, in eval mode otherwise. Saving never pickles the module:
the config names its class, and `from_config` takes the module (or a function making
it) from `custom_objects`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from lamina import registry
from lamina.layers.base import Layer


def _class_path(module: nn.Module) -> str:
    cls = type(module)
    return f"{cls.__module__}.{cls.__qualname__}"


@registry.register("layer", "TorchModuleWrapper")
class TorchModuleWrapper(Layer):
    """Runs `module(*args, **kwargs)`; `output_shape` (with the batch axis) spares the
    shape inference on zeros where that can't work."""

    autocast = False  # the module decides what it does with its inputs' dtypes

    def __init__(
        self,
        module: nn.Module,
        name: str | None = None,
        output_shape: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        if not isinstance(module, nn.Module):
            raise TypeError(
                f"Layer '{self.name}' (TorchModuleWrapper) expected a torch.nn.Module, "
                f"received: module={module!r} (type {type(module).__name__})"
            )
        if isinstance(module, nn.modules.lazy.LazyModuleMixin) and (
            module.has_uninitialized_params()
        ):
            raise ValueError(
                f"Layer '{self.name}' (TorchModuleWrapper) expected a module with initialized "
                f"parameters, received: an uninitialized lazy module {type(module).__name__}"
            )
        self.module = module
        self.declared_output_shape = None if output_shape is None else tuple(output_shape)
        self.built = True

    def call(self, *args: Any, training: bool | None = None, **kwargs: Any) -> Any:
        self.module.train(bool(training))
        return self.module(*args, **kwargs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self.declared_output_shape is not None:
            return self.declared_output_shape
        return super().compute_output_shape(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "module": _class_path(self.module),
            "output_shape": None
            if self.declared_output_shape is None
            else list(self.declared_output_shape),
        }

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None
    ) -> TorchModuleWrapper:
        config = dict(config)
        if isinstance(config.get("dtype"), dict):  # Keras 3's DTypePolicy entry
            config["dtype"] = (config["dtype"].get("config") or {}).get("name")
        name = str(config.get("name") or "torch_module_wrapper")
        stored = config.get("module")
        custom = custom_objects or {}
        found: Any = None
        if isinstance(stored, str):
            found = custom.get(stored) or custom.get(stored.rsplit(".", 1)[-1])
        found = found if found is not None else custom.get(name)
        if isinstance(found, Callable) and not isinstance(found, nn.Module):
            found = found()
        if not isinstance(found, nn.Module):
            what = (
                "a pickled module (Keras's base64 torch.save), never unpickled"
                if (isinstance(stored, str) and "." not in stored)
                else f"the module {stored!r}"
            )
            raise ValueError(
                f"Layer '{name}' (TorchModuleWrapper) names {what}. Expected the module, or a "
                "function making it, in custom_objects under its class name or the layer's "
                f"name, received: none under {name!r}"
            )
        config["module"] = found
        return cls(**config)
