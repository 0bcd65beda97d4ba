"""This machine's convolution ceiling on the CNN's two convolution shapes.

Times `F.conv2d` forward (with bias, under `torch.inference_mode`) at batch 128 on
the CNN's shapes (1->32 channels 28x28->26x26 and 32->32 26x26->24x24, 3x3 valid),
in NCHW and in channels_last, interleaved: `rounds` rounds of `repeats` timed calls
each after a warm-up. A convolution's time is its fastest call: each call allocates
its output (11 MB for the first convolution), and whether glibc's malloc hands back
warm memory or fresh pages (thousands of page faults, up to 8x slower here) varies
from call to call, so the median mixes in allocator state; the median is reported
too. The ceiling is the faster layout's
GFLOP/s = FLOPs of both convolutions / time of both; the second (big) convolution
is reported alone too.

    python benchmarks/ceiling.py     # print the ceiling
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workloads  # noqa: E402
from loadmeter import LoadMeter  # noqa: E402


@dataclass
class Ceiling:
    """Fastest (and median) seconds per batch of each convolution per layout; GFLOP/s."""

    seconds: dict[str, list[float]] = field(default_factory=dict)  # layout -> [conv1, conv2]
    medians: dict[str, list[float]] = field(default_factory=dict)  # same, median call
    flops: list[int] = field(default_factory=list)  # per batch, per convolution
    load: float = float("nan")

    def gflops(self, layout: str, which: slice = slice(None)) -> float:
        return sum(self.flops[which]) / sum(self.seconds[layout][which]) / 1e9

    @property
    def best(self) -> str:
        """The layout with the highest throughput over both convolutions."""
        return max(self.seconds, key=self.gflops)

    @property
    def total(self) -> float:
        """The ceiling: GFLOP/s over both convolutions in the best layout."""
        return self.gflops(self.best)

    @property
    def second(self) -> float:
        """GFLOP/s of the second convolution alone, best layout for it."""
        return max(self.gflops(lay, slice(1, 2)) for lay in self.seconds)


def _time(fn: object, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return times


def measure(repeats: int = 30, rounds: int = 3, device: str = "cpu") -> Ceiling:
    """Time both convolutions in both layouts, `rounds` interleaved rounds of `repeats` calls."""
    bs = workloads.BATCH_SIZE
    gen = torch.Generator().manual_seed(0)
    layouts = {"NCHW": torch.contiguous_format, "channels_last": torch.channels_last}
    calls: dict[str, list[object]] = {name: [] for name in layouts}
    result = Ceiling()
    for c_in, c_out, size, k in workloads.CNN_CONVS:
        result.flops.append(bs * workloads.conv_forward_flops(c_in, c_out, size, k))
        x = torch.rand((bs, c_in, size, size), generator=gen).to(device)
        w = (torch.rand((c_out, c_in, k, k), generator=gen) - 0.5).to(device)
        b = torch.zeros(c_out, device=device)
        for name, fmt in layouts.items():
            xf, wf = x.contiguous(memory_format=fmt), w.contiguous(memory_format=fmt)
            calls[name].append(lambda xf=xf, wf=wf, b=b: F.conv2d(xf, wf, b))
    best: dict[str, list[list[float]]] = {name: [[], []] for name in layouts}
    with torch.inference_mode(), LoadMeter() as meter:
        for fns in calls.values():  # warm-up: oneDNN primitive creation
            for fn in fns:
                _time(fn, 3)
        for _ in range(rounds):
            for name, fns in calls.items():
                for i, fn in enumerate(fns):
                    best[name][i].extend(_time(fn, repeats))
    result.load = meter.load
    result.seconds = {name: [min(t) for t in per] for name, per in best.items()}
    result.medians = {name: [statistics.median(t) for t in per] for name, per in best.items()}
    return result


def describe(c: Ceiling) -> list[str]:
    """Markdown lines: per layout and convolution, GFLOP/s."""
    lines = []
    for name, secs in c.seconds.items():
        per = ", ".join(
            f"conv{i + 1} {f / s / 1e9:.1f} GFLOP/s ({s * 1e3:.2f} ms/batch; median call "
            f"{m * 1e3:.2f} ms)"
            for i, (f, s, m) in enumerate(zip(c.flops, secs, c.medians[name]))
        )
        lines.append(f"{name}: both {c.gflops(name):.1f} GFLOP/s; {per}")
    return lines


if __name__ == "__main__":
    ceiling = measure()
    print("\n".join(describe(ceiling)))
    print(
        f"ceiling {ceiling.total:.1f} GFLOP/s ({ceiling.best}); second conv alone "
        f"{ceiling.second:.1f} GFLOP/s; other load {ceiling.load:.2f}"
    )
