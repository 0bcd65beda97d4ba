"""Results of one benchmark run and their Markdown section in RESULTS.md."""

from __future__ import annotations

import os
import platform
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import loadmeter
import workloads
from loadmeter import QUIET

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
SECTION = "training-speed"
TARGET_BEST = 1.2  # Lamina fit / best peer
TARGET_EFFICIENCY = 0.6  # Lamina CNN training FLOP/s / conv ceiling
TARGET_INFERENCE = 1.0  # Lamina evaluate/predict / hand-written inference loop
TARGET_MEMORY = 1.1  # Lamina / hand-written peak memory above baseline
MEMORY_PEERS = {
    "lamina": "Lamina fit",
    "torch": "hand-written eager loop (its trial winner)",
    "lamina_eager": "Lamina fit, jit_compile=False",
    "torch_compiled": "hand-written torch.compile loop (its trial winner)",
}


@dataclass
class Result:
    """One peer's timed epochs (or calls) on one workload, warm-up excluded."""

    peer: str
    samples: int
    seconds: list[float] = field(default_factory=list)  # every timed epoch, in round order
    loads: list[float] = field(default_factory=list)  # other processes' cores, per timed epoch
    rounds: list[int] = field(default_factory=list)  # the round of each timed epoch
    first: float = float("nan")  # seconds of the warm-up epoch
    note: str = ""
    skipped: str = ""  # why the peer did not run
    picked: list[int] = field(default_factory=list)  # indices of the reported epochs
    disturbed: int = 0  # reported epochs above QUIET (no quiet replacement within the limit)

    def pick(self, want: int) -> Result:
        """Choose the epochs to report: the first `want` quiet ones, else the least loaded."""
        self.picked, self.disturbed = loadmeter.pick_epochs(self.seconds, self.loads, want)
        return self

    @property
    def reported(self) -> list[float]:
        return [self.seconds[i] for i in self.picked]

    @property
    def per_epoch(self) -> list[float]:
        return [self.samples / s for s in self.reported]

    @property
    def median(self) -> float:
        return statistics.median(self.per_epoch) if self.picked else float("nan")

    @property
    def load(self) -> float:
        return max((self.loads[i] for i in self.picked), default=float("nan"))

    def quiet_count(self) -> int:
        return sum(1 for ld in self.loads if not ld > QUIET)


def ratio(a: Result, b: Result) -> float:
    return a.median / b.median if a.picked and b.picked else float("nan")


def paired_ratio(lam: Result, ref: Result) -> float:
    """Median of time_ref / time_lamina over rounds where both ran quiet epochs (else all shared)."""
    mine = {r: i for i, r in enumerate(lam.rounds)}
    pairs = [(mine[r], j) for j, r in enumerate(ref.rounds) if r in mine]
    quiet = [(i, j) for i, j in pairs if not lam.loads[i] > QUIET and not ref.loads[j] > QUIET]
    pairs = quiet or pairs
    if not pairs:
        return float("nan")
    return statistics.median(ref.seconds[j] / lam.seconds[i] for i, j in pairs)


def best_peer(results: list[Result]) -> Result | None:
    """The fastest peer other than Lamina (results[0]) that ran."""
    ran = [r for r in results[1:] if r.picked]
    return max(ran, key=lambda r: r.median) if ran else None


def fmt(v: float, digits: int = 0) -> str:
    return "n/a" if v != v else f"{v:,.{digits}f}"


def verdict(value: float, target: float, higher: bool = True) -> str:
    if value != value:
        return "n/a"
    return "meets" if (value >= target if higher else value <= target) else "MISSES"


