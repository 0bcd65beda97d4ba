"""Activation layers (ReLU, LeakyReLU, ELU, PReLU, Softmax) and the learnable Maxout.

Defaults are Keras 3's: LeakyReLU's negative_slope is 0.3 (Keras 2's `alpha=`
spelling is accepted too). Softmax returns its input unchanged when the
training engine asks the output layer for logits (`_emit_logits`), so the loss
can use the fused, numerically stable log-softmax.

    Conv2D(32, 3), LeakyReLU(negative_slope=0.1)
    Maxout(64, num_pieces=3)     # Goodfellow et al., 2013
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from lamina import constraints, initializers, registry, regularizers
from lamina.layers.base import Layer
from lamina.layers.input_spec import InputSpec


def _error(layer: Layer, expected: str, **received: Any) -> ValueError:
    got = ", ".join(f"{k}={v!r}" for k, v in received.items())
    return ValueError(
        f"Layer '{layer.name}' ({type(layer).__name__}) expected {expected}, received: {got}"
    )


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Elementwise(Layer):
    supports_masking = True  # element-wise: the input's mask is the output's

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)


@registry.register("layer", "ReLU")
class ReLU(_Elementwise):
    """max_value if x >= max_value; x if threshold <= x; negative_slope * (x - threshold) otherwise."""

    def __init__(
        self,
        max_value: float | None = None,
        negative_slope: float = 0.0,
        threshold: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if max_value is not None and (not _number(max_value) or max_value < 0):
            raise _error(self, "max_value None or a number >= 0", max_value=max_value)
        if not _number(negative_slope) or negative_slope < 0:
            raise _error(self, "a negative_slope >= 0", negative_slope=negative_slope)
        if not _number(threshold) or threshold < 0:
            raise _error(self, "a threshold >= 0", threshold=threshold)
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope = float(negative_slope)
        self.threshold = float(threshold)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        t, slope = self.threshold, self.negative_slope
        if t == 0.0 and slope == 0.0 and self.max_value is not None:
            return F.hardtanh(inputs, 0.0, self.max_value)  # ReLU6: one pass, not two
        if t == 0.0 and slope == 0.0:
            out = F.relu(inputs)
        elif t == 0.0:
            out = F.leaky_relu(inputs, slope)
        else:
            out = torch.where(inputs >= t, inputs, slope * (inputs - t))
        if self.max_value is not None:
            out = out.clamp_max(self.max_value)
        return out

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "max_value": self.max_value,
            "negative_slope": self.negative_slope,
            "threshold": self.threshold,
        }


@registry.register("layer", "LeakyReLU")
class LeakyReLU(_Elementwise):
    """x for x >= 0, negative_slope * x otherwise (Keras 3 default slope 0.3)."""

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any) -> None:
        if "alpha" in kwargs:  # Keras 2 spelling
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        if not _number(negative_slope) or negative_slope < 0:
            raise _error(self, "a negative_slope >= 0", negative_slope=negative_slope)
        self.negative_slope = float(negative_slope)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(inputs, self.negative_slope)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "negative_slope": self.negative_slope}


@registry.register("layer", "ELU")
class ELU(_Elementwise):
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""

    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not _number(alpha):
            raise _error(self, "a number alpha", alpha=alpha)
        self.alpha = float(alpha)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.elu(inputs, self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha}


@registry.register("layer", "PReLU")
class PReLU(_Elementwise):
    """Leaky ReLU with a learned slope per unit: max(0, x) + alpha * min(0, x).

    `shared_axes` (1-indexed, batch excluded) share one slope along those axes,
    e.g. shared_axes=[1, 2] gives one slope per channel of NHWC feature maps.
    """

    def __init__(
        self,
        alpha_initializer: Any = "zeros",
        alpha_regularizer: Any = None,
        alpha_constraint: Any = None,
        shared_axes: int | Sequence[int] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if shared_axes is not None:
            shared_axes = [shared_axes] if isinstance(shared_axes, int) else list(shared_axes)
            if not all(isinstance(a, int) and a >= 1 for a in shared_axes):
                raise _error(
                    self,
                    "shared_axes of ints >= 1 (the batch axis 0 is excluded)",
                    shared_axes=shared_axes,
                )
        self.shared_axes = shared_axes
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = alpha_constraint
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape: tuple) -> None:
        shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            if axis >= len(input_shape):
                raise _error(
                    self,
                    f"shared_axes within 1..{len(input_shape) - 1}",
                    shared_axes=self.shared_axes,
                )
            shape[axis - 1] = 1
        if any(s is None for s in shape):
            raise _error(self, "known sizes on non-shared axes", input_shape=tuple(input_shape))
        self.alpha = self.add_weight(
            "alpha",
            tuple(shape),
            self.alpha_initializer,
            self.alpha_regularizer,
            self.alpha_constraint,
        )
        axes = {
            i: s for i, s in enumerate(input_shape) if i and (i not in (self.shared_axes or []))
        }
        self.input_spec = InputSpec(ndim=len(input_shape), axes=axes)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.relu(inputs) - self.alpha * F.relu(-inputs)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": constraints.serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        }


@registry.register("layer", "Softmax")
class Softmax(_Elementwise):
    """exp(x) / sum(exp(x)) along `axis` (an int or a list of ints)."""

    def __init__(self, axis: int | Sequence[int] = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(axis, int) and not (
            isinstance(axis, Sequence) and axis and all(isinstance(a, int) for a in axis)
        ):
            raise _error(self, "an int or a list of ints for axis", axis=axis)
        self.axis = axis if isinstance(axis, int) else list(axis)

    def call(self, inputs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is not None:
            return self._masked(inputs, mask)
        if self._emit_logits:  # the loss applies a fused log-softmax
            return inputs
        if isinstance(self.axis, int):
            return torch.softmax(inputs, dim=self.axis)
        return torch.exp(inputs - torch.logsumexp(inputs, dim=self.axis, keepdim=True))

    def _masked(self, inputs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Keras's masked softmax: masked entries get no probability (0 in the output).

        A mask that broadcasts against the inputs from the right (an attention mask) is
        used as Keras uses it; a mask of the leading axes ((batch, time) on (batch, time,
        classes), which Keras refuses) masks whole steps."""
        if mask.dtype != torch.bool:
            mask = mask > 0.5
        fits = mask.dim() <= inputs.dim() and all(
            m in (1, i) for m, i in zip(reversed(mask.shape), reversed(inputs.shape))
        )
        if not fits and tuple(mask.shape) == tuple(inputs.shape[: mask.dim()]):
            mask = mask.reshape(*mask.shape, *([1] * (inputs.dim() - mask.dim())))
        elif not fits:
            raise _error(
                self,
                "a mask that broadcasts against the inputs",
                mask_shape=tuple(mask.shape),
                input_shape=tuple(inputs.shape),
            )
        low = -3e4 if inputs.dtype == torch.float16 else -1e9  # Keras's large negatives
        x = torch.where(mask, inputs, low)
        if self._emit_logits:  # the loss applies a fused log-softmax (masked steps: no loss)
            return x
        if isinstance(self.axis, int):
            out = torch.softmax(x, dim=self.axis)
        else:
            out = torch.exp(x - torch.logsumexp(x, dim=self.axis, keepdim=True))
        return torch.where(mask, out, 0.0)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


