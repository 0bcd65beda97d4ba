"""Keras's random ops on torch's samplers: normal, uniform, randint, truncated_normal,
categorical, dropout and shuffle.

Each takes Keras's `seed` (int, `SeedGenerator` or None, see `seed_generator`) and
returns a CPU tensor of Keras's torch-backend dtype: floatx for the floats, int32 for
randint, categorical and the indices.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from lamina.random.dtypes import to_torch_dtype
from lamina.random.seed_generator import torch_generator


def _shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, int):
        return (shape,)
    return tuple(int(d) for d in shape)


def normal(
    shape: Sequence[int],
    mean: float = 0.0,
    stddev: float = 1.0,
    dtype: Any = None,
    seed: Any = None,
) -> torch.Tensor:
    """Normal draws with mean `mean` and standard deviation `stddev`."""
    return torch.normal(
        mean,
        stddev,
        size=_shape(shape),
        generator=torch_generator(seed),
        dtype=to_torch_dtype(dtype),
    )


def uniform(
    shape: Sequence[int],
    minval: float = 0.0,
    maxval: float = 1.0,
    dtype: Any = None,
    seed: Any = None,
) -> torch.Tensor:
    """Uniform draws from [minval, maxval); `dtype` must be a float type."""
    torch_dtype = to_torch_dtype(dtype)
    if not torch_dtype.is_floating_point:
        raise ValueError(f"Expected a floating point dtype for uniform, received: dtype={dtype!r}")
    shape = _shape(shape)
    unit = torch.rand(shape or (1,), generator=torch_generator(seed), dtype=torch_dtype)
    out = (maxval - minval) * unit + minval
    return out if shape else out[0]


def randint(
    shape: Sequence[int],
    minval: int,
    maxval: int,
    dtype: Any = "int32",
    seed: Any = None,
) -> torch.Tensor:
    """Integers drawn uniformly from [minval, maxval); `dtype` must be an integer type."""
    torch_dtype = to_torch_dtype(dtype)
    if torch_dtype.is_floating_point or torch_dtype.is_complex or torch_dtype == torch.bool:
        raise ValueError(f"Expected an integer dtype for randint, received: dtype={dtype!r}")
    return torch.randint(
        int(minval), int(maxval), _shape(shape), generator=torch_generator(seed), dtype=torch_dtype
    )


def truncated_normal(
    shape: Sequence[int],
    mean: float = 0.0,
    stddev: float = 1.0,
    dtype: Any = None,
    seed: Any = None,
) -> torch.Tensor:
    """Normal draws kept within two standard deviations of the mean (others redrawn)."""
    out = torch.empty(_shape(shape), dtype=to_torch_dtype(dtype))
    return torch.nn.init.trunc_normal_(
        out, mean, stddev, mean - 2 * stddev, mean + 2 * stddev, generator=torch_generator(seed)
    )


def categorical(
    logits: Any, num_samples: int, dtype: Any = "int32", seed: Any = None
) -> torch.Tensor:
    """`num_samples` class indices per row of the 2D `logits` (batch, classes), with replacement."""
    logits = torch.as_tensor(logits)
    if logits.ndim != 2:
        raise ValueError(
            "Expected 2D logits of shape (batch_size, num_classes), received: "
            f"logits with shape={tuple(logits.shape)}"
        )
    if not logits.is_floating_point():
        logits = logits.to(torch.float32)
    probs = torch.softmax(logits, dim=-1)
    drawn = torch.multinomial(
        probs, int(num_samples), replacement=True, generator=torch_generator(seed)
    )
    return drawn.to(to_torch_dtype(dtype))


def dropout(
    inputs: Any, rate: float, noise_shape: Sequence[int | None] | None = None, seed: Any = None
) -> torch.Tensor:
    """Zero each entry with probability `rate` and scale the rest by 1 / (1 - rate).

    `noise_shape` (None entries take the input's size) shares one mask value along its
    size-1 axes. Unseeded and without `noise_shape`, this is torch's own dropout.
    """
    inputs = torch.as_tensor(inputs)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"Expected a rate in [0, 1], received: rate={rate!r}")
    if rate == 1.0:
        return torch.zeros_like(inputs)
    if rate == 0.0:
        return inputs
    if seed is None and noise_shape is None:
        return torch.nn.functional.dropout(inputs, p=rate, training=True)
    keep = 1.0 - rate
    if noise_shape is None:
        mask_shape = tuple(inputs.shape)
    else:
        mask_shape = tuple(
            inputs.shape[i] if size is None else int(size) for i, size in enumerate(noise_shape)
        )
    mask = torch.bernoulli(torch.full(mask_shape, keep), generator=torch_generator(seed)).bool()
    mask = torch.broadcast_to(mask, inputs.shape)
    return torch.where(mask, inputs / keep, torch.zeros_like(inputs))


def shuffle(x: Any, axis: int = 0, seed: Any = None) -> torch.Tensor:
    """Permute `x` along `axis`; for axis > 0 each leading index gets its own permutation
    (Keras's torch rule: an argsort of uniform keys over `x.shape[:axis + 1]`)."""
    x = torch.as_tensor(x)
    axis = axis % x.ndim
    keys = torch.rand(tuple(x.shape[: axis + 1]), generator=torch_generator(seed))
    order = keys.argsort(dim=axis)
    order = order.reshape(order.shape + (1,) * (x.ndim - axis - 1)).expand(x.shape)
    return torch.gather(x, axis, order)
