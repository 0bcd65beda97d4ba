"""Build a `torch.optim` optimizer without importing Dynamo.

`torch.optim.Optimizer.add_param_group`, which every optimizer's constructor calls,
is wrapped in `torch._disable_dynamo`: its first call imports `torch._dynamo` (and
with it sympy and much of Inductor), about a second of a short eager `fit` that never
compiles anything. The wrapper only matters while Dynamo traces the call, and no trace
can be running before Dynamo has been imported, so until then the constructor may
call the plain function. The wrapper caches its disabled function on the plain one as
`__dynamo_disable`; pre-setting that attribute to the plain function for the length
of the constructor is what skips the import. Once Dynamo is loaded, or on a torch
whose wrapper differs, the constructor runs unchanged.

    opt = construct_optimizer(torch.optim.RMSprop, params, lr=1e-3)
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import torch

# torch's `_disable_dynamo` keeps the disabled function on the wrapped one under this name.
_CACHE_ATTRIBUTE = "__dynamo_disable"
_lock = threading.Lock()


def _plain_add_param_group() -> Any:
    """The undecorated `Optimizer.add_param_group`, or None where torch wraps it otherwise."""
    wrapper = torch.optim.Optimizer.__dict__.get("add_param_group")
    plain = getattr(wrapper, "__wrapped__", None)
    if plain is None or not callable(plain) or hasattr(plain, _CACHE_ATTRIBUTE):
        return None  # not the lazy wrapper, or it already cached a disabled function
    return plain


def construct_optimizer(torch_class: type, params: Any, **kwargs: Any) -> Any:
    """`torch_class(params, **kwargs)`, without importing Dynamo when it is not loaded yet."""
    if "torch._dynamo" in sys.modules:
        return torch_class(params, **kwargs)
    with _lock:
        plain = _plain_add_param_group()
        if plain is None:
            return torch_class(params, **kwargs)
        setattr(plain, _CACHE_ATTRIBUTE, plain)
        try:
            return torch_class(params, **kwargs)
        finally:
            delattr(plain, _CACHE_ATTRIBUTE)
