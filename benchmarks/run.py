"""Training-speed benchmark: Lamina against hand-written PyTorch (eager and torch.compile) and Keras.

    python benchmarks/run.py            # full run, rewrites the training-speed section of RESULTS.md
    python benchmarks/run.py --quick    # tiny epochs: checks every peer runs, writes nothing

Per workload (MLP, CNN; MNIST shapes, batch 128) it measures, in one run:
1. training samples/s of Lamina `fit` and of every peer: the hand-written PyTorch eager loop
   and the torch.compile loop (each set up by short trials, `trials.py`), Keras 3 on torch,
   JAX and TensorFlow, and tf.keras 2 (subprocess workers, `peer_keras.py`). Every peer's
   epochs run interleaved, round by round: a Lamina callback runs one epoch of each other
   peer after each Lamina epoch, outside Lamina's timed span. The first round is warm-up;
   rounds go on until every peer has `epochs` quiet epochs (`loadmeter.py`) or a limit;
2. (CNN) the conv ceiling of this machine (`ceiling.py`) and the training efficiency;
3. `evaluate` and `predict` samples/s on the test images: Lamina vs a hand-written
   `torch.inference_mode` loop (and the Keras workers), interleaved repeats;
4. peak memory of Lamina `fit` and of the hand-written loop, each in a fresh process (`memory.py`).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(ROOT))

import ceiling  # noqa: E402
import envs  # noqa: E402
import inference  # noqa: E402
import loadmeter  # noqa: E402
import memory  # noqa: E402
import report  # noqa: E402
import trials  # noqa: E402
import workers  # noqa: E402
import workloads  # noqa: E402
from loadmeter import LoadMeter  # noqa: E402
from peer_process import PeerProcess  # noqa: E402
from peer_torch import TorchPeer  # noqa: E402
from report import Result, fmt  # noqa: E402

LAMINA, EAGER, COMPILED = "Lamina fit", "PyTorch eager loop", "PyTorch torch.compile loop"
PEERS = ("eager", "compile", *workers.FLAVORS)  # selectable with --peers; Lamina always runs


@dataclass
class Config:
    """Epoch sizes and counts for a full or a quick run."""

    samples: dict[str, int]
    epochs: int  # timed epochs; one warm-up epoch comes first
    extra: int  # at most this many extra rounds replace disturbed epochs
    eval_samples: int
    eval_repeats: dict[str, int]  # MLP calls last ~0.2 s, so they get more repeats
    trial_steps: dict[str, int]  # steps per trial of a hand-written set-up
    trial_rounds: int
    ceiling_repeats: int

    @classmethod
    def make(cls, quick: bool) -> Config:
        if quick:
            return cls(
                {"mlp": 2048, "cnn": 256},
                1,
                0,
                1024,
                {"mlp": 1, "cnn": 1},
                {"mlp": 2, "cnn": 1},
                1,
                3,
            )
        return cls(
            {"mlp": 60000, "cnn": 6400},
            5,
            3,
            10000,
            {"mlp": 9, "cnn": 5},
            {"mlp": 100, "cnn": 10},
            3,
            30,
        )


@dataclass
class Run:
    """Everything one run measured."""

    training: dict[str, list[Result]] = field(default_factory=dict)
    evals: dict[str, list[Result]] = field(default_factory=dict)
    memory: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    ceiling: ceiling.Ceiling | None = None
    notes: list[str] = field(default_factory=list)
    variants: dict[str, Any] = field(default_factory=dict)  # the eager winner per workload
    compiled_variants: dict[str, Any] = field(default_factory=dict)  # the torch.compile winner


def lamina_status() -> tuple[Any, str]:
    """The `lamina` module when it has everything the workloads use, else (None, why not)."""
    try:
        import lamina
        from lamina import callbacks, layers  # noqa: F401

        for name in ("Conv2D", "MaxPooling2D", "Dropout", "Flatten", "Dense"):
            getattr(layers, name)
        return lamina, ""
    except Exception as err:
        first = str(err).splitlines()[0][:100] if str(err) else ""
        return None, f"lamina not importable ({type(err).__name__}: {first})"


def lamina_setup(model: Any) -> str:
    """Lamina's jit_compile setting and, where the engine exposes it, what its step runner chose."""
    text = f"jit_compile={getattr(model, '_jit_compile', '?')!r}"
    decision = getattr(getattr(model, "_step_fn", None), "decision", None)
    return text + (f" (train step: {decision})" if isinstance(decision, str) else "")


