"""ConvNeXt's two custom layers, as Keras's `keras.src.applications.convnext` defines them.

`LayerScale` multiplies a residual branch by a learned per-channel scale that starts
small (Touvron et al., 2021), so deep stacks of blocks start near the identity.
`StochasticDepth` drops a residual branch for a whole sample while training (Huang et
al., 2016; timm's DropPath): each sample keeps it with probability `1 - drop_path_rate`,
scaled by `1 / (1 - drop_path_rate)` so its expectation is unchanged.

The class names are Keras's, so a Keras `.weights.h5` finds its groups (`layer_scale`,
`layer_scale_1`, ...) and a Keras model config rebuilds them.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import initializers, registry
from lamina.layers.base import Layer


def _error(layer: Layer, expected: str, **received: Any) -> ValueError:
    got = ", ".join(f"{k}={v!r}" for k, v in received.items())
    return ValueError(
        f"Layer '{layer.name}' ({type(layer).__name__}) expected {expected}, received: {got}"
    )


@registry.register("layer", "LayerScale")
class LayerScale(Layer):
    """x * gamma, with gamma of shape (projection_dim,) starting at `init_values`."""

    def __init__(self, init_values: float, projection_dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(init_values, bool) or not isinstance(init_values, (int, float)):
            raise _error(self, "a number for init_values", init_values=init_values)
        if isinstance(projection_dim, bool) or not isinstance(projection_dim, int):
            raise _error(self, "a positive int for projection_dim", projection_dim=projection_dim)
        if projection_dim <= 0:
            raise _error(self, "a positive int for projection_dim", projection_dim=projection_dim)
        self.init_values = init_values
        self.projection_dim = projection_dim

    def build(self, input_shape: tuple) -> None:
        self.gamma = self.add_weight(
            shape=(self.projection_dim,),
            initializer=initializers.Constant(self.init_values),
            trainable=True,
        )

    def call(self, x: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        return x * self.gamma

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "init_values": self.init_values,
            "projection_dim": self.projection_dim,
        }


@registry.register("layer", "StochasticDepth")
class StochasticDepth(Layer):
    """While training, keep each sample's input with probability 1 - drop_path_rate
    (scaled by its inverse) or zero it entirely; the identity at inference."""

    supports_masking = True

    def __init__(self, drop_path_rate: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        rate = drop_path_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise _error(self, "a drop_path_rate in [0, 1)", drop_path_rate=drop_path_rate)
        self.drop_path_rate = drop_path_rate

    def call(self, x: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if not training:
            return x
        keep_prob = 1.0 - self.drop_path_rate
        shape = (x.shape[0],) + (1,) * (x.dim() - 1)
        # floor(keep_prob + U[0, 1)) is 1 with probability keep_prob (Keras's formula).
        keep = torch.floor(keep_prob + torch.rand(shape, dtype=x.dtype, device=x.device))
        return x / keep_prob * keep

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "drop_path_rate": self.drop_path_rate}
