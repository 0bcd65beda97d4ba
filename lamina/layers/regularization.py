"""Regularization layers: Dropout, SpatialDropout, GaussianNoise, GaussianDropout, ActivityRegularization.

The noise layers act only when called with training=True (as `fit` does) and
are the identity otherwise. Dropout keeps each unit with probability
`1 - rate` and scales the kept ones by `1 / (1 - rate)`, so the expected
activation is unchanged and inference needs no rescaling.

    Dense(128, activation="relu"), Dropout(0.5), Dense(10)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from lamina import registry, regularizers
from lamina.layers.base import Layer
from lamina.layers.input_spec import InputSpec


def _error(layer: Layer, expected: str, **received: Any) -> ValueError:
    got = ", ".join(f"{k}={v!r}" for k, v in received.items())
    return ValueError(
        f"Layer '{layer.name}' ({type(layer).__name__}) expected {expected}, received: {got}"
    )


def _check_rate(layer: Layer, rate: Any) -> float:
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
        raise _error(layer, "a rate (fraction of units to drop) in [0, 1)", rate=rate)
    return float(rate)


_BITS_DTYPES = {8: torch.uint8, 16: torch.int16, 32: torch.int32}


def keep_bits(rate: float) -> int:
    """The fewest bits (8, 16 or 32) whose uniform integers represent `rate` exactly."""
    for bits in (8, 16):
        if (rate * 2**bits).is_integer():
            return bits
    return 32


def uniform_keep(
    shape: tuple[int, ...],
    rate: float,
    device: torch.device,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """A bool tensor of `shape`, True with probability `1 - rate` (exact to 2**-bits).

    >>> uniform_keep((4, 3), 0.25, torch.device("cpu")).shape
    torch.Size([4, 3])
    """
    bits = keep_bits(rate)
    count = math.prod(shape)
    words = torch.empty((count * bits + 63) // 64, dtype=torch.int64, device=device)
    words.random_(-(2**63), None, generator=generator)  # every bit uniform
    values = words.view(_BITS_DTYPES[bits])[:count].view(shape)
    offset = 0 if bits == 8 else 2 ** (bits - 1)  # int16/int32 are signed
    return values >= round(rate * 2**bits) - offset


class _Noise(Layer):
    """Owns an optional seeded generator, so `seed=` makes the noise reproducible."""

    supports_masking = True  # element-wise noise: the input's mask is the output's

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise _error(self, "an integer seed or None", seed=seed)
        self.seed = seed
        self._generator: torch.Generator | None = None

    def _gen(self, device: torch.device) -> torch.Generator | None:
        """The layer's own generator; None (torch's global one) inside a compiled step,
        where Inductor draws the numbers in its fused kernels and takes no generator."""
        if self.seed is None or torch.compiler.is_compiling():
            return None
        if self._generator is None or self._generator.device != device:
            self._generator = torch.Generator(device=device).manual_seed(self.seed)
        return self._generator

    def _keep_mask(self, x: torch.Tensor, shape: Sequence[int], rate: float) -> torch.Tensor:
        """Bernoulli(1 - rate) mask of `shape`, already scaled by 1 / (1 - rate).

        Each unit compares a uniform integer of the fewest bits that represent `rate`
        exactly (8 for 0.25 or 0.5, 16, else 32, rounded to 2**-32) with `rate * 2**bits`.
        The integers come from 64-bit draws split into bytes: on the CPU the generator's
        cost is per draw, so 0.25's mask takes an eighth of the draws of one int32 per
        unit, and beats both that and `bernoulli_` (docs/design.md). A compiled step draws
        floats instead (`random_` does not trace; Inductor fuses `rand` into the mask).
        """
        if torch.compiler.is_compiling():
            keep = torch.rand(tuple(shape), dtype=x.dtype, device=x.device) >= rate
            return keep.to(x.dtype) * (1.0 / (1.0 - rate))
        return (
            uniform_keep(tuple(shape), rate, x.device, self._gen(x.device))
            .to(x.dtype)
            .mul_(1.0 / (1.0 - rate))
        )

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)


@registry.register("layer", "Dropout")
class Dropout(_Noise):
    """Zero a fraction `rate` of inputs during training; scale the rest by 1/(1-rate).

    `noise_shape` (batch dims included, None = the input's size) shares one
    keep/drop decision along axes of size 1, e.g. (None, 1, C) drops whole features.
    """

    def __init__(
        self,
        rate: float,
        noise_shape: Sequence[int | None] | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(seed=seed, **kwargs)
        self.rate = _check_rate(self, rate)
        if noise_shape is not None:
            if isinstance(noise_shape, (str, bytes)) or not all(
                d is None or (isinstance(d, int) and d > 0) for d in noise_shape
            ):
                raise _error(
                    self, "noise_shape a tuple of positive ints or None", noise_shape=noise_shape
                )
            noise_shape = tuple(noise_shape)
        self.noise_shape = noise_shape

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if not training or self.rate == 0.0:
            return inputs
        shape = inputs.shape if self.noise_shape is None else self._resolve(inputs.shape)
        return inputs * self._keep_mask(inputs, shape, self.rate)

    def _resolve(self, shape: torch.Size) -> tuple[int, ...]:
        if len(self.noise_shape) != len(shape):
            raise _error(
                self,
                f"noise_shape of rank {len(shape)} to match the input",
                noise_shape=self.noise_shape,
            )
        return tuple(s if d is None else d for d, s in zip(self.noise_shape, shape))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "rate": self.rate,
            "noise_shape": self.noise_shape,
            "seed": self.seed,
        }


class _SpatialDropout(Dropout):
    """Dropout of whole feature maps: one decision per (sample, channel)."""

    rank = 2

    def __init__(
        self, rate: float, data_format: str | None = None, seed: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(rate, seed=seed, **kwargs)
        if data_format not in (None, "channels_last"):
            raise _error(
                self,
                "data_format='channels_last' (Lamina images are NHWC)",
                data_format=data_format,
            )
        self.data_format = "channels_last"
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if not training or self.rate == 0.0:
            return inputs
        shape = (inputs.shape[0], *([1] * self.rank), inputs.shape[-1])
        return inputs * self._keep_mask(inputs, shape, self.rate)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("noise_shape")
        return {**config, "data_format": self.data_format}


@registry.register("layer", "SpatialDropout2D")
class SpatialDropout2D(_SpatialDropout):
    """Drop entire channels of NHWC feature maps (neighbouring pixels are correlated)."""

    rank = 2


@registry.register("layer", "SpatialDropout1D")
class SpatialDropout1D(_SpatialDropout):
    """Drop entire channels of NWC sequences."""

    rank = 1

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(rate, seed=seed, **kwargs)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("data_format")
        return config


@registry.register("layer", "GaussianNoise")
class GaussianNoise(_Noise):
    """Add zero-mean Gaussian noise of standard deviation `stddev` during training."""

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, (int, float)) or stddev < 0:
            raise _error(self, "a non-negative stddev", stddev=stddev)
        self.stddev = float(stddev)

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if not training or self.stddev == 0.0:
            return inputs
        noise = torch.empty_like(inputs).normal_(
            0.0, self.stddev, generator=self._gen(inputs.device)
        )
        return inputs + noise

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


@registry.register("layer", "GaussianDropout")
class GaussianDropout(_Noise):
    """Multiply by Gaussian noise of mean 1 and stddev sqrt(rate / (1 - rate)) during training."""

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.rate = _check_rate(self, rate)

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if not training or self.rate == 0.0:
            return inputs
        std = math.sqrt(self.rate / (1.0 - self.rate))
        noise = torch.empty_like(inputs).normal_(1.0, std, generator=self._gen(inputs.device))
        return inputs * noise

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@registry.register("layer", "ActivityRegularization")
class ActivityRegularization(Layer):
    """Identity that adds (l1 * sum|x| + l2 * sum x^2) / batch_size to the loss."""

    supports_masking = True

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        try:
            self.regularizer = regularizers.L1L2(l1=l1, l2=l2)
        except (TypeError, ValueError) as err:
            raise _error(self, "non-negative l1 and l2 factors", l1=l1, l2=l2) from err
        self.l1, self.l2 = self.regularizer.l1, self.regularizer.l2

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        self.add_loss(self.regularizer(inputs) / inputs.shape[0])
        return inputs

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}