class Runner:
    """One peer in the rounds: runs an epoch and records it into `result`."""

    def __init__(self, result: Result, epoch: Any) -> None:
        self.result, self._epoch = result, epoch
        self.accuracy = float("nan")

    def epoch(self, round_no: int) -> None:
        warmup = round_no == 0
        out = self._epoch()
        if not out:  # a worker that failed
            return
        seconds, load, self.accuracy = out
        if warmup:
            self.result.first = seconds
        else:
            self.result.seconds.append(seconds)
            self.result.loads.append(load)
            self.result.rounds.append(round_no)


def torch_runner(name: str, peer: PeerProcess, variant: Any, n: int) -> Runner:
    """A hand-written loop training in its own process (see peer_process.py)."""
    result = Result(name, n, note=variant.label(), skipped=peer.failed)

    def epoch() -> tuple[float, float, float] | None:
        if result.skipped:
            return None
        out = peer.epoch()
        if out is None:  # e.g. a torch.compile failure on the last, smaller batch
            result.skipped = f"failed: {peer.failed}"[:300]
        return out

    return Runner(result, epoch)


def worker_runner(w: workers.KerasWorker, n: int) -> Runner:
    result = Result(w.name, n, note=w.setup, skipped=w.failed)

    def epoch() -> tuple[float, float, float] | None:
        out = w.request("epoch") if not result.skipped else {}
        if not out:
            result.skipped = w.failed or "worker failed"
            return None
        return out["seconds"], out["load"], out["accuracy"]

    return Runner(result, epoch)


def run_rounds(
    lamina: Any, wl: str, data: workloads.Data, cfg: Config, device: str, others: list[Runner]
) -> tuple[Result, Any]:
    """Lamina fit with one epoch of every other peer after each of its epochs."""
    n = cfg.samples[wl]
    lam = Runner(Result(LAMINA, n), lambda: None)
    max_rounds = 1 + cfg.epochs + cfg.extra
    rounds = [0]

    def round_done() -> bool:
        for r in others:  # a peer with enough quiet epochs sits out the extra rounds
            if rounds[0] == 0 or r.result.quiet_count() < cfg.epochs:
                r.epoch(rounds[0])
        rounds[0] += 1
        runners = [lam, *others] if lamina is not None else others
        live = [r for r in runners if not r.result.skipped]
        quiet = all(r.result.quiet_count() >= cfg.epochs for r in live)
        return quiet or rounds[0] >= max_rounds

    if lamina is None:
        lam.result.skipped = lamina_status()[1]
        while not round_done():
            pass
        return lam.result, None

    class Rounds(lamina.callbacks.Callback):
        """Times each Lamina epoch, then runs one epoch of every other peer."""

        def __init__(self) -> None:
            super().__init__()
            self.meter = LoadMeter()
            self.t0 = 0.0

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.meter.start()
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            end = time.perf_counter()
            load = self.meter.stop()
            if rounds[0] == 0:
                lam.result.first = end - fit_start  # includes fit's own set-up
            else:
                lam.result.seconds.append(end - self.t0)
                lam.result.loads.append(load)
                lam.result.rounds.append(rounds[0])
            lam.accuracy = float((logs or {}).get("accuracy", float("nan")))
            if round_done():
                self.model.stop_training = True

    x, y = workloads.prepare(data.x_train[:n], data.y_train[:n], wl)
    torch.manual_seed(0)
    model, optimizer = workloads.build_keras_style(lamina, wl)
    model.compile(
        optimizer=optimizer,
        loss="categorical_crossentropy",
        metrics=["accuracy"],
        device=device,
        **workloads.LAMINA_COMPILE[wl],
    )
    fit_start = time.perf_counter()
    model.fit(
        x, y, batch_size=workloads.BATCH_SIZE, epochs=max_rounds, verbose=0, callbacks=[Rounds()]
    )
    lam.result.note = f"{lamina_setup(model)}, final train acc {lam.accuracy:.3f}"
    for r in others:
        if r.result.note and not r.result.skipped:
            r.result.note += f", final train acc {r.accuracy:.3f}"
    return lam.result, model


