"""Recurrent training and inference speed: Lamina against hand-written PyTorch and Keras 3.

    python benchmarks/rnn_bench.py                      # LSTM and GRU, 3 rounds, prints the report
    python benchmarks/rnn_bench.py --write              # ... and appends it to RESULTS.md
    python benchmarks/rnn_bench.py --quick              # tiny runs: checks every peer runs

Workload (issue 16): `Input((100, 32)) -> LSTM(128) -> Dense(1)` (and the same with GRU),
MSE, Adam(1e-3), batch 64, on seeded normal data; `fit` samples/s, and `predict` on
1,000 sequences (batch 256).

Method (as `solo.py`): each run is one peer's whole fit in a fresh process started
after the previous one exited, peers taking turns round by round (round 1: every peer
once, round 2: ...). A run reports each epoch's seconds; its **steady samples/s** is
the samples of an epoch over the median of epochs 2..E (epoch 1 holds warm-up), its
predict time the median of 5 calls after one warm-up. Before each run the driver waits
for other processes to go quiet and records their load (`loadmeter.py`); the worker
measures other processes' cores during its fit, and a run above 0.3 cores is marked
loaded and kept out of the medians (every run is printed). Ratios are paired: Lamina's
run against each peer's run of the same round, then the median over rounds.

Peers: `lamina` (Lamina `fit`, default `jit_compile='auto'`), `torch` (a hand-written
loop: `nn.LSTM`/`nn.GRU` + `nn.Linear`, torch.optim.Adam, flush-denormal on, batches
gathered from a per-epoch permutation), `keras_torch` (Keras 3 on PyTorch, this venv)
and `keras_jax` (Keras 3 on JAX in `.bench-envs/jax`, made by `envs.py`). Keras on
PyTorch runs its own Python step loop on the CPU, so it gets half the samples per epoch.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import loadmeter  # noqa: E402

STEPS, FEATURES, UNITS, BATCH = 100, 32, 128, 64
PREDICT_N, PREDICT_BATCH = 1000, 256
PEERS = ("lamina", "torch", "keras_torch", "keras_jax")
NAMES = {
    "lamina": "Lamina fit (default)",
    "torch": "PyTorch hand-written loop",
    "keras_torch": "Keras 3 on PyTorch",
    "keras_jax": "Keras 3 on JAX",
}
RESULTS = HERE / "RESULTS.md"


# ---------------------------------------------------------------------------- worker
def data(samples: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(samples, STEPS, FEATURES)).astype(np.float32)
    y = (x[:, -10:, :4].mean(axis=(1, 2)) + 0.1 * rng.normal(size=samples)).astype(np.float32)
    x_pred = rng.normal(size=(PREDICT_N, STEPS, FEATURES)).astype(np.float32)
    return x, y[:, None], x_pred


def timed_predict(predict: Any, x: np.ndarray) -> list[float]:
    predict(x)  # warm-up
    out = []
    for _ in range(5):
        t0 = time.perf_counter()
        predict(x)
        out.append(time.perf_counter() - t0)
    return out


def keras_style(args: argparse.Namespace) -> dict[str, Any]:
    """Lamina or Keras 3: the same user code, one import apart."""
    if args.peer == "lamina":
        sys.path.insert(1, str(ROOT))
        import torch

        import lamina as k

        torch.manual_seed(0)
        version = f"lamina, torch {torch.__version__} (threads {torch.get_num_threads()})"
    else:
        os.environ["KERAS_BACKEND"] = "torch" if args.peer == "keras_torch" else "jax"
        import keras as k

        k.utils.set_random_seed(0)
        version = f"keras {k.__version__} on {k.backend.backend()}"
    x, y, x_pred = data(args.samples)
    recurrent = k.layers.LSTM if args.cell == "lstm" else k.layers.GRU
    model = k.Sequential([k.Input((STEPS, FEATURES)), recurrent(UNITS), k.layers.Dense(1)])
    model.compile(k.optimizers.Adam(1e-3), "mse")
    seconds: list[float] = []

    class Timer(k.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            seconds.append(time.perf_counter() - self.t0)

    meter = loadmeter.LoadMeter().start()
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=args.epochs, verbose=0, callbacks=[Timer()])
    fit_s = time.perf_counter() - t0
    load = meter.stop()
    predict = timed_predict(lambda a: model.predict(a, batch_size=PREDICT_BATCH, verbose=0), x_pred)
    if args.peer == "lamina":
        runner = getattr(model, "_step_fn", None)
        version += f", train step {getattr(runner, 'decision', '?')}"
    return {
        "epoch_seconds": seconds,
        "fit_seconds": fit_s,
        "load": load,
        "predict": predict,
        "setup": version,
    }


def torch_loop(args: argparse.Namespace) -> dict[str, Any]:
    """The hand-written loop a PyTorch user writes for the same model."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    torch.set_flush_denormal(True)
    x_np, y_np, x_pred = data(args.samples)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    rnn = (nn.LSTM if args.cell == "lstm" else nn.GRU)(FEATURES, UNITS, batch_first=True)
    head = nn.Linear(UNITS, 1)
    params = [*rnn.parameters(), *head.parameters()]
    optimizer = torch.optim.Adam(params, lr=1e-3)
    seconds: list[float] = []
    meter = loadmeter.LoadMeter().start()
    t0 = time.perf_counter()
    for _ in range(args.epochs):
        t_epoch = time.perf_counter()
        order = torch.randperm(len(x))
        for start in range(0, len(x), BATCH):
            idx = order[start : start + BATCH]
            xb, yb = x.index_select(0, idx), y.index_select(0, idx)
            optimizer.zero_grad(set_to_none=True)
            out, _ = rnn(xb)
            loss = nn.functional.mse_loss(head(out[:, -1]), yb)
            loss.backward()
            optimizer.step()
        float(loss)  # the epoch's work is done
        seconds.append(time.perf_counter() - t_epoch)
    fit_s = time.perf_counter() - t0
    load = meter.stop()

    def predict(a: np.ndarray) -> np.ndarray:
        rnn.eval()
        with torch.inference_mode():
            t = torch.from_numpy(a)
            parts = [
                head(rnn(t[i : i + PREDICT_BATCH])[0][:, -1])
                for i in range(0, len(t), PREDICT_BATCH)
            ]
            return torch.cat(parts).numpy()

    setup = f"torch {torch.__version__} (threads {torch.get_num_threads()}), Adam default impl"
    return {
        "epoch_seconds": seconds,
        "fit_seconds": fit_s,
        "load": load,
        "predict": timed_predict(predict, x_pred),
        "setup": setup,
    }


