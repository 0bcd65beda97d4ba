"""The solo runs' records and their RESULTS.md section `training-solo` (the headline).

A run counts as quiet when other processes used at most `loadmeter.QUIET` cores
before it (a 1 s window) and during its `fit`, and the matmul probe before it reached
at least `PROBE_FRACTION` of the session's best probe. Per peer, medians are taken over
quiet runs; a peer without any uses its least loaded run, flagged DISTURBED. The
Inductor-cache peers' whole-fit median is over warm-cache runs; their first (cold)
run's fit seconds are shown apart.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from typing import Any

import report
from loadmeter import QUIET
from report import fmt, table, verdict

SECTION = "training-solo"
INTERLEAVED = "training-speed"  # run.py's section: this one goes above it
PROBE_FRACTION = 0.8  # a probe below this share of the session's best marks the run loaded
TARGET = 1.2
LAMINA = ("lamina", "lamina_jit")


@dataclass
class SoloRun:
    """One fresh-process `fit` of one peer, with the machine's state before and during it."""

    round: int
    peer: str
    name: str
    samples: int
    loadavg: float = float("nan")  # os.getloadavg()[0] before the run (lags the previous run)
    load_before: float = float("nan")  # other processes' cores over ~1 s before the run
    probe: float = float("nan")  # NumPy float32 matmul GFLOP/s before the run
    load_during: float = float("nan")  # other processes' cores during fit (the worker's meter)
    fit_s: float = float("nan")
    epoch_s: list[float] = field(default_factory=list)
    import_s: float = float("nan")
    process_s: float = float("nan")
    accuracy: float = float("nan")
    setup: str = ""
    cold: bool | None = None  # None: the peer does not use the Inductor cache
    cache_files: int = 0  # files this run added to the Inductor cache
    error: str = ""
    quiet: bool = False  # set by `mark_quiet`

    @property
    def per_epoch(self) -> list[float]:
        return [self.samples / s for s in self.epoch_s]

    @property
    def steady(self) -> float:
        """Median samples/s of epochs 2..E (epoch 1 holds the warm-up and compiling)."""
        rest = self.per_epoch[1:]
        return statistics.median(rest) if rest else float("nan")

    @property
    def worst_load(self) -> float:
        loads = [v for v in (self.load_before, self.load_during) if v == v]
        return max(loads, default=0.0)


@dataclass
class PeerSummary:
    """One peer's figures on one workload, from its quiet runs."""

    peer: str
    name: str
    runs: list[SoloRun]
    skipped: str = ""

    def _chosen(self, warm_only: bool) -> tuple[list[SoloRun], bool]:
        """The runs a median uses: quiet ones, else the least loaded one (then disturbed)."""
        ok = [r for r in self.runs if not r.error and not (warm_only and r.cold)]
        quiet = [r for r in ok if r.quiet]
        if quiet or not ok:
            return quiet, False
        return [min(ok, key=lambda r: (r.worst_load, -r.probe))], True

    @property
    def disturbed(self) -> bool:
        return self._chosen(False)[1] or self._chosen(True)[1]

    @property
    def steady(self) -> float:
        runs = self._chosen(False)[0]
        return statistics.median(r.steady for r in runs) if runs else float("nan")

    @property
    def fit_from_cold(self) -> bool:
        """True when the peer has no quiet warm-cache run but a quiet cold one, so its fit s
        is the cold run's (a quiet cold run beats a loaded warm one)."""
        warm, warm_disturbed = self._chosen(True)
        quiet, any_disturbed = self._chosen(False)
        return (not warm or warm_disturbed) and bool(quiet) and not any_disturbed

    @property
    def fit_s(self) -> float:
        runs = self._chosen(not self.fit_from_cold)[0]
        return statistics.median(r.fit_s for r in runs) if runs else float("nan")

    def fit_text(self, unit: str = "") -> str:
        """The fit-seconds median, marked when it comes from the cold run only."""
        return fmt(self.fit_s, 2) + unit + (" (cold run only)" if self.fit_from_cold else "")

    @property
    def cold_fit_s(self) -> float:
        cold = [r.fit_s for r in self.runs if r.cold and not r.error]
        return cold[0] if cold else float("nan")

    @property
    def accuracy(self) -> float:
        runs = self._chosen(False)[0]
        return statistics.median(r.accuracy for r in runs) if runs else float("nan")

    @property
    def setup(self) -> str:
        done = [r.setup for r in self.runs if r.setup]
        return done[-1] if done else ""


