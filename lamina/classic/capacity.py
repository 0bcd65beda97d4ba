"""hopfield_capacity: how well a Hebbian Hopfield network recalls as the load P/N grows.

For each load alpha = P/N, `trials` networks each store P random bipolar patterns; every pattern,
with a fraction `noise` of its units flipped, is recalled asynchronously. The curve reports the
share of patterns recalled exactly and the mean overlap m = (1/N) s . p between the recalled
state and the pattern. Amit, Gutfreund and Sompolinsky (1985) showed that for large N the
retrieval states vanish at alpha_c ~ 0.138: the overlap drops from about 0.97 to a spin-glass
remnant. Exact recall of every unit is stricter and fails earlier at finite N (the errors per
unit grow from zero well before alpha_c).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from lamina.classic import dynamics
from lamina.classic.arrays import generator, non_negative, positive_int
from lamina.classic.hopfield import RULES

CRITICAL_LOAD = 0.138  # Amit, Gutfreund and Sompolinsky's alpha_c for Hebbian storage


@dataclass(frozen=True)
class CapacityCurve:
    """One row per load: loads P/N, patterns P, exact-recall share, mean and spread of overlap."""

    n_units: int
    loads: np.ndarray
    patterns: np.ndarray
    exact: np.ndarray
    overlap: np.ndarray
    overlap_std: np.ndarray
    trials: int
    noise: float
    rule: str = "hebbian"

    def rows(self) -> list[tuple[float, int, float, float]]:
        """(load, P, exact share, mean overlap) per load, for printing."""
        return [
            (float(a), int(p), float(e), float(m))
            for a, p, e, m in zip(self.loads, self.patterns, self.exact, self.overlap)
        ]


def flip_units(
    patterns: torch.Tensor, noise: float, gen: torch.Generator
) -> tuple[torch.Tensor, int]:
    """(patterns with round(noise * N) units of each flipped, at random places; that count)."""
    n = patterns.shape[-1]
    flips = int(round(noise * n))
    order = torch.rand(patterns.shape, generator=gen).argsort(dim=-1)
    mask = torch.zeros(patterns.shape, dtype=torch.bool)
    mask.scatter_(-1, order[..., :flips], True)
    return torch.where(mask, -patterns, patterns), flips


def hopfield_capacity(
    n_units: int = 200,
    loads: Sequence[float] = (0.05, 0.1, 0.138, 0.2, 0.3),
    trials: int = 5,
    noise: float = 0.1,
    seed: int = 0,
    max_sweeps: int = 50,
    rule: str = "hebbian",
) -> CapacityCurve:
    """Exact-recall share and mean overlap per load P/N (P = round(load * N), at least 1).

    Args:
        n_units: N, units per network.
        loads: the values of P/N to test.
        trials: networks (each with fresh random patterns) per load; all run in one batch.
        noise: share of each pattern's units flipped in its probe (0 probes the pattern itself).
        seed: seeds the patterns, the flips and the update orders.
        max_sweeps: cap on asynchronous sweeps per recall.
        rule: 'hebbian' (the rule alpha_c ~ 0.138 is for) or 'storkey'.
    """
    n = positive_int(n_units, "n_units", minimum=2)
    trials = positive_int(trials, "trials")
    noise = non_negative(noise, "noise")
    if noise > 0.5:
        raise ValueError(
            f"Expected noise in [0, 0.5] (a share of units to flip), received: noise={noise}"
        )
    if rule not in RULES:
        raise ValueError(f"Expected rule to be one of {RULES}, received: rule={rule!r}")
    loads = np.asarray(loads, dtype=np.float64).reshape(-1)
    if loads.size == 0 or not np.all(loads > 0):
        raise ValueError(f"Expected loads > 0 (P/N values), received: loads={loads.tolist()}")
    gen = generator(seed)
    counts, exact, overlap, spread = [], [], [], []
    for load in loads:
        p = max(1, int(round(load * n)))
        patterns = torch.randint(0, 2, (trials, p, n), generator=gen).float() * 2 - 1
        probes, _ = flip_units(patterns, noise, gen)
        if rule == "hebbian":
            weights = dynamics.hebbian(patterns)
        else:
            empty = torch.zeros(n, n)
            weights = torch.stack([dynamics.storkey(empty, trial) for trial in patterns])
        states, _, _ = dynamics.asynchronous(weights, probes, gen, max_sweeps)
        m = (states * patterns).mean(dim=-1)
        counts.append(p)
        exact.append(float((m == 1).float().mean()))
        overlap.append(float(m.mean()))
        spread.append(float(m.std()) if m.numel() > 1 else 0.0)
    return CapacityCurve(
        n_units=n,
        loads=loads,
        patterns=np.array(counts),
        exact=np.array(exact),
        overlap=np.array(overlap),
        overlap_std=np.array(spread),
        trials=trials,
        noise=noise,
        rule=rule,
    )
