"""Hopfield dynamics on batches of networks: Hebbian and Storkey weights, the energy, recall.

Every function takes a stack of G weight matrices (G, N, N) and states (G, B, N): B probes per
network. `Hopfield` uses G = 1; the capacity experiment runs its trials as G networks at once,
so one Python loop over the units serves every trial and probe.

A unit takes the sign of its local field h_i = sum_j w_ij s_j and keeps its state when h_i = 0,
so a stored pattern stays put and no update raises the energy E = -1/2 s^T W s. Fields are
sums of float32 terms, so one that is zero in exact arithmetic may come out as +-1e-8: fields
within `tie_tolerance` of zero count as zero (Hebbian fields are multiples of 1/N, far above it).
"""

from __future__ import annotations

import torch


def hebbian(patterns: torch.Tensor) -> torch.Tensor:
    """(G, N, N) weights W = (1/N) sum_p p p^T with a zero diagonal, from (G, P, N) patterns."""
    n = patterns.shape[-1]
    weights = torch.einsum("gpi,gpj->gij", patterns, patterns) / n
    return weights * (1 - torch.eye(n, dtype=weights.dtype))


def storkey(weights: torch.Tensor, patterns: torch.Tensor) -> torch.Tensor:
    """Storkey's rule, one pattern after another, added to (N, N) `weights`; (P, N) patterns.

    w_ij += (1/N) (p_i p_j - p_i h_ji - h_ij p_j), with h_ij = sum_{k != i, j} w_ik p_k the field
    at i without units i and j. With a zero diagonal and symmetric weights,
    h_ij = h_i - w_ij p_j, which makes the update (1/N) (p_i p_j - p_i h_j - h_i p_j + 2 w_ij).
    It subtracts the crosstalk a new pattern sees, so more patterns fit than with Hebb's rule.
    """
    n = weights.shape[-1]
    off_diagonal = 1 - torch.eye(n, dtype=weights.dtype)
    w = weights.clone()
    for p in patterns:
        h = w @ p
        update = torch.outer(p, p) - torch.outer(p, h) - torch.outer(h, p) + 2 * w
        w = (w + update / n) * off_diagonal
    return w


def energy(weights: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
    """(G, B) energies -1/2 s^T W s."""
    return -0.5 * torch.einsum("gbi,gij,gbj->gb", states, weights, states)


def tie_tolerance(weights: torch.Tensor) -> torch.Tensor:
    """(G,) fields closer to zero than this count as zero: 1e-5 of a row's mean |w| sum."""
    return 1e-5 * weights.abs().sum(-1).mean(-1)


def _sign_or_keep(field: torch.Tensor, state: torch.Tensor, tol: torch.Tensor) -> torch.Tensor:
    return torch.where(field > tol, 1.0, torch.where(field < -tol, -1.0, state))


def asynchronous(
    weights: torch.Tensor, states: torch.Tensor, generator: torch.Generator, max_sweeps: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(final states, sweeps that changed each probe, converged) after asynchronous updates.

    Each sweep visits every unit once, in a fresh random order per probe (from `generator`);
    sweeps stop once a whole sweep flips no unit of any probe, or after `max_sweeps`. The local
    fields are kept up to date: a flip of unit i by d adds d * W[i] to its probe's fields.
    """
    g, b, n = states.shape
    s = states.clone()
    fields = torch.einsum("gbi,gij->gbj", s, weights)
    rows_g = torch.arange(g)[:, None].expand(g, b)
    rows_b = torch.arange(b)[None, :].expand(g, b)
    sweeps = torch.zeros(g, b, dtype=torch.int64)
    converged = torch.zeros(g, b, dtype=torch.bool)
    tol = tie_tolerance(weights)[:, None].expand(g, b)
    for _ in range(max_sweeps):
        order = torch.rand(g, b, n, generator=generator).argsort(dim=-1)
        flipped = torch.zeros(g, b, dtype=torch.bool)
        for t in range(n):
            unit = order[:, :, t]
            old = s[rows_g, rows_b, unit]
            new = _sign_or_keep(fields[rows_g, rows_b, unit], old, tol)
            change = new != old
            if not change.any():
                continue
            gi, bi = change.nonzero(as_tuple=True)
            ui = unit[gi, bi]
            s[gi, bi, ui] = new[gi, bi]
            fields[gi, bi] += (new[gi, bi] - old[gi, bi])[:, None] * weights[gi, ui]
            flipped |= change
        sweeps += flipped
        converged |= ~flipped
        if not flipped.any():
            break
    return s, sweeps, converged


def synchronous(
    weights: torch.Tensor, states: torch.Tensor, max_sweeps: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(final states, sweeps that changed each probe, converged) after synchronous updates.

    Every unit updates at once from the same fields. Unlike the asynchronous rule this can end
    in a two-state cycle, which then runs until `max_sweeps` and reports not converged."""
    s = states.clone()
    sweeps = torch.zeros(s.shape[:2], dtype=torch.int64)
    converged = torch.zeros(s.shape[:2], dtype=torch.bool)
    tol = tie_tolerance(weights)[:, None, None]
    for _ in range(max_sweeps):
        new = _sign_or_keep(torch.einsum("gbi,gij->gbj", s, weights), s, tol)
        changed = (new != s).any(dim=-1)
        s = new
        sweeps += changed
        converged |= ~changed
        if not changed.any():
            break
    return s, sweeps, converged
