"""`Model`: a Layer with training (compile/fit/evaluate/predict) and summary.

Three ways to build one, as in Keras:

    model = Sequential([Dense(10, activation="softmax", input_shape=(784,))])
    model = Model(inputs, outputs)           # functional: returns a Functional
    class Net(Model):                        # subclassing, like torch.nn.Module
        def __init__(self):
            super().__init__()
            self.dense = Dense(10)
        def call(self, x):
            return self.dense(x)

A model is an `nn.Module`, so PyTorch code can use it directly.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import numpy as np
import torch

from lamina import registry
from lamina.layers.base import Layer
from lamina.layers.symbolic import KerasTensor
from lamina.models.training import Trainer
from lamina.tree import flatten, map_structure


class Model(Trainer, Layer):
    """Base class of all models; `Model(inputs, outputs)` builds a functional one."""

    autocast = False  # each layer casts its own inputs; a model passes them through
    # from_config reads the keys it knows: a Keras config's others pass through (keras_config)
    _from_config_reads_known_keys = True

    def __new__(cls, *args: Any, **kwargs: Any) -> Model:
        if cls is Model and _looks_functional(args, kwargs):
            return super().__new__(registry.get("layer", "Functional"))
        if cls is not Model and _inputs_and_outputs(args, kwargs):
            functional = registry.get("layer", "Functional")
            if not issubclass(cls, functional):
                _base_on_functional(cls, functional)
        return super().__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if type(self) is Model and (args or "inputs" in kwargs):
            raise TypeError(
                "Expected Model(inputs, outputs) with symbolic tensors from lamina.Input, "
                f"received: args={args!r}"
            )
        Layer.__init__(self, **kwargs)
        Trainer.__init__(self)

    @property
    def layers(self) -> list[Layer]:
        """The model's direct sublayers, in the order they were assigned."""
        return self._sublayers()

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by name or index, as in Keras."""
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(
                    f"Expected a layer index below {len(layers)}, received: index={index}"
                )
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(
            f"Expected the name of a layer of model '{self.name}' "
            f"({', '.join(la.name for la in layers)}), received: name={name!r}"
        )

    def build(self, input_shape: Any) -> None:
        """Subclassed models build by running once on zeros of `input_shape`."""
        if self.built:
            return
        shapes = input_shape
        x = map_structure(
            lambda s: torch.zeros(tuple(1 if d is None else d for d in s)),
            shapes,
            is_leaf=lambda s: (
                isinstance(s, tuple) and all(d is None or isinstance(d, int) for d in s)
            ),
        )
        self.built = True  # so the call below does not recurse into build
        with torch.no_grad():
            self(x, training=False)
        self._build_input_shape = input_shape

    def _convert_input(self, x: Any) -> Any:
        """As for any layer, but arrays of strings stay NumPy: the model's text layer
        (TextVectorization, StringLookup) reads them on the host."""
        if isinstance(x, np.ndarray) and x.dtype.kind in "USO":
            return x
        return super()._convert_input(x)

    def _maybe_build(self, input_shape: Any) -> None:
        # Called just before the first forward pass, which builds the sublayers itself.
        if not self.built:
            self._build_input_shape = input_shape
            self.built = True

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        raise NotImplementedError(
            f"Model '{self.name}' ({type(self).__name__}) must define call(inputs) when subclassing"
        )

    def _defines_call(self) -> bool:
        """False for a subclass without `call` (a GAN that only overrides train_step)."""
        return type(self).call is not Model.call

    def _output_layers(self) -> list[Layer | None]:
        """The layer producing each output, when the structure says (Sequential, Functional)."""
        return [None]

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Model:
        """Rebuild a model from `get_config()`, with new weights.

        `Model.from_config` reads a functional config (Keras 3's layout) or a Sequential
        one; a subclassed model is rebuilt by its own class as `cls(**config)`.
        """
        if cls is not Model:
            return _subclass_from_config(cls, config)
        if isinstance(config, dict) and "input_layers" in config:
            return registry.get("layer", "Functional").from_config(config, custom_objects)
        if isinstance(config, dict) and "layers" in config:
            return registry.get("layer", "Sequential").from_config(config, custom_objects)
        keys = sorted(config) if isinstance(config, dict) else type(config).__name__
        raise ValueError(
            "Model.from_config expected a functional config ('layers', 'input_layers', "
            "'output_layers') or a Sequential one ('layers'); a subclassed model is rebuilt "
            f"by its own class, MyModel.from_config(config), received: keys={keys}"
        )

    def to_json(self, **kwargs: Any) -> str:
        """The architecture as JSON, `{"class_name", "config"}`; `model_from_json` reads it."""
        from lamina.saving.serialization import serialize_layer

        return json.dumps(serialize_layer(self), **kwargs)

    def save(self, filepath: Any, overwrite: bool = True, **kwargs: Any) -> None:
        """Save the whole model; the name picks the format: `.lamina`, `.keras` or `.h5`.

        Writes are atomic: a crash mid-save leaves the previous file intact.
        """
        from lamina.saving.api import save_model

        save_model(self, filepath, overwrite=overwrite, **kwargs)

    def export(
        self,
        filepath: Any,
        format: str | None = None,
        verbose: bool | None = None,
        input_signature: Any = None,
        **kwargs: Any,
    ) -> str:
        """Write the inference call as `format='onnx'` or `'torch'` (a torch.export `.pt2`
        program); None picks by the suffix. The file runs without Lamina; the batch axis
        stays dynamic. See `lamina.models.export`."""
        from lamina.models.export import export_model

        return export_model(self, filepath, format, verbose, input_signature, **kwargs)

    def save_weights(self, filepath: Any, overwrite: bool = True, **kwargs: Any) -> None:
        """Save the weights only: `.weights.h5` / `.h5` (Keras's layouts) or `.safetensors`."""
        from lamina.saving.api import save_weights

        if kwargs.get("save_format") not in (None, "h5", "safetensors"):
            raise ValueError(
                "Expected save_format None, 'h5' or 'safetensors', received: "
                f"save_format={kwargs['save_format']!r}"
            )
        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath: Any, skip_mismatch: bool = False, **kwargs: Any) -> Any:
        """Load weights written by Lamina, Keras (`.weights.h5`, `.h5`, `.keras`) or PyTorch
        (a `state_dict`, read with `weights_only=True`); returns the names skipped."""
        from lamina.saving.api import load_weights

        if kwargs.get("by_name"):
            raise ValueError(
                "Expected by_name=False (tf.keras's by_name loading is not supported), "
                "received: by_name=True; use skip_mismatch=True to skip layers that differ"
            )
        return load_weights(self, filepath, skip_mismatch=skip_mismatch)

    def summary(
        self,
        line_length: int | None = None,
        positions: Any = None,
        print_fn: Any = None,
        expand_nested: bool = False,
        show_trainable: bool = False,
        layer_range: Any = None,
    ) -> None:
        """Print each layer's output shape and parameter count, with totals (Keras's format
        and arguments; see `summary.print_summary`)."""
        from lamina.models.summary import print_summary

        print_summary(
            self,
            line_length=line_length,
            positions=positions,
            print_fn=print_fn,
            expand_nested=expand_nested,
            show_trainable=show_trainable,
            layer_range=layer_range,
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} built={self.built}>"


def _subclass_from_config(cls: type, config: dict[str, Any]) -> Model:
    """`cls(**config)`; a subclass whose `__init__` takes no `name`, `trainable` or
    `dtype` (Keras's bare `def __init__(self)`) gets those set after construction."""
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return cls(**config)
    base = {k: config[k] for k in ("name", "trainable", "dtype") if k in config}
    rest = {k: v for k, v in config.items() if k in params or k not in base}
    model = cls(**rest)
    if "name" in base and "name" not in params:
        model.name = base["name"]
    if "trainable" in base and "trainable" not in params:
        model.trainable = base["trainable"]
    return model


def _base_on_functional(cls: type, functional: type) -> type:
    """Keras's rule for `CustomModel(inputs, outputs)`: a Model subclass called with
    symbolic tensors is a functional model, so `Model` among its bases becomes
    `Functional` (the subclass keeps its own train_step, metrics, ...). Returns the class."""
    if cls is Model:
        return functional
    if cls is object or not issubclass(cls, Model) or issubclass(cls, functional):
        return cls
    cls.__bases__ = tuple(_base_on_functional(base, functional) for base in cls.__bases__)
    return cls


def _symbolic(value: Any) -> bool:
    return isinstance(value, KerasTensor) or (
        value is not None and any(isinstance(t, KerasTensor) for t in flatten(value))
    )


def _inputs_and_outputs(args: tuple, kwargs: dict) -> bool:
    """Keras's functional signature: symbolic `inputs` and `outputs`, by position or name."""
    inputs = args[0] if args else kwargs.get("inputs")
    outputs = args[1] if len(args) > 1 else kwargs.get("outputs")
    return _symbolic(inputs) and _symbolic(outputs)


def _looks_functional(args: tuple, kwargs: dict) -> bool:
    candidates = list(args[:2]) + [kwargs.get("inputs"), kwargs.get("outputs")]
    return any(_symbolic(c) for c in candidates)
