"""ResNet50 and MobileNetV2 at 224x224 on the CPU: inference and one fine-tuning step.

    python benchmarks/apps_bench.py                 # both nets, every peer, 3 rounds, prints
    python benchmarks/apps_bench.py --write         # ... and appends the report to RESULTS.md
    python benchmarks/apps_bench.py --quick         # 1 round of tiny runs: checks every peer
    python benchmarks/apps_bench.py --nets mobilenet_v2 --peers lamina,torch --rounds 2

Issue 18's speed section. Peers: `lamina` (lamina.applications, `predict` / `fit`
with the defaults), `torch` (the plain PyTorch module of `torch_apps.py`, torch.nn only,
eager, channels_last, `inference_mode`), `torch_compile` (the same module under
`torch.compile`, inference only; its first call's compile time is reported apart),
`keras_torch` (Keras 3 on PyTorch, this venv), `keras_jax` and `keras_tf` (Keras 3 on
JAX / TensorFlow in `.bench-envs/jax` and `.bench-envs/tf`, made by `envs.py`).

Every peer runs the same network with the same weights: a first worker (Keras 3 on
torch) draws Keras's random weights with random BatchNorm statistics and saves them as
`.weights.h5` (which Lamina and Keras load) and by layer name (copied into the PyTorch
module); each peer's probabilities for 4 images are compared with Keras's (column
`check`: the largest difference over the largest probability).

Figures: **inference images/s** = images of a `predict` call (64, batch 32) over the
median of `--infer-reps` timed calls after one warm-up call; **train step s** = the
median over epochs 2..E of an epoch's seconds over its steps (batch 32, whole network
trainable, BatchNorm in training mode, SGD(1e-3, momentum 0.9), sparse categorical
cross-entropy on the 1000-way softmax; epoch 1 holds compiling and tracing).

Method (as `solo.py`): each run is one peer on one network in a fresh process, started
after the previous one exited; peers take turns round by round. Before each run the
driver waits (up to `--wait-idle` s) for other processes to go quiet and records the
load average and the cores other processes used over 1 s (`loadmeter.py`); the worker
measures other processes' cores during its timed calls and epochs. A run is **loaded**
when other processes used more than 0.3 cores before or during it: loaded runs are
marked * and left out of the medians (a peer without a quiet run uses all its runs,
flagged DISTURBED). Ratios are paired: Lamina's run against the peer's run of the same
round and network, then the median over rounds (quiet pairs if any).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
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

NETS = ("mobilenet_v2", "resnet50")
PEERS = ("lamina", "torch", "torch_compile", "keras_torch", "keras_jax", "keras_tf")
NAMES = {
    "lamina": "Lamina (predict / fit)",
    "torch": "PyTorch module, eager",
    "torch_compile": "PyTorch module, torch.compile",
    "keras_torch": "Keras 3 on PyTorch",
    "keras_jax": "Keras 3 on JAX",
    "keras_tf": "Keras 3 on TensorFlow",
}
ENV_OF = {"keras_jax": "jax", "keras_tf": "tf"}
RESULTS = HERE / "RESULTS.md"


def python_for(peer: str) -> tuple[Path | None, str]:
    if peer not in ENV_OF:
        return Path(sys.executable), ""
    import envs

    path, why = envs.ensure_env(ENV_OF[peer])
    return path, why


def run_worker(peer: str, net: str, folder: str, args: argparse.Namespace) -> dict[str, Any]:
    python, why = python_for(peer)
    if python is None:
        return {"peer": peer, "net": net, "error": f"no env: {why}"}
    with loadmeter.LoadMeter() as before:
        time.sleep(1.0)
    cmd = [str(python), str(HERE / "apps_worker.py"), "--peer", peer, "--net", net]
    cmd += ["--dir", folder, "--infer-reps", str(args.infer_reps)]
    cmd += ["--train-epochs", str(args.train_epochs)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "TF_CPP_MIN_LOG_LEVEL": "3"}
    env["TORCHINDUCTOR_CACHE_DIR"] = str(Path(folder) / "inductor")
    loadavg = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=7200, env=env, cwd=ROOT)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    result = json.loads(lines[-1]) if lines else {"event": "error", "message": proc.stderr[-500:]}
    result.update(peer=peer, net=net, load_before=before.load, loadavg=loadavg)
    result["wall_s"] = time.perf_counter() - t0
    if result.get("event") == "error":
        result["error"] = result.get("message", "failed")
    return result


def make_data(folder: Path, train_steps: int) -> None:
    rng = np.random.default_rng(0)
    np.savez(
        folder / "data.npz",
        x_infer=rng.normal(0.0, 1.0, (64, 224, 224, 3)).astype("float32"),
        x_train=rng.normal(0.0, 1.0, (32 * train_steps, 224, 224, 3)).astype("float32"),
        y_train=rng.integers(0, 1000, 32 * train_steps).astype("int32"),
    )


# --------------------------------------------------------------------------- figures
def images_per_s(run: dict[str, Any]) -> float:
    return 64 / statistics.median(run["infer_seconds"])


def step_s(run: dict[str, Any]) -> float | None:
    epochs = run.get("train_epoch_seconds")
    if not epochs:
        return None
    return statistics.median(epochs[1:] or epochs) / run["steps"]


def load_of(run: dict[str, Any]) -> float:
    during = [run.get("infer_load", 0.0), run.get("train_load", 0.0)]
    return max([run["load_before"], *(d for d in during if d == d)])


def quiet(run: dict[str, Any]) -> bool:
    return "error" not in run and not load_of(run) > loadmeter.QUIET


def check_error(run: dict[str, Any], reference: np.ndarray) -> float:
    got = np.asarray(run["check"], dtype=np.float64)
    return float(np.abs(got - reference).max() / np.abs(reference).max())


def _fmt(v: float | None, spec: str = ",.1f") -> str:
    return "-" if v is None else format(v, spec)


def report(runs: list[dict[str, Any]], refs: dict[str, np.ndarray], meta: dict[str, Any]) -> str:
    lines = [
        f"## Applications: ResNet50 and MobileNetV2, 224x224, batch 32, CPU ({meta['started']})",
        "",
        f"- command: `{meta['command']}` (took {meta['took']:.0f} s); method in "
        "`benchmarks/apps_bench.py`'s docstring; load average at the start "
        f"{meta['loadavg']:.1f}",
        "- inference images/s = 64 images per `predict` call (batch 32) / median of "
        f"{meta['infer_reps']} timed calls after a warm-up call; train step s = median over "
        f"epochs 2..{meta['train_epochs']} of epoch seconds / {meta['train_steps']} steps "
        "(whole network trainable, BatchNorm training, SGD(1e-3, momentum=0.9), sparse CE)",
        f"- loaded runs (other processes > {loadmeter.QUIET} cores before or during) are "
        "marked * and left out of the medians; check = max |p - p_Keras-torch| / max p_Keras-torch "
        "on 4 images, same weights",
        "",
    ]
    for net in NETS:
        mine = [r for r in runs if r["net"] == net]
        if not mine:
            continue
        lines += [
            f"### {net}",
            "",
            "| peer | quiet/runs | images/s per run | median images/s | train step s per run "
            "| median step s | check | first call s |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for peer in PEERS:
            pr = [r for r in mine if r["peer"] == peer]
            if not pr:
                continue
            ok = [r for r in pr if "error" not in r]
            good = [r for r in ok if quiet(r)] or ok
            flag = "" if any(quiet(r) for r in ok) or not ok else " DISTURBED"
            img = [f"{images_per_s(r):,.1f}" + ("" if quiet(r) else "*") for r in ok]
            steps = [_fmt(step_s(r), ".2f") + ("" if quiet(r) else "*") for r in ok]
            med_img = statistics.median(images_per_s(r) for r in good) if good else None
            st = [s for s in (step_s(r) for r in good) if s is not None]
            checks = [check_error(r, refs[net]) for r in ok if net in refs]
            errors = [r["error"][:80] for r in pr if "error" in r]
            lines.append(
                f"| {NAMES[peer]}{flag} | {sum(quiet(r) for r in ok)}/{len(pr)} "
                f"| {', '.join(img) or '-'}{'; error: ' + errors[0] if errors else ''} "
                f"| **{_fmt(med_img)}** | {', '.join(steps) or '-'} "
                f"| **{_fmt(statistics.median(st) if st else None, '.2f')}** "
                f"| {_fmt(max(checks) if checks else None, '.1e')} "
                f"| {_fmt(statistics.median(r['infer_warmup_s'] for r in ok) if ok else None)} |"
            )
        lines += ["", *ratio_table(mine), ""]
    setups = sorted({(r["peer"], r["setup"]) for r in runs if r.get("setup")})
    lines += ["Set-ups: " + "; ".join(f"{NAMES[p]}: {s}" for p, s in setups), ""]
    lines += ["Every run (round, net, peer: figures, loads, seconds):", ""]
    for r in runs:
        head = f"- r{r['round']} {r['net']} {r['peer']}:"
        if "error" in r:
            lines.append(f"{head} error {r['error'][:300]}")
            continue
        infer = ", ".join(f"{s:.2f}" for s in r["infer_seconds"])
        train = ", ".join(f"{s:.2f}" for s in r.get("train_epoch_seconds", []))
        lines.append(
            f"{head} {images_per_s(r):,.1f} images/s (calls {infer} s), "
            f"step {_fmt(step_s(r), '.2f')} s (epochs {train or '-'} s), "
            f"loadavg {r['loadavg']:.1f}, other cores before {r['load_before']:.2f} / "
            f"infer {r['infer_load']:.2f} / train {r.get('train_load', float('nan')):.2f}"
            f"{'' if quiet(r) else ' (loaded)'}, first call {r['infer_warmup_s']:.1f} s, "
            f"process {r['process_s']:.0f} s"
        )
    return "\n".join(lines) + "\n"


def ratio_table(runs: list[dict[str, Any]]) -> list[str]:
    """Lamina / peer per round (images/s; step time inverted), median over quiet rounds."""
    out = [
        "| Lamina against | inference ratio per round | median | train-step ratio per round "
        "| median | target |",
        "|---|---|---|---|---|---|",
    ]
    for peer in PEERS[1:]:
        pairs = []
        for rnd in sorted({r["round"] for r in runs}):
            lam = next((r for r in runs if r["round"] == rnd and r["peer"] == "lamina"), None)
            other = next((r for r in runs if r["round"] == rnd and r["peer"] == peer), None)
            if not lam or not other or "error" in lam or "error" in other:
                continue
            inf = images_per_s(lam) / images_per_s(other)
            a, b = step_s(lam), step_s(other)
            pairs.append(
                (inf, None if a is None or b is None else b / a, quiet(lam) and quiet(other))
            )
        if not pairs:
            continue
        good = [p for p in pairs if p[2]] or pairs
        tr = [p[1] for p in good if p[1] is not None]
        shown_i = ", ".join(f"{p[0]:.2f}" + ("" if p[2] else "*") for p in pairs)
        shown_t = ", ".join(_fmt(p[1], ".2f") + ("" if p[2] else "*") for p in pairs)
        target = ">= 1.0" if peer.startswith("torch") else "> 1.0"
        out.append(
            f"| {NAMES[peer]} | {shown_i} | **{statistics.median(p[0] for p in good):.2f}x** "
            f"| {shown_t or '-'} | **{_fmt(statistics.median(tr) if tr else None, '.2f')}x** "
            f"| {target} |"
        )
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nets", default=",".join(NETS))
    p.add_argument("--peers", default=",".join(PEERS))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--infer-reps", type=int, default=3)
    p.add_argument("--train-epochs", type=int, default=3)
    p.add_argument("--train-steps", type=int, default=2)
    p.add_argument("--wait-idle", type=float, default=120.0)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--write", action="store_true", help="append the report to RESULTS.md")
    args = p.parse_args()
    if args.quick:
        args.rounds, args.infer_reps, args.train_epochs, args.train_steps = 1, 1, 2, 1
        args.wait_idle = 0.0
    started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    t_start, loadavg = time.perf_counter(), os.getloadavg()[0]
    runs: list[dict[str, Any]] = []
    refs: dict[str, np.ndarray] = {}
    nets, peers = args.nets.split(","), args.peers.split(",")
    with tempfile.TemporaryDirectory(prefix="lamina-apps-") as folder:
        make_data(Path(folder), args.train_steps)
        for net in nets:
            prep = run_worker("prepare", net, folder, args)
            if "error" in prep:
                sys.exit(f"prepare {net} failed: {prep['error']}")
            refs[net] = np.load(Path(folder) / f"{net}_reference.npy").astype(np.float64)
        for rnd in range(args.rounds):
            for net in nets:
                for peer in peers:
                    if args.wait_idle:
                        loadmeter.wait_for_quiet(
                            args.wait_idle, lambda m: print(m, file=sys.stderr)
                        )
                    run = run_worker(peer, net, folder, args)
                    run.update(round=rnd, steps=args.train_steps)
                    runs.append(run)
                    shown = run.get("error") or (
                        f"{images_per_s(run):,.1f} images/s, step {_fmt(step_s(run), '.2f')} s, "
                        f"check {check_error(run, refs[net]):.1e}, load {load_of(run):.2f}"
                    )
                    print(f"round {rnd} {net} {peer}: {shown}", file=sys.stderr, flush=True)
    meta = {
        "started": started,
        "command": ("python benchmarks/apps_bench.py " + " ".join(sys.argv[1:])).strip(),
        "took": time.perf_counter() - t_start,
        "loadavg": loadavg,
        "infer_reps": args.infer_reps,
        "train_epochs": args.train_epochs,
        "train_steps": args.train_steps,
    }
    text = report(runs, refs, meta)
    print(text)
    if args.write and not args.quick:
        with open(RESULTS, "a") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main()