def mark_quiet(runs: list[SoloRun]) -> float:
    """Set each run's `quiet` flag; return the session's best probe."""
    best = max((r.probe for r in runs if r.probe == r.probe), default=float("nan"))
    for r in runs:
        slow = r.probe == r.probe and best == best and r.probe < PROBE_FRACTION * best
        r.quiet = not r.error and not r.worst_load > QUIET and not slow
    return best


def summaries(peers: list[tuple[str, str, str]], runs: list[SoloRun]) -> list[PeerSummary]:
    """One summary per (peer, name, skipped reason), in the given order."""
    return [PeerSummary(p, name, [r for r in runs if r.peer == p], why) for p, name, why in peers]


def best_of(sums: list[PeerSummary], key: str) -> PeerSummary | None:
    """The best non-Lamina peer: the highest steady samples/s, or the shortest fit."""
    ran = [s for s in sums if s.peer not in LAMINA and getattr(s, key) == getattr(s, key)]
    if not ran:
        return None
    if key == "steady":
        return max(ran, key=lambda s: s.steady)
    return min(ran, key=lambda s: s.fit_s)


def headline(wl: str, sums: list[PeerSummary]) -> list[str]:
    """The workload's target ratios with their verdicts."""
    by = {s.peer: s for s in sums}
    nan = float("nan")
    lam, jit = by.get("lamina"), by.get("lamina_jit")
    fast, quick = best_of(sums, "steady"), best_of(sums, "fit_s")
    steady = lam.steady / fast.steady if lam and fast else nan
    whole = quick.fit_s / lam.fit_s if lam and quick else nan
    fname, qname = (fast.name if fast else "n/a"), (quick.name if quick else "n/a")
    flag = " (DISTURBED runs: treat as rough)" if any(s.disturbed for s in sums) else ""
    lines = []
    if wl == "mlp":
        comp = jit.steady / fast.steady if jit and fast else nan
        lines.append(
            f"- **MLP compiled steady state: Lamina jit_compile=True / best peer = {fmt(comp, 2)}** "
            f"({fmt(jit.steady if jit else nan)} vs {fname} {fmt(fast.steady if fast else nan)} "
            f"samples/s; target >= {TARGET}: {verdict(comp, TARGET)}){flag}"
        )
        lines.append(
            f"- **MLP whole fit: best peer fit s / Lamina (default) fit s = {fmt(whole, 2)}** "
            f"({qname} {quick.fit_text(' s') if quick else 'n/a'} vs Lamina "
            f"{lam.fit_text(' s') if lam else 'n/a'}; target >= {TARGET}: {verdict(whole, TARGET)})"
        )
        lines.append(
            f"- MLP Lamina (default) steady / best peer steady = {fmt(steady, 2)} "
            f"({fmt(lam.steady if lam else nan)} vs {fname} {fmt(fast.steady if fast else nan)})"
        )
    else:
        lines.append(
            f"- **{wl.upper()} steady state: Lamina (default) / best peer = {fmt(steady, 2)}** "
            f"({fmt(lam.steady if lam else nan)} vs {fname} {fmt(fast.steady if fast else nan)} "
            f"samples/s; target >= {TARGET}: {verdict(steady, TARGET)}){flag}"
        )
        lines.append(
            f"- {wl.upper()} whole fit (information): best peer fit s / Lamina fit s = "
            f"{fmt(whole, 2)} ({qname} {quick.fit_text(' s') if quick else 'n/a'} vs Lamina "
            f"{lam.fit_text(' s') if lam else 'n/a'})"
        )
    cold = [s for s in sums if s.cold_fit_s == s.cold_fit_s]
    if cold:
        lines.append(
            f"- {wl.upper()} cold Inductor cache (first run of the session), fit s: "
            + "; ".join(
                f"{s.name} {fmt(s.cold_fit_s, 2)} s"
                + ("" if s.fit_from_cold else f" (warm median {fmt(s.fit_s, 2)} s)")
                for s in cold
            )
        )
    return lines


def peer_table(sums: list[PeerSummary]) -> str:
    rows = []
    for s in sums:
        if s.skipped or not s.runs:
            rows.append([s.name, "0/0", "", "", "", f"skipped: {s.skipped}", ""])
            continue
        quiet = sum(r.quiet for r in s.runs)
        count = f"{quiet}/{len(s.runs)}" + (" DISTURBED" if s.disturbed else "")
        errors = [r.error for r in s.runs if r.error]
        setup = s.setup + (f"; failed: {errors[0]}" if errors else "")
        rows.append(
            [
                s.name,
                count,
                fmt(s.steady),
                s.fit_text(),
                fmt(s.cold_fit_s, 2) if s.cold_fit_s == s.cold_fit_s else "",
                setup,
                fmt(s.accuracy, 3),
            ]
        )
    header = ["peer", "quiet/runs", "steady samples/s", "fit s", "cold-cache fit s", "set-up"]
    return table(rows, [*header, "final acc"])


