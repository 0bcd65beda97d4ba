"""Paired A/B of Lamina's own `fit` throughput between two checkouts (e.g. before and after a
refactor): each round runs one fresh process per checkout, alternating which goes first, and
reports samples/s (median of the timed epochs) and the per-round ratio new/old.

    .venv/bin/python benchmarks/ab_refactor.py OLD_CHECKOUT NEW_CHECKOUT --rounds 3

Each process imports `lamina` and `benchmarks/workloads.py` from its own checkout, so both
sides run exactly the code of their commit with the same data, settings and venv.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[1] + "/benchmarks")
import numpy as np
import lamina, workloads
wl, epochs = sys.argv[2], int(sys.argv[3])
data = workloads.load_data()
x, y = workloads.prepare(data.x_train, data.y_train, wl)
if wl == "cnn":
    x, y = x[:6400], y[:6400]
lamina.utils.set_random_seed(0)
model, opt = workloads.build_keras_style(lamina, wl)
model.compile(opt, "categorical_crossentropy", ["accuracy"], device="cpu",
              **workloads.LAMINA_COMPILE[wl])
times = []
class T(lamina.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.t = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None):
        times.append(time.perf_counter() - self.t)
model.fit(x, y, batch_size=workloads.BATCH_SIZE, epochs=epochs + 1, verbose=0, callbacks=[T()])
rates = [len(x) / t for t in times[1:]]
print(json.dumps({"rates": rates}))
"""


def run(checkout: str, workload: str, epochs: int) -> float:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, checkout, workload, str(epochs)],
        capture_output=True,
        text=True,
        check=True,
    )
    rates = json.loads(out.stdout.strip().splitlines()[-1])["rates"]
    return statistics.median(rates)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--workloads", default="mlp,cnn")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=3, help="timed epochs (after one warm-up)")
    args = ap.parse_args()
    for wl in args.workloads.split(","):
        ratios = []
        for r in range(args.rounds):
            order = [("old", args.old), ("new", args.new)]
            if r % 2:
                order.reverse()
            got = {name: run(path, wl, args.epochs) for name, path in order}
            ratios.append(got["new"] / got["old"])
            print(
                f"{wl} round {r}: old {got['old']:,.0f}  new {got['new']:,.0f} samples/s"
                f"  new/old {ratios[-1]:.3f}",
                flush=True,
            )
        print(
            f"{wl}: median paired ratio new/old {statistics.median(ratios):.3f} "
            f"(rounds: {', '.join(f'{q:.3f}' for q in ratios)})",
            flush=True,
        )


if __name__ == "__main__":
    main()
