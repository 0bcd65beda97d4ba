"""lamina.runtime.vec_isa_cache: Inductor's vector-ISA probe runs once per machine, not per process.

Inductor's probe is replaced by a counting stand-in (`valid_vec_isa_list`), so each test
sees whether the probe ran and what was recorded; the record lives in a temporary
Inductor cache directory.
"""

from __future__ import annotations

import json
import platform

import pytest

from lamina.runtime import vec_isa_cache

pytestmark = pytest.mark.skipif(
    platform.machine() not in ("x86_64", "AMD64"), reason="Inductor probes ISAs on x86 only"
)


@pytest.fixture
def inductor(monkeypatch, tmp_path):
    """Inductor's config and ISA module with a private cache dir and a counting probe."""
    from torch._inductor import config, cpu_vec_isa

    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path))
    candidates = vec_isa_cache._candidates(cpu_vec_isa)
    if not candidates:
        pytest.skip("this CPU reports no vector ISA Inductor would probe")
    state = {"probes": 0, "passed": list(candidates)}

    def probe():
        state["probes"] += 1
        return [isa for isa in cpu_vec_isa.supported_vec_isa_list if str(isa) in state["passed"]]

    monkeypatch.setattr(cpu_vec_isa, "valid_vec_isa_list", probe)
    with config.patch({"cpp.vec_isa_ok": None}):  # restored after the test
        yield config, state, tmp_path / vec_isa_cache.RECORD, candidates


def test_first_process_probes_and_records(inductor):
    config, state, record, candidates = inductor
    assert vec_isa_cache.settle_vec_isa() is True
    assert state["probes"] == 1
    assert config.cpp.vec_isa_ok is True
    saved = json.loads(record.read_text())
    assert saved["passed"] == candidates and len(saved["key"]) == 64


def test_a_later_process_skips_the_probe(inductor):
    config, state, record, _ = inductor
    vec_isa_cache.settle_vec_isa()
    config.cpp.vec_isa_ok = None  # a new process starts unset
    assert vec_isa_cache.settle_vec_isa() is True
    assert state["probes"] == 1  # the record answered
    assert config.cpp.vec_isa_ok is True


def test_a_record_for_another_machine_is_ignored(inductor):
    config, state, record, candidates = inductor
    record.write_text(json.dumps({"key": "0" * 64, "passed": candidates}))
    assert vec_isa_cache.settle_vec_isa() is True
    assert state["probes"] == 1
    assert json.loads(record.read_text())["key"] != "0" * 64  # rewritten for this machine


def test_a_failing_candidate_keeps_probing_and_records_nothing(inductor):
    config, state, record, candidates = inductor
    state["passed"] = candidates[1:]  # the widest ISA fails to build or load
    assert vec_isa_cache.settle_vec_isa() is False
    assert config.cpp.vec_isa_ok is None
    assert not record.exists()
    config.cpp.vec_isa_ok = None
    vec_isa_cache.settle_vec_isa()
    assert state["probes"] == 2


def test_a_damaged_record_is_probed_again(inductor):
    config, state, record, _ = inductor
    record.write_text("{not json")
    assert vec_isa_cache.settle_vec_isa() is True
    assert state["probes"] == 1


def test_the_users_setting_is_left_alone(inductor):
    config, state, record, _ = inductor
    config.cpp.vec_isa_ok = False
    assert vec_isa_cache.settle_vec_isa() is False
    assert config.cpp.vec_isa_ok is False and state["probes"] == 0 and not record.exists()


def test_without_inductor_nothing_happens(monkeypatch):
    monkeypatch.setattr(vec_isa_cache, "_inductor", lambda: None)
    assert vec_isa_cache.settle_vec_isa() is False
