"""Flush denormal floats to zero while Lamina computes on the CPU, then restore the setting.

RMSprop/Adam state of dead units decays into denormals, and each operation on a
denormal costs the CPU many times a normal one (the figures are in docs/design.md).
TensorFlow and XLA flush them; `lamina.config.set_flush_denormal(False)` keeps exact
IEEE denormals. PyTorch has no getter for the flag, so the previous setting is read
with a probe (a denormal times one) and restored afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from lamina import config


def denormals_flushed_now() -> bool:
    """Whether this thread flushes denormals: a denormal times one reads as zero."""
    tiny = torch.tensor([1e-39], dtype=torch.float32)
    return bool((tiny * 1.0).item() == 0.0)


@contextlib.contextmanager
def flush_denormals(device: torch.device | None) -> Iterator[None]:
    """While training on the CPU, flush denormal floats to zero (`lamina.config`), then restore."""
    if not config.flush_denormal() or (device is not None and device.type != "cpu"):
        yield
        return
    before = denormals_flushed_now()
    if not before:
        torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if not before:
            torch.set_flush_denormal(False)
