"""Weight initializers with Keras's names, defaults and fan conventions.

An initializer is called with a Keras-layout shape (a Dense kernel is (in, out),
a Conv2D kernel (kh, kw, in, out)) and returns a tensor of that shape. Layers
permute it to PyTorch's layout afterwards, so fans match Keras exactly.

    init = get("he_normal")
    w = init((784, 128))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from lamina import registry
from lamina.config import torch_dtype


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


class Initializer:
    """Base class: `__call__(shape, dtype=None) -> Tensor`; `get_config()` for saving."""

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        return cls(**config)


@registry.register("initializer", "Zeros", "zeros")
class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return torch.zeros(shape, dtype=torch_dtype(dtype))


@registry.register("initializer", "Ones", "ones")
class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return torch.ones(shape, dtype=torch_dtype(dtype))


@registry.register("initializer", "Constant", "constant")
class Constant(Initializer):
    def __init__(self, value: float = 0.0):
        self.value = float(value)

    def __call__(self, shape, dtype=None):
        return torch.full(shape, self.value, dtype=torch_dtype(dtype))

    def get_config(self):
        return {"value": self.value}


@registry.register("initializer", "RandomNormal", "random_normal", "normal")
class RandomNormal(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def _generator(self) -> torch.Generator | None:
        return torch.Generator().manual_seed(self.seed) if self.seed is not None else None

    def __call__(self, shape, dtype=None):
        out = torch.empty(shape, dtype=torch.float64)
        out.normal_(self.mean, self.stddev, generator=self._generator())
        return out.to(torch_dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


@registry.register("initializer", "TruncatedNormal", "truncated_normal")
class TruncatedNormal(RandomNormal):
    """Normal values redrawn outside two standard deviations, as Keras does."""

    def __call__(self, shape, dtype=None):
        out = torch.empty(shape, dtype=torch.float64)
        torch.nn.init.trunc_normal_(
            out,
            self.mean,
            self.stddev,
            self.mean - 2 * self.stddev,
            self.mean + 2 * self.stddev,
            generator=self._generator(),
        )
        return out.to(torch_dtype(dtype))


@registry.register("initializer", "RandomUniform", "random_uniform", "uniform")
class RandomUniform(Initializer):
    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype=None):
        gen = torch.Generator().manual_seed(self.seed) if self.seed is not None else None
        out = torch.empty(shape, dtype=torch.float64).uniform_(
            self.minval, self.maxval, generator=gen
        )
        return out.to(torch_dtype(dtype))

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


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
        seed: int | None = None,
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
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed
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
            "seed": self.seed,
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
        }


class _FixedScaling(VarianceScaling):
    """A named VarianceScaling whose scale, mode and distribution are fixed by its class:
    its config is only the seed and the fan axes."""

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}


@registry.register("initializer", "GlorotUniform", "glorot_uniform")
class GlorotUniform(_FixedScaling):
    """Glorot (Xavier) uniform: limit sqrt(6 / (fan_in + fan_out)); Keras's default kernel."""

    def __init__(
        self,
        seed: int | None = None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ):
        super().__init__(1.0, "fan_avg", "uniform", seed, input_axes, output_axes)


@registry.register("initializer", "GlorotNormal", "glorot_normal")
class GlorotNormal(_FixedScaling):
    """Glorot (Xavier) truncated normal: variance 2 / (fan_in + fan_out)."""

    def __init__(
        self,
        seed: int | None = None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed, input_axes, output_axes)


@registry.register("initializer", "HeNormal", "he_normal")
class HeNormal(_FixedScaling):
    """He truncated normal: variance 2 / fan_in, for ReLU layers."""

    def __init__(
        self,
        seed: int | None = None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ):
        super().__init__(2.0, "fan_in", "truncated_normal", seed, input_axes, output_axes)


@registry.register("initializer", "HeUniform", "he_uniform")
class HeUniform(_FixedScaling):
    """He uniform: limit sqrt(6 / fan_in), for ReLU layers."""

    def __init__(
        self,
        seed: int | None = None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ):
        super().__init__(2.0, "fan_in", "uniform", seed, input_axes, output_axes)


@registry.register("initializer", "LecunNormal", "lecun_normal")
class LecunNormal(_FixedScaling):
    """LeCun truncated normal: variance 1 / fan_in, for SELU layers."""

    def __init__(
        self,
        seed: int | None = None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ):
        super().__init__(1.0, "fan_in", "truncated_normal", seed, input_axes, output_axes)


@registry.register("initializer", "LecunUniform", "lecun_uniform")
class LecunUniform(_FixedScaling):
    """LeCun uniform: limit sqrt(3 / fan_in)."""

    def __init__(
        self,
        seed: int | None = None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ):
        super().__init__(1.0, "fan_in", "uniform", seed, input_axes, output_axes)


@registry.register("initializer", "Orthogonal", "orthogonal")
class Orthogonal(Initializer):
    def __init__(self, gain: float = 1.0, seed: int | None = None):
        self.gain, self.seed = gain, seed

    def __call__(self, shape, dtype=None):
        gen = torch.Generator().manual_seed(self.seed) if self.seed is not None else None
        out = torch.empty(shape, dtype=torch.float64)
        flat = out.reshape(-1, shape[-1]) if len(shape) > 1 else out.reshape(1, -1)
        rows, cols = flat.shape
        a = torch.randn(max(rows, cols), min(rows, cols), generator=gen, dtype=torch.float64)
        q, r = torch.linalg.qr(a)
        q = q * torch.sign(torch.diagonal(r))
        if rows < cols:
            q = q.T
        return (self.gain * q[:rows, :cols]).reshape(shape).to(torch_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


@registry.register("initializer", "Identity", "identity")
class Identity(Initializer):
    def __init__(self, gain: float = 1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ValueError(f"Expected a 2D shape for Identity, received: shape={tuple(shape)}")
        return self.gain * torch.eye(*shape, dtype=torch_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain}


def get(identifier: Any) -> Initializer:
    """Resolve a name, a {'class_name', 'config'} dict, an instance or a callable."""
    if identifier is None:
        raise ValueError("Expected an initializer, received: initializer=None")
    if isinstance(identifier, str):
        return registry.get("initializer", identifier)()
    if isinstance(identifier, dict):
        cls = registry.get("initializer", identifier["class_name"])
        return cls.from_config(identifier.get("config", {}))
    if callable(identifier):
        return identifier
    raise TypeError(
        f"Expected an initializer name or callable, received: initializer={identifier!r}"
    )


def serialize(init: Any) -> Any:
    """A JSON-able description: {'class_name': ..., 'config': ...}."""
    if isinstance(init, Initializer):
        return {"class_name": type(init).__name__, "config": init.get_config()}
    return getattr(init, "__name__", repr(init))
