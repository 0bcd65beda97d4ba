"""Training-speed benchmark: Lamina `fit` against hand-written PyTorch and Keras 3.

    python benchmarks/run.py            # full run (~4 min on 2 quiet cores, more with re-runs), rewrites RESULTS.md
    python benchmarks/run.py --quick    # tiny epochs, checks every peer works (< 1 min), writes nothing

Peers, all in this one run, on the same data, batch size and optimizer settings:
Lamina `fit` (eager); a hand-written PyTorch eager loop (`peer_torch.py`); Keras 3 on
the torch backend and on JAX (subprocesses running `peer_keras.py`). Throughput is the
median samples/s over the timed epochs after one warm-up epoch.

Lamina's and the hand-written loop's epochs are interleaved (a callback runs one
PyTorch epoch after each Lamina epoch), so drift hits both alike and each timed epoch
gives one paired ratio. An epoch (pair) during which other processes kept more than
0.3 cores busy is re-run, up to a few extra epochs (see `loadmeter.py`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(ROOT))

import envs  # noqa: E402
import loadmeter  # noqa: E402
import peer_torch  # noqa: E402
import workloads  # noqa: E402
from loadmeter import QUIET, LoadMeter  # noqa: E402

RESULTS = HERE / "RESULTS.md"
SECTION = "training-speed"
TARGET = 0.95  # Lamina fit / hand-written eager loop
LAMINA, TORCH = "Lamina fit", "PyTorch eager loop"
KERAS = {"torch": "Keras 3 torch", "jax": "Keras 3 JAX"}


@dataclass
class Config:
    """Epoch sizes and counts for a full or a quick run."""

    samples: dict[str, int]
    epochs: int  # timed epochs; one warm-up epoch comes first
    extra: dict[str, int]  # at most this many extra epochs replace disturbed ones
    eval_samples: int
    eval_repeats: int
    calib_steps: dict[str, int]  # steps per trial of a hand-written set-up
    calib_rounds: int

    @classmethod
    def make(cls, quick: bool) -> Config:
        if quick:
            return cls(
                {"mlp": 2048, "cnn": 256}, 1, {"mlp": 0, "cnn": 0}, 1024, 2, {"mlp": 2, "cnn": 1}, 1
            )
        return cls(
            {"mlp": 60000, "cnn": 12800},
            3,
            {"mlp": 6, "cnn": 3},
            10000,
            5,
            {"mlp": 60, "cnn": 8},
            3,
        )


@dataclass
class Result:
    """One peer on one workload: the reported timed epochs (warm-up and replaced epochs excluded)."""

    peer: str
    samples: int
    seconds: list[float] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)  # other processes' cores, per reported epoch
    note: str = ""
    skipped: str = ""  # why the peer did not run
    rerun: int = 0  # disturbed epochs that were replaced
    disturbed: int = 0  # disturbed epochs still reported (no quiet replacement within the limit)

    @property
    def per_epoch(self) -> list[float]:
        return [self.samples / s for s in self.seconds]

    @property
    def median(self) -> float:
        return statistics.median(self.per_epoch) if self.seconds else float("nan")

    @property
    def load(self) -> float:
        return max(self.loads) if self.loads else float("nan")


def select(res: Result, seconds: list[float], loads: list[float], want: int) -> Result:
    """Fill `res` with the epochs to report from timed `seconds` and their `loads`."""
    idx, disturbed = loadmeter.pick_epochs(seconds, loads, want)
    res.seconds = [seconds[i] for i in idx]
    res.loads = [loads[i] for i in idx]
    res.rerun = max(0, len(seconds) - want)
    res.disturbed = disturbed
    return res


# --------------------------------------------------------------- the peers
def lamina_status() -> tuple[Any, str]:
    """The `lamina` module when it has everything the workloads use, else (None, why not)."""
    try:
        import lamina
        from lamina import callbacks, layers, losses, metrics, optimizers  # noqa: F401

        for name in ("Conv2D", "MaxPooling2D", "Dropout", "Flatten", "Dense"):
            getattr(layers, name)
        return lamina, ""
    except Exception as err:
        first = str(err).splitlines()[0][:100] if str(err) else ""
        return None, f"lamina not importable yet ({type(err).__name__}: {first})"


def pick_torch_variant(wl: str, data: workloads.Data, cfg: Config, device: str) -> tuple[Any, str]:
    """The fastest fair set-up for the hand-written peer, by short interleaved trial runs.

    Candidates: torch.optim's default implementation and foreach=True; for the CNN each
    in NCHW and channels_last. Fused kernels are timed for information, never picked.
    """
    V = peer_torch.Variant
    layouts = (False, True) if wl == "cnn" else (False,)
    candidates = [V(cl, fe) for cl in layouts for fe in (None, True)]
    steps = cfg.calib_steps[wl]
    n = steps * workloads.BATCH_SIZE
    peers = [
        peer_torch.TorchPeer(wl, data.x_train[:n], data.y_train[:n], v, device) for v in candidates
    ]
    fused = _fused_peer(wl, data, n, device)
    everyone = peers + ([fused] if fused is not None else [])
    for p in everyone:  # warm-up
        p.train_epoch(steps)
    best: dict[int, float] = {}
    with LoadMeter() as meter:
        for _ in range(cfg.calib_rounds):
            for i, p in enumerate(everyone):
                s = p.train_epoch(steps)[0]
                best[i] = min(best.get(i, s), s)
    lines = [f"{p.variant.label()}: {n / best[i]:.0f}" for i, p in enumerate(peers)]
    if fused is not None:
        lines.append(f"fused optimizer (information only): {n / best[len(peers)]:.0f}")
    winner = min(range(len(peers)), key=lambda i: best[i])
    summary = (
        f"torch.optim's default here is {peers[0].default_impl}; trial samples/s "
        f"({steps} steps, best of {cfg.calib_rounds}, other load {meter.load:.2f}): "
    )
    return candidates[winner], summary + "; ".join(lines)


def _fused_peer(wl: str, data: workloads.Data, n: int, device: str) -> Any:
    """A peer whose optimizer uses fused=True (information only), or None if unsupported."""
    peer = peer_torch.TorchPeer(
        wl, data.x_train[:n], data.y_train[:n], peer_torch.Variant(), device
    )
    name, kw = workloads.OPTIMIZERS[wl]
    try:
        cls = getattr(torch.optim, name)
        extra = {"alpha": kw["rho"]} if name == "RMSprop" else {}
        peer.opt = cls(
            peer.model.parameters(), lr=kw["learning_rate"], eps=kw["epsilon"], fused=True, **extra
        )
        peer.train_epoch(1)
    except Exception:
        return None
    return peer


def run_lamina_and_torch(
    lamina: Any, wl: str, data: workloads.Data, cfg: Config, variant: Any, device: str
) -> tuple[Result, Result, Any]:
    """Lamina fit with one hand-written epoch after each of its epochs; returns both and the model.

    One warm-up pair, then pairs until `cfg.epochs` quiet ones (or `cfg.extra` more ran).
    """
    n = cfg.samples[wl]
    peer = peer_torch.TorchPeer(wl, data.x_train[:n], data.y_train[:n], variant, device)
    torch_res = Result(TORCH, n, note=variant.label())
    max_epochs = 1 + cfg.epochs + cfg.extra[wl]
    t_lam: list[float] = []
    t_torch: list[float] = []
    loads: list[float] = []
    accs: list[float] = []

    def enough() -> bool:
        quiet = sum(1 for ld in loads[1:] if not ld > QUIET)
        return quiet >= cfg.epochs or len(loads) >= max_epochs

    def torch_epoch() -> None:
        secs, _, _, acc = peer.train_epoch()
        t_torch.append(secs)
        accs.append(acc)

    if lamina is None:
        while not enough():
            with LoadMeter() as meter:
                torch_epoch()
            loads.append(meter.load)
        select(torch_res, t_torch[1:], loads[1:], cfg.epochs)
        torch_res.note += f", final train acc {accs[-1]:.3f}"
        return Result(LAMINA, n, skipped=lamina_status()[1]), torch_res, None

    class PairedTimer(lamina.callbacks.Callback):
        """Times each Lamina epoch, then runs one hand-written epoch outside the timed span."""

        def __init__(self) -> None:
            super().__init__()
            self.meter = LoadMeter()
            self.t0 = 0.0

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.meter.start()
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            t_lam.append(time.perf_counter() - self.t0)
            torch_epoch()
            loads.append(self.meter.stop())
            if enough():
                self.model.stop_training = True

    x, y = workloads.prepare(data.x_train[:n], data.y_train[:n], wl)
    torch.manual_seed(0)
    model, optimizer = workloads.build_keras_style(lamina, wl)
    model.compile(
        optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"], device=device
    )
    hist = model.fit(
        x,
        y,
        batch_size=workloads.BATCH_SIZE,
        epochs=max_epochs,
        verbose=0,
        callbacks=[PairedTimer()],
    )
    acc = hist.history.get("accuracy", [float("nan")])[-1]
    lam = select(
        Result(LAMINA, n, note=f"eager, final train acc {acc:.3f}"),
        t_lam[1:],
        loads[1:],
        cfg.epochs,
    )
    select(torch_res, t_torch[1:], loads[1:], cfg.epochs)
    torch_res.note += f", final train acc {accs[-1]:.3f}"
    return lam, torch_res, model


def run_keras(backend: str, npz: Path, cfg: Config) -> subprocess.Popen | str:
    """Start the Keras 3 worker for `backend` on both workloads, or return why it cannot run."""
    if backend == "jax":
        python, status = envs.ensure_env("jax")
        if python is None:
            return f"JAX env unavailable: {status}"
    else:
        python = Path(sys.executable)
    cmd = [
        str(python),
        str(HERE / "peer_keras.py"),
        "--data",
        str(npz),
        "--epochs",
        str(cfg.epochs),
    ]
    for wl in workloads.WORKLOADS:
        cmd += ["--run", f"{wl}:{cfg.samples[wl]}:{cfg.extra[wl]}"]
    cmd += ["--eval-samples", str(cfg.eval_samples), "--eval-repeats", str(cfg.eval_repeats)]
    env = {**os.environ, "KERAS_BACKEND": backend}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def keras_results(
    backend: str, proc: subprocess.Popen | str, cfg: Config
) -> dict[str, tuple[Result, dict]]:
    """Wait for a worker; one Result (and the worker's raw output) per workload."""
    name = KERAS[backend]
    failed = proc if isinstance(proc, str) else ""
    outs: dict[str, Any] = {}
    if not isinstance(proc, str):
        try:
            stdout, stderr = proc.communicate(timeout=1800)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
        if proc.returncode != 0:
            failed = "worker failed: " + " | ".join(stderr.strip().splitlines()[-2:])
        else:
            outs = json.loads(stdout.strip().splitlines()[-1])
    results = {}
    for wl in workloads.WORKLOADS:
        if failed:
            results[wl] = (Result(name, cfg.samples[wl], skipped=failed), {})
            continue
        out = outs[wl]
        note = f"keras {out['keras']}, " + (
            f"jax {out['jax']}" if backend == "jax" else f"torch {out['torch']}"
        )
        note += f", final train acc {out['accuracy'][-1]:.3f}"
        res = Result(name, out["samples"], note=note)
        results[wl] = (
            select(res, out["epoch_seconds"][1:], out["epoch_loads"][1:], cfg.epochs),
            out,
        )
    return results


def run_evaluate(
    lamina: Any, model: Any, data: workloads.Data, cfg: Config, device: str
) -> list[Result]:
    """MLP `evaluate` throughput: Lamina vs a torch.inference_mode loop, interleaved repeats."""
    n = cfg.eval_samples
    xt, yt = workloads.prepare(data.x_test[:n], data.y_test[:n], "mlp")
    peer = peer_torch.TorchPeer("mlp", data.x_train[:256], data.y_train[:256], device=device)
    torch_res = Result(TORCH + " (inference_mode)", n, note="untrained copy of the MLP")
    lam_res = Result("Lamina evaluate", n, note="trained MLP, NumPy inputs")
    peer.evaluate(data.x_test[:n], data.y_test[:n])  # warm-up
    if lamina is None or model is None:
        lam_res.skipped = lamina_status()[1]
    else:
        model.evaluate(xt, yt, batch_size=workloads.BATCH_SIZE, verbose=0)  # warm-up
    for _ in range(cfg.eval_repeats):
        with LoadMeter() as meter:
            if not lam_res.skipped:
                t0 = time.perf_counter()
                model.evaluate(xt, yt, batch_size=workloads.BATCH_SIZE, verbose=0)
                lam_res.seconds.append(time.perf_counter() - t0)
            torch_res.seconds.append(peer.evaluate(data.x_test[:n], data.y_test[:n])[0])
        lam_res.loads.append(meter.load)
        torch_res.loads.append(meter.load)
    return [lam_res, torch_res]


# --------------------------------------------------------------- reporting
def ratio(a: Result, b: Result) -> float:
    return a.median / b.median if a.seconds and b.seconds else float("nan")


def paired_ratio(lam: Result, ref: Result) -> float:
    """Median over interleaved epochs of time_ref / time_lamina."""
    if not lam.seconds or len(lam.seconds) != len(ref.seconds):
        return float("nan")
    return statistics.median(r / s for s, r in zip(lam.seconds, ref.seconds))


def fmt(v: float, digits: int = 0) -> str:
    return "n/a" if v != v else f"{v:,.{digits}f}"


def table(rows: list[list[str]], header: list[str]) -> str:
    """A Markdown table (also readable as plain text)."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(r: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"

    return "\n".join(
        [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)]
    )


def quality(r: Result) -> str:
    """How clean the reported epochs are: max other load, replaced and still-disturbed epochs."""
    if not r.seconds:
        return ""
    text = fmt(r.load, 2)
    if r.rerun:
        text += f" ({r.rerun} re-run)"
    if r.disturbed:
        text += f" ({r.disturbed} DISTURBED)"
    return text


def workload_table(results: dict[str, list[Result]]) -> str:
    rows = []
    for wl, res in results.items():
        lam = res[0]
        for r in res:
            per_epoch = (
                ", ".join(fmt(v) for v in r.per_epoch) if r.seconds else f"skipped: {r.skipped}"
            )
            rel = "1.00" if r is lam else fmt(ratio(lam, r), 2)
            rows.append([wl.upper(), r.peer, fmt(r.median), rel, per_epoch, quality(r), r.note])
    header = ["workload", "peer", "samples/s (median)", "Lamina / peer", "per timed epoch"]
    return table(rows, [*header, "other load", "notes"])


def machine_info() -> str:
    cpu = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"nproc {os.cpu_count()} ({cpu}), Python {platform.python_version()}, torch {torch.__version__}, "
        f"torch.get_num_threads() {torch.get_num_threads()} (default; interop {torch.get_num_interop_threads()}), "
        f"NumPy {np.__version__}"
    )


def write_results(section: str, name: str = SECTION) -> None:
    """Replace section `name` of RESULTS.md, keeping the header and the other sections."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = f"{begin}\n{section.rstrip()}\n{end}\n"
    if RESULTS.exists():
        text = RESULTS.read_text()
        if begin in text and end in text:
            rest = text[text.index(end) + len(end) :].lstrip("\n")
            text = text[: text.index(begin)] + block + ("\n" + rest if rest else "")
        else:
            text = text.rstrip() + "\n\n" + block
    else:
        text = (
            "# Lamina benchmark results\n\n"
            "Each section is rewritten by the script it names; see benchmarks/README.md for what is\n"
            "measured. The machine is shared and noisy: compare numbers only within one section.\n\n"
            + block
        )
    RESULTS.write_text(text)


def report(
    results: dict[str, list[Result]],
    evals: list[Result],
    notes: list[str],
    cfg: Config,
    meta: dict[str, str],
) -> str:
    """The Markdown section for RESULTS.md (also printed)."""
    lines = [
        "## Training speed (`benchmarks/run.py`)",
        "",
        f"- date: {meta['date']}",
        f"- command: `{meta['command']}` (took {meta['took']})",
        f"- machine: {machine_info()}, device {meta['device']}",
        f"- data: {meta['data']}; images scaled to [0, 1] float32, one-hot labels, batch {workloads.BATCH_SIZE}",
        f"- epochs: MLP {cfg.samples['mlp']:,} samples/epoch; CNN {cfg.samples['cnn']:,} samples/epoch "
        f"(the first {cfg.samples['cnn']:,} training images, to keep the run short); per peer 1 warm-up + "
        f"{cfg.epochs} timed epochs, samples/s = median over the timed epochs",
        "- Lamina and the hand-written loop ran interleaved (one loop epoch after each Lamina epoch); "
        "the Keras peers ran afterwards, in subprocesses",
        *(
            ["- **--quick**: tiny epochs and both Keras workers at once; the timings mean nothing"]
            if "--quick" in meta["command"]
            else []
        ),
        f"- other load: the most cores other processes kept busy during a reported epoch (before the "
        f"start: {meta['initial_load']}); epochs above {QUIET} were re-run, up to "
        f"{cfg.extra['mlp']} (MLP) / {cfg.extra['cnn']} (CNN) extra epochs",
        "",
        workload_table(results),
        "",
        "### Lamina vs the hand-written PyTorch eager loop (target >= 0.95)",
        "",
    ]
    for wl, res in results.items():
        lam, tor = res[0], res[1]
        r, pr = ratio(lam, tor), paired_ratio(lam, tor)
        steps = -(-cfg.samples[wl] // workloads.BATCH_SIZE)
        extra_us = float("nan")
        if lam.seconds and tor.seconds:
            extra_us = (
                statistics.median(a - b for a, b in zip(lam.seconds, tor.seconds)) / steps * 1e6
            )
        verdict = "n/a" if r != r else ("meets" if r >= TARGET else "MISSES")
        lines.append(
            f"- {wl.upper()}: Lamina / hand-written = **{fmt(r, 3)}** (median of per-epoch paired ratios "
            f"{fmt(pr, 3)}): {verdict} the target; Lamina's extra time per step {fmt(extra_us, 0)} us "
            f"(median over paired epochs)"
        )
        others = ", ".join(f"Lamina / {p.peer} = {fmt(ratio(lam, p), 2)}" for p in res[2:])
        if others:
            lines.append(f"  - {others}")
    lines += [
        "",
        f"### `evaluate` throughput, MLP, {cfg.eval_samples:,} test images, batch 128 "
        f"(1 warm-up + {cfg.eval_repeats} repeats, median)",
        "",
    ]
    rows = [
        [
            e.peer,
            fmt(e.median),
            "1.00" if e is evals[0] else fmt(ratio(evals[0], e), 2),
            fmt(e.load, 2),
            e.skipped or e.note,
        ]
        for e in evals
    ]
    lines.append(table(rows, ["peer", "samples/s", "Lamina / peer", "other load", "notes"]))
    lines += ["", "### Set-up notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines)


# -------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description="Lamina training-speed benchmark")
    ap.add_argument(
        "--quick", action="store_true", help="tiny epochs to check that every peer works"
    )
    ap.add_argument(
        "--device", default=None, help="torch device (default: cuda if available, else cpu)"
    )
    ap.add_argument("--no-keras", action="store_true", help="skip both Keras peers")
    ap.add_argument(
        "--no-write", action="store_true", help="do not write RESULTS.md (implied by --quick)"
    )
    ap.add_argument(
        "--wait-idle",
        type=float,
        default=None,
        help="seconds to wait first for other processes to go quiet (default 120; 0 with --quick)",
    )
    args = ap.parse_args()
    cfg = Config.make(args.quick)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    started = time.perf_counter()
    command = "python benchmarks/run.py" + (" --quick" if args.quick else "")
    date = datetime.now(timezone.utc).strftime("%a %b %d %H:%M:%S UTC %Y")

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {msg}", flush=True)

    lamina, why = lamina_status()
    log(f"lamina: {'ready' if lamina else why}")
    data = workloads.load_data()
    log(f"data: {data.source}")
    if not args.no_keras:
        log("JAX env: " + envs.ensure_env("jax")[1])
    wait = args.wait_idle if args.wait_idle is not None else (0.0 if args.quick else 120.0)
    initial_load = loadmeter.wait_for_quiet(wait, log) if wait > 0 else float("nan")

    results: dict[str, list[Result]] = {}
    notes: list[str] = []
    evals: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="lamina-bench-") as tmp:
        npz = Path(tmp) / "data.npz"
        workloads.save_npz(data, npz)
        for wl in workloads.WORKLOADS:
            variant, calib = pick_torch_variant(wl, data, cfg, device)
            notes.append(f"{wl.upper()} hand-written set-up: **{variant.label()}** ({calib})")
            log(notes[-1])
            lam, tor, model = run_lamina_and_torch(lamina, wl, data, cfg, variant, device)
            results[wl] = [lam, tor]
            log(f"{wl}: {LAMINA} {fmt(lam.median)} samples/s, {TORCH} {fmt(tor.median)} samples/s")
            if wl == "mlp":
                evals = run_evaluate(lamina, model, data, cfg, device)
                log(
                    f"mlp evaluate: Lamina {fmt(evals[0].median)}, torch {fmt(evals[1].median)} samples/s"
                )
        if not args.no_keras:
            # --quick runs both workers at once (its timings are not the point)
            procs = {b: run_keras(b, npz, cfg) for b in KERAS} if args.quick else {}
            for backend in KERAS:
                proc = procs.get(backend) or run_keras(backend, npz, cfg)
                for wl, (r, out) in keras_results(backend, proc, cfg).items():
                    results[wl].append(r)
                    log(f"{wl}: {r.peer} {fmt(r.median)} samples/s {r.skipped}")
                    if out.get("eval_seconds"):
                        e = Result(f"{r.peer} evaluate", out["eval_samples"], out["eval_seconds"])
                        e.loads = out["eval_loads"]
                        evals.append(e)

    meta = {
        "date": date,
        "command": command,
        "took": f"{time.perf_counter() - started:.0f} s",
        "device": device,
        "data": data.source,
        "initial_load": fmt(initial_load, 2),
    }
    text = report(results, evals, notes, cfg, meta)
    print("\n" + text)
    if args.quick or args.no_write:
        log("RESULTS.md not written (--quick/--no-write)")
    else:
        write_results(text)
        log(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
