"""Keras's gamma, binomial and beta draws on `torch.distributions`.

torch's gamma sampler takes no generator, so a seeded draw runs on torch's global
CPU stream forked and seeded for the call (Keras's torch backend does the same, so
seeded draws equal Keras's); seed=None advances the global stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from lamina.random.dtypes import to_torch_dtype
from lamina.random.seed_generator import global_rng_seeded


def _broadcast(value: Any, shape: Sequence[int]) -> torch.Tensor:
    value = torch.as_tensor(value)
    if not value.is_floating_point():
        value = value.to(torch.float32)
    return torch.broadcast_to(value, tuple(shape))


def gamma(shape: Sequence[int], alpha: Any, dtype: Any = None, seed: Any = None) -> torch.Tensor:
    """Gamma draws with concentration `alpha` and rate 1 (mean alpha, variance alpha)."""
    torch_dtype = to_torch_dtype(dtype)
    alpha_t = _broadcast(alpha, shape)
    with global_rng_seeded(seed):
        sample = torch.distributions.Gamma(alpha_t, torch.ones_like(alpha_t)).sample()
    return sample.to(torch_dtype)


def binomial(
    shape: Sequence[int], counts: Any, probabilities: Any, dtype: Any = None, seed: Any = None
) -> torch.Tensor:
    """Successes in `counts` trials of probability `probabilities` (mean n p, variance n p (1-p))."""
    torch_dtype = to_torch_dtype(dtype)
    counts_t = _broadcast(counts, shape)
    probs_t = _broadcast(probabilities, shape)
    with global_rng_seeded(seed):
        sample = torch.distributions.Binomial(total_count=counts_t, probs=probs_t).sample()
    return sample.to(torch_dtype)


def beta(
    shape: Sequence[int], alpha: Any, beta: Any, dtype: Any = None, seed: Any = None
) -> torch.Tensor:
    """Beta draws in [0, 1] with concentrations `alpha` and `beta` (mean a / (a + b))."""
    torch_dtype = to_torch_dtype(dtype)
    alpha_t = _broadcast(alpha, shape)
    beta_t = _broadcast(beta, shape)
    with global_rng_seeded(seed):
        sample = torch.distributions.Beta(concentration1=alpha_t, concentration0=beta_t).sample()
    return sample.to(torch_dtype)
