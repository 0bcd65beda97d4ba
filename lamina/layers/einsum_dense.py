"""`EinsumDense`: a dense layer whose product is any einsum equation (Keras's layer).

    EinsumDense("abc,cd->abd", output_shape=(None, 64), bias_axes="d")   # (b, t, c) -> (b, t, 64)

The equation has three parts "input,kernel->output" of letters, with an optional
ellipsis at the start of the input and output ("...b,bc->...c") or at their end
("ab...,bc->ac..."). `output_shape` lists the output's sizes without the batch axis
(None where the input gives it). The kernel's shape is read from the equation: each
kernel letter takes its size from the output (if there) or else from the input. The
bias covers the output letters from the first of `bias_axes` on, size 1 on the others.
Weights keep Keras's layout, so `torch.einsum` runs the equation as written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import torch

from lamina import activations, constraints, initializers, registry, regularizers
from lamina.layers.base import Layer
from lamina.layers.input_spec import InputSpec

_PLAIN = re.compile(r"^([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)$")
_LEFT = re.compile(r"^\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)$")
_RIGHT = re.compile(r"^([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]+)\.\.\.$")


class EinsumShapes:
    """The kernel, bias and output shapes one equation gives for one input shape, and the
    kernel's input and output axes (for the initializer's fans)."""

    def __init__(
        self,
        equation: str,
        bias_axes: str | None,
        input_shape: Sequence[int | None],
        output_shape: Sequence[int | None],
    ) -> None:
        left = False
        match = _PLAIN.match(equation)
        if match is None:
            match = _LEFT.match(equation)
            left = match is not None
        if match is None:
            match = _RIGHT.match(equation)
        if match is None:
            raise ValueError(
                "Expected an einsum equation of the form 'X,Y->Z', '...X,Y->...Z' or "
                f"'X...,Y->Z...', received: equation={equation!r}"
            )
        in_spec, w_spec, out_spec = match.groups()
        input_shape = list(input_shape)
        elided = len(input_shape) - len(in_spec)
        full = [input_shape[0], *output_shape]
        if elided > 0 and left:
            full[1:1] = input_shape[1:elided]
        elif elided > 0:
            full += input_shape[len(input_shape) - elided :]
        offset = elided if left else 0
        in_pos = {d: i + offset for i, d in enumerate(in_spec)}
        out_pos = {d: i + offset for i, d in enumerate(out_spec)}
        for d in in_spec:
            size = full[out_pos[d]] if d in out_pos else None
            if size is not None and size != input_shape[in_pos[d]]:
                raise ValueError(
                    f"Expected equal input and output sizes on the shared axis {d!r} of "
                    f"{equation!r}, received: input_size={input_shape[in_pos[d]]}, "
                    f"output_size={size}"
                )
        for d in out_spec:
            if d not in in_spec and d not in w_spec:
                raise ValueError(
                    f"Expected every output axis of {equation!r} in the input or the kernel, "
                    f"received: axis={d!r}"
                )
        kernel, in_axes, out_axes = [], [], []
        for i, d in enumerate(w_spec):
            if d in out_pos:
                kernel.append(full[out_pos[d]])
                out_axes.append(i)
            elif d in in_pos:
                kernel.append(input_shape[in_pos[d]])
                in_axes.append(i)
            else:
                raise ValueError(
                    f"Expected every kernel axis of {equation!r} in the input or the output, "
                    f"received: axis={d!r}"
                )
        bias = None
        if bias_axes is not None:
            for d in bias_axes:
                if d not in out_spec:
                    raise ValueError(
                        f"Expected bias_axes among the output axes {out_spec!r}, "
                        f"received: bias_axes={bias_axes!r}"
                    )
            start = min(out_spec.index(d) for d in bias_axes)
            bias = [full[out_pos[d]] if d in bias_axes else 1 for d in out_spec[start:]]
            if not left:
                bias += [1] * max(elided, 0)
        self.kernel_shape = tuple(kernel)
        self.bias_shape = None if bias is None else tuple(bias)
        self.output_shape = tuple(full)
        self.input_axes = in_axes
        self.output_axes = out_axes


@registry.register("layer", "EinsumDense")
class EinsumDense(Layer):
    """activation(einsum(equation, inputs, kernel) + bias)."""

    def __init__(
        self,
        equation: str,
        output_shape: int | Sequence[int | None],
        activation: Any = None,
        bias_axes: str | None = None,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(equation, str):
            raise ValueError(
                f"Layer '{self.name}' (EinsumDense) expected an equation string, "
                f"received: equation={equation!r}"
            )
        self.equation = equation
        if isinstance(output_shape, int):
            self.partial_output_shape: tuple[int | None, ...] = (output_shape,)
        else:
            self.partial_output_shape = tuple(output_shape)
        self.bias_axes = bias_axes
        self.activation = activations.get(activation, layer=self)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = kernel_constraint
        self.bias_constraint = bias_constraint

    def _shapes(self, input_shape: Sequence[int | None]) -> EinsumShapes:
        try:
            return EinsumShapes(
                self.equation, self.bias_axes, tuple(input_shape), self.partial_output_shape
            )
        except ValueError as err:
            raise ValueError(f"Layer '{self.name}' (EinsumDense): {err}") from None

    def build(self, input_shape: tuple) -> None:
        shapes = self._shapes(input_shape)
        self.input_spec = InputSpec(ndim=len(input_shape))
        init = self.kernel_initializer
        if isinstance(init, initializers.VarianceScaling) and (
            init.input_axes is None or init.output_axes is None
        ):  # Keras's fans: the kernel's input axes and output axes, not its last two
            init = type(init).from_config(
                {
                    **init.get_config(),
                    "input_axes": shapes.input_axes,
                    "output_axes": shapes.output_axes,
                }
            )
        self.kernel = self.add_weight(
            "kernel", shapes.kernel_shape, init, self.kernel_regularizer, self.kernel_constraint
        )
        self.bias = None
        if shapes.bias_shape is not None:
            self.bias = self.add_weight(
                "bias",
                shapes.bias_shape,
                self.bias_initializer,
                self.bias_regularizer,
                self.bias_constraint,
            )

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        out = torch.einsum(self.equation, inputs, self.kernel)
        if self.bias is not None:
            out = out + self.bias
        out = self._activate(out)
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(out) / out.shape[0])
        return out

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return self._shapes(input_shape).output_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "output_shape": list(self.partial_output_shape),
            "equation": self.equation,
            "activation": activations.serialize(self.activation),
            "bias_axes": self.bias_axes,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }
