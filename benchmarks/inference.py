"""evaluate and predict throughput: Lamina, the hand-written inference loop and the Keras workers.

On the first `n` test images at batch 128: Lamina `model.evaluate` / `model.predict` (NumPy
inputs), the trained hand-written eager peer under `torch.inference_mode` with the data already
on the device, and each Keras worker's own timing of its call; 1 warm-up + `repeats` interleaved
repeats.
"""

from __future__ import annotations

import time
from typing import Any

import workers
import workloads
from loadmeter import LoadMeter
from peer_torch import TorchPeer
from report import Result


def run(
    lamina_model: Any,
    hand: TorchPeer | None,
    ws: list[workers.KerasWorker],
    wl: str,
    data: workloads.Data,
    n: int,
    repeats: int,
) -> dict[str, list[Result]]:
    """evaluate and predict: Lamina, the hand-written loop and the workers, interleaved repeats."""
    bs = workloads.BATCH_SIZE
    xi, yi = data.x_test[:n], data.y_test[:n]
    xt, yt = workloads.prepare(xi, yi, wl)
    out: dict[str, list[Result]] = {}
    for call in ("evaluate", "predict"):
        calls: list[tuple[Result, Any]] = []
        lam = Result(f"Lamina {call}", n, note="trained model, NumPy inputs")
        if lamina_model is None:
            lam.skipped = "Lamina did not run"
        elif call == "evaluate":
            calls.append((lam, lambda: lamina_model.evaluate(xt, yt, batch_size=bs, verbose=0)))
        else:
            calls.append((lam, lambda: lamina_model.predict(xt, batch_size=bs, verbose=0)))
        results = [lam]
        if hand is not None:
            h = Result(
                "hand-written inference_mode loop",
                n,
                note=f"trained eager peer ({hand.variant.label()}), data on the device",
            )
            fn = (
                (lambda: hand.evaluate(xi, yi))
                if call == "evaluate"
                else (lambda: hand.predict(xi))
            )
            calls.append((h, fn))
            results.append(h)
        for w in ws:
            r = Result(w.name, n, skipped=w.failed)
            calls.append((r, lambda w=w, c=call: w.request(c)))
            results.append(r)
        for rep in range(1 + repeats):
            for res, fn in calls:
                if res.skipped:
                    continue
                with LoadMeter() as meter:
                    t0 = time.perf_counter()
                    answer = fn()
                    secs = time.perf_counter() - t0
                if isinstance(answer, dict):  # a worker: its own timing
                    if not answer:
                        res.skipped = "worker failed"
                        continue
                    secs, meter.load = answer["seconds"], answer["load"]
                if rep:
                    res.seconds.append(secs)
                    res.loads.append(meter.load)
        out[f"{wl.upper()} {call}"] = [r.pick(repeats) for r in results]
    return out
