"""Hopfield: a binary (+1/-1) associative memory with symmetric weights and no hidden units.

`store` writes patterns into the weights (Hebb's rule, or Storkey's), `recall` lets noisy probes
fall downhill in the energy E = -1/2 s^T W s until no unit flips, and ends, when the memory is
not overloaded, on the stored pattern nearest each probe (or its negation: E(s) = E(-s)).

    net = Hopfield(64, seed=0)
    net.store(patterns)                    # (P, 64) array of -1 and +1
    recalled = net.recall(noisy_patterns)  # same shape, batched in torch
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lamina.classic import dynamics
from lamina.classic.arrays import (
    ArrayLike,
    as_states,
    check_values,
    generator,
    positive_int,
    to_output,
)

RULES = ("hebbian", "storkey")
BIPOLAR = (-1.0, 1.0)


class Hopfield:
    """A Hopfield network of `n_units` bipolar units.

    Args:
        n_units: units per pattern (N).
        rule: 'hebbian' (W = (1/N) sum_p p p^T, zero diagonal; patterns add up, so storing in
            several calls equals one call) or 'storkey' (Storkey's 1997 local rule, applied
            one pattern at a time: about 1.6x Hebb's capacity for random patterns).
        seed: seeds the generator of the asynchronous update orders (None: drawn from torch's
            global generator).
    """

    def __init__(self, n_units: int, rule: str = "hebbian", seed: int | None = None) -> None:
        self.n_units = positive_int(n_units, "n_units", minimum=2)
        if rule not in RULES:
            raise ValueError(f"Expected rule to be one of {RULES}, received: rule={rule!r}")
        self.rule = rule
        self.seed = seed
        self._generator = generator(seed)
        self.weights = torch.zeros(self.n_units, self.n_units)
        self.patterns_stored = 0

    # -- storage ---------------------------------------------------------------------------
    def store(self, patterns: ArrayLike) -> Hopfield:
        """Adds (P, N) or (N,) bipolar patterns to the memory; returns the network."""
        p, _, _ = as_states(patterns, "patterns", self.n_units)
        check_values(p, "patterns", BIPOLAR)
        if len(p) == 0:
            raise ValueError("Expected at least one pattern, received: patterns.shape=(0, ...)")
        if self.rule == "hebbian":
            self.weights = self.weights + dynamics.hebbian(p[None])[0]
        else:
            self.weights = dynamics.storkey(self.weights, p)
        self.patterns_stored += len(p)
        return self

    def clear(self) -> Hopfield:
        """Forgets every pattern (zero weights)."""
        self.weights = torch.zeros(self.n_units, self.n_units)
        self.patterns_stored = 0
        return self

    # -- dynamics --------------------------------------------------------------------------
    def energy(self, states: ArrayLike) -> Any:
        """E = -1/2 s^T W s of each (N,) or (B, N) bipolar state."""
        s, was_tensor, single = as_states(states, "states", self.n_units)
        check_values(s, "states", BIPOLAR)
        return to_output(dynamics.energy(self.weights[None], s[None])[0], was_tensor, single)

    def recall(
        self,
        probes: ArrayLike,
        synchronous: bool = False,
        max_sweeps: int = 100,
        return_sweeps: bool = False,
    ) -> Any:
        """The states the (N,) or (B, N) bipolar probes settle in, all probes at once.

        Asynchronous (default): each sweep updates the units one at a time in a fresh random
        order per probe, until a sweep flips nothing or after `max_sweeps`; the energy never
        rises. `synchronous=True` updates all units together from the same fields (it may end
        in a two-state cycle). With `return_sweeps`, also returns each probe's count of sweeps
        that changed it.
        """
        s, was_tensor, single = as_states(probes, "probes", self.n_units)
        check_values(s, "probes", BIPOLAR)
        max_sweeps = positive_int(max_sweeps, "max_sweeps")
        if synchronous:
            out, sweeps, _ = dynamics.synchronous(self.weights[None], s[None], max_sweeps)
        else:
            out, sweeps, _ = dynamics.asynchronous(
                self.weights[None], s[None], self._generator, max_sweeps
            )
        states = to_output(out[0], was_tensor, single)
        if not return_sweeps:
            return states
        return states, to_output(sweeps[0], was_tensor, single)

    # -- inspection ------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return {"n_units": self.n_units, "rule": self.rule, "seed": self.seed}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Hopfield:
        return cls(**config)

    def get_weights(self) -> list[np.ndarray]:
        """[W]: the (N, N) symmetric weight matrix, zero diagonal, as a NumPy copy."""
        return [self.weights.numpy().copy()]

    def set_weights(self, weights: list[ArrayLike]) -> None:
        """Sets W from [W] (as `get_weights` returns): (N, N), symmetric, zero diagonal."""
        if not isinstance(weights, (list, tuple)) or len(weights) != 1:
            raise ValueError(
                "Expected a list of one (N, N) matrix, as get_weights() returns, "
                f"received: len(weights)={len(weights) if isinstance(weights, (list, tuple)) else None}"
            )
        w = torch.as_tensor(np.asarray(weights[0], dtype=np.float32))
        n = self.n_units
        if tuple(w.shape) != (n, n):
            raise ValueError(f"Expected W of shape ({n}, {n}), received: W.shape={tuple(w.shape)}")
        if not torch.allclose(w, w.T, atol=1e-6) or bool(w.diagonal().any()):
            raise ValueError(
                "Expected a symmetric W with a zero diagonal, received: "
                f"max|W - W.T|={float((w - w.T).abs().max()):g}, "
                f"max|diag W|={float(w.diagonal().abs().max()):g}"
            )
        self.weights = w.clone()

    def __repr__(self) -> str:
        return (
            f"Hopfield(n_units={self.n_units}, rule={self.rule!r}, "
            f"patterns_stored={self.patterns_stored})"
        )
