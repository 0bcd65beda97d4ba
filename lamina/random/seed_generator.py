"""Keras's seed semantics: `SeedGenerator`, and the torch generator a `seed` argument means.

A random op's `seed` is an int (stateless: the same values every call), a
`SeedGenerator` (a counter: new values each call, reproducible from its seed) or
None (torch's global generator, reseeded by `lamina.utils.set_random_seed`).
An int or a generator state `[s, n]` seeds a fresh `torch.Generator` with
`(s + n) & 0xFFFFFFFF`, as Keras's torch backend does, so seeded draws equal Keras's.
"""

from __future__ import annotations

import contextlib
import itertools
import random as python_random
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

_names = itertools.count()


def make_default_seed() -> int:
    """A seed drawn from Python's `random` (so `set_random_seed` makes it reproducible)."""
    return python_random.randint(1, int(1e9))


class SeedGenerator:
    """A stateful seed: each random op it is given draws with the next seed.

    The state is an int64 tensor `[seed, counter]`; every draw reads it and then
    increments the counter, so two generators built with the same seed produce the
    same sequence of values.
    """

    def __init__(self, seed: int | None = None, name: str | None = None, **kwargs: Any):
        if kwargs.pop("backend", None) is not None:
            raise ValueError("Expected no custom backend, received: backend=...")
        if kwargs:
            raise ValueError(f"Expected no other keyword arguments, received: {kwargs}")
        if name is None:
            index = next(_names)
            name = "seed_generator" if index == 0 else f"seed_generator_{index}"
        self.name = name
        self._initial_seed = seed
        if seed is None:
            seed = make_default_seed()
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError(f"Expected an integer seed, received: seed={seed!r}")
        self.state = torch.tensor([int(seed), 0], dtype=torch.int64)

    def next(self, ordered: bool = True) -> torch.Tensor:
        """The current state, then advance it (`ordered=False`: Keras's scrambled step)."""
        value = self.state.clone()
        if ordered:
            self.state[1] += 1
        else:
            self.state = (self.state + 1) * 5387 % 933199
        return value

    def get_config(self) -> dict[str, Any]:
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SeedGenerator:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<SeedGenerator name={self.name!r} state={self.state.tolist()}>"


def draw_seed(seed: Any) -> torch.Tensor | None:
    """The `[s, n]` state `seed` stands for, or None for the global generator."""
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return torch.tensor([int(seed), 0], dtype=torch.int64)
    if seed is None:
        return None
    raise ValueError(
        "Expected seed as an int, a SeedGenerator or None, received: "
        f"seed={seed!r} (of type {type(seed).__name__})"
    )


def torch_generator(seed: Any) -> torch.Generator | None:
    """A fresh CPU generator for an int or SeedGenerator seed; None means the global one."""
    state = draw_seed(seed)
    if state is None:
        return None
    return torch.Generator().manual_seed(int(state.sum()) & 0xFFFFFFFF)


@contextlib.contextmanager
def global_rng_seeded(seed: Any) -> Iterator[None]:
    """Run torch's samplers that take no generator (gamma, beta) under `seed`.

    With a seed, torch's global CPU state is forked, seeded and restored afterwards,
    as Keras's torch backend does; with None the global stream is used and advanced.
    """
    state = draw_seed(seed)
    if state is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(state.sum()) & 0xFFFFFFFF)
        yield
