"""Small JSON records beside Inductor's on-disk cache: read safely, written atomically.

Lamina keeps a few facts about compiling on this machine (`vec_isa_cache.py`,
`compile_ledger.py`) in Inductor's cache directory, so that wiping that cache forgets
them too. A record is plain JSON: reading one never runs code, and a missing or
damaged file reads as None. Writes go to a temporary file that replaces the record,
so a reader sees the old record or the new one, never half of one.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import sys
import tempfile
from typing import Any

# Inductor's module naming its cache directory, as a path under torch's package.
_CACHE_DIR_MODULE = ("_inductor", "runtime", "cache_dir_utils")


@functools.lru_cache(maxsize=1)
def _standalone_cache_dir() -> Any:
    """`cache_dir` from Inductor's cache-directory module loaded alone (once), or None."""
    import torch

    path = os.path.join(os.path.dirname(torch.__file__), *_CACHE_DIR_MODULE) + ".py"
    spec = importlib.util.spec_from_file_location("lamina_inductor_cache_dir", path)
    if spec is None or spec.loader is None or not os.path.exists(path):
        return None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        return module.cache_dir
    except (ImportError, AttributeError):
        return None


def _cache_dir_function() -> Any:
    """Inductor's `cache_dir` function, without importing Inductor when it is not loaded.

    `torch._inductor`'s package imports Dynamo (about a second); the module that names
    the cache directory imports neither, so before Inductor is loaded it is loaded alone
    from its file. Returns None where this torch has no such module.
    """
    if "torch._inductor" not in sys.modules:
        standalone = _standalone_cache_dir()
        if standalone is not None:
            return standalone
    try:
        from torch._inductor.runtime.cache_dir_utils import cache_dir
    except ImportError:
        return None
    return cache_dir


def inductor_cache_dir() -> str | None:
    """Inductor's cache directory (created if needed), or None where this torch has none."""
    cache_dir = _cache_dir_function()
    if cache_dir is None:
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
