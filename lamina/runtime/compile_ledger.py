"""What compiling a given train step cost on this machine before, across processes.

`jit_compile='auto'` weighs a compile's cost against the time it saves. Inside one
process it can only assume the cost, and a cold compile (seconds of C++) differs
from a warm one (Inductor's on-disk cache holds the kernels) by about ten times. The
ledger remembers, per train step signature (`models/compile_signature.py`), the
last measured compile time and step times, and the eager time earlier runs lost by
not compiling, so a later run decides on measured figures. It lives in Inductor's
cache directory (`json_records.py`): clearing that cache, which makes the next
compile cold again, clears the ledger with it.

    ledger = CompileLedger()
    entry = ledger.get(signature)            # None the first time
    ledger.update(signature, compile_seconds=2.1, compiled_step=0.001)
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, fields

from lamina.runtime.json_records import inductor_cache_dir, read_record, write_record

FILE = "lamina-compile-ledger.json"
MAX_ENTRIES = 256  # the least recently used signatures go first


@dataclass
class LedgerEntry:
    """Measured facts about one train step signature (None: not measured yet)."""

    compile_seconds: float | None = None  # the last compile's first call, seconds
    eager_step: float | None = None  # seconds per eager step
    compiled_step: float | None = None  # seconds per compiled step
    lost_seconds: float = 0.0  # what eager runs would have saved, compiled, so far
    used: float = 0.0  # time.time() of the last update

    @classmethod
    def from_json(cls, value: object) -> LedgerEntry | None:
        if not isinstance(value, dict):
            return None
        known = {f.name for f in fields(cls)}
        try:
            kept = {k: float(v) for k, v in value.items() if k in known and v is not None}
        except (TypeError, ValueError):
            return None
        return cls(**kept)


class CompileLedger:
    """The ledger file in Inductor's cache directory (a no-op where there is none)."""

    def __init__(self, directory: str | None = None) -> None:
        directory = directory if directory is not None else inductor_cache_dir()
        self.directory = directory or None
        self.path = os.path.join(directory, FILE) if directory else None

    def _entries(self) -> dict:
        data = read_record(self.path) if self.path else None
        return data if isinstance(data, dict) else {}

    def get(self, signature: str) -> LedgerEntry | None:
        """The entry of `signature`, or None when none was recorded."""
        return LedgerEntry.from_json(self._entries().get(signature))

    def update(self, signature: str, **facts: float | None) -> LedgerEntry | None:
        """Set the given facts of `signature` (others keep their values) and store it.

        Returns the stored entry, or None when the ledger cannot be written.
        """
        if self.path is None:
            return None
        entries = self._entries()
        entry = LedgerEntry.from_json(entries.get(signature)) or LedgerEntry()
        for name, value in facts.items():
            if value is not None:
                setattr(entry, name, float(value))
        entry.used = time.time()
        entries[signature] = asdict(entry)
        if len(entries) > MAX_ENTRIES:
            oldest = sorted(entries, key=lambda k: _used(entries[k]))
            for key in oldest[: len(entries) - MAX_ENTRIES]:
                del entries[key]
        return entry if write_record(self.path, entries) else None


def _used(value: object) -> float:
    try:
        return float(value.get("used", 0.0)) if isinstance(value, dict) else 0.0
    except (TypeError, ValueError):
        return 0.0
