"""Short interleaved trials that pick each hand-written PyTorch peer's best set-up.

Eager: torch.optim's default implementation or foreach=True, NCHW or channels_last
(CNN), flush-denormal off or on. torch.compile: the whole train step or only the
model, each with flush-denormal off or on, on the eager winner's layout and
optimizer setting. Fused optimizer kernels are timed for information only.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np
import torch
import workloads
from loadmeter import LoadMeter
from peer_torch import TorchPeer, Variant


def _rate(seconds: dict[int, float], n: int, i: int) -> str:
    return f"{n / seconds[i]:.0f}"


def _trial(
    peers: list[TorchPeer], variants: list[Variant], steps: int, rounds: int
) -> tuple[dict[int, float], float]:
    """Best seconds per (peer, variant) slot over interleaved rounds; and the other load."""
    best: dict[int, float] = {}
    with LoadMeter() as meter:
        for _ in range(rounds):
            for i, (p, v) in enumerate(zip(peers, variants)):
                p.variant = v
                s = p.train_epoch(steps)[0]
                best[i] = min(best.get(i, s), s)
    return best, meter.load


def pick_eager(
    wl: str, images: np.ndarray, labels: np.ndarray, steps: int, rounds: int, device: str
) -> tuple[Variant, str]:
    """The fastest eager set-up and a note with every candidate's trial samples/s."""
    layouts = (False, True) if wl == "cnn" else (False,)
    variants = [
        Variant(cl, fe, fd) for cl in layouts for fe in (None, True) for fd in (False, True)
    ]
    peers = [TorchPeer(wl, images, labels, v, device) for v in variants]
    fused = _fused_peer(wl, images, labels, device)
    everyone = peers + ([fused] if fused is not None else [])
    for p in everyone:  # warm-up
        p.train_epoch(steps)
    slots = [p.variant for p in everyone]
    best, load = _trial(everyone, slots, steps, rounds)
    n = steps * workloads.BATCH_SIZE
    lines = [f"{v.label()}: {_rate(best, n, i)}" for i, v in enumerate(variants)]
    if fused is not None:
        lines.append(f"fused optimizer (information only): {_rate(best, n, len(variants))}")
    winner = min(range(len(variants)), key=lambda i: best[i])
    note = (
        f"torch.optim's default here is {peers[0].default_impl}; trial samples/s ({steps} steps, "
        f"best of {rounds}, other load {load:.2f}): " + "; ".join(lines)
    )
    return variants[winner], note


def _fused_peer(wl: str, images: np.ndarray, labels: np.ndarray, device: str) -> Any:
    """A peer whose optimizer uses fused=True (information only), or None if unsupported."""
    peer = TorchPeer(wl, images, labels, Variant(), device)
    name, kw = workloads.OPTIMIZERS[wl]
    try:
        cls = getattr(torch.optim, name)
        extra = {"alpha": kw["rho"]} if name == "RMSprop" else {}
        peer.opt = cls(
            peer.model.parameters(), lr=kw["learning_rate"], eps=kw["epsilon"], fused=True, **extra
        )
        peer.train_epoch(1)
    except Exception:
        return None
    return peer


def pick_compiled(
    wl: str,
    images: np.ndarray,
    labels: np.ndarray,
    base: Variant,
    steps: int,
    rounds: int,
    device: str,
) -> tuple[TorchPeer | None, str]:
    """The fastest torch.compile peer (already compiled, ready for timed epochs) and a note.

    Each mode compiles once; flush-denormal is a run-time switch, so the same peer is
    timed with it off and on. Returns (None, why) if torch.compile fails here.
    """
    peers, variants, compile_s = [], [], {}
    for mode in ("step", "model"):
        v = replace(base, compile=mode, flush_denormal=False)
        try:
            p = TorchPeer(wl, images, labels, v, device)
            t0 = time.perf_counter()
            p.train_epoch(steps)  # compiles the batch-128 graph(s)
            compile_s[mode] = time.perf_counter() - t0
        except Exception as err:  # an Inductor tool-chain problem, say
            return None, f"torch.compile({mode}) failed: {type(err).__name__}: {err}"[:300]
        for fd in (False, True):
            peers.append(p)
            variants.append(replace(v, flush_denormal=fd))
    for p, v in zip(peers, variants):  # warm-up with each flush mode
        p.variant = v
        p.train_epoch(steps)
    best, load = _trial(peers, variants, steps, rounds)
    n = steps * workloads.BATCH_SIZE
    winner = min(range(len(variants)), key=lambda i: best[i])
    peer = peers[winner]
    peer.variant = variants[winner]
    lines = [f"{v.label()}: {_rate(best, n, i)}" for i, v in enumerate(variants)]
    note = (
        "first call (compile) "
        + ", ".join(f"{m} {s:.1f} s" for m, s in compile_s.items())
        + f"; trial samples/s ({steps} steps, best of {rounds}, other load {load:.2f}): "
        + "; ".join(lines)
    )
    return peer, note