def table(rows: list[list[str]], header: list[str]) -> str:
    """A Markdown table (also readable as plain text)."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(r: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"

    return "\n".join(
        [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)]
    )


def quality(r: Result) -> str:
    """Max other load of the reported epochs, with re-run and still-disturbed counts."""
    if not r.picked:
        return ""
    text = fmt(r.load, 2)
    extra = len(r.seconds) - len(r.picked)
    if extra:
        text += f" ({extra} more ran)"
    if r.disturbed:
        text += f" ({r.disturbed} DISTURBED)"
    return text


def training_table(res: list[Result]) -> str:
    lam, rows = res[0], []
    for r in res:
        per = ", ".join(fmt(v) for v in r.per_epoch) if r.picked else f"skipped: {r.skipped}"
        rel = "1.00" if r is lam else fmt(ratio(lam, r), 2)
        paired = "" if r is lam else fmt(paired_ratio(lam, r), 2)
        first = fmt(r.first, 1)
        rows.append([r.peer, fmt(r.median), rel, paired, per, first, quality(r), r.note])
    header = ["peer", "samples/s (median)", "Lamina / peer", "paired", "per timed epoch"]
    return table(rows, [*header, "warm-up epoch (s)", "other load", "set-up"])


def cnn_flops(samples_per_s: float) -> float:
    return samples_per_s * workloads.train_flops_per_sample("cnn")["train"] / 1e9


def machine_info(torch: Any, np: Any) -> str:
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
        f"torch threads {torch.get_num_threads()} (default; interop {torch.get_num_interop_threads()}), "
        f"NumPy {np.__version__}"
    )


def inference_table(evals: dict[str, list[Result]]) -> str:
    rows = []
    for key, res in evals.items():
        lam = res[0]
        for r in res:
            rel = "1.00" if r is lam else fmt(ratio(lam, r), 2)
            rows.append([key, r.peer, fmt(r.median), rel, fmt(r.load, 2), r.skipped or r.note])
    return table(
        rows, ["workload / call", "peer", "samples/s", "Lamina / peer", "other load", "notes"]
    )


def disturbed_note(res: list[Result]) -> str:
    """A warning when reported epochs ran while other processes kept the cores busy."""
    hit = [r for r in res if r.disturbed]
    if not hit:
        return ""
    worst = max(r.load for r in hit)
    names = ", ".join(r.peer for r in hit)
    return (
        f". **DISTURBED**: other processes used up to {worst:.2f} cores during reported runs of "
        f"{names}; treat these ratios as rough"
    )


def headline(run: Any) -> list[str]:
    """The targets, with this run's figures."""
    lines = ["### Headline (targets from issue 3)", ""]
    for wl, res in run.training.items():
        best = best_peer(res)
        r = ratio(res[0], best) if best else float("nan")
        name = best.peer if best else "n/a"
        lines.append(
            f"- **{wl.upper()}: Lamina / best peer = {fmt(r, 2)}** (best peer: {name}; target >= "
            f"{TARGET_BEST}: {verdict(r, TARGET_BEST)}). Lamina "
            f"{fmt(res[0].median)} samples/s; "
            + "; ".join(f"/ {p.peer} {fmt(ratio(res[0], p), 2)}" for p in res[1:])
            + disturbed_note(res)
        )
    if run.ceiling is not None and "cnn" in run.training:
        res = run.training["cnn"]
        eff = cnn_flops(res[0].median) / run.ceiling.total
        best = best_peer(res)
        beff = cnn_flops(best.median) / run.ceiling.total if best else float("nan")
        lines.append(
            f"- **CNN efficiency: Lamina {fmt(100 * eff, 0)}%** of the conv ceiling "
            f"({fmt(cnn_flops(res[0].median), 1)} of {fmt(run.ceiling.total, 1)} GFLOP/s; target >= "
            f"{TARGET_EFFICIENCY:.0%}: {verdict(eff, TARGET_EFFICIENCY)}); best peer "
            f"({best.peer if best else 'n/a'}) {fmt(100 * beff, 0)}%"
        )
    for key, res in run.evals.items():
        if len(res) > 1:
            r = ratio(res[0], res[1])
            lines.append(
                f"- {key}: Lamina / hand-written inference loop = **{fmt(r, 2)}** (target >= "
                f"{TARGET_INFERENCE}: {verdict(r, TARGET_INFERENCE)})" + disturbed_note(res[:2])
            )
    for wl, mem in run.memory.items():
        lines.append(memory_headline(wl, mem))
    return lines


