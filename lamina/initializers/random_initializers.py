"""Random initializers with Keras's names, defaults and fan rule: RandomNormal,
TruncatedNormal, RandomUniform, VarianceScaling and its Glorot/He/LeCun family, Orthogonal.

A seed is an int (the same values every call), a `lamina.random.SeedGenerator` (new
values each call, reproducibly) or None (torch's global generator).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from lamina import registry
from lamina.initializers.base import Initializer, _fans, check_seed, generator, seed_config
from lamina.random.dtypes import to_torch_dtype


@registry.register("initializer", "RandomNormal", "random_normal", "normal")
class RandomNormal(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: Any = None):
        self.mean, self.stddev, self.seed = mean, stddev, check_seed(seed)

    def _generator(self) -> torch.Generator | None:
        return generator(self.seed)

    def __call__(self, shape, dtype=None):
        out = torch.empty(shape, dtype=torch.float64)
        out.normal_(self.mean, self.stddev, generator=self._generator())
        return out.to(to_torch_dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": seed_config(self.seed)}


@registry.register("initializer", "TruncatedNormal", "truncated_normal")
class TruncatedNormal(RandomNormal):
    """Normal values redrawn outside two standard deviations, as Keras does.

    Redrawing (about 5% of the values per round) is much faster on CPU than the
    inverse-CDF sampling of `torch.nn.init.trunc_normal_`, and gives the same distribution.
    """

    def __call__(self, shape, dtype=None):
        generator = self._generator()
        out = torch.empty(shape, dtype=torch.float64)
        out.normal_(self.mean, self.stddev, generator=generator)
        flat = out.view(-1)
        outside = ((flat - self.mean).abs() > 2 * self.stddev).nonzero().squeeze(1)
        while outside.numel():
            redraw = torch.empty(outside.numel(), dtype=torch.float64)
            redraw.normal_(self.mean, self.stddev, generator=generator)
            flat[outside] = redraw
            outside = outside[(redraw - self.mean).abs() > 2 * self.stddev]
        return out.to(to_torch_dtype(dtype))


@registry.register("initializer", "RandomUniform", "random_uniform", "uniform")
class RandomUniform(Initializer):
    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: Any = None):
        self.minval, self.maxval, self.seed = minval, maxval, check_seed(seed)

    def __call__(self, shape, dtype=None):
        gen = generator(self.seed)
        out = torch.empty(shape, dtype=torch.float64).uniform_(
            self.minval, self.maxval, generator=gen
        )
        return out.to(to_torch_dtype(dtype))

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": seed_config(self.seed)}


@registry.register("initializer", "VarianceScaling", "variance_scaling")
class VarianceScaling(Initializer):
    """Draws with variance `scale / n`, n the fan chosen by `mode` (Keras's rule).

    'truncated_normal' (also spelled 'normal', as in Keras) redraws values beyond two
    standard deviations and widens the normal so the variance stays `scale / n`;
    'uniform' draws from [-sqrt(3 scale / n), sqrt(3 scale / n)].
    """

    def __init__(
        self,
        scale: float = 1.0,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
        seed: Any = None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ):
        if not scale > 0.0:
            raise ValueError(f"Expected a positive scale, received: scale={scale!r}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"Expected mode in fan_in/fan_out/fan_avg, received: mode={mode!r}")
        distribution = str(distribution).lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(
                "Expected distribution in truncated_normal/untruncated_normal/uniform, "
                f"received: distribution={distribution!r}"
            )
        self.scale, self.mode, self.distribution = scale, mode, distribution
        self.seed = check_seed(seed)
        self.input_axes, self.output_axes = input_axes, output_axes

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = _fans(tuple(shape), self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        var = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * var)
            return RandomUniform(-limit, limit, self.seed)(shape, dtype)
        if self.distribution == "untruncated_normal":
            return RandomNormal(0.0, math.sqrt(var), self.seed)(shape, dtype)
        # 0.879... is the stddev of a unit normal truncated at +-2.
        return TruncatedNormal(0.0, math.sqrt(var) / 0.87962566103423978, self.seed)(shape, dtype)

    def get_config(self):
        return {
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "seed": seed_config(self.seed),
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
        }


class _FixedScaling(VarianceScaling):
    """A named VarianceScaling whose scale, mode and distribution are fixed by its class:
    its config is only the seed and the fan axes."""

    def get_config(self):
        return {
            "seed": seed_config(self.seed),
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
        }


@registry.register("initializer", "GlorotUniform", "glorot_uniform")
class GlorotUniform(_FixedScaling):
    """Glorot (Xavier) uniform: limit sqrt(6 / (fan_in + fan_out)); Keras's default kernel."""

    def __init__(
        self,
        seed: Any = None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ):
        super().__init__(1.0, "fan_avg", "uniform", seed, input_axes, output_axes)


@registry.register("initializer", "GlorotNormal", "glorot_normal")
class GlorotNormal(_FixedScaling):
    """Glorot (Xavier) truncated normal: variance 2 / (fan_in + fan_out)."""

    def __init__(
        self,
        seed: Any = None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed, input_axes, output_axes)


@registry.register("initializer", "HeNormal", "he_normal")
class HeNormal(_FixedScaling):
    """He truncated normal: variance 2 / fan_in, for ReLU layers."""

    def __init__(
        self,
        seed: Any = None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ):
        super().__init__(2.0, "fan_in", "truncated_normal", seed, input_axes, output_axes)


@registry.register("initializer", "HeUniform", "he_uniform")
class HeUniform(_FixedScaling):
    """He uniform: limit sqrt(6 / fan_in), for ReLU layers."""

    def __init__(
        self,
        seed: Any = None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ):
        super().__init__(2.0, "fan_in", "uniform", seed, input_axes, output_axes)


@registry.register("initializer", "LecunNormal", "lecun_normal")
class LecunNormal(_FixedScaling):
    """LeCun truncated normal: variance 1 / fan_in, for SELU layers."""

    def __init__(
        self,
        seed: Any = None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ):
        super().__init__(1.0, "fan_in", "truncated_normal", seed, input_axes, output_axes)


@registry.register("initializer", "LecunUniform", "lecun_uniform")
class LecunUniform(_FixedScaling):
    """LeCun uniform: limit sqrt(3 / fan_in)."""

    def __init__(
        self,
        seed: Any = None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ):
        super().__init__(1.0, "fan_in", "uniform", seed, input_axes, output_axes)


@registry.register("initializer", "Orthogonal", "orthogonal", "OrthogonalInitializer")
class Orthogonal(Initializer):
    """`gain` times a random orthogonal matrix: the Q of a normal matrix's QR decomposition,
    signs fixed by R's diagonal; shapes of rank > 2 are flattened to (prod(shape[:-1]), last)."""

    def __init__(self, gain: float = 1.0, seed: Any = None):
        self.gain, self.seed = gain, check_seed(seed)

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        if len(shape) < 2:
            raise ValueError(
                "Expected a shape of rank 2 or more for Orthogonal, received: "
                f"shape={shape} of rank {len(shape)}"
            )
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = torch.randn(
            max(rows, cols), min(rows, cols), generator=generator(self.seed), dtype=torch.float64
        )
        q, r = torch.linalg.qr(a)
        q = q * torch.sign(torch.diagonal(r))
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape).to(to_torch_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain, "seed": seed_config(self.seed)}
