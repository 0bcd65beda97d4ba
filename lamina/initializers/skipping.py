"""A scope in which layers allocate their weights without drawing initial values.

Building a large network only to overwrite every weight from a file spends much of its
time in the random initializers (hundreds of millions of draws for the biggest
applications). Inside `skip_initialization()`, `Layer.add_weight` allocates each weight
uninitialized (`torch.empty`) and draws nothing from the random generators. Whoever opens
the scope must assign every weight afterwards, as a strict load does (a load that misses a
weight raises, and the half-built model is dropped).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

_state = threading.local()


@contextlib.contextmanager
def skip_initialization() -> Iterator[None]:
    """Weights created inside are allocated, not initialized (see the module docstring)."""
    previous = initialization_skipped()
    _state.active = True
    try:
        yield
    finally:
        _state.active = previous


def initialization_skipped() -> bool:
    """Whether this thread is inside `skip_initialization()`."""
    return getattr(_state, "active", False)