@registry.register("layer", "Maxout")
class Maxout(Layer):
    """Maxout units (Goodfellow et al., 2013): max over `num_pieces` affine maps per unit.

    A Dense layer with `units * num_pieces` outputs whose column `u * num_pieces + p`
    is piece p of unit u; the output is the maximum over each unit's pieces, a
    learned convex piecewise-linear activation.
    """

    def __init__(
        self,
        units: int,
        num_pieces: int = 2,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise _error(self, "a positive integer for units", units=units)
        if not isinstance(num_pieces, int) or isinstance(num_pieces, bool) or num_pieces <= 0:
            raise _error(self, "a positive integer for num_pieces", num_pieces=num_pieces)
        self.units = units
        self.num_pieces = num_pieces
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = kernel_constraint
        self.bias_constraint = bias_constraint
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape: tuple) -> None:
        in_dim = input_shape[-1]
        if in_dim is None:
            raise _error(self, "a known last dimension", input_shape=tuple(input_shape))
        width = self.units * self.num_pieces
        self.kernel = self.add_weight(
            "kernel",
            (in_dim, width),
            self.kernel_initializer,
            self.kernel_regularizer,
            self.kernel_constraint,
            torch_layout=(1, 0),
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                "bias", (width,), self.bias_initializer, self.bias_regularizer, self.bias_constraint
            )
        self.input_spec = InputSpec(min_ndim=2, axes={-1: in_dim})

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        z = F.linear(inputs, self.kernel, self.bias)
        return z.unflatten(-1, (self.units, self.num_pieces)).amax(dim=-1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape[:-1], self.units)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "num_pieces": self.num_pieces,
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }
