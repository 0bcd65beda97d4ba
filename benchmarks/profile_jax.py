"""Where Keras 3 on JAX spends its MLP training step: the XLA program and its matrix products.

    .bench-envs/jax/bin/python benchmarks/profile_jax.py [--steps 300]

Runs in the JAX env (no torch). Builds the benchmark's MLP with Keras 3 (JAX backend),
fits one epoch, then takes the jitted train step Keras runs (`model.train_function`'s
`jax.jit`) and reports:
1. the step's time per call (median of rounds, the state threaded through as in fit);
2. the compiled XLA program: its fusions and dot (matrix product) instructions, and
   XLA's cost analysis (FLOPs);
3. the same 14 matrix products (5 forward, 9 backward: the first layer's input gradient
   is not needed) as one jitted function of their own, timed alone: the GEMM part of the
   step; the rest is XLA's fused elementwise work and its runtime.
Compare with `profile_lamina.py` for Lamina's side.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import workloads  # noqa: E402


def median_call(fn, rounds: int, steps: int) -> float:
    """Median over rounds of the mean seconds per call of `fn()` (which blocks)."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(steps):
            fn()
        times.append((time.perf_counter() - start) / steps)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    import jax
    import jax.numpy as jnp
    import keras

    rng = np.random.default_rng(0)
    x = rng.random((60_000, 28, 28), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 60_000)]
    model, optimizer = workloads.build_keras_style(keras, "mlp")
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:12_800], y[:12_800], batch_size=128, epochs=1, verbose=0)

    # the state fit threads through the jitted step (keras/src/backend/jax/trainer.py)
    state = (
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
        [v.value for v in model.optimizer.variables],
        [v.value for m in model.metrics for v in m.variables],
    )
    batch = (jnp.asarray(x[:128]), jnp.asarray(y[:128]))
    step = jax.jit(model.train_step)
    holder = {"state": state}

    def one() -> None:
        logs, holder["state"] = step(holder["state"], batch)
        jax.block_until_ready(logs)

    for _ in range(20):
        one()
    per_step = median_call(one, args.rounds, args.steps)
    compiled = step.lower(state, batch).compile()
    text = compiled.as_text()
    fusions = len(re.findall(r"^\s*\S+ = \S+ fusion\(", text, flags=re.M))
    dots = re.findall(r"= (\S+) dot\(", text)  # anywhere, fused computations included
    entry = text[text.rfind("ENTRY") :]
    top_dots = len(re.findall(r"= \S+ dot\(", entry))
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    flops = float(cost.get("flops", float("nan"))) if cost else float("nan")

    sizes = (784, 200, 100, 60, 30, 10)
    ws = [jnp.ones((a, b), jnp.float32) * 0.01 for a, b in zip(sizes[:-1], sizes[1:])]
    acts = [jnp.ones((128, a), jnp.float32) for a in sizes]

    @jax.jit
    def gemms(ws, acts):
        out = [acts[i] @ ws[i] for i in range(5)]  # forward
        out += [acts[i].T @ acts[i + 1] for i in range(5)]  # weight gradients
        out += [acts[i + 1] @ ws[i].T for i in range(1, 5)]  # input gradients
        return out

    def gemm_call() -> None:
        jax.block_until_ready(gemms(ws, acts))

    for _ in range(20):
        gemm_call()
    per_gemm = median_call(gemm_call, args.rounds, args.steps)
    gemm_flops = (
        2 * 128 * sum(a * b for a, b in zip(sizes[:-1], sizes[1:])) * 3 - 2 * 128 * 784 * 200
    )
    print(f"jax {jax.__version__}, keras {keras.__version__}, devices {jax.devices()}")
    print(f"train step: {per_step * 1e6:.0f} us per step of 128 ({128 / per_step:,.0f} samples/s)")
    print(
        f"XLA program: {fusions} fusions, {len(dots)} dot instructions ({top_dots} unfused in "
        f"the entry computation), cost analysis {flops / 1e6:.1f} MFLOP"
    )
    print("  dot output shapes: " + ", ".join(sorted(set(dots))))
    print(
        f"the 14 matrix products alone: {per_gemm * 1e6:.0f} us "
        f"({gemm_flops / per_gemm / 1e9:.0f} GFLOP/s over {gemm_flops / 1e6:.0f} MFLOP)"
    )
    print(f"rest of the step (fusions, runtime): {(per_step - per_gemm) * 1e6:.0f} us")


if __name__ == "__main__":
    main()