def worker(args: argparse.Namespace) -> None:
    try:
        out = torch_loop(args) if args.peer == "torch" else keras_style(args)
    except Exception as err:  # noqa: BLE001  reported to the driver, which goes on
        print(json.dumps({"event": "error", "message": f"{type(err).__name__}: {err}"[:400]}))
        sys.exit(1)
    print(json.dumps({"event": "result", **out}), flush=True)


# ---------------------------------------------------------------------------- driver
def python_for(peer: str) -> Path | None:
    if peer != "keras_jax":
        return Path(sys.executable)
    import envs

    path, _ = envs.ensure_env("jax")
    return path


def run_one(peer: str, cell: str, samples: int, epochs: int) -> dict[str, Any]:
    python = python_for(peer)
    if python is None:
        return {"peer": peer, "error": "no JAX env (python benchmarks/envs.py jax)"}
    with loadmeter.LoadMeter() as before:
        time.sleep(1.0)
    cmd = [str(python), str(Path(__file__).resolve()), "--worker", "--peer", peer]
    cmd += ["--cell", cell, "--samples", str(samples), "--epochs", str(epochs)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=7200, env=env, cwd=ROOT)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    result = json.loads(lines[-1]) if lines else {"event": "error", "message": proc.stderr[-400:]}
    result.update(peer=peer, cell=cell, samples=samples, load_before=before.load)
    if result.get("event") == "error":
        result["error"] = result.get("message", "failed")
    return result


def steady(run: dict[str, Any]) -> float:
    epochs = run["epoch_seconds"][1:] or run["epoch_seconds"]
    return run["samples"] / statistics.median(epochs)


def predict_rate(run: dict[str, Any]) -> float:
    return PREDICT_N / statistics.median(run["predict"])


def quiet(run: dict[str, Any]) -> bool:
    return "error" not in run and not run["load"] > loadmeter.QUIET


