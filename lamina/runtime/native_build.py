"""Lamina's own C++ operators: built once per machine, loaded in later processes.

A few kernels PyTorch runs slowly on the CPU are written in C++ against ATen
(`layers/recurrent/gru_kernel.cpp`). `load_operators(name, source)` compiles such a file
with `torch.utils.cpp_extension` (the C++ compiler and ninja; seconds) into a directory
named after a hash of the source, the torch version and the CPU (`machine_key`), inside
the compile cache, and loads it as a library of `torch.ops` operators. A later process
finds the built library and only loads it. Concurrent builds of one directory wait on
torch's lock file.

Loading runs machine code built on this machine from Lamina's own source, the trust
Inductor's cache already asks for. Where nothing can be built (no compiler), the
reason is kept and callers use PyTorch's kernels.
"""

from __future__ import annotations

import hashlib
import os
import platform
import tempfile
import threading
from collections.abc import Sequence

import torch

from lamina.runtime.json_records import inductor_cache_dir
from lamina.runtime.step_library import machine_key

# The math flags are torch's own, and let the gate loop's floor vectorize. -march=native on
# x86-64 only (some compilers for ARM refuse it): the build is per CPU anyway, as the
# directory name hashes machine_key().
# -fopenmp on Linux: kernels run their threads as one team of torch's own OpenMP pool (torch
# ships libgomp.so.1, so the loader reuses it rather than load the compiler's copy).
OPENMP = ("-fopenmp",) if platform.system() == "Linux" else ()
FLAGS = (
    ("-O3", "-fno-math-errno", "-fno-trapping-math")
    + (("-march=native",) if platform.machine().lower() in ("x86_64", "amd64") else ())
    + OPENMP
)
_LOCK = threading.Lock()
_LOADED: dict[str, bool] = {}
_FAILED: dict[str, str] = {}


def build_directory(name: str, source: str, depends: Sequence[str] = ()) -> str:
    """Where `source` is built: one directory per text of the source and the headers it
    includes (`depends`), torch version and CPU."""
    texts = []
    for path in (source, *depends):
        with open(path, "rb") as f:
            texts.append(f.read())
    key = hashlib.sha256(
        b"\n".join(
            [*texts, torch.__version__.encode(), machine_key().encode(), " ".join(FLAGS).encode()]
        )
    ).hexdigest()[:20]
    root = inductor_cache_dir() or os.path.join(tempfile.gettempdir(), "lamina-cache")
    return os.path.join(root, "lamina-native", f"{name}-{key}")


def load_operators(name: str, source: str, depends: Sequence[str] = ()) -> bool:
    """Build (first time only) and load the operators in `source`; False when it cannot.

    `name` is the library's name in its TORCH_LIBRARY block (`torch.ops.<name>`);
    `depends` the headers the source includes (a change to one rebuilds it).
    Once decided, the answer is read without the lock (layers ask on every call)."""
    known = _LOADED.get(name)
    if known is not None:
        return known
    with _LOCK:
        if name in _LOADED:
            return _LOADED[name]
        try:
            from torch.utils import cpp_extension

            directory = build_directory(name, source, depends)
            os.makedirs(directory, exist_ok=True)
            cpp_extension.load(
                name=name,
                sources=[source],
                extra_cflags=list(FLAGS),
                extra_ldflags=list(OPENMP),
                build_directory=directory,
                is_python_module=False,
                verbose=False,
            )
            _LOADED[name] = True
        except Exception as err:  # no compiler, no ninja, a failed build: PyTorch's kernels
            _FAILED[name] = f"{type(err).__name__}: {err}".strip()[:2000]
            _LOADED[name] = False
        return _LOADED[name]


def failure(name: str) -> str | None:
    """Why `name` could not be built or loaded (None when it was, or was not tried)."""
    return _FAILED.get(name)
