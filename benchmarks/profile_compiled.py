"""Where Lamina's compiled MLP step spends its time: torch.profiler over `fit(jit_compile=True)`.

    .venv/bin/python benchmarks/profile_compiled.py [--steps 50]

Fits the benchmark's MLP with `jit_compile=True` (one epoch of 200 batches first, so the
step is compiled and warm), times three more such epochs (median, microseconds per step),
then profiles `--steps` steps and prints each operator's own time per step: `aten::mm`
and `aten::addmm` are the matrix products, the `CompiledFxGraph` row is the compiled
program's own time (Inductor's fused C++ kernels and its Python wrapper), the others
are the batch gather and the engine around the graph. `profile_jax.py` gives JAX's side.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

import torch  # noqa: E402
import workloads  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--top", type=int, default=12)
    args = ap.parse_args()
    import lamina

    data = workloads.load_data()
    x, y = workloads.prepare(data.x_train[:25_600], data.y_train[:25_600], "mlp")
    model, opt = workloads.build_keras_style(lamina, "mlp")
    model.compile(opt, "categorical_crossentropy", metrics=["accuracy"], jit_compile=True)
    model.fit(x, y, batch_size=128, epochs=1, verbose=0)
    seconds = []
    for _ in range(3):
        start = time.perf_counter()
        model.fit(x, y, batch_size=128, epochs=1, verbose=0)
        seconds.append(time.perf_counter() - start)
    per_step = statistics.median(seconds) / 200
    n = args.steps
    with torch.profiler.profile() as prof:
        model.fit(x[: 128 * n], y[: 128 * n], batch_size=128, epochs=1, verbose=0)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(
        f"compiled step: {per_step * 1e6:.0f} us per step of 128 ({128 / per_step:,.0f} samples/s)"
    )
    print(f"own time per step under the profiler, {n} steps:")
    rows = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    for e in rows[: args.top]:
        name = "CompiledFxGraph (fused kernels + wrapper)" if "CompiledFxGraph" in e.key else e.key
        print(f"  {e.self_cpu_time_total / n:8.0f} us  {e.count / n:5.1f} calls  {name}")


if __name__ == "__main__":
    main()