def run_table(runs: list[SoloRun]) -> str:
    rows = []
    for r in runs:
        cold = "" if r.cold is None else ("cold" if r.cold else "warm") + f" (+{r.cache_files})"
        step = re.search(r"train step: ([\w-]+)", r.setup or "")
        if step:  # what this run's fit chose, and whether it loaded a saved step
            saved = " saved" if "saved library" in r.setup else ""
            cold += f"; {step.group(1)}{saved}"
        loads = f"{fmt(r.load_before, 2)} / {fmt(r.load_during, 2)}"
        per = r.error and f"failed: {r.error}" or ", ".join(fmt(v) for v in r.per_epoch)
        rows.append(
            [
                str(r.round),
                r.name,
                fmt(r.loadavg, 2),
                loads,
                fmt(r.probe, 1),
                "yes" if r.quiet else "LOADED",
                cold,
                fmt(r.fit_s, 2),
                fmt(r.import_s, 2),
                fmt(r.process_s, 1),
                per,
            ]
        )
    header = ["round", "peer", "loadavg", "other cores before / during", "probe GFLOP/s"]
    header += ["quiet?", "cache (+files); step", "fit s", "import s", "process s"]
    return table(rows, [*header, "per-epoch samples/s"])


def render(
    results: dict[str, tuple[list[tuple[str, str, str]], list[SoloRun]]],
    meta: dict[str, Any],
    torch: Any,
    np: Any,
) -> str:
    """The Markdown section: `results[wl] = (peers as (key, name, skipped), runs)`."""
    best = mark_quiet([r for _, runs in results.values() for r in runs])
    lines = [
        "## Training speed, solo runs (`benchmarks/solo.py`): the headline",
        "",
        f"- date: {meta['date']}",
        f"- command: `{meta['command']}` (took {meta['took']})",
        f"- machine: {report.machine_info(torch, np)}",
        f"- data: {meta['data']}; batch 128; "
        + ", ".join(
            f"{wl.upper()} {meta['samples'][wl]:,} samples x {meta['epochs'][wl]} epochs, "
            f"{meta['rounds'][wl]} round{'s' if meta['rounds'][wl] != 1 else ''}"
            for wl in results
        ),
        "- method: each run is one `fit(x, y, batch_size=128, epochs=E, verbose=0)` on NumPy arrays "
        "in a fresh process, started after the previous run exited; peers take turns round by round",
        "- steady samples/s = median of epochs 2..E of a run; fit s = the whole call (compile "
        "included); per peer, medians over quiet runs (cache peers' fit s: over warm-cache runs, "
        "else the cold run, marked)",
        f"- a run is LOADED when other processes used > {QUIET} cores in the 1 s before it or "
        f"during its fit, or its matmul probe fell below {PROBE_FRACTION} x the session's best "
        f"({fmt(best, 1)} GFLOP/s); loaded runs stay out of the medians",
        "- the Inductor cache (TORCHINDUCTOR_CACHE_DIR) starts empty and is shared by the Lamina "
        "and hand-written torch runs: each such peer's first run is cold, later runs warm",
        *(["- **--quick**: tiny runs; the figures mean nothing"] if meta["quick"] else []),
        "",
        "### Headline (targets from issue 14)",
        "",
    ]
    for wl, (peers, runs) in results.items():
        lines += headline(wl, summaries(peers, runs))
    for wl, (peers, runs) in results.items():
        lines += ["", f"### Solo runs, {wl.upper()}", "", peer_table(summaries(peers, runs))]
        lines += ["", run_table(runs)]
    if meta.get("notes"):
        lines += ["", "### Notes", "", *[f"- {n}" for n in meta["notes"]]]
    return "\n".join(lines)


def write(section: str) -> None:
    """Write the section into RESULTS.md, placing it first (above the interleaved section)."""
    begin, end = f"<!-- BEGIN {SECTION} -->", f"<!-- END {SECTION} -->"
    if report.RESULTS.exists():
        text = report.RESULTS.read_text()
        if begin not in text:
            anchor = f"<!-- BEGIN {INTERLEAVED} -->"
            at = text.index(anchor) if anchor in text else len(text)
            text = text[:at] + f"{begin}\n{end}\n\n" + text[at:]
            report.RESULTS.write_text(text)
    report.write_results(section, SECTION)
