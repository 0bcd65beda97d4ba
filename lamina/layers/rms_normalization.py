"""`RMSNormalization`: x * rsqrt(mean(x**2) + epsilon) * scale over `axis` (Zhang & Sennrich).

A trainable `scale` of the normalized axes' sizes (ones); `F.rms_norm` when the axes are
the trailing ones, as Keras's torch backend runs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from lamina import registry
from lamina.layers.base import Layer


@registry.register("layer", "RMSNormalization")
class RMSNormalization(Layer):
    """Root-mean-square normalization over `axis` (an int or a list), with a learned scale."""

    def __init__(
        self, axis: int | Sequence[int] = -1, epsilon: float = 1e-6, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)) and axis and all(isinstance(a, int) for a in axis):
            self.axis: int | list[int] = list(axis)
        elif isinstance(axis, int) and not isinstance(axis, bool):
            self.axis = axis
        else:
            raise ValueError(
                f"Layer '{self.name}' (RMSNormalization) expected an int or a list of ints "
                f"for axis, received: axis={axis!r}"
            )
        self.epsilon = float(epsilon)

    def _axes(self, rank: int) -> list[int]:
        axes = [self.axis] if isinstance(self.axis, int) else list(self.axis)
        if any(not -rank <= a < rank for a in axes):
            raise ValueError(
                f"Layer '{self.name}' (RMSNormalization) expected axes within the input's rank "
                f"{rank}, received: axis={self.axis!r}"
            )
        return sorted(a % rank for a in axes)

    def build(self, input_shape: tuple) -> None:
        rank = len(input_shape)
        self._norm_axes = self._axes(rank)
        shape = tuple(input_shape[a] for a in self._norm_axes)
        if any(s is None for s in shape):
            raise ValueError(
                f"Layer '{self.name}' (RMSNormalization) expected known sizes on axis "
                f"{self.axis!r}, received: input_shape={tuple(input_shape)}"
            )
        self._trailing = self._norm_axes == list(range(rank - len(shape), rank))
        # the scale broadcast against the input when the axes are not the trailing ones
        self._view = tuple(input_shape[d] if d in self._norm_axes else 1 for d in range(rank))
        self.scale = self.add_weight("scale", shape, "ones")

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if self._trailing:
            shape = tuple(inputs.shape[a] for a in self._norm_axes)
            return F.rms_norm(inputs, shape, self.scale, self.epsilon)
        mean_square = inputs.square().mean(dim=self._norm_axes, keepdim=True)
        return inputs * torch.rsqrt(mean_square + self.epsilon) * self.scale.reshape(self._view)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        self._axes(len(input_shape))
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}
