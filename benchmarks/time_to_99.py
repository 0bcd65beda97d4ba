"""Wall time from an empty process to 99.0% MNIST test accuracy: Lamina against its peers.

The recipe is `examples/mnist_99.py`'s (Lamina's fastest): three 3x3 convolutions
(16, 32, 64 channels, ReLU, 'same') each followed by 2x2 max pooling and
BatchNormalization, Flatten, Dense(128, relu), Dense(10, softmax); Adam (epsilon 1e-7) whose rate rises
linearly from PEAK/10 to PEAK over the first 20% of the steps, then follows a cosine
to zero; batch 64, shuffled each epoch, float32, 2 epochs. Every peer runs the same
recipe written in its own idiom:

- `lamina`: the example's `build_model` / `make_optimizer`, `fit(validation_data=test)`;
- `torch`: plain PyTorch, a hand-written loop (NCHW, logits + `F.cross_entropy`, Keras's
  initialisers: Glorot-uniform kernels, zero biases; BatchNorm momentum 0.01 = Keras's
  0.99, epsilon 1e-3; the same rate per step set in the param group);
- `keras_jax`, `keras_tf`: Keras 3 on JAX / TensorFlow (`.bench-envs/`, `envs.py`), the same
  Keras code as Lamina's, each backend's default `jit_compile`.

Time to 99 (the same rule for every framework): each run is a fresh process; the
parent notes CLOCK_MONOTONIC just before starting it. After every training epoch
the process evaluates the whole test set (10,000 images) and notes the clock once the
accuracy is known. The time to 99 is that clock after the first epoch whose test
accuracy is >= 99.0%, minus the launch time: interpreter start, imports, loading
MNIST from the local .npz cache, building, every epoch so far and its evaluation.
A run that never reaches 99.0% has none. The test set never steers training (fixed
schedule, no early stopping).

Each framework runs its seeds one process at a time, frameworks interleaved within a
round (seed s of every framework, then seed s+1), so load drift hits all alike. The
parent records the load average and the cores other processes kept busy during each
run (`loadmeter.py`). Reported: every run, medians over the seeds, ratios of medians.

    python benchmarks/time_to_99.py [--seeds 0 1 2] [--check-seeds 0 1 2 3 4] [--write]
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLE = ROOT / "examples" / "mnist_99.py"
FRAMEWORKS = ("lamina", "torch", "keras_jax", "keras_tf")
TARGET = 0.99
# The recipe's numbers, repeated from examples/mnist_99.py for the peers (which cannot
# import Lamina); the Lamina worker checks that the example still uses them.
FILTERS = (16, 32, 64)
HIDDEN = 128  # units of the Dense(relu) layer before the softmax
BATCH_SIZE = 64
PEAK_RATE = 3e-3
WARMUP = 0.2
EPOCHS = 2


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def steps_of(n_train: int, epochs: int) -> tuple[int, int]:
    """(total steps, warmup steps) of the schedule."""
    total = epochs * -(-n_train // BATCH_SIZE)
    return total, int(WARMUP * total)


def rate_at(step: int, total: int, warmup: int) -> float:
    """Keras's CosineDecay(PEAK/10, total - warmup, warmup_target=PEAK, warmup_steps=warmup)."""
    start = PEAK_RATE / 10
    if step < warmup:
        return start + (PEAK_RATE - start) * step / warmup
    s = min(step - warmup, total - warmup)
    return PEAK_RATE * 0.5 * (1.0 + math.cos(math.pi * s / (total - warmup)))


def load_npz(path: str) -> tuple[np.ndarray, ...]:
    with np.load(path, allow_pickle=False) as f:
        return f["x_train"], f["y_train"], f["x_test"], f["y_test"]


