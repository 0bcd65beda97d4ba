"""`UnitNormalization`: scale each sample to unit L2 norm over `axis` (Keras's epsilon 1e-12)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from lamina import registry
from lamina.layers.base import Layer

_EPSILON = 1e-12  # Keras: x * min(rsqrt(sum(x**2)), 1 / 1e-12)


@registry.register("layer", "UnitNormalization")
class UnitNormalization(Layer):
    """x / max(||x||_2, 1e-12) over `axis` (an int or a list of ints)."""

    supports_masking = True

    def __init__(self, axis: int | Sequence[int] = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)) and all(
            isinstance(a, int) and not isinstance(a, bool) for a in axis
        ):
            self.axis: int | list[int] = list(axis)
        elif isinstance(axis, int) and not isinstance(axis, bool):
            self.axis = axis
        else:
            raise TypeError(
                f"Layer '{self.name}' (UnitNormalization) expected an int or a list of ints "
                f"for axis, received: axis={axis!r}"
            )
        self.built = True

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if isinstance(self.axis, int):
            return F.normalize(inputs, p=2.0, dim=self.axis, eps=_EPSILON)
        norm = torch.linalg.vector_norm(inputs, ord=2, dim=tuple(self.axis), keepdim=True)
        return inputs / norm.clamp_min(_EPSILON)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        rank = len(input_shape)
        for a in [self.axis] if isinstance(self.axis, int) else self.axis:
            if not -rank <= a < rank:
                raise ValueError(
                    f"Layer '{self.name}' (UnitNormalization) expected axes within the input's "
                    f"rank {rank}, received: axis={self.axis!r}"
                )
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}
