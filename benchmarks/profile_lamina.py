"""Where Lamina's per-step time goes, next to the hand-written PyTorch loop.

    python benchmarks/profile_lamina.py [--workload mlp] [--steps 200] [--rounds 5] [--write]

Prints, per training step:
1. wall time of Lamina `fit` and of the hand-written loop (interleaved rounds, median);
2. Python function calls (cProfile; a count, so it does not depend on machine noise)
   and the `lamina/` functions with the most own time and cumulative time;
3. the torch operators each side dispatches (torch.profiler counts, also noise-free)
   and the operators Lamina runs in addition to the hand-written loop;
4. a component breakdown: each part of one training step (batch gather, forward,
   loss, backward, optimizer, metrics) timed alone on the same batch, Lamina's engine
   call next to the hand-written equivalent (uses engine internals: `_heads`,
   `_track_losses`; it is a diagnostic, not an API).

`--write` also stores the output as the `profile-<workload>` section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

import loadmeter  # noqa: E402
import peer_torch  # noqa: E402
import workloads  # noqa: E402


class Lamina:
    """A compiled Lamina model and its data; `steps(n)` runs `fit` on the first n batches."""

    def __init__(self, wl: str, data: workloads.Data, n: int) -> None:
        import lamina

        self.lamina = lamina
        torch.manual_seed(0)
        self.x, self.y = workloads.prepare(data.x_train[:n], data.y_train[:n], wl)
        self.model, opt = workloads.build_keras_style(lamina, wl)
        self.model.compile(
            optimizer=opt, loss="categorical_crossentropy", metrics=["accuracy"], device="cpu"
        )
        self.model.fit(self.x[:256], self.y[:256], batch_size=128, epochs=1, verbose=0)

    def steps(self, n: int) -> float:
        """Seconds for one fit epoch of n batches, timed inside fit (set-up excluded)."""
        lamina = self.lamina

        class Timer(lamina.callbacks.Callback):
            def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
                self.t0 = time.perf_counter()

            def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
                self.seconds = time.perf_counter() - self.t0

        timer = Timer()
        k = n * workloads.BATCH_SIZE
        self.model.fit(
            self.x[:k], self.y[:k], batch_size=128, epochs=1, verbose=0, callbacks=[timer]
        )
        return timer.seconds


def ops_per_step(fn: Any, steps: int) -> Counter:
    """torch operator counts per step (aten:: and optimizer foreach ops) while `fn` runs."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    counts: Counter = Counter()
    for ev in prof.key_averages():
        if ev.key.startswith("aten::"):
            counts[ev.key] = round(ev.count / steps, 2)
    return counts


def lamina_functions(stats: pstats.Stats, steps: int, top: int) -> list[str]:
    """The lamina/ functions with the most own time, in us per step."""
    rows = []
    for (file, line, name), (_cc, nc, tt, ct, _) in stats.stats.items():  # type: ignore[attr-defined]
        if "/lamina/" in file and "/site-packages/" not in file:
            short = file.split("/lamina/", 1)[1]
            rows.append((tt, ct, nc, f"lamina/{short}:{line}({name})"))
    rows.sort(reverse=True)
    out = [f"{'own us/step':>11} {'cum us/step':>11} {'calls/step':>10}  function"]
    for tt, ct, nc, label in rows[:top]:
        out.append(f"{tt / steps * 1e6:11.1f} {ct / steps * 1e6:11.1f} {nc / steps:10.2f}  {label}")
    return out


