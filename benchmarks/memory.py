"""Peak memory of Lamina `fit` and of the hand-written loops, each in a fresh process.

Four peers per workload: Lamina as the benchmark compiles it, Lamina eager
(`jit_compile=False`), and the hand-written eager and torch.compile loops. torch.compile
itself (Dynamo, Inductor, their caches) holds about 100 MiB whatever the model, so a
compiled run is compared with both hand-written loops.

The worker imports torch and Lamina (both peers, so that both baselines hold the
same modules), loads the raw uint8
arrays from the `.npz` that `run.py` wrote, then takes its baseline: the resident
set size (VmRSS) at that point, after resetting the peak (VmHWM) to it by writing
"5" to /proc/self/clear_refs. It then prepares the data the way its peer takes it
(Lamina: float32 NumPy images and one-hot labels; hand-written: a float32 tensor
and int64 labels), builds the model and trains `--epochs` epochs. The figure is
peak RSS (VmHWM) minus the baseline. Where clear_refs is unavailable it falls
back to `resource.getrusage` (ru_maxrss), whose peak then includes the imports.

    python benchmarks/memory.py --peer lamina --workload cnn --data d.npz --samples 12800
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

import workloads  # noqa: E402

# lamina: fit as the benchmark compiles it; lamina_eager: fit with jit_compile=False;
# torch / torch_compiled: the hand-written eager / torch.compile loop (their trial winners).
PEERS = ("lamina", "torch", "lamina_eager", "torch_compiled")


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(f"Expected {field} in /proc/self/status, received: fields without it")


def _reset_peak() -> str:
    """Reset VmHWM to the current RSS; returns the method the peak will be read with."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return "VmHWM"
    except OSError:
        return "ru_maxrss"


def _peak_kb(method: str) -> int:
    if method == "VmHWM":
        return _status_kb("VmHWM")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _train_lamina(
    data: workloads.Data, wl: str, n: int, epochs: int, device: str, eager: bool = False
) -> None:
    import torch

    import lamina

    x, y = workloads.prepare(data.x_train[:n], data.y_train[:n], wl)
    torch.manual_seed(0)
    model, optimizer = workloads.build_keras_style(lamina, wl)
    model.compile(
        optimizer=optimizer,
        loss="categorical_crossentropy",
        metrics=["accuracy"],
        device=device,
        **({"jit_compile": False} if eager else workloads.LAMINA_COMPILE[wl]),
    )
    model.fit(x, y, batch_size=workloads.BATCH_SIZE, epochs=epochs, verbose=0)


def _train_torch(
    data: workloads.Data, wl: str, n: int, epochs: int, device: str, variant: dict[str, Any]
) -> None:
    import peer_torch

    peer = peer_torch.TorchPeer(
        wl, data.x_train[:n], data.y_train[:n], peer_torch.Variant(**variant), device
    )
    for _ in range(epochs):
        peer.train_epoch()


def worker(args: argparse.Namespace) -> dict[str, Any]:
    """Run one peer in this process; return baseline and peak resident memory in MiB."""
    import torch  # noqa: F401

    try:  # both peers import Lamina, so both baselines hold the same modules
        import lamina  # noqa: F401
    except ImportError:
        if args.peer.startswith("lamina"):
            raise
    data = workloads.load_npz(args.data)
    method = _reset_peak()
    base = _status_kb("VmRSS")
    if args.peer.startswith("lamina"):
        eager = args.peer == "lamina_eager"
        _train_lamina(data, args.workload, args.samples, args.epochs, args.device, eager)
    else:
        _train_torch(
            data, args.workload, args.samples, args.epochs, args.device, json.loads(args.variant)
        )
    peak = _peak_kb(method)
    return {
        "baseline_mib": base / 1024,
        "peak_mib": peak / 1024,
        "delta_mib": (peak - base) / 1024,
        "method": method,
    }


def measure(
    peer: str,
    workload: str,
    npz: Path,
    samples: int,
    epochs: int = 2,
    device: str = "cpu",
    variant: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the worker in a fresh interpreter; its result, or {"error": why}."""
    if peer not in PEERS:
        raise ValueError(f"Expected a peer in {PEERS}, received: peer={peer!r}")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--peer", peer, "--workload", workload]
    cmd += ["--data", str(npz), "--samples", str(samples), "--epochs", str(epochs)]
    cmd += ["--device", device, "--variant", json.dumps(variant or {})]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    except subprocess.TimeoutExpired:
        return {"error": "timed out after 1200 s"}
    if proc.returncode != 0:
        return {"error": " | ".join(proc.stderr.strip().splitlines()[-2:])}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure_all(
    variants: dict[str, dict[str, Any]],
    npz: Path,
    samples: dict[str, int],
    device: str = "cpu",
    compiled: dict[str, dict[str, Any]] | None = None,
    parallel: int = 2,
) -> dict[str, dict[str, Any]]:
    """Every peer on each workload of `variants` (the hand-written eager set-up per
    workload; `compiled`: its torch.compile set-up, where one was picked).

    Each run has a fresh process, `parallel` at a time: peak RSS does not depend on speed.
    """
    compiled = compiled or {}
    runs = []
    for wl, v in variants.items():
        runs += [(wl, "lamina", None), (wl, "torch", v), (wl, "lamina_eager", None)]
        if wl in compiled:
            runs.append((wl, "torch_compiled", compiled[wl]))
    with ThreadPoolExecutor(parallel) as pool:
        jobs = {
            (wl, peer): pool.submit(measure, peer, wl, npz, samples[wl], 2, device, v)
            for wl, peer, v in runs
        }
        out: dict[str, dict[str, Any]] = {}
        for (wl, peer), job in jobs.items():
            out.setdefault(wl, {})[peer] = job.result()
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--peer", choices=PEERS, required=True)
    ap.add_argument("--workload", choices=workloads.WORKLOADS, required=True)
    ap.add_argument("--data", required=True, help=".npz written by workloads.save_npz")
    ap.add_argument("--samples", type=int, required=True)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--variant", default="{}", help="peer_torch.Variant fields as JSON")
    args = ap.parse_args()
    print(json.dumps(worker(args)), flush=True)


if __name__ == "__main__":
    main()