def render(run: Any, cfg: Any, meta: dict[str, str], torch: Any, np: Any) -> str:
    """The Markdown section for RESULTS.md (also printed)."""
    lines = [
        "## Training speed (`benchmarks/run.py`)",
        "",
        f"- date: {meta['date']}",
        f"- command: `{meta['command']}` (took {meta['took']})",
        f"- machine: {machine_info(torch, np)}, device {meta['device']}",
        f"- data: {meta['data']}; images scaled to [0, 1] float32, batch {workloads.BATCH_SIZE}",
        "- samples per epoch: "
        + ", ".join(f"{wl.upper()} {cfg.samples[wl]:,}" for wl in run.training)
        + f"; per peer 1 warm-up + {cfg.epochs} timed epochs, samples/s = median of the timed epochs",
        "- every peer's epochs ran interleaved, round by round (Lamina, then each peer in turn); "
        "`paired` = median over rounds of the per-round Lamina / peer ratio",
        f"- Lamina `compile(...)` extra arguments: `{workloads.LAMINA_COMPILE!r}`",
        *(["- **--quick**: tiny epochs; the figures mean nothing"] if meta["quick"] else []),
        f"- other load: the most cores other processes kept busy during a reported epoch (before the "
        f"start: {meta['initial_load']}); while some peer had fewer than {cfg.epochs} epochs under "
        f"{QUIET}, up to {cfg.extra} extra rounds ran",
        "",
        *headline(run),
    ]
    for wl, res in run.training.items():
        lines += ["", f"### Training, {wl.upper()}", "", training_table(res)]
    if run.ceiling is not None:
        c = run.ceiling
        lines += [
            "",
            "### Conv ceiling (forward `F.conv2d`, batch 128, the CNN's two convolutions)",
            "",
            f"- ceiling: **{c.total:.1f} GFLOP/s** over both convolutions ({c.best}); the second "
            f"convolution alone {c.second:.1f} GFLOP/s; other load {fmt(c.load, 2)}",
            *[f"- {line}" for line in meta["ceiling_lines"]],
            f"- CNN training FLOPs per sample: {workloads.train_flops_per_sample('cnn')['train']:,} "
            "(see README); GFLOP/s per peer: "
            + ", ".join(
                f"{r.peer} {fmt(cnn_flops(r.median), 1)}" for r in run.training.get("cnn", [])
            ),
        ]
    if run.evals:
        lines += [
            "",
            f"### evaluate and predict, {cfg.eval_samples:,} test images, batch 128 "
            "(1 warm-up + interleaved repeats, median; repeats: "
            + ", ".join(f"{wl.upper()} {n}" for wl, n in cfg.eval_repeats.items())
            + ")",
            "",
            inference_table(run.evals),
        ]
    if run.memory:
        rows = [
            [
                wl.upper(),
                MEMORY_PEERS.get(peer, peer),
                fmt(m.get("baseline_mib", float("nan"))),
                fmt(m.get("peak_mib", float("nan"))),
                fmt(m.get("delta_mib", float("nan"))),
                m.get("error", m.get("method", "")),
            ]
            for wl, mem in run.memory.items()
            for peer, m in mem.items()
        ]
        lines += [
            "",
            "### Peak memory (fresh process per peer, warm-up + 1 epoch of the samples above; MiB)",
            "",
            table(
                rows, ["workload", "peer", "baseline RSS", "peak RSS", "peak - baseline", "method"]
            ),
        ]
    lines += ["", "### Set-up notes", "", *[f"- {n}" for n in run.notes]]
    return "\n".join(lines)


def memory_headline(wl: str, mem: dict[str, dict[str, Any]]) -> str:
    """Lamina's peak memory against the hand-written eager loop (the target) and, for
    information, against the hand-written torch.compile loop and Lamina eager."""
    lam, hand = mem.get("lamina", {}), mem.get("torch", {})
    if "delta_mib" not in lam or "delta_mib" not in hand:
        return f"- {wl.upper()} peak memory: failed ({lam.get('error') or hand.get('error')})"
    r = lam["delta_mib"] / max(hand["delta_mib"], 1e-9)
    line = (
        f"- {wl.upper()} peak memory above baseline: Lamina {lam['delta_mib']:.0f} MiB, "
        f"hand-written eager {hand['delta_mib']:.0f} MiB, ratio **{r:.2f}** (target <= "
        f"{TARGET_MEMORY}: {verdict(r, TARGET_MEMORY, higher=False)})"
    )
    extra = []
    comp, eager = mem.get("torch_compiled", {}), mem.get("lamina_eager", {})
    if "delta_mib" in comp:
        rc = lam["delta_mib"] / max(comp["delta_mib"], 1e-9)
        extra.append(
            f"Lamina / hand-written torch.compile loop ({comp['delta_mib']:.0f} MiB) = {rc:.2f}"
        )
    if "delta_mib" in eager:
        re = eager["delta_mib"] / max(hand["delta_mib"], 1e-9)
        extra.append(
            f"Lamina with jit_compile=False {eager['delta_mib']:.0f} MiB = {re:.2f}x eager"
        )
    return line + ("; " + "; ".join(extra) if extra else "")


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
        text = "# Lamina benchmark results\n\n" + block
    RESULTS.write_text(text)
