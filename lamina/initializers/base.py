"""The `Initializer` base class, Keras's fan rule and the seed an initializer draws with."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from lamina.random.seed_generator import SeedGenerator, torch_generator


def _fans(
    shape: tuple[int, ...],
    input_axes: Sequence[int] | None = None,
    output_axes: Sequence[int] | None = None,
) -> tuple[float, float]:
    """Keras's fan_in/fan_out: the last two dims are (in, out), the rest receptive field.

    With both `input_axes` and `output_axes` given, each fan is the product of those dims.
    """
    if input_axes is not None and output_axes is not None:
        return float(math.prod(shape[a] for a in input_axes)), float(
            math.prod(shape[a] for a in output_axes)
        )
    if len(shape) < 1:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    receptive = math.prod(shape[:-2])
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


def check_seed(seed: Any) -> Any:
    """An initializer's seed: an int, a `lamina.random.SeedGenerator` (or its config), or None."""
    if isinstance(seed, dict):
        return SeedGenerator.from_config(seed.get("config", seed))
    if seed is None or isinstance(seed, SeedGenerator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(
            f"Expected seed as an int, a SeedGenerator or None, received: seed={seed!r}"
        )
    return seed


def seed_config(seed: Any) -> Any:
    """The JSON-able form of a seed (a SeedGenerator as {'class_name', 'config'})."""
    if isinstance(seed, SeedGenerator):
        return {"class_name": "SeedGenerator", "config": seed.get_config()}
    return seed


def generator(seed: Any) -> torch.Generator | None:
    """The generator a seed draws from: a fresh one for an int or a SeedGenerator's next
    state (so an int seed gives the same values every call), torch's global one for None."""
    return torch_generator(seed)


class Initializer:
    """Base class: `__call__(shape, dtype=None) -> Tensor`; `get_config()` for saving."""

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        return cls(**config)

    def clone(self) -> Initializer:
        """A new initializer with the same config (as Keras's `Initializer.clone`)."""
        return self.__class__.from_config(self.get_config())