# ----------------------------------------------------------------- Keras-style workers
def build_keras(k: Any, total: int, warmup: int) -> tuple[Any, Any]:
    """The recipe in Keras 3's API (`k` is `keras`, or `lamina` for the check)."""
    L = k.layers
    stack: list = [L.Input((28, 28, 1))]
    for filters in FILTERS:
        stack += [
            L.Conv2D(filters, 3, padding="same", activation="relu"),
            L.MaxPooling2D(2),
            L.BatchNormalization(),
        ]
    stack += [L.Flatten(), L.Dense(HIDDEN, activation="relu"), L.Dense(10, activation="softmax")]
    rate = k.optimizers.schedules.CosineDecay(
        PEAK_RATE / 10, total - warmup, warmup_target=PEAK_RATE, warmup_steps=warmup
    )
    return k.Sequential(stack), k.optimizers.Adam(rate)


def layer_plan(model: Any) -> list[tuple[str, tuple, int]]:
    return [(type(x).__name__, tuple(x.output.shape), x.count_params()) for x in model.layers]


def run_keras_style(framework: str, seed: int, epochs: int, data_path: str) -> None:
    if framework == "lamina":
        import lamina as k
        from lamina.datasets import mnist

        (xa, ya), (xb, yb) = mnist.load_data()
    else:
        os.environ["KERAS_BACKEND"] = {"keras_jax": "jax", "keras_tf": "tensorflow"}[framework]
        import keras as k

        xa, ya, xb, yb = load_npz(data_path)
    emit(event="loaded", t=time.monotonic())
    k.utils.set_random_seed(seed)
    xa = xa.reshape(-1, 28, 28, 1).astype("float32") / 255.0
    xb = xb.reshape(-1, 28, 28, 1).astype("float32") / 255.0
    total, warmup = steps_of(len(xa), epochs)
    if framework == "lamina":
        import importlib.util

        spec = importlib.util.spec_from_file_location("mnist_99", EXAMPLE)
        example = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(example)
        consts = (
            example.FILTERS,
            example.HIDDEN,
            example.BATCH_SIZE,
            example.PEAK_RATE,
            example.WARMUP,
        )
        if consts != (FILTERS, HIDDEN, BATCH_SIZE, PEAK_RATE, WARMUP):
            raise RuntimeError(f"Expected the example's recipe, received: constants={consts}")
        k.utils.set_random_seed(seed)
        model, optimizer = example.build_model(), example.make_optimizer(total)
        mine, _ = build_keras(k, total, warmup)
        if layer_plan(model) != layer_plan(mine):
            raise RuntimeError("Expected the example's model to match this benchmark's recipe")
        k.utils.set_random_seed(seed)
        model = example.build_model()
    else:
        model, optimizer = build_keras(k, total, warmup)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    class Clock(k.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            emit(
                event="epoch", epoch=epoch + 1, acc=float(logs["val_accuracy"]), t=time.monotonic()
            )

    model.fit(
        xa,
        ya,
        batch_size=BATCH_SIZE,
        epochs=epochs,
        validation_data=(xb, yb),
        callbacks=[Clock()],
        verbose=0,
    )
    emit(event="setup", jit_compile=str(getattr(model, "jit_compile", "?")), version=k.__version__)


# --------------------------------------------------------------------- PyTorch worker
def run_torch(seed: int, epochs: int, data_path: str) -> None:
    import torch
    import torch.nn.functional as F
    from torch import nn

    xa, ya, xb, yb = load_npz(data_path)
    emit(event="loaded", t=time.monotonic())
    torch.manual_seed(seed)
    x_train = torch.from_numpy(xa).float().div_(255.0).unsqueeze(1)
    y_train = torch.from_numpy(ya.astype(np.int64))
    x_test = torch.from_numpy(xb).float().div_(255.0).unsqueeze(1)
    y_test = torch.from_numpy(yb.astype(np.int64))
    body: list[nn.Module] = []
    channels = 1
    for filters in FILTERS:
        body += [
            nn.Conv2d(channels, filters, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.BatchNorm2d(filters, eps=1e-3, momentum=0.01),
        ]
        channels = filters
    # Keras flattens NHWC; the order of the 3x3x64 features does not matter to a fresh layer.
    head = [nn.Flatten(), nn.Linear(channels * 3 * 3, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 10)]
    net = nn.Sequential(*body, *head)
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    total, warmup = steps_of(len(x_train), epochs)
    opt = torch.optim.Adam(net.parameters(), lr=rate_at(0, total, warmup), eps=1e-7)
    step = 0
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(x_train))
        for i in range(0, len(x_train), BATCH_SIZE):
            idx = order[i : i + BATCH_SIZE]
            for group in opt.param_groups:
                group["lr"] = rate_at(step, total, warmup)
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(x_train[idx]), y_train[idx]).backward()
            opt.step()
            step += 1
        net.eval()
        correct = 0
        with torch.inference_mode():
            for i in range(0, len(x_test), BATCH_SIZE):
                pred = net(x_test[i : i + BATCH_SIZE]).argmax(1)
                correct += int((pred == y_test[i : i + BATCH_SIZE]).sum())
        emit(event="epoch", epoch=epoch + 1, acc=correct / len(x_test), t=time.monotonic())
    emit(event="setup", jit_compile="eager", version=torch.__version__)


