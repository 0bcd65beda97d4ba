"""One run of the applications benchmark (`apps_bench.py`): one peer, one network, one process.

    python benchmarks/apps_worker.py --peer lamina --net resnet50 --dir DIR [--infer-reps 3 ...]

NumPy and the standard library only at import: the same file runs in `.venv` (Lamina,
plain PyTorch, Keras 3 on torch) and in the peer envs `.bench-envs/jax` and
`.bench-envs/tf` (Keras 3 on JAX and TensorFlow). DIR holds what `--peer prepare` wrote
once per session: `data.npz` (inference images, the training batches and labels),
`<net>.weights.h5` (Keras's random weights with random BatchNorm statistics),
`<net>_weights.npz` (the same arrays by layer name, for the plain PyTorch module) and
`<net>_reference.npy` (Keras-on-torch probabilities for the first 4 inference images).

A run: build the network with those weights; one warm-up `predict` of the inference
images (compiles or traces where the framework does), then the probabilities of the
check images (compared by the driver with the reference), then `--infer-reps` timed
`predict` calls (batch 32); then the fine-tuning step: `compile(SGD(1e-3, momentum=0.9),
'sparse_categorical_crossentropy')` and `fit(batch_size=32, shuffle=False)` for
`--train-epochs` epochs of `--train-steps` steps, every layer trainable, BatchNorm in
training mode (the hand-written loop does the same with `F.cross_entropy` on logits).
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import loadmeter  # noqa: E402

BATCH = 32
KERAS_CTORS = {"resnet50": "ResNet50", "mobilenet_v2": "MobileNetV2"}
BACKENDS = {"keras_torch": "torch", "keras_jax": "jax", "keras_tf": "tensorflow"}


def _random_bn_statistics(model: Any, seed: int) -> None:
    """Keras's init leaves moving mean 0 and variance 1: a fold would change nothing."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, gamma.shape).astype("float32"),
                    rng.normal(0.0, 0.2, beta.shape).astype("float32"),
                    rng.normal(0.0, 0.2, mean.shape).astype("float32"),
                    rng.uniform(0.5, 1.5, var.shape).astype("float32"),
                ]
            )


def prepare(args: argparse.Namespace) -> dict[str, Any]:
    """Keras 3 on torch: random weights, saved for every peer; the reference outputs."""
    os.environ["KERAS_BACKEND"] = "torch"
    import keras

    keras.utils.set_random_seed(0)
    model = getattr(keras.applications, KERAS_CTORS[args.net])(weights=None)
    _random_bn_statistics(model, seed=1)
    folder = Path(args.dir)
    model.save_weights(str(folder / f"{args.net}.weights.h5"))
    arrays = {
        f"{layer.name}::{i}": w for layer in model.layers for i, w in enumerate(layer.get_weights())
    }
    np.savez(folder / f"{args.net}_weights.npz", **arrays)
    with np.load(folder / "data.npz") as data:
        check = data["x_infer"][:4]
    np.save(folder / f"{args.net}_reference.npy", np.asarray(model.predict(check, verbose=0)))
    return {"params": int(model.count_params())}


def _timed_calls(predict: Any, x: np.ndarray, reps: int) -> tuple[list[float], float]:
    meter = loadmeter.LoadMeter().start()
    seconds = []
    for _ in range(reps):
        t0 = time.perf_counter()
        predict(x)
        seconds.append(time.perf_counter() - t0)
    return seconds, meter.stop()


def keras_style(args: argparse.Namespace, data: dict[str, np.ndarray]) -> dict[str, Any]:
    """Lamina or Keras 3: the same user code, one import apart."""
    weights = str(Path(args.dir) / f"{args.net}.weights.h5")
    t_import = time.perf_counter()
    if args.peer == "lamina":
        sys.path.insert(1, str(HERE.parent))
        import torch

        import lamina as k

        model = getattr(k.applications, KERAS_CTORS[args.net])(weights=weights)
        setup = f"lamina, torch {torch.__version__} (threads {torch.get_num_threads()})"
    else:
        os.environ["KERAS_BACKEND"] = BACKENDS[args.peer]
        import keras as k

        model = getattr(k.applications, KERAS_CTORS[args.net])(weights=None)
        model.load_weights(weights)
        setup = f"keras {k.__version__} on {k.backend.backend()} {_backend_version(args.peer)}"
    build_s = time.perf_counter() - t_import

    def predict(x: np.ndarray) -> Any:
        return model.predict(x, batch_size=BATCH, verbose=0)

    t0 = time.perf_counter()
    predict(data["x_infer"])
    warmup = time.perf_counter() - t0
    check = np.asarray(predict(data["x_infer"][:4]))
    infer, infer_load = _timed_calls(predict, data["x_infer"], args.infer_reps)
    out = {"build_s": build_s, "infer_warmup_s": warmup, "check": check.tolist()}
    out.update(infer_seconds=infer, infer_load=infer_load, setup=setup)
    if args.train_epochs:
        epochs: list[float] = []
        meter = loadmeter.LoadMeter()

        class Timer(k.callbacks.Callback):
            def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
                if epoch == 1:  # epoch 1 holds compiling and tracing: timed from epoch 2
                    meter.start()
                self.t0 = time.perf_counter()

            def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
                epochs.append(time.perf_counter() - self.t0)

        model.compile(
            optimizer=k.optimizers.SGD(learning_rate=1e-3, momentum=0.9),
            loss="sparse_categorical_crossentropy",
        )
        model.fit(
            data["x_train"], data["y_train"], batch_size=BATCH, epochs=args.train_epochs,
            verbose=0, shuffle=False, callbacks=[Timer()],
        )  # fmt: skip
        out.update(train_epoch_seconds=epochs, train_load=meter.stop())
        if args.peer == "lamina":
            runner = getattr(model, "_step_fn", None)
            out["setup"] += f", train step {getattr(runner, 'decision', '?')}"
        else:
            out["setup"] += f", jit_compile={getattr(model, 'jit_compile', '?')}"
    return out


