"""The matrix-product floor of one GRU training step, to judge the GRU speed target.

One fit step of `Input((100, 32)) -> GRU(128)` at batch 64 must at least run these
GEMMs: the input projections of all steps, one (64x128)@(128x384) product per step
forward and one (64x384)@(384x128) per step backward (a step needs the previous
step's result, so they cannot be batched), and the batched weight and input
gradients. Everything else (pointwise gates, Dense, Adam, data) comes on top, so
`batch / floor` bounds any GRU's samples/s on this CPU, fused or not.

`python benchmarks/gru_floor.py [--repeats 15]` prints the median floor, each run
and the load other processes put on the machine during the runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadmeter import LoadMeter  # noqa: E402

B, T, F, U = 64, 100, 32, 128


def one_step_gemms(tensors: dict[str, torch.Tensor]) -> None:
    """The GEMMs of one forward and backward pass, with fp32 inputs of the real shapes."""
    x, wi, wh, b = tensors["x"], tensors["wi"], tensors["wh"], tensors["b"]
    h, g, out, dh = tensors["h"], tensors["g"], tensors["out"], tensors["dh"]
    torch.addmm(b, x, wi)
    for _ in range(T):
        torch.addmm(b, h, wh, out=out)
    for _ in range(T):
        torch.mm(g, wh.t(), out=dh)
    torch.mm(tensors["hs"].t(), tensors["gs"])
    torch.mm(x.t(), tensors["gs"])
    torch.mm(tensors["gs"], wi.t())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    tensors = {
        "x": torch.randn(T * B, F),
        "wi": torch.randn(F, 3 * U),
        "wh": torch.randn(U, 3 * U),
        "b": torch.randn(3 * U),
        "h": torch.randn(B, U),
        "g": torch.randn(B, 3 * U),
        "out": torch.empty(B, 3 * U),
        "dh": torch.empty(B, U),
        "gs": torch.randn(T * B, 3 * U),
        "hs": torch.randn(T * B, U),
    }
    for _ in range(5):
        one_step_gemms(tensors)
    times = []
    with LoadMeter() as meter:
        for _ in range(args.repeats):
            start = time.perf_counter()
            one_step_gemms(tensors)
            times.append(time.perf_counter() - start)
    floor = statistics.median(times)
    print(f"GEMM floor of one GRU({U}) step, batch {B}, {T} steps, {args.threads} threads:")
    print(f"  median {floor * 1e3:.1f} ms -> at most {B / floor:,.0f} samples/s")
    print(f"  runs (ms): {', '.join(f'{t * 1e3:.1f}' for t in times)}")
    print(f"  other processes' load during the runs: {meter.load:.2f} cores")


if __name__ == "__main__":
    main()
