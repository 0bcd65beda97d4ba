"""What `fit(..., diagnose=True)` costs: the courses' MNIST CNN, one epoch with and without.

Each round trains the same model for one more epoch twice, once with `diagnose=True` and
once without, in alternating order (round 1: plain first, round 2: diagnosed first, ...),
and times each `fit` call. The overhead is the median over rounds of the paired ratio
(diagnosed seconds / plain seconds) minus one; `Diagnostics.probe_seconds` (its own
clock) is reported beside it. One untimed fit of each kind on 2,048 samples first makes
both runs start warm (the train step compiled, the probe's code paths loaded).

    .venv/bin/python benchmarks/diagnostics_bench.py                 # 5 rounds, 60,000 samples
    .venv/bin/python benchmarks/diagnostics_bench.py --rounds 3 --samples 12000 --no-write

A full run appends a dated section to benchmarks/RESULTS.md (every run, its load, the
medians); `--no-write` only prints it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "examples"))
from loadmeter import LoadMeter, own_seconds  # noqa: E402
from mnist_cnn import build_model  # noqa: E402

from lamina.datasets import mnist  # noqa: E402
from lamina.io_utils import atomic_write  # noqa: E402
from lamina.utils import set_random_seed, to_categorical  # noqa: E402

RESULTS = HERE / "RESULTS.md"


def load(samples: int) -> tuple[np.ndarray, np.ndarray]:
    (x, y), _ = mnist.load_data()
    x = x[:samples].reshape(-1, 28, 28, 1).astype("float32") / 255.0
    return x, to_categorical(y[:samples], 10)


def timed_fit(model: Any, x: np.ndarray, y: np.ndarray, diagnose: bool) -> dict[str, Any]:
    meter = LoadMeter().start()
    start, cpu = time.perf_counter(), own_seconds()
    history = model.fit(x, y, batch_size=128, epochs=1, verbose=0, diagnose=diagnose)
    seconds, cpu = time.perf_counter() - start, own_seconds() - cpu
    meter.stop()
    diag = history.diagnostics
    return {
        "diagnose": diagnose,
        "seconds": seconds,
        "cpu": cpu,
        "load": meter.load,
        "probe_seconds": diag.probe_seconds if diag is not None else None,
        "findings": len(diag.findings) if diag is not None else None,
        "step": model._step_fn.decision if model._step_fn is not None else "?",
        "loss": history.history["loss"][-1],
    }


def run(rounds: int, samples: int, log: Any) -> tuple[list[tuple[dict, dict]], dict[str, Any]]:
    x, y = load(samples)
    set_random_seed(1)
    model = build_model()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    warm = min(2048, samples)
    for diagnose in (False, True):
        model.fit(x[:warm], y[:warm], batch_size=128, epochs=1, verbose=0, diagnose=diagnose)
    pairs = []
    for r in range(rounds):
        order = (False, True) if r % 2 == 0 else (True, False)
        runs = {d: timed_fit(model, x, y, d) for d in order}
        pairs.append((runs[False], runs[True]))
        plain, diag = runs[False], runs[True]
        log(
            f"round {r + 1}: plain {plain['seconds']:.2f} s, diagnose {diag['seconds']:.2f} s "
            f"(probes {diag['probe_seconds']:.3f} s), ratio {diag['seconds'] / plain['seconds']:.4f}"
        )
    ratios = [d["seconds"] / p["seconds"] for p, d in pairs]
    summary = {
        "ratio": statistics.median(ratios),
        "cpu_ratio": statistics.median(d["cpu"] / p["cpu"] for p, d in pairs),
        "plain": statistics.median(p["seconds"] for p, _ in pairs),
        "diagnose": statistics.median(d["seconds"] for _, d in pairs),
        "probe_share": statistics.median(
            d["probe_seconds"] / (d["seconds"] - d["probe_seconds"]) for _, d in pairs
        ),
    }
    return pairs, summary


def section(pairs: list[tuple[dict, dict]], summary: dict[str, Any], argv: list[str],
            took: float, samples: int) -> str:  # fmt: skip
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    command = " ".join(["python", "benchmarks/diagnostics_bench.py", *argv])
    lines = [
        f"## Diagnostics overhead: the courses' MNIST CNN, one epoch with and without "
        f"diagnose=True ({stamp})",
        "",
        f"- command: `{command}` (took {took:.0f} s)",
        f"- machine: nproc {os.cpu_count()}, Python {platform.python_version()}, "
        f"torch {torch.__version__}, torch threads {torch.get_num_threads()}",
        f"- workload: examples/mnist_cnn.py build_model, Adam, categorical cross-entropy, "
        f"{samples:,} MNIST samples, batch 128, `fit(x, y, epochs=1, verbose=0)` on the same "
        "model each run (its weights keep training), paired rounds in alternating order",
        "- overhead = median over rounds of (diagnose s / plain s) - 1 (wall clock; also from "
        "the process's CPU time, which other processes disturb less); probe share = "
        "Diagnostics.probe_seconds / (fit s - probe_seconds) of the diagnosed run, its own clock",
        "",
        f"**Overhead of diagnose=True: {100 * (summary['ratio'] - 1):+.2f}% of an epoch** "
        f"(median plain {summary['plain']:.2f} s, diagnosed {summary['diagnose']:.2f} s; "
        f"probe share {100 * summary['probe_share']:.2f}%; target < 5%); the same from the "
        f"process's CPU time: {100 * (summary['cpu_ratio'] - 1):+.2f}%",
        "",
        "| round | run | fit s | CPU s | other cores | probe s | findings | train step | loss |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r, (plain, diag) in enumerate(pairs, 1):
        for run_ in (plain, diag) if r % 2 else (diag, plain):
            probe = "" if run_["probe_seconds"] is None else f"{run_['probe_seconds']:.3f}"
            found = "" if run_["findings"] is None else str(run_["findings"])
            name = "diagnose=True" if run_["diagnose"] else "plain"
            lines.append(
                f"| {r} | {name} | {run_['seconds']:.2f} | {run_['cpu']:.2f} | {run_['load']:.2f} | "
                f"{probe} | "
                f"{found} | {run_['step']} | {run_['loss']:.4f} |"
            )
    ratios = ", ".join(f"{d['seconds'] / p['seconds']:.4f}" for p, d in pairs)
    lines += ["", f"Paired ratios (diagnose / plain), by round: {ratios}", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    began = time.perf_counter()
    pairs, summary = run(args.rounds, args.samples, lambda m: print(m, flush=True))
    text = section(pairs, summary, sys.argv[1:], time.perf_counter() - began, args.samples)
    print("\n" + text)
    if not args.no_write:
        old = RESULTS.read_text()
        with atomic_write(RESULTS) as f:
            f.write((old.rstrip("\n") + "\n\n" + text).encode())
        print(f"appended to {RESULTS}")


if __name__ == "__main__":
    main()
