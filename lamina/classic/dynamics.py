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
    """sign(field), or the state itself where the field is within `tol` of zero."""
    return torch.where(field > tol, 1.0, torch.where(field < -tol, -1.0, state))


def asynchronous(
    weights: torch.Tensor, states: torch.Tensor, generator: torch.Generator, max_sweeps: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(final states, sweeps that changed each probe, converged) after asynchronous updates.

    Each sweep visits every unit once, in a fresh random order per probe (from `generator`);
    a probe stops after a sweep that flips none of its units, all stop after `max_sweeps`.

    Visiting a unit whose field agrees with its state changes nothing, and only a flip changes
    the fields, so a sweep is computed as its flips alone: each step finds, in every probe, the
    first unit at or after its place in the order whose field opposes its state, flips it, adds
    2 s_i W[i] to that probe's fields and moves on. That is the unit-by-unit sweep exactly, in
    as many steps as the busiest probe has flips, not N.
    """
    g, b, n = states.shape
    s = states.reshape(g * b, n).clone()
    fields = torch.einsum("gbi,gij->gbj", states, weights).reshape(g * b, n)
    net = torch.arange(g).repeat_interleave(b)  # each probe's network
    tol = tie_tolerance(weights)[net]
    sweeps = torch.zeros(g * b, dtype=torch.int64)
    converged = torch.zeros(g * b, dtype=torch.bool)
    active = torch.arange(g * b)  # probes not yet at a fixed point
    for _ in range(max_sweeps):
        if len(active) == 0:
            break
        sa, fa, na, ta = s[active], fields[active], net[active], tol[active][:, None]
        order = torch.rand(len(active), n, generator=generator).argsort(dim=-1)
        rank = order.argsort(dim=-1)  # each unit's place in its probe's order
        place = torch.zeros(len(active), 1, dtype=torch.int64)
        flipped = torch.zeros(len(active), dtype=torch.bool)
        while True:
            first = torch.where((sa * fa < -ta) & (rank >= place), rank, n).min(dim=-1).values
            rows = (first < n).nonzero().squeeze(1)
            if len(rows) == 0:
                break
            units = order[rows, first[rows]]
            new = -sa[rows, units]
            sa[rows, units] = new
            fa[rows] += (2 * new)[:, None] * weights[na[rows], units]
            place[rows, 0] = first[rows] + 1
            flipped[rows] = True
        s[active], fields[active] = sa, fa
        sweeps[active] += flipped
        converged[active[~flipped]] = True
        active = active[flipped]
    return s.reshape(g, b, n), sweeps.reshape(g, b), converged.reshape(g, b)


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
