"""Remember, per machine, that Inductor's vector-ISA probe passed, so later processes skip it.

Before its first C++ kernel, every process's Inductor checks each vector instruction
set the CPU reports (AVX2, AVX-512, ...) by compiling a probe and loading it in a child
Python: a second or more per process, every run, with the same answer each time on
one machine. `settle_vec_isa()` runs the probe in the first process and, when every
candidate passed, records that in Inductor's cache directory, keyed by what decides
the answer (CPU flags, compiler, torch, Python); a later process finds the record and
skips the probe. Either way it then sets Inductor's `cpp.vec_isa_ok`, Inductor's own
switch meaning "every candidate is usable": the probe's answer, given without running
it. A machine where a candidate fails keeps probing. The record is JSON and is only
read, never executed.

    settle_vec_isa()   # before a CPU compile
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sys
from typing import Any

import torch

from lamina.runtime.json_records import inductor_cache_dir, read_record, write_record

RECORD = "lamina-vec-isa.json"


def _inductor() -> tuple[Any, Any] | None:
    """(cpu_vec_isa module, inductor config), or None where this torch has no Inductor."""
    try:
        from torch._inductor import config, cpu_vec_isa
    except ImportError:
        return None
    return cpu_vec_isa, config


def _candidates(cpu_vec_isa: Any) -> list[str] | None:
    """The ISAs the CPU reports and Inductor would probe (x86 only), or None elsewhere."""
    if platform.machine() not in ("x86_64", "AMD64") or not sys.platform.startswith("linux"):
        return None
    flags = cpu_vec_isa.x86_isa_checker()
    return [
        str(isa)
        for isa in cpu_vec_isa.supported_vec_isa_list
        if all(flag in flags for flag in str(isa).split())
    ]


def _compiler_identity(config: Any) -> list[Any]:
    """Each C++ compiler Inductor may pick, with its resolved path, size and time."""
    names = config.cpp.cxx if isinstance(config.cpp.cxx, (list, tuple)) else (config.cpp.cxx,)
    found: list[Any] = [os.environ.get("CXX")]
    for name in names:
        path = shutil.which(name) if isinstance(name, str) else None
        if path:
            st = os.stat(path)
            found.append([name, os.path.realpath(path), st.st_size, st.st_mtime_ns])
        else:
            found.append([name, None])
    return found


def _key(cpu_vec_isa: Any, config: Any, candidates: list[str]) -> str:
    facts = [
        torch.__version__,
        sys.executable,
        sys.version,
        platform.machine(),
        candidates,
        sorted(cpu_vec_isa.x86_isa_checker()),
        _compiler_identity(config),
        os.environ.get("ATEN_CPU_CAPABILITY"),
    ]
    return hashlib.sha256(json.dumps(facts, default=str).encode()).hexdigest()


def settle_vec_isa() -> bool:
    """Before a CPU compile: set Inductor's `cpp.vec_isa_ok` when every candidate ISA works.

    The answer comes from this machine's record when one matches, else from running
    Inductor's probe now (and recording a pass). Every process thus compiles with the
    same setting, which is part of Inductor's cache keys: a run after the first finds
    the first's kernels. Returns True when the setting is on. Leaves a value the user
    set alone.
    """
    parts = _inductor()
    if parts is None:
        return False
    cpu_vec_isa, config = parts
    if config.cpp.vec_isa_ok is not None:
        return bool(config.cpp.vec_isa_ok)
    candidates = _candidates(cpu_vec_isa)
    if not candidates:
        return False
    key = _key(cpu_vec_isa, config, candidates)
    directory = inductor_cache_dir()
    if directory is None:
        return False
    path = os.path.join(directory, RECORD)
    if read_record(path) == {"key": key, "passed": candidates}:
        config.cpp.vec_isa_ok = True
        return True
    passed = [str(isa) for isa in cpu_vec_isa.valid_vec_isa_list()]  # the probe
    if passed != candidates:
        return False
    write_record(path, {"key": key, "passed": candidates})
    config.cpp.vec_isa_ok = True
    return True
