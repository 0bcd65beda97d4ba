"""Subprocess worker: one Keras peer, driven epoch by epoch over stdin.

Keras fixes its backend at import, so `run.py` starts one worker per flavor:

- `torch`: Keras 3, KERAS_BACKEND=torch (the main venv);
- `jax`: Keras 3, KERAS_BACKEND=jax (`.bench-envs/jax`);
- `tensorflow`: Keras 3, KERAS_BACKEND=tensorflow (`.bench-envs/tf`);
- `tf_keras`: tf.keras 2, `import tf_keras as keras` (`.bench-envs/tf`).

    python benchmarks/peer_keras.py --flavor jax --data d.npz [--eval-samples 10000]

The worker imports Keras, prints `{"event": "ready", ...}` and then reads one command
per line, answering each with one JSON line: `build WORKLOAD SAMPLES` builds and
compiles a fresh model on the first SAMPLES training images; `epoch` runs one training epoch (the first starts `fit`, which a callback holds at
the end of each epoch until the next command), `evaluate` / `predict` time one call
on the test images, `quit` ends. So `run.py` can interleave epochs of every peer.
Epochs are timed from `on_epoch_begin` to `on_epoch_end` (Keras has turned the logs
into Python floats by then, which waits for the device); batch hooks stay unused,
so Keras keeps its asynchronous dispatch. Each epoch reports the cores other
processes used meanwhile (`loadmeter.py`).
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

FLAVORS = {"torch": "torch", "jax": "jax", "tensorflow": "tensorflow", "tf_keras": "tensorflow"}


def import_keras(flavor: str) -> Any:
    """The Keras module of `flavor` (KERAS_BACKEND must be set before the import)."""
    if flavor not in FLAVORS:
        raise ValueError(f"Expected a flavor in {sorted(FLAVORS)}, received: flavor={flavor!r}")
    os.environ["KERAS_BACKEND"] = FLAVORS[flavor]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if flavor == "tf_keras":
        import tf_keras as keras
    else:
        import keras
    return keras


def versions(flavor: str, keras: Any) -> str:
    """A short set-up description: package versions and the framework's defaults used."""
    text = f"keras {keras.__version__}"
    if flavor == "torch":
        import torch

        return f"{text}, torch {torch.__version__} (intra-op threads {torch.get_num_threads()})"
    if flavor == "jax":
        import jax

        return f"{text}, jax {jax.__version__} ({jax.devices()[0]}, XLA default threads)"
    import tensorflow as tf

    return f"{text}, tensorflow {tf.__version__} (default threads)"


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def command() -> str:
    """The next command from stdin ("quit" at end of input)."""
    return sys.stdin.readline().strip() or "quit"


class Worker:
    """Keras, the data and the current workload's compiled model; answers the stdin commands."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.keras = import_keras(args.flavor)
        self.flavor = args.flavor
        self.data = workloads.load_npz(args.data)
        self.eval_samples = args.eval_samples
        self.model: Any = None
        emit(event="ready", setup=versions(args.flavor, self.keras))

    def build(self, wl: str, samples: int) -> None:
        """Fresh arrays and a compiled model for workload `wl` (`samples` training images)."""
        keras, data, n = self.keras, self.data, self.eval_samples
        self.model = None
        keras.backend.clear_session()
        self.x, self.y = workloads.prepare(data.x_train[:samples], data.y_train[:samples], wl)
        self.xt, self.yt = workloads.prepare(data.x_test[:n], data.y_test[:n], wl)
        keras.utils.set_random_seed(0)
        self.model, optimizer = workloads.build_keras_style(keras, wl)
        self.model.compile(
            optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"]
        )
        jit = getattr(self.model, "jit_compile", None)
        emit(event="build", setup=f"{versions(self.flavor, keras)}, jit_compile={jit}")

    def serve(self) -> None:
        cmd = command()
        while cmd != "quit":
            name, *rest = cmd.split()
            if name == "build" and len(rest) == 2 and rest[0] in workloads.WORKLOADS:
                self.build(rest[0], int(rest[1]))
                cmd = command()
            elif self.model is None:
                emit(
                    event="error",
                    message=f"Expected a build command first, received: command={cmd!r}",
                )
                cmd = command()
            elif name == "epoch":
                cmd = self.fit()
            elif name in ("evaluate", "predict"):
                bs = workloads.BATCH_SIZE
                with loadmeter.LoadMeter() as meter:
                    t0 = time.perf_counter()
                    if name == "evaluate":
                        self.model.evaluate(self.xt, self.yt, batch_size=bs, verbose=0)
                    else:
                        self.model.predict(self.xt, batch_size=bs, verbose=0)
                    seconds = time.perf_counter() - t0
                emit(event=name, seconds=seconds, load=meter.load, samples=int(self.xt.shape[0]))
                cmd = command()
            else:
                emit(
                    event="error",
                    message="Expected build WORKLOAD SAMPLES, epoch, evaluate, predict or quit, "
                    f"received: command={cmd!r}",
                )
                cmd = command()

    def fit(self) -> str:
        """Run `fit` one epoch per `epoch` command; return the first other command."""
        keras = self.keras

        class Hold(keras.callbacks.Callback):
            """Times each epoch, reports it, then waits for the next command."""

            def __init__(self) -> None:
                super().__init__()
                self.meter = loadmeter.LoadMeter()
                self.t0 = 0.0
                self.pending = "quit"

            def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
                self.meter.start()
                self.t0 = time.perf_counter()

            def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
                seconds = time.perf_counter() - self.t0
                acc = float((logs or {}).get("accuracy", float("nan")))
                emit(event="epoch", seconds=seconds, load=self.meter.stop(), accuracy=acc)
                nxt = command()
                if nxt != "epoch":
                    self.pending = nxt
                    self.model.stop_training = True

        hold = Hold()
        self.model.fit(
            self.x,
            self.y,
            batch_size=workloads.BATCH_SIZE,
            epochs=1_000_000,
            verbose=0,
            callbacks=[hold],
        )
        return hold.pending


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--flavor", choices=sorted(FLAVORS), required=True)
    p.add_argument("--data", required=True, help=".npz written by workloads.save_npz")
    p.add_argument(
        "--eval-samples", type=int, default=10000, help="test images for evaluate/predict"
    )
    args = p.parse_args()
    warnings.filterwarnings("ignore")
    Worker(args).serve()


if __name__ == "__main__":
    main()