def report(runs: list[dict[str, Any]], command: str, started: str) -> str:
    lines = [
        f"## Recurrent layers: LSTM(128) / GRU(128), 100 steps x 32 features, batch 64 ({started})",
        "",
        f"- command: `{command}`; `benchmarks/rnn_bench.py` (method in its docstring); "
        f"load average at the start {os.getloadavg()[0]:.1f}",
        "- model `Input((100, 32)) -> LSTM|GRU(128) -> Dense(1)`, MSE, Adam(1e-3); steady samples/s "
        "= median of epochs 2..E; predict = 1,000 sequences, batch 256, median of 5 calls; "
        f"loaded runs (other processes > {loadmeter.QUIET} cores) are marked * and left out of medians",
        "",
        "| cell | peer | runs (steady samples/s per run) | median fit samples/s | median predict seq/s |",
        "|---|---|---|---|---|",
    ]
    cells = sorted({r["cell"] for r in runs}, key=lambda c: c != "lstm")
    for cell in cells:
        for peer in PEERS:
            mine = [r for r in runs if r["cell"] == cell and r["peer"] == peer]
            if not mine:
                continue
            shown = []
            for r in mine:
                shown.append(
                    f"error: {r['error'][:60]}"
                    if "error" in r
                    else f"{steady(r):,.0f}" + ("" if quiet(r) else "*")
                )
            good = [r for r in mine if quiet(r)] or [r for r in mine if "error" not in r]
            fit = f"{statistics.median(steady(r) for r in good):,.0f}" if good else "-"
            pred = f"{statistics.median(predict_rate(r) for r in good):,.0f}" if good else "-"
            lines.append(
                f"| {cell.upper()} | {NAMES[peer]} | {', '.join(shown)} | {fit} | {pred} |"
            )
    lines += [
        "",
        "Paired ratios (Lamina's run / the peer's run in the same round; median over quiet rounds):",
        "",
    ]
    lines += [
        "| cell | against | fit ratios per round | median fit | median predict | target |",
        "|---|---|---|---|---|---|",
    ]
    targets = {"torch": ">= 1.0", "keras_torch": ">= 5", "keras_jax": "> 1"}
    for cell in cells:
        for peer in ("torch", "keras_torch", "keras_jax"):
            pairs = []
            for rnd in sorted({r["round"] for r in runs}):
                mine = [r for r in runs if r["cell"] == cell and r["round"] == rnd]
                lam = next((r for r in mine if r["peer"] == "lamina"), None)
                other = next((r for r in mine if r["peer"] == peer), None)
                if lam and other and "error" not in lam and "error" not in other:
                    pairs.append(
                        (
                            steady(lam) / steady(other),
                            predict_rate(lam) / predict_rate(other),
                            quiet(lam) and quiet(other),
                        )
                    )
            if not pairs:
                continue
            good = [p for p in pairs if p[2]] or pairs
            fit_ratio = statistics.median(p[0] for p in good)
            pred_ratio = statistics.median(p[1] for p in good)
            shown = ", ".join(f"{p[0]:.2f}" + ("" if p[2] else "*") for p in pairs)
            lines.append(
                f"| {cell.upper()} | {NAMES[peer]} | {shown} | **{fit_ratio:.2f}x** | {pred_ratio:.2f}x | {targets[peer]} |"
            )
    setups = {(r["peer"], r.get("setup")) for r in runs if r.get("setup")}
    lines += ["", "Set-ups: " + "; ".join(f"{NAMES[p]}: {s}" for p, s in sorted(setups)), ""]
    lines += [
        "Every run (round, cell, peer, samples, epoch seconds, fit seconds, other cores during fit, predict seconds):",
        "",
    ]
    for r in runs:
        if "error" in r:
            lines.append(f"- r{r['round']} {r['cell']} {r['peer']}: error {r['error'][:200]}")
            continue
        epochs = ", ".join(f"{s:.2f}" for s in r["epoch_seconds"])
        lines.append(
            f"- r{r['round']} {r['cell']} {r['peer']}: {r['samples']} samples, epochs [{epochs}] s, "
            f"fit {r['fit_seconds']:.1f} s, load {r['load']:.2f}{'' if quiet(r) else ' (loaded)'}, "
            f"predict {statistics.median(r['predict']):.3f} s"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--peer", choices=PEERS)
    p.add_argument("--cell", choices=("lstm", "gru"), default="lstm")
    p.add_argument("--cells", default="lstm,gru")
    p.add_argument("--peers", default=",".join(PEERS))
    p.add_argument(
        "--samples", type=int, default=2048, help="samples per epoch (Keras on torch: half)"
    )
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--write", action="store_true", help="append the report to RESULTS.md")
    p.add_argument("--wait-idle", type=float, default=300.0)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return
    if args.quick:
        args.samples, args.epochs, args.rounds, args.wait_idle = 256, 2, 1, 0.0
    started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    runs: list[dict[str, Any]] = []
    for rnd in range(args.rounds):
        for cell in args.cells.split(","):
            for peer in args.peers.split(","):
                if args.wait_idle:
                    loadmeter.wait_for_quiet(args.wait_idle, lambda m: print(m, file=sys.stderr))
                samples = args.samples // 2 if peer == "keras_torch" else args.samples
                run = run_one(peer, cell, samples, args.epochs)
                run["round"] = rnd
                runs.append(run)
                shown = run.get("error") or f"{steady(run):,.0f} samples/s, load {run['load']:.2f}"
                print(f"round {rnd} {cell} {peer}: {shown}", file=sys.stderr, flush=True)
    command = "python benchmarks/rnn_bench.py " + " ".join(sys.argv[1:])
    text = report(runs, command.strip(), started)
    print(text)
    if args.write and not args.quick:
        with open(RESULTS, "a") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main()
