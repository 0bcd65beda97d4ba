"""The fuzz campaign's harness: a small trained model in every format, and one damaged file
loaded under a hard timeout with its time and memory measured.

A case passes when loading returns or raises `FileFormatError`; any other exception
propagates (a bug). Each load runs under `signal.setitimer` (CASE_TIMEOUT: a hang fails)
and its peak memory above the RSS before it is read from VmHWM, which Linux resets on
`echo 5 > /proc/self/clear_refs`. The tally (cases, loaded, refused, slowest, largest)
is printed at the end of the run. Run as a script (`name:fmt:path ...`), this file loads
the memory-bound cases of fuzz_bombs.py in a fresh process against a baseline taken
after importing Lamina and loading every valid file once.
"""

from __future__ import annotations

import gc
import json
import os
import re
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

import lamina
from lamina import layers
from lamina.saving import FileFormatError

CASE_TIMEOUT = 5.0  # seconds; the campaign's bound is 1 s, reported (not asserted) per case
MEMORY_LIMIT = 100 << 20
FORMATS = {  # name -> file suffix; model files load with load_model and load_weights
    "lamina": ".lamina",
    "keras": ".keras",
    "h5": ".h5",
    "safetensors": ".safetensors",
    "torch": ".pt",
    "weights_h5": ".weights.h5",
}
MODEL_FORMATS = ("lamina", "keras", "h5")


def examples(default: int) -> int:
    """Hypothesis examples per test: `default`, or LAMINA_FUZZ_EXAMPLES for a campaign."""
    return int(os.environ.get("LAMINA_FUZZ_EXAMPLES", default))


def small_model() -> lamina.Model:
    return lamina.Sequential(
        [
            layers.Input((6, 6, 1)),
            layers.Conv2D(2, 3),
            layers.BatchNormalization(),
            layers.Flatten(),
            layers.Dense(3, activation="softmax"),
        ]
    )


def trained_model() -> lamina.Model:
    """Compiled with Adam and trained one step, so optimizer state exists."""
    lamina.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    model = small_model()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = rng.random((8, 6, 6, 1), dtype=np.float32), rng.integers(0, 3, 8)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    return model


def write_valid(model: lamina.Model, fmt: str, path: Path) -> None:
    if fmt in MODEL_FORMATS:
        model.save(path)
    elif fmt == "torch":
        torch.save(model.state_dict(), path)
    else:
        model.save_weights(path)


class ValidFiles(dict):
    """fmt -> bytes, with a short repr for Hypothesis's reports."""

    def __repr__(self) -> str:
        return f"ValidFiles({ {k: len(v) for k, v in self.items()} })"


def valid_files(directory: Path) -> ValidFiles:
    """fmt -> bytes of a valid file of `trained_model()`, for every format that saves."""
    model = trained_model()
    out = ValidFiles()
    for fmt, suffix in FORMATS.items():
        path = directory / f"valid{suffix}"
        try:
            write_valid(model, fmt, path)
        except (ImportError, NotImplementedError):
            continue  # a format not there yet
        out[fmt] = path.read_bytes()
    return out


class Loaders:
    """The ways each format is read: load_model (model files) and load_weights (all)."""

    def __init__(self) -> None:
        self.target = small_model()

    def __call__(self, fmt: str) -> list[tuple[str, Callable[[Path], Any]]]:
        into = ("load_weights", self.target.load_weights)
        return [("load_model", lamina.models.load_model), into] if fmt in MODEL_FORMATS else [into]


# ----- measuring -------------------------------------------------------------------------


class CaseTimeout(BaseException):
    """A load that outlived CASE_TIMEOUT (BaseException: no `except Exception` hides it)."""


@contextmanager
def hard_timeout(seconds: float) -> Iterator[None]:
    def fire(signum: int, frame: Any) -> None:
        raise CaseTimeout(f"Expected a load within {seconds} s, received: one still running")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def status_bytes(field_name: str) -> int:
    """VmRSS, VmHWM... of this process, in bytes."""
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"{field_name}:\s+(\d+) kB", text).group(1)) * 1024


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS; False where the kernel does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@dataclass
class Stats:
    cases: int = 0
    loaded: int = 0
    refused: int = 0
    bug: int = 0
    max_seconds: float = 0.0
    max_bytes: int = 0
    slowest: str = ""
    kinds: dict[str, int] = field(default_factory=dict)


TALLY: dict[str, Stats] = {}
COLLECT = os.environ.get("LAMINA_FUZZ_COLLECT")  # a JSON-lines file: bugs recorded, not raised


