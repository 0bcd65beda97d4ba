"""Subprocess worker: time Keras 3 `fit` (and `evaluate`) on one backend; prints one JSON line.

Keras fixes its backend at import, so `run.py` starts this once per backend with
KERAS_BACKEND set (torch in the main venv, jax in `.bench-envs/jax`):

    KERAS_BACKEND=torch python benchmarks/peer_keras.py --data d.npz --epochs 4 \
        --run mlp:60000:6 --run cnn:12800:3 [--eval-samples 10000 --eval-repeats 5]

One process per backend runs every workload (one Keras import); `evaluate` is
timed for the MLP only. `--run WORKLOAD:SAMPLES:EXTRA` runs 1 warm-up + `--epochs`
timed epochs, plus up to EXTRA more while other processes disturb epochs (each
epoch's other load is measured, see `loadmeter.py`). The output maps workload -> timings.

Epochs are timed by a callback from `on_epoch_begin` to `on_epoch_end` (Keras turns
the epoch's logs into Python floats before `on_epoch_end`, which waits for the device);
the callback leaves batch hooks alone, so Keras keeps its asynchronous batch dispatch.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadmeter  # noqa: E402
import workloads  # noqa: E402


def run(
    args: argparse.Namespace, data: workloads.Data, workload: str, samples: int, extra: int
) -> dict[str, Any]:
    """Build, fit (and for the MLP evaluate) one workload; return timings and versions."""
    import keras

    x, y = workloads.prepare(data.x_train[:samples], data.y_train[:samples], workload)
    keras.utils.set_random_seed(0)
    model, optimizer = workloads.build_keras_style(keras, workload)
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])

    max_epochs = 1 + args.epochs + extra

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []
            self.loads: list[float] = []
            self.meter = loadmeter.LoadMeter()
            self._t0 = 0.0

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.meter.start()
            self._t0 = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.seconds.append(time.perf_counter() - self._t0)
            self.loads.append(self.meter.stop())
            quiet = sum(1 for ld in self.loads[1:] if not ld > loadmeter.QUIET)
            if quiet >= args.epochs or len(self.loads) >= max_epochs:
                self.model.stop_training = True

    timer = EpochTimer()
    hist = model.fit(
        x, y, batch_size=workloads.BATCH_SIZE, epochs=max_epochs, verbose=0, callbacks=[timer]
    )
    out: dict[str, Any] = {
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "samples": int(x.shape[0]),
        "epoch_seconds": timer.seconds,
        "epoch_loads": timer.loads,
        "accuracy": [float(a) for a in hist.history.get("accuracy", [])],
        "threads": _threads(keras.backend.backend()),
    }
    if keras.backend.backend() == "jax":
        import jax

        out["jax"] = jax.__version__
        out["device"] = str(jax.devices()[0])
    else:
        import torch

        out["torch"] = torch.__version__
    if args.eval_samples and workload == "mlp":
        xt, yt = workloads.prepare(
            data.x_test[: args.eval_samples], data.y_test[: args.eval_samples], workload
        )
        model.evaluate(xt, yt, batch_size=workloads.BATCH_SIZE, verbose=0)  # warm-up
        secs, loads = [], []
        for _ in range(args.eval_repeats):
            with loadmeter.LoadMeter() as meter:
                t0 = time.perf_counter()
                model.evaluate(xt, yt, batch_size=workloads.BATCH_SIZE, verbose=0)
                secs.append(time.perf_counter() - t0)
            loads.append(meter.load)
        out["eval_samples"] = int(xt.shape[0])
        out["eval_seconds"] = secs
        out["eval_loads"] = loads
    return out


def _threads(backend: str) -> str:
    if backend == "torch":
        import torch

        return f"torch intra-op {torch.get_num_threads()}"
    return f"XLA default (os.cpu_count()={os.cpu_count()})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help=".npz written by workloads.save_npz")
    p.add_argument(
        "--run", action="append", required=True, help="WORKLOAD:SAMPLES:EXTRA, e.g. mlp:60000:6"
    )
    p.add_argument("--epochs", type=int, required=True, help="timed epochs (after 1 warm-up)")
    p.add_argument("--eval-samples", type=int, default=0, help="MLP evaluate samples (0: skip)")
    p.add_argument("--eval-repeats", type=int, default=5)
    args = p.parse_args()
    warnings.filterwarnings("ignore")
    data = workloads.load_npz(args.data)
    out = {}
    for spec in args.run:
        workload, samples, extra = spec.split(":")
        if workload not in workloads.WORKLOADS:
            p.error(f"expected a workload in {workloads.WORKLOADS}, received: {workload!r}")
        out[workload] = run(args, data, workload, int(samples), int(extra))
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
