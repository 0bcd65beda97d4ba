"""Only rank 0 of a distributed run prints and writes files (every rank sees the same logs)."""

from __future__ import annotations

from lamina.distributed.env import is_main_process


def say(message: str) -> None:
    """Print `message` on rank 0 only (outside a distributed run: always)."""
    if is_main_process():
        print(message)
