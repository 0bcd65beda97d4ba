"""Small JSON records beside Inductor's on-disk cache: read safely, written atomically.

Lamina keeps a few facts about compiling on this machine (`vec_isa_cache.py`,
`compile_ledger.py`) in Inductor's cache directory, so that wiping that cache forgets
them too. A record is plain JSON: reading one never runs code, and a missing or
damaged file reads as None. Writes go to a temporary file that replaces the record,
so a reader sees the old record or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any


def inductor_cache_dir() -> str | None:
    """Inductor's cache directory (created if needed), or None where this torch has none."""
    try:
        from torch._inductor.runtime.cache_dir_utils import cache_dir
    except ImportError:
        return None
    try:
        return cache_dir()
    except OSError:
        return None


def read_record(path: str) -> Any:
    """The JSON value stored at `path`, or None when it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_record(path: str, value: Any) -> bool:
    """Store `value` as JSON at `path` atomically; False when the directory refuses it."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".lamina-", suffix=".json", dir=os.path.dirname(path))
    except OSError:
        return False
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(value, f)
        os.replace(tmp, path)
    except OSError:
        if os.path.exists(tmp):
            os.unlink(tmp)
        return False
    return True