def _timeit(fn: Any, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def components(
    lam: Lamina, peer: Any, n: int = 200, rounds: int = 7
) -> list[tuple[str, float, float]]:
    """(component, Lamina us/call, hand-written us/call): medians over interleaved rounds."""
    import torch.nn.functional as F

    from lamina.data.adapter import ArrayData
    from lamina.models.engine_utils import logits_mode

    model, tmodel, topt = lam.model, peer.model, peer.opt
    bs = workloads.BATCH_SIZE
    xb_np, yb_np = lam.x[:bs], lam.y[:bs]
    xb, yoh = torch.as_tensor(xb_np), torch.as_tensor(yb_np)
    yint = yoh.argmax(1)
    txb = peer.x[:bs]
    head = model._heads[0]
    data = ArrayData(lam.x, lam.y, None, bs, True, "cpu")
    it = iter(())
    perm = torch.randperm(peer.x.shape[0])
    loss_sum, correct = torch.zeros(()), torch.zeros((), dtype=torch.long)

    def lam_batch() -> None:
        nonlocal it
        if next(it, None) is None:
            it = iter(data.epoch())

    def torch_batch() -> None:
        idx = perm[:bs]
        peer.x[idx], peer.y[idx]

    def lam_forward() -> Any:
        return model(xb, training=True)

    def lam_backward() -> None:
        model.optimizer.zero_grad()
        head.train_loss(yoh, model(xb, training=True)).backward()

    def torch_backward() -> None:
        topt.zero_grad(set_to_none=True)
        F.cross_entropy(tmodel(txb), yint).backward()

    def lam_metrics() -> None:
        model._track_losses(loss_l, [loss_l], xb)
        model.compute_metrics(xb, yoh, logits_l)

    def torch_metrics() -> None:
        nonlocal loss_sum, correct
        with torch.no_grad():
            loss_sum += loss_t.detach() * bs
            correct += (logits_t.argmax(1) == yint).sum()

    def torch_step() -> None:
        logits = tmodel(txb)
        loss = F.cross_entropy(logits, yint)
        topt.zero_grad(set_to_none=True)
        loss.backward()
        topt.step()
        torch_metrics()

    with logits_mode(model._heads):
        model.train()
        tmodel.train()
        logits_l = model(xb, training=True).detach()
        loss_l = head.train_loss(yoh, logits_l)
        logits_t = tmodel(txb).detach()
        loss_t = F.cross_entropy(logits_t, yint)
        lam_backward()
        torch_backward()
        x1, tx1 = xb[:1], txb[:1]
        tor_opt = model.optimizer.torch_optimizer
        # (label, Lamina, hand-written, calls per timing): "fixed logits" rows time the engine's
        # loss/metrics alone; "batch 1" makes the forward's per-layer Python cost visible. The
        # optimizer row comes last: its repeated steps on stale gradients move the weights.
        pairs = [
            (
                "whole train step (engine train_step)",
                lambda: model.train_step((xb, yoh)),
                torch_step,
                n,
            ),
            ("batch gather (x, y)", lam_batch, torch_batch, 2000),
            ("forward, batch 128", lam_forward, lambda: tmodel(txb), n),
            (
                "forward, batch 1 (per-call overhead)",
                lambda: model(x1, training=True),
                lambda: tmodel(tx1),
                2000,
            ),
            (
                "loss on fixed logits (hand: int targets)",
                lambda: head.train_loss(yoh, logits_l),
                lambda: F.cross_entropy(logits_t, yint),
                2000,
            ),
            (
                "loss on fixed logits (hand: one-hot targets)",
                lambda: head.train_loss(yoh, logits_l),
                lambda: F.cross_entropy(logits_t, yoh),
                2000,
            ),
            ("zero_grad + forward + loss + backward", lam_backward, torch_backward, n),
            ("metrics update (loss mean + accuracy)", lam_metrics, torch_metrics, 2000),
            (
                "optimizer step (hand: Lamina's own torch optimizer)",
                model.optimizer.step,
                tor_opt.step,
                n,
            ),
        ]
        for _, a, b, _ in pairs:  # warm-up
            _timeit(a, 20)
            _timeit(b, 20)
        out = []
        for label, a, b, calls in pairs:
            ta, tb = [], []
            for _ in range(rounds):
                ta.append(_timeit(a, calls))
                tb.append(_timeit(b, calls))
            out.append((label, statistics.median(ta) * 1e6, statistics.median(tb) * 1e6))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workload", choices=workloads.WORKLOADS, default="mlp")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument(
        "--peer-optim",
        choices=("foreach", "default"),
        default="foreach",
        help="hand-written loop's torch.optim implementation (Lamina uses foreach or fused)",
    )
    ap.add_argument(
        "--channels-last", action="store_true", help="hand-written CNN in channels_last"
    )
    ap.add_argument("--write", action="store_true", help="store the output in RESULTS.md")
    args = ap.parse_args()
    wl, steps = args.workload, args.steps
    data = workloads.load_data()
    n = steps * workloads.BATCH_SIZE
    lam = Lamina(wl, data, n)
    peer = peer_torch.TorchPeer(
        wl,
        data.x_train[:n],
        data.y_train[:n],
        peer_torch.Variant(args.channels_last, True if args.peer_optim == "foreach" else None),
    )
    peer.train_epoch(steps)
    lam.steps(steps)

    out: list[str] = []

    def emit(text: str) -> None:
        print(text, flush=True)
        out.extend(text.split("\n"))

    # 1. wall time, interleaved
    tl, tp = [], []
    with loadmeter.LoadMeter() as meter:
        for _ in range(args.rounds):
            tl.append(lam.steps(steps) / steps)
            tp.append(peer.train_epoch(steps)[0] / steps)
    ml, mp = statistics.median(tl), statistics.median(tp)
    emit(
        f"== {wl}: {steps} steps x {args.rounds} interleaved rounds, torch threads "
        f"{torch.get_num_threads()}, hand-written set-up: {peer.variant.label()}; "
        f"other processes' load {meter.load:.2f} cores (above {loadmeter.QUIET}: timings disturbed)"
    )
    emit(
        f"Lamina fit      {ml * 1e6:9.1f} us/step  (rounds: {', '.join(f'{t * 1e6:.0f}' for t in tl)})"
    )
    emit(
        f"hand-written    {mp * 1e6:9.1f} us/step  (rounds: {', '.join(f'{t * 1e6:.0f}' for t in tp)})"
    )
    emit(f"Lamina / hand-written throughput: {mp / ml:.3f}; extra {1e6 * (ml - mp):.1f} us/step")

    # 2. Python-level profile
    for label, fn in (
        ("Lamina fit", lambda: lam.steps(steps)),
        ("hand-written", lambda: peer.train_epoch(steps)),
    ):
        prof = cProfile.Profile()
        prof.enable()
        fn()
        prof.disable()
        st = pstats.Stats(prof)
        emit(f"\n== {label}: {st.total_calls / steps:.1f} Python function calls per step")  # type: ignore[attr-defined]
        if label == "Lamina fit":
            emit("\n".join(lamina_functions(st, steps, args.top)))

    # 4. component breakdown (printed last; computed first so profilers do not disturb it)
    try:
        with loadmeter.LoadMeter() as parts_meter:
            parts = components(lam, peer)
    except Exception as err:  # engine internals changed
        parts = []
        emit(f"\n(component breakdown unavailable: {type(err).__name__}: {err})")

    # 3. torch operators
    ol = ops_per_step(lambda: lam.steps(steps), steps)
    op = ops_per_step(lambda: peer.train_epoch(steps), steps)
    emit(
        f"\n== aten ops per step: Lamina {sum(ol.values()):.1f}, hand-written {sum(op.values()):.1f}"
    )
    keys = sorted(set(ol) | set(op), key=lambda k: -(ol.get(k, 0) - op.get(k, 0)))
    emit(f"{'Lamina':>8} {'hand':>8}  operator")
    for k in keys:
        if ol.get(k, 0) != op.get(k, 0):
            emit(f"{ol.get(k, 0):8.2f} {op.get(k, 0):8.2f}  {k}")
    if parts:
        emit(
            "\n== component breakdown (same batch, us per call, median of interleaved rounds; "
            f"other load {parts_meter.load:.2f})"
        )
        emit(f"{'Lamina':>9} {'hand':>9} {'extra':>8}  component")
        for label, a, b in parts:
            emit(f"{a:9.1f} {b:9.1f} {a - b:8.1f}  {label}")
    if args.write:
        import report

        date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        cmd = "python " + " ".join(["benchmarks/profile_lamina.py", *sys.argv[1:]])
        section = [f"## Per-step profile, {wl.upper()} (`{cmd}`, {date})", "", "```", *out, "```"]
        report.write_results("\n".join(section), name=f"profile-{wl}")
        print(f"wrote the profile-{wl} section of {report.RESULTS}")


if __name__ == "__main__":
    main()