def _backend_version(peer: str) -> str:
    import importlib.metadata as meta

    pkg = {"keras_torch": "torch", "keras_jax": "jax", "keras_tf": "tensorflow-cpu"}[peer]
    try:
        return meta.version(pkg)
    except meta.PackageNotFoundError:
        return ""


def plain_torch(args: argparse.Namespace, data: dict[str, np.ndarray]) -> dict[str, Any]:
    """The hand-written PyTorch module and loops (channels_last, inference_mode)."""
    import torch
    import torch.nn.functional as F
    import torch_apps

    t0 = time.perf_counter()
    net = torch_apps.build(args.net)
    with np.load(Path(args.dir) / f"{args.net}_weights.npz") as arrays:
        by_layer: dict[str, list[np.ndarray]] = {}
        for key in sorted(arrays.files, key=lambda k: (k.split("::")[0], int(k.split("::")[1]))):
            by_layer.setdefault(key.split("::")[0], []).append(arrays[key])
    torch_apps.load_keras_weights(net, by_layer)
    net = net.eval().to(memory_format=torch.channels_last)
    runner = torch.compile(net) if args.peer == "torch_compile" else net
    build_s = time.perf_counter() - t0

    def predict(x: np.ndarray) -> np.ndarray:
        images = torch.from_numpy(x).permute(0, 3, 1, 2)  # NHWC memory = channels_last NCHW
        with torch.inference_mode():
            parts = [runner(images[i : i + BATCH]) for i in range(0, len(images), BATCH)]
            return torch.cat(parts).numpy()

    t0 = time.perf_counter()
    predict(data["x_infer"])
    warmup = time.perf_counter() - t0
    check = predict(data["x_infer"][:4])
    infer, infer_load = _timed_calls(predict, data["x_infer"], args.infer_reps)
    setup = f"torch {torch.__version__} (threads {torch.get_num_threads()}), channels_last"
    setup += ", torch.compile(module)" if args.peer == "torch_compile" else ", eager"
    out = {"build_s": build_s, "infer_warmup_s": warmup, "check": check.tolist()}
    out.update(infer_seconds=infer, infer_load=infer_load, setup=setup)
    if args.train_epochs and args.peer == "torch":
        net.train()
        opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)
        x = torch.from_numpy(data["x_train"]).permute(0, 3, 1, 2)
        y = torch.from_numpy(data["y_train"].astype(np.int64))
        meter, epochs = loadmeter.LoadMeter(), []
        for epoch in range(args.train_epochs):
            if epoch == 1:
                meter.start()
            t0 = time.perf_counter()
            for i in range(0, len(x), BATCH):
                loss = F.cross_entropy(net.logits(x[i : i + BATCH]), y[i : i + BATCH])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            float(loss)
            epochs.append(time.perf_counter() - t0)
        out.update(train_epoch_seconds=epochs, train_load=meter.stop())
        out["setup"] += ", SGD(momentum=0.9) default impl, F.cross_entropy on logits"
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--peer", required=True)
    p.add_argument("--net", choices=sorted(KERAS_CTORS), required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--infer-reps", type=int, default=3)
    p.add_argument("--train-epochs", type=int, default=3)
    args = p.parse_args()
    t0 = time.perf_counter()
    try:
        if args.peer == "prepare":
            out = prepare(args)
        else:
            with np.load(Path(args.dir) / "data.npz") as f:
                data = {k: f[k] for k in f.files}
            worker = plain_torch if args.peer in ("torch", "torch_compile") else keras_style
            out = worker(args, data)
    except Exception as err:  # noqa: BLE001  reported to the driver, which goes on
        print(json.dumps({"event": "error", "message": f"{type(err).__name__}: {err}"[:500]}))
        sys.exit(1)
    out["process_s"] = time.perf_counter() - t0
    print(json.dumps({"event": "result", **out}), flush=True)


if __name__ == "__main__":
    main()
