"""Core layers: Input, Dense, Activation.

Dense stores its kernel in Keras's (in, out) layout: `x @ kernel` then runs the weight
gradient as `x.T @ grad`, already in the kernel's layout, which MKL computes faster than
PyTorch's `grad.T @ x` for `F.linear`'s (out, in) kernel (docs/design.md).

    x = Input(shape=(784,))
    y = Dense(10, activation="softmax")(x)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from lamina import activations, constraints, initializers, registry, regularizers
from lamina.layers.base import Layer
from lamina.layers.dtypes import dtype_name
from lamina.layers.input_spec import InputSpec
from lamina.layers.symbolic import KerasTensor


@registry.register("layer", "InputLayer")
class InputLayer(Layer):
    """The source of a functional graph; holds the input shape and dtype (a float, or an
    integer/boolean one for token ids, class indices and masks, or "string": raw text,
    which stays Python strings for a TextVectorization or StringLookup to read)."""

    def __init__(
        self,
        shape: Sequence[int | None] | None = None,
        batch_size: int | None = None,
        name: str | None = None,
        dtype: Any = None,
        **kwargs: Any,
    ):
        if shape is None:
            shape = kwargs.pop("input_shape", None)
        if shape is None:
            raise ValueError("Expected a shape for Input, received: shape=None")
        text = isinstance(dtype, str) and dtype in ("string", "str")
        super().__init__(name=name or None, dtype=None if text else dtype, **kwargs)
        self.shape = tuple(None if s is None else int(s) for s in shape)
        self.batch_size = batch_size
        self.built = True
        kind = "string" if text else dtype_name(self._dtype)
        self.dtype_name = "string" if text else self.dtype_name
        self.output = KerasTensor((batch_size, *self.shape), kind, node=None)
        self._output_shape = self.output.shape

    def call(self, inputs: Any) -> Any:
        return inputs

    def get_config(self) -> dict[str, Any]:
        return {
            "shape": list(self.shape),
            "batch_size": self.batch_size,
            "name": self.name,
            "dtype": self.dtype_name,
        }


def Input(
    shape: Sequence[int | None] | None = None,
    batch_size: int | None = None,
    name: str | None = None,
    dtype: Any = None,
    **kwargs: Any,
) -> KerasTensor:
    """A symbolic input of `shape` (no batch dim), the start of a functional model."""
    layer = InputLayer(shape=shape, batch_size=batch_size, name=name, dtype=dtype, **kwargs)
    from lamina.layers.symbolic import Node

    node = Node(layer, inputs=[])
    layer.output.node = node
    node.outputs = layer.output
    layer._inbound_nodes.append(node)
    return layer.output


@registry.register("layer", "Dense")
class Dense(Layer):
    """Fully connected layer: activation(x @ kernel + bias) over the last axis."""

    supports_masking = True  # a (batch, time) mask passes on to the (batch, time, units) output

    def __init__(
        self,
        units: int,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(
                f"Layer '{self.name}' (Dense) expected a positive integer for units, "
                f"received: units={units!r}"
            )
        self.units = units
        self.activation = activations.get(activation, layer=self)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = kernel_constraint
        self.bias_constraint = bias_constraint
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape: tuple) -> None:
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ValueError(
                f"Layer '{self.name}' (Dense) expected a known last dimension, "
                f"received: input_shape={tuple(input_shape)}"
            )
        self.kernel = self.add_weight(
            "kernel",
            (in_dim, self.units),
            self.kernel_initializer,
            self.kernel_regularizer,
            self.kernel_constraint,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                "bias",
                (self.units,),
                self.bias_initializer,
                self.bias_regularizer,
                self.bias_constraint,
            )
        else:
            self.bias = None
        self.input_spec = InputSpec(min_ndim=2, axes={-1: in_dim})

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        out = self._activate(self._project(inputs))
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(out) / out.shape[0])  # per sample, as Keras
        return out

    def _project(self, inputs: torch.Tensor) -> torch.Tensor:
        """inputs @ kernel + bias over the last axis: one `addmm` over all leading axes."""
        if self.bias is not None and inputs.is_contiguous():
            flat = torch.addmm(self.bias, inputs.reshape(-1, inputs.shape[-1]), self.kernel)
            return flat.view(*inputs.shape[:-1], self.units)
        out = torch.matmul(inputs, self.kernel)
        return out if self.bias is None else out + self.bias

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape[:-1], self.units)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


@registry.register("layer", "Activation")
class Activation(Layer):
    """Applies an activation by name or callable: Activation('softmax')."""

    supports_masking = True

    def __init__(self, activation: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self.activation = activations.get(activation, layer=self)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return self._activate(inputs)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}
