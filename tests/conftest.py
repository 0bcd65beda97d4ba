"""Test-wide isolation: every test reads and writes its own compile ledger.

`jit_compile='auto'` learns across processes from the compile ledger in Inductor's
cache directory (lamina/runtime/compile_ledger.py). Shared by the whole suite, that
memory would let one test's fits change another's decisions, and a second run of the
suite differ from the first. Each test gets an empty ledger in its own temporary
directory; Inductor's kernel cache stays shared, so compiles stay warm.
"""

from __future__ import annotations

import pytest

from lamina.runtime import compile_ledger


@pytest.fixture(autouse=True)
def own_compile_ledger(tmp_path_factory, monkeypatch):
    directory = tmp_path_factory.mktemp("ledger")
    monkeypatch.setattr(compile_ledger, "inductor_cache_dir", lambda: str(directory))
    return directory
