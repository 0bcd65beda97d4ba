"""Solo training benchmark: each peer's whole `fit`, alone, in a fresh process (the headline).

    python benchmarks/solo.py            # full run, rewrites the training-solo section of RESULTS.md
    python benchmarks/solo.py --quick    # tiny runs: checks that every peer runs, writes nothing

An idle JAX or TensorFlow process keeps its thread pools spinning, so epochs timed while
every peer's process is alive (`run.py`) partly measure the other peers. Here each run is
its own process (`solo_worker.py`), started only after the previous one exited; peers
take turns round by round. Before each run the driver records the load average, the
cores other processes used over ~1 s (`loadmeter.py`) and a short NumPy matmul probe;
the worker measures other processes' cores during its `fit`. Loaded runs are reported
but kept out of the medians (`solo_report.py`). Lamina and the hand-written torch loops
share one fresh Inductor cache directory, so each one's first run compiles cold.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import loadmeter  # noqa: E402
import solo_report  # noqa: E402
import workers  # noqa: E402
import workloads  # noqa: E402
from solo_report import SoloRun  # noqa: E402

NAMES = {
    "lamina": "Lamina fit (default)",
    "lamina_jit": "Lamina fit, jit_compile=True",
    "eager": "PyTorch eager loop",
    "compile": "PyTorch torch.compile loop",
    **{f: workers.FLAVORS[f][0] for f in workers.FLAVORS},
}
PEERS = tuple(NAMES)
CACHE_PEERS = ("lamina", "lamina_jit", "compile")  # compile through Inductor's on-disk cache
MAIN_VENV = ("lamina", "lamina_jit", "eager", "compile")
MLP_ONLY = ("lamina_jit",)
RUN_TIMEOUT = 3600.0


def machine_state() -> tuple[float, float, float]:
    """(load average, GFLOP/s of a NumPy matmul probe, other processes' cores over ~1 s).

    The probe runs first, so the quiet window after it also lets BLAS threads go idle.
    """
    loadavg = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    a = np.ones((512, 512), np.float32)
    b = np.ones((512, 512), np.float32)
    a @ b  # warm-up: BLAS thread start
    count, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 0.3:
        a @ b
        count += 1
    probe = 2 * 512**3 * count / (time.perf_counter() - t0) / 1e9
    with loadmeter.LoadMeter() as meter:
        time.sleep(1.0)
    return loadavg, probe, meter.load


def cache_files(path: Path) -> int:
    """How many files the Inductor cache directory holds (a run that compiled adds some)."""
    return sum(len(files) for _, _, files in os.walk(path))


def run_one(
    peer: str, wl: str, samples: int, epochs: int, npz: Path, cache: Path, python: Path
) -> dict[str, Any]:
    """One worker process, to its end; its JSON result or {"error": why}."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
    env.pop("KERAS_BACKEND", None)
    if peer in MAIN_VENV:
        env["TORCHINDUCTOR_CACHE_DIR"] = str(cache)
    cmd = [str(python), str(HERE / "solo_worker.py"), "--peer", peer, "--workload", wl]
    cmd += ["--samples", str(samples), "--epochs", str(epochs), "--data", str(npz)]
    cmd += ["--launched", repr(time.monotonic())]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {RUN_TIMEOUT:.0f} s"}
    events = [ln for ln in proc.stdout.splitlines() if ln.startswith('{"event"')]
    out = json.loads(events[-1]) if events else {}
    if out.get("event") == "result":
        return out
    tail = " | ".join([ln for ln in proc.stderr.splitlines() if ln.strip()][-2:])
    return {"error": out.get("message") or f"exit code {proc.returncode}: {tail[:300]}"}


def peer_pythons(peers: list[str]) -> dict[str, tuple[Path | None, str]]:
    """Each peer's interpreter, or (None, why it is skipped)."""
    found = {}
    for p in peers:
        found[p] = (Path(sys.executable), "") if p in MAIN_VENV else workers.python_for(p)
    return {p: (py, "" if py else f"env unavailable: {why}") for p, (py, why) in found.items()}


def run_workload(
    wl: str,
    peers: list[str],
    cfg: dict[str, Any],
    npz: Path,
    cache: Path,
    pythons: dict[str, tuple[Path | None, str]],
    log: Any,
    notes: list[str],
) -> tuple[list[tuple[str, str, str]], list[SoloRun]]:
    """Every round of one workload: each live peer once per round, one process at a time."""
    mine = [p for p in peers if wl == "mlp" or p not in MLP_ONLY]
    listed = [(p, NAMES[p], pythons[p][1]) for p in mine]
    live = [p for p in mine if pythons[p][0] is not None]
    samples, epochs = cfg["samples"][wl], cfg["epochs"][wl]
    runs: list[SoloRun] = []
    seen: set[str] = set()
    for rnd in range(1, cfg["rounds"][wl] + 1):
        for p in live:
            if any(r.peer == p and r.error for r in runs):
                continue  # a peer that failed once is not retried
            run = SoloRun(rnd, p, NAMES[p], samples)
            run.loadavg, run.probe, run.load_before = machine_state()
            before = cache_files(cache) if p in CACHE_PEERS else 0
            python = pythons[p][0]
            assert python is not None
            out = run_one(p, wl, samples, epochs, npz, cache, python)
            if p in CACHE_PEERS:
                run.cold, run.cache_files = p not in seen, cache_files(cache) - before
                seen.add(p)
            run.error = out.get("error", "")
            if not run.error:
                run.fit_s, run.epoch_s = out["fit_seconds"], out["epoch_seconds"]
                run.import_s, run.process_s = out["import_seconds"], out["process_seconds"]
                run.accuracy, run.load_during = out["accuracy"], out["load"]
                run.setup = out["setup"]
                for w in out.get("warnings", []):
                    note = f"{wl.upper()} {NAMES[p]} warned: {w}"
                    if note not in notes:
                        notes.append(note)
            runs.append(run)
            log(
                f"{wl} round {rnd} {p}: "
                + (
                    run.error
                    or f"fit {run.fit_s:.2f} s, steady {run.steady:,.0f} samples/s, other cores "
                    f"{run.load_before:.2f}/{run.load_during:.2f}, probe {run.probe:.1f} GFLOP/s"
                )
            )
    return listed, runs


def config(args: argparse.Namespace) -> dict[str, Any]:
    """Samples per epoch, epochs per run and rounds, per workload."""
    if args.quick:
        return {
            "samples": {"mlp": 2048, "cnn": 256},
            "epochs": {"mlp": 2, "cnn": 2},
            "rounds": {"mlp": 1, "cnn": 1},
        }
    return {
        "samples": {"mlp": 60000, "cnn": 6400},
        "epochs": {"mlp": 6, "cnn": 4},
        "rounds": {"mlp": args.rounds_mlp, "cnn": args.rounds_cnn},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny runs, 1 round; writes nothing")
    ap.add_argument("--workloads", default=",".join(workloads.WORKLOADS), help="e.g. mlp,cnn")
    ap.add_argument("--peers", default=",".join(PEERS), help=f"comma list from {','.join(PEERS)}")
    ap.add_argument("--rounds-mlp", type=int, default=3, help="rounds of MLP runs (default 3)")
    ap.add_argument("--rounds-cnn", type=int, default=2, help="rounds of CNN runs (default 2)")
    ap.add_argument(
        "--write",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write RESULTS.md (default: yes for a full run; --quick never writes)",
    )
    ap.add_argument(
        "--wait-idle",
        type=float,
        default=None,
        help="seconds to wait first for a quiet machine (default 120; 0 with --quick)",
    )
    args = ap.parse_args()
    wls = [w for w in args.workloads.split(",") if w]
    peers = [p for p in PEERS if p in set(args.peers.split(","))]
    bad = [w for w in wls if w not in workloads.WORKLOADS]
    bad += sorted(set(args.peers.split(",")) - set(PEERS) - {""})
    if bad:
        ap.error(
            f"Expected workloads in {workloads.WORKLOADS} and peers in {PEERS}, received: {bad}"
        )
    partial = set(wls) != set(workloads.WORKLOADS) or set(peers) != set(PEERS)
    # --quick never writes; a subset of workloads or peers writes only with --write
    write = not args.quick and (args.write if args.write is not None else not partial)
    cfg = config(args)
    started = time.perf_counter()
    date = datetime.now(timezone.utc).strftime("%a %b %d %H:%M:%S UTC %Y")

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {msg}", flush=True)

    sys.path.insert(1, str(ROOT))
    data = workloads.load_data()
    log(f"data: {data.source}")
    pythons = peer_pythons(peers)
    for p, (py, why) in pythons.items():
        log(f"{p}: {py if py else why}")
    results: dict[str, tuple[list[tuple[str, str, str]], list[SoloRun]]] = {}
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="lamina-solo-") as tmp:
        npz, cache = Path(tmp) / "data.npz", Path(tmp) / "inductor-cache"
        cache.mkdir()
        workloads.save_npz(data, npz)
        wait = args.wait_idle if args.wait_idle is not None else (0.0 if args.quick else 120.0)
        if wait > 0:
            loadmeter.wait_for_quiet(wait, log)
        for wl in wls:
            results[wl] = run_workload(wl, peers, cfg, npz, cache, pythons, log, notes)
    import torch  # already loaded by load_data (lamina.datasets); idle: it ran no ops

    meta = {
        "date": date,
        "command": " ".join(["python benchmarks/solo.py", *sys.argv[1:]]),
        "took": f"{time.perf_counter() - started:.0f} s",
        "data": data.source,
        "quick": args.quick,
        **cfg,
        "notes": notes,
    }
    text = solo_report.render(results, meta, torch, np)
    print("\n" + text)
    if write:
        solo_report.write(text)
        log(f"wrote {solo_report.report.RESULTS.relative_to(ROOT)}")
    else:
        log("RESULTS.md not written (--quick, --no-write, or a subset without --write)")


if __name__ == "__main__":
    main()
