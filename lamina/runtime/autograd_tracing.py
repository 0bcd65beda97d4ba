"""Let Dynamo trace autograd's backward into the graph of a compiled custom train step.

A `train_step` override computes gradients the Keras way, `loss.backward()` (or
`torch.autograd.grad`). By default Dynamo stops its graph there (a graph break), so
the override could not be compiled as one graph. Dynamo's private setting
`trace_autograd_ops` traces those calls into the graph; it is switched on only while
such a step is compiled or called, and a torch without it keeps the default (the
compile then reports the graph break, and the step trains eagerly).

    with tracing_autograd():
        logs = compiled_train_step(data)
"""

from __future__ import annotations

import contextlib
from typing import Any


def _dynamo_config() -> Any:
    try:
        import torch._dynamo
    except ImportError:
        return None
    return getattr(torch._dynamo, "config", None)


def tracing_autograd() -> contextlib.AbstractContextManager[Any]:
    """A context in which Dynamo traces `Tensor.backward` / `autograd.grad` (when this
    torch can), restoring the previous setting on exit."""
    config = _dynamo_config()
    if config is None or not hasattr(config, "trace_autograd_ops"):
        return contextlib.nullcontext()
    return config.patch(trace_autograd_ops=True)
