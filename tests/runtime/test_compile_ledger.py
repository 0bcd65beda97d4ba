"""lamina.runtime.compile_ledger: measured compile facts per step signature, as plain JSON
beside Inductor's cache, surviving damaged files and bounded in size."""

from __future__ import annotations

import json
import os

import pytest

from lamina.runtime import compile_ledger, json_records
from lamina.runtime.compile_ledger import CompileLedger, LedgerEntry


def test_update_then_get_round_trips(tmp_path):
    ledger = CompileLedger(str(tmp_path))
    assert ledger.get("a") is None
    ledger.update("a", compile_seconds=2.5, compiled_step=0.001)
    ledger.update("a", lost_seconds=3.0)  # other facts keep their values
    entry = CompileLedger(str(tmp_path)).get("a")  # a new process reads the file
    assert (entry.compile_seconds, entry.compiled_step, entry.lost_seconds) == (2.5, 0.001, 3.0)
    assert entry.eager_step is None
    saved = json.loads((tmp_path / compile_ledger.FILE).read_text())
    assert set(saved) == {"a"} and saved["a"]["compile_seconds"] == 2.5


def test_it_lives_in_inductors_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(compile_ledger, "inductor_cache_dir", json_records.inductor_cache_dir)
    CompileLedger().update("s", compile_seconds=1.0)
    assert (tmp_path / compile_ledger.FILE).exists()


@pytest.mark.parametrize(
    "text", ["{not json", "[1, 2]", '{"a": "text"}', '{"a": {"compile_seconds": "x"}}']
)
def test_a_damaged_ledger_reads_as_empty_and_is_rewritten(tmp_path, text):
    (tmp_path / compile_ledger.FILE).write_text(text)
    ledger = CompileLedger(str(tmp_path))
    assert ledger.get("a") is None
    assert ledger.update("a", compile_seconds=1.0).compile_seconds == 1.0
    assert ledger.get("a").compile_seconds == 1.0


def test_unknown_fields_are_ignored():
    entry = LedgerEntry.from_json({"compile_seconds": 1, "__class__": "os.system", "x": 2})
    assert entry == LedgerEntry(compile_seconds=1.0)


def test_the_least_recently_used_signatures_are_dropped(tmp_path, monkeypatch):
    monkeypatch.setattr(compile_ledger, "MAX_ENTRIES", 3)
    ledger = CompileLedger(str(tmp_path))
    clock = iter(range(100, 200))
    monkeypatch.setattr(compile_ledger.time, "time", lambda: float(next(clock)))
    for name in ("a", "b", "c"):
        ledger.update(name, compile_seconds=1.0)
    ledger.update("a", compiled_step=0.5)  # a is used again: b is now the oldest
    ledger.update("d", compile_seconds=1.0)
    saved = json.loads((tmp_path / compile_ledger.FILE).read_text())
    assert sorted(saved) == ["a", "c", "d"]


def test_an_unwritable_directory_loses_nothing_else(tmp_path):
    ledger = CompileLedger(str(tmp_path / "missing"))
    assert ledger.update("a", compile_seconds=1.0) is None
    assert ledger.get("a") is None


def test_no_inductor_means_no_ledger(monkeypatch):
    monkeypatch.setattr(compile_ledger, "inductor_cache_dir", lambda: None)
    ledger = CompileLedger()
    assert ledger.path is None and ledger.update("a", compile_seconds=1.0) is None


def test_a_write_leaves_no_temporary_files(tmp_path):
    CompileLedger(str(tmp_path)).update("a", compile_seconds=1.0)
    assert os.listdir(tmp_path) == [compile_ledger.FILE]