def run_workload(
    wl: str,
    lamina: Any,
    data: workloads.Data,
    ws: list[workers.KerasWorker],
    cfg: Config,
    peers: set[str],
    device: str,
    run: Run,
    log: Any,
    npz: Path,
) -> None:
    """Every measurement of one workload, into `run` (`npz`: the data, for peer processes)."""
    n = cfg.samples[wl]
    xs, ys = data.x_train[:n], data.y_train[:n]
    for w in ws:
        w.build(wl, n)
        log(f"{wl}: {w.name}: {w.failed or 'built: ' + w.setup}")
    steps = cfg.trial_steps[wl]
    m = steps * workloads.BATCH_SIZE
    variant, note = trials.pick_eager(wl, xs[:m], ys[:m], steps, cfg.trial_rounds, device)
    run.notes.append(f"{wl.upper()} eager set-up: **{variant.label()}** ({note})")
    log(run.notes[-1])
    run.variants[wl] = variant
    procs = [PeerProcess(wl, str(npz), n, variant, device)] if "eager" in peers else []
    others = [torch_runner(EAGER, procs[0], variant, n)] if procs else []
    if "compile" in peers:
        cpeer, note = trials.pick_compiled(wl, xs, ys, variant, steps, cfg.trial_rounds, device)
        label = cpeer.variant.label() if cpeer else "failed"
        run.notes.append(f"{wl.upper()} torch.compile set-up: **{label}** ({note})")
        log(run.notes[-1])
        if cpeer is not None:
            run.compiled_variants[wl] = cpeer.variant
            procs.append(PeerProcess(wl, str(npz), n, cpeer.variant, device))
            others.append(torch_runner(COMPILED, procs[-1], cpeer.variant, n))
            del cpeer
        else:
            others.append(Runner(Result(COMPILED, n, skipped=note), lambda: None))
    if wl == "cnn":
        run.ceiling = ceiling.measure(cfg.ceiling_repeats, device=device)
        log(f"conv ceiling {run.ceiling.total:.1f} GFLOP/s ({run.ceiling.best})")
    others += [worker_runner(w, n) for w in ws]
    lam, model = run_rounds(lamina, wl, data, cfg, device, others)
    res = [r.pick(cfg.epochs) for r in [lam, *[o.result for o in others]]]
    run.training[wl] = res
    log(f"{wl}: " + "; ".join(f"{r.peer} {fmt(r.median)}" for r in res))
    for proc in procs:
        proc.close()
    # the inference peer: a hand-written model in this process, trained one epoch first
    hand = TorchPeer(wl, xs, ys, variant, device)
    hand.train_epoch()
    run.evals.update(
        inference.run(
            model,
            hand if "eager" in peers else None,
            ws,
            wl,
            data,
            cfg.eval_samples,
            cfg.eval_repeats[wl],
        )
    )
    for w in ws:
        if w.failed:
            run.notes.append(f"{wl.upper()} {w.name}: {w.failed}")
    del model, hand, others


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny epochs: check that every peer works")
    ap.add_argument(
        "--workloads", default=",".join(workloads.WORKLOADS), help="e.g. mlp or mlp,cnn"
    )
    ap.add_argument("--peers", default=",".join(PEERS), help=f"comma list from {','.join(PEERS)}")
    ap.add_argument("--no-keras", action="store_true", help="drop every Keras peer")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory processes")
    ap.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    ap.add_argument("--write", action="store_true", help="write RESULTS.md even for a partial run")
    ap.add_argument("--no-write", action="store_true", help="do not write RESULTS.md")
    ap.add_argument(
        "--wait-idle",
        type=float,
        default=None,
        help="seconds to wait first for a quiet machine (default 120; 0 with --quick)",
    )
    args = ap.parse_args()
    wls = [w for w in args.workloads.split(",") if w]
    peers = {p for p in args.peers.split(",") if p}
    if args.no_keras:
        peers -= set(workers.FLAVORS)
    bad = [w for w in wls if w not in workloads.WORKLOADS] + sorted(peers - set(PEERS))
    if bad:
        ap.error(
            f"Expected workloads in {workloads.WORKLOADS} and peers in {PEERS}, received: {bad}"
        )
    partial = set(wls) != set(workloads.WORKLOADS) or peers != set(PEERS) or args.no_memory
    write = not args.quick and not args.no_write and (args.write or not partial)
    cfg = Config.make(args.quick)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    started = time.perf_counter()
    command = " ".join(["python benchmarks/run.py", *sys.argv[1:]])
    date = datetime.now(timezone.utc).strftime("%a %b %d %H:%M:%S UTC %Y")

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {msg}", flush=True)

    lamina, why = lamina_status()
    log(f"lamina: {'ready' if lamina else why}; LAMINA_COMPILE={workloads.LAMINA_COMPILE!r}")
    data = workloads.load_data()
    log(f"data: {data.source}")
    for env in sorted({workers.FLAVORS[f][1] for f in peers if f in workers.FLAVORS} - {""}):
        log(f"env {env}: " + envs.ensure_env(env)[1] + f" ({envs.versions(env)})")
    run = Run()
    with tempfile.TemporaryDirectory(prefix="lamina-bench-") as tmp:
        npz = Path(tmp) / "data.npz"
        workloads.save_npz(data, npz)
        flavors = [f for f in workers.FLAVORS if f in peers]
        ws = [workers.KerasWorker(f).start(npz, cfg.eval_samples) for f in flavors]
        for w in ws:
            w.wait_ready()
            log(f"{w.name}: {w.failed or 'started: ' + w.setup}")
        wait = args.wait_idle if args.wait_idle is not None else (0.0 if args.quick else 120.0)
        initial_load = loadmeter.wait_for_quiet(wait, log) if wait > 0 else float("nan")
        try:
            for wl in wls:
                run_workload(wl, lamina, data, ws, cfg, peers, device, run, log, npz)
        finally:
            for w in ws:
                w.close()
        if not args.no_memory:
            if args.quick:  # checks the memory worker once; the figures mean nothing
                run.variants = dict(list(run.variants.items())[:1])
            variants = {wl: asdict(v) for wl, v in run.variants.items()}
            compiled = {wl: asdict(v) for wl, v in run.compiled_variants.items() if wl in variants}
            run.memory = memory.measure_all(variants, npz, cfg.samples, device, compiled)
            log(f"memory: {run.memory}")
    meta = {
        "date": date,
        "command": command,
        "took": f"{time.perf_counter() - started:.0f} s",
        "device": device,
        "data": data.source,
        "initial_load": fmt(initial_load, 2),
        "quick": "yes" if args.quick else "",
        "ceiling_lines": ceiling.describe(run.ceiling) if run.ceiling else [],
    }
    text = report.render(run, cfg, meta, torch, np)
    print("\n" + text)
    if write:
        report.write_results(text)
        log(f"wrote {report.RESULTS.relative_to(ROOT)}")
    else:
        log("RESULTS.md not written (--quick, --no-write, or a partial run without --write)")


if __name__ == "__main__":
    main()
