"""Keep freed CPU memory for reuse while Lamina trains or predicts on the CPU.

glibc's malloc hands blocks above its mmap threshold (128 KiB at first) to the kernel
on `free` and maps fresh pages for the next request; every fresh page costs a page
fault when it is first written. A training step allocates and frees the same large
buffers every time (the courses' CNN: a dozen activations and gradients of about
11 MB), so each step paid thousands of page faults (the cost is measured in
docs/design.md).

While `fit`, `evaluate` or `predict` run on the CPU (Linux with glibc), Lamina raises
the mmap and trim thresholds so freed blocks stay in the heap and are reused. When
the outermost call returns it calls `malloc_trim(0)`, which gives the kept memory
back to the system, and sets the thresholds to the highest values glibc's own
dynamic rule reaches (32 MiB, trim 64 MiB). glibc has no call that returns to that
dynamic rule, and its fixed initial 128 KiB would map (and fault) every large block
afresh, slower than either the dynamic default or 32 MiB. Turn all of it off with
`lamina.config.set_reuse_cpu_memory(False)` before the first fit.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import sys
from collections.abc import Iterator
from typing import Any

import torch

from lamina import config

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_AFTER_MMAP = 32 << 20  # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit: its dynamic ceiling
_AFTER_TRIM = 64 << 20  # the dynamic rule keeps trim at twice the mmap threshold
_KEEP_THRESHOLD = 1 << 30  # blocks up to 1 GiB come from (and return to) the heap
_LIBC: Any = None
_DEPTH = 0


def _libc() -> Any:
    """glibc's handle, or False where there is no glibc (macOS, Windows, musl)."""
    global _LIBC
    if _LIBC is None:
        _LIBC = False
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim"):
                    _LIBC = libc
            except OSError:
                pass
    return _LIBC


@contextlib.contextmanager
def reuse_cpu_memory(device: torch.device | None) -> Iterator[None]:
    """Within the block, freed CPU memory is reused instead of returned (see the module doc)."""
    global _DEPTH
    libc = _libc()
    if not libc or not config.reuse_cpu_memory() or (device is not None and device.type != "cpu"):
        yield
        return
    if _DEPTH == 0:
        libc.mallopt(_M_MMAP_THRESHOLD, _KEEP_THRESHOLD)
        libc.mallopt(_M_TRIM_THRESHOLD, _KEEP_THRESHOLD)
    _DEPTH += 1
    try:
        yield
    finally:
        _DEPTH -= 1
        if _DEPTH == 0:
            libc.malloc_trim(0)
            libc.mallopt(_M_MMAP_THRESHOLD, _AFTER_MMAP)
            libc.mallopt(_M_TRIM_THRESHOLD, _AFTER_TRIM)


def active() -> bool:
    """True inside `reuse_cpu_memory` when it took effect (for tests)."""
    return _DEPTH > 0 and bool(_libc())
