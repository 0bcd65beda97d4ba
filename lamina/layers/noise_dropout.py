"""SpatialDropout3D and AlphaDropout: dropout variants that act only when training.

SpatialDropout3D drops whole channels of NDHWC volumes (one keep/drop decision
per sample and channel). AlphaDropout keeps the mean and variance of SELU
activations: a dropped unit is set to SELU's negative saturation
-alpha * scale, then the result is mapped by a * x + b with
a = ((1 - rate) * (1 + rate * alpha_p ** 2)) ** -0.5 and b = -a * alpha_p * rate
(Klambauer et al., 2017; Keras's formula).

    Dense(64, activation="selu", kernel_initializer="lecun_normal"), AlphaDropout(0.1)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from lamina import registry
from lamina.layers.regularization import Dropout, _SpatialDropout, uniform_keep

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


@registry.register("layer", "SpatialDropout3D")
class SpatialDropout3D(_SpatialDropout):
    """Drop entire channels of NDHWC feature volumes."""

    rank = 3


@registry.register("layer", "AlphaDropout")
class AlphaDropout(Dropout):
    """Dropout that keeps SELU's self-normalising mean and variance (see the module doc)."""

    def __init__(
        self,
        rate: float,
        noise_shape: Sequence[int | None] | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(rate, noise_shape=noise_shape, seed=seed, **kwargs)

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if not training or self.rate == 0.0:
            return inputs
        shape = tuple(inputs.shape) if self.noise_shape is None else self._resolve(inputs.shape)
        if torch.compiler.is_compiling():
            keep = torch.rand(shape, dtype=inputs.dtype, device=inputs.device) >= self.rate
        else:
            keep = uniform_keep(shape, self.rate, inputs.device, self._gen(inputs.device))
        rate = self.rate
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        a = ((1.0 - rate) * (1.0 + rate * alpha_p**2)) ** -0.5
        b = -a * alpha_p * rate
        return torch.where(keep, inputs, alpha_p) * a + b