def _collect(err: BaseException, fmt: str, kind: str, what: str, label: str) -> None:
    """One line per bug: its type, message and the innermost Lamina frame."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if "/lamina/" in f.filename]
    at = f"{frames[-1].filename.split('/lamina/')[-1]}:{frames[-1].lineno}" if frames else "?"
    record = {"fmt": fmt, "kind": kind, "via": label, "type": type(err).__name__, "at": at,
              "message": str(err)[:300], "case": what[:200],
              "trace": "".join(traceback.format_exception(err))[-4000:]}  # fmt: skip
    with open(COLLECT, "a") as f:
        f.write(json.dumps(record) + "\n")


def measured(load: Callable[[], Any], baseline: int | None = None) -> tuple[str, float, int]:
    """("loaded" | "refused", seconds, peak bytes above `baseline` or the RSS before)."""
    before = status_bytes("VmRSS") if baseline is None else baseline
    exact = reset_peak()
    start = time.perf_counter()
    try:
        with hard_timeout(CASE_TIMEOUT):
            load()
        outcome = "loaded"
    except FileFormatError:
        outcome = "refused"
    seconds = time.perf_counter() - start
    peak = status_bytes("VmHWM" if exact else "VmRSS") - before
    return outcome, seconds, peak


def run_case(fmt: str, kind: str, data: bytes, workdir: Path, loaders: Loaders, what: str) -> None:
    """Write `data` as a file of `fmt` and load it every way; fail on a wrong outcome."""
    path = workdir / f"case{FORMATS[fmt]}"
    path.write_bytes(data)
    stats = TALLY.setdefault(fmt, Stats())
    for label, load in loaders(fmt):
        try:
            outcome, seconds, peak = measured(lambda load=load: load(path))
        except Exception as err:  # noqa: BLE001 - a bug: collected in a campaign, else raised
            err.add_note(f"fuzz case: {fmt} {kind} {what} via {label}")
            if not COLLECT:
                raise
            _collect(err, fmt, kind, what, label)
            outcome, seconds, peak = "bug", 0.0, 0
        stats.cases += 1
        stats.kinds[kind] = stats.kinds.get(kind, 0) + 1
        setattr(stats, outcome, getattr(stats, outcome) + 1)
        if seconds > stats.max_seconds:
            stats.max_seconds, stats.slowest = seconds, f"{kind} {what} via {label}"[:120]
        stats.max_bytes = max(stats.max_bytes, peak)
        assert peak < MEMORY_LIMIT, (
            f"Expected under {MEMORY_LIMIT >> 20} MiB for {fmt} {kind} {what} via {label}, "
            f"received: {peak / 2**20:.0f} MiB"
        )


def summary() -> list[str]:
    lines = ["fuzz campaign: format, cases, loaded, refused, bugs, max s/case, max MiB above RSS"]
    for fmt, s in sorted(TALLY.items()):
        lines.append(
            f"  {fmt:12} {s.cases:6} {s.loaded:6} {s.refused:6} {s.bug:4} {s.max_seconds:8.3f} "
            f"{s.max_bytes / 2**20:8.1f}   slowest: {s.slowest}"
        )
        lines.append(f"  {'':12} by kind: {dict(sorted(s.kinds.items()))}")
    return lines


# ----- memory-bound cases, in a fresh process ---------------------------------------------


def memory_main(cases: list[str]) -> None:
    """Load each "name:fmt:path" every way; print one JSON line each: outcome, seconds, peak.

    The baseline is this process's RSS after importing Lamina and loading each format's
    valid file once (lazy imports, first allocations); "peak" is VmHWM during the case
    minus the RSS just before it (what the case alone added, heap left over by earlier
    cases excluded), "above_baseline" the same peak minus the baseline. The hostile
    files are built by the caller, so building them costs nothing here.
    """
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        valid = valid_files(workdir)
        loaders = Loaders()
        for fmt, data in valid.items():
            path = workdir / f"warm{FORMATS[fmt]}"
            path.write_bytes(data)
            for _, load in loaders(fmt):
                load(path)
        del valid
        gc.collect()
        baseline = status_bytes("VmRSS")
        for case in cases:
            name, fmt, path = case.split(":", 2)
            for label, load in loaders(fmt):
                gc.collect()
                before = status_bytes("VmRSS")
                try:
                    outcome, seconds, peak = measured(lambda load=load, path=path: load(Path(path)))
                except BaseException as err:  # noqa: BLE001 - reported to the parent
                    outcome, seconds, peak = f"{type(err).__name__}: {str(err)[:300]}", -1.0, -1
                report = {"case": name, "via": label, "outcome": outcome, "seconds": seconds}
                report |= {"peak": peak, "above_baseline": peak + before - baseline}
                print(json.dumps(report), flush=True)


if __name__ == "__main__":
    memory_main(sys.argv[1:])