# ---------------------------------------------------------------------------- parent
def mnist_cache() -> str:
    """The .npz every framework reads (Lamina's own cache; made by its first load)."""
    from lamina.datasets import mnist

    mnist.load_data()
    home = Path(os.environ.get("LAMINA_HOME", Path.home() / ".lamina"))
    path = home / "datasets" / "mnist.npz"
    if not path.exists():
        raise FileNotFoundError(f"Expected Lamina's MNIST cache, received: path={path}")
    return str(path)


def interpreter(framework: str) -> tuple[str | None, str]:
    if framework in ("lamina", "torch"):
        return sys.executable, ""
    sys.path.insert(0, str(HERE))
    import envs

    python, status = envs.ensure_env({"keras_jax": "jax", "keras_tf": "tf"}[framework])
    return (str(python) if python else None), status


def busy_seconds() -> float:
    sys.path.insert(0, str(HERE))
    import loadmeter

    return loadmeter.busy_seconds()


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_once(framework: str, python: str, seed: int, epochs: int, data: str) -> dict[str, Any]:
    """One fresh process; its epochs' accuracies and clocks, relative to the launch."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
    cmd = [python, str(Path(__file__).resolve()), "--worker", framework]
    cmd += ["--seed", str(seed), "--epochs", str(epochs), "--data", data]
    load_before = os.getloadavg()[0]
    busy0, own0 = busy_seconds(), children_cpu()
    launched = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    except subprocess.TimeoutExpired as err:  # keep the epochs it reported
        out = err.stdout.decode() if isinstance(err.stdout, bytes) else err.stdout or ""
        proc = subprocess.CompletedProcess(cmd, -9, out, "timed out after 1800 s")
    wall = time.monotonic() - launched
    other = (busy_seconds() - busy0 - (children_cpu() - own0)) / wall
    run: dict[str, Any] = {"framework": framework, "seed": seed, "wall": wall, "other": other}
    run["loadavg"] = (load_before + os.getloadavg()[0]) / 2
    run["epochs"], run["setup"] = [], {}
    for line in proc.stdout.splitlines():
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        if event["event"] == "loaded":
            run["loaded"] = event["t"] - launched
        elif event["event"] == "epoch":
            run["epochs"].append((event["epoch"], event["acc"], event["t"] - launched))
        elif event["event"] == "setup":
            run["setup"] = event
    if proc.returncode != 0:
        run["error"] = (proc.stderr.strip().splitlines() or ["?"])[-1][:200]
    reached = [t for _, acc, t in run["epochs"] if acc >= TARGET]
    run["t99"] = reached[0] if reached else None
    return run


def describe(run: dict[str, Any]) -> str:
    epochs = ", ".join(f"e{e} {acc * 100:.2f}% at {t:.1f} s" for e, acc, t in run["epochs"])
    t99 = f"{run['t99']:.1f} s" if run["t99"] is not None else "not reached"
    text = f"- {run['framework']} seed {run['seed']}: time to 99 {t99}; {epochs}; "
    text += f"data loaded at {run.get('loaded', float('nan')):.1f} s, process {run['wall']:.1f} s, "
    text += f"loadavg {run['loadavg']:.1f}, other cores {run['other']:.2f}"
    return text + (f"; ERROR {run['error']}" if "error" in run else "")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--epochs", type=int, default=EPOCHS)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument(
        "--check-seeds",
        type=int,
        nargs="*",
        default=[3, 4],
        help="extra Lamina-only seeds that must reach 99%% too",
    )
    p.add_argument("--frameworks", nargs="+", choices=FRAMEWORKS, default=list(FRAMEWORKS))
    p.add_argument("--write", action="store_true", help="append the section to RESULTS.md")
    args = p.parse_args()
    if args.worker == "torch":
        return run_torch(args.seed, args.epochs, args.data)
    if args.worker:
        return run_keras_style(args.worker, args.seed, args.epochs, args.data)

    data = mnist_cache()
    pythons: dict[str, str] = {}
    for fw in args.frameworks:
        python, status = interpreter(fw)
        if python is None:
            print(f"{fw}: skipped ({status})", flush=True)
        else:
            pythons[fw] = python
    runs: list[dict[str, Any]] = []
    started = datetime.datetime.now(datetime.timezone.utc)
    for seed in args.seeds:
        for fw in pythons:
            runs.append(run_once(fw, pythons[fw], seed, args.epochs, data))
            print(describe(runs[-1]), flush=True)
    if "lamina" in pythons:
        for seed in args.check_seeds:
            runs.append(run_once("lamina", pythons["lamina"], seed, args.epochs, data))
            print(describe(runs[-1]), flush=True)
    print(report(runs, args, started, pythons))
    if args.write:
        with open(HERE / "RESULTS.md", "a") as f:
            f.write("\n" + report(runs, args, started, pythons))


def report(runs: list[dict[str, Any]], args: Any, started: Any, pythons: dict) -> str:
    lines = [
        f"## Time to 99% MNIST test accuracy from an empty process ({started:%Y-%m-%d %H:%M} UTC)",
        "",
        f"`python benchmarks/time_to_99.py --seeds {' '.join(map(str, args.seeds))} "
        f"--check-seeds {' '.join(map(str, args.check_seeds))}` "
        f"(recipe of examples/mnist_99.py, {args.epochs} epochs; rule in the script's docstring)",
        "",
        "| framework | time to 99 (median, s) | per seed (s) | final test accuracy | x Lamina |",
        "|---|---|---|---|---|",
    ]
    medians: dict[str, float] = {}
    main_runs = [r for r in runs if r["seed"] in args.seeds]
    for fw in pythons:
        mine = [r for r in main_runs if r["framework"] == fw]
        times = [r["t99"] if r["t99"] is not None else math.inf for r in mine]
        medians[fw] = statistics.median(times) if times else math.nan
    for fw in pythons:
        mine = [r for r in main_runs if r["framework"] == fw]
        per = ", ".join(f"{r['t99']:.1f}" if r["t99"] is not None else "-" for r in mine)
        accs = ", ".join(f"{r['epochs'][-1][1] * 100:.2f}%" if r["epochs"] else "-" for r in mine)
        ratio = medians[fw] / medians.get("lamina", math.nan)
        lines.append(f"| {fw} | {medians[fw]:.1f} | {per} | {accs} | {ratio:.2f} |")
    checks = [r for r in runs if r["framework"] == "lamina"]
    if checks:
        all_ok = all(r["epochs"] and r["epochs"][-1][1] >= TARGET for r in checks)
        seeds = sorted({r["seed"] for r in checks})
        lines += ["", f"Lamina seeds {seeds} all >= 99.0% at the end: {all_ok}."]
    lines += ["", "Every run:", ""] + [describe(r) for r in runs]
    setups = {r["framework"]: r["setup"] for r in runs if r["setup"]}
    lines += [
        "",
        "Set-ups: "
        + "; ".join(
            f"{fw} {s.get('version', '?')} (jit_compile {s.get('jit_compile', '?')})"
            for fw, s in setups.items()
        ),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
