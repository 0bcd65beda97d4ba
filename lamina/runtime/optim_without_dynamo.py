"""Build and step `torch.optim` optimizers without importing Dynamo.

Importing `torch._dynamo` (with sympy and much of Inductor) takes about a second, and
torch.optim does it for every optimizer, compiled or not: the constructor's
`add_param_group` is wrapped in torch's lazy `_disable_dynamo`, and `step()` in a
wrapper that imports Dynamo to mark graph breaks. Both wrappers only matter while
Dynamo traces the call, and no trace can be running before Dynamo has been imported,
so until then Lamina may call the plain functions:

- `construct_optimizer`: the lazy wrapper caches its disabled function on the plain
  one as `__dynamo_disable`; pre-setting that attribute to the plain function for the
  length of the constructor skips the import.
- `step_optimizer`: calls the optimizer's own `step` under torch's two wrappers (the
  hook runner and the grad-mode one, which imports Dynamo) with gradients off, as they
  would, when no step hook is registered.

Once Dynamo is loaded, or on a torch whose wrappers differ, torch's own calls run.

    opt = construct_optimizer(torch.optim.RMSprop, params, lr=1e-3)
    step_optimizer(opt)
"""

from __future__ import annotations

import importlib
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


def _plain_step(optimizer: Any) -> Any:
    """The class's `step` under torch's hook and grad-mode wrappers, or None when it must
    run wrapped: Dynamo loaded, a step hook registered, a differentiable optimizer, or
    wrappers other than torch's two."""
    if "torch._dynamo" in sys.modules:
        return None
    module = importlib.import_module("torch.optim.optimizer")  # `torch.optim` hides the name
    hooks = [
        getattr(module, "_global_optimizer_pre_hooks", None),
        getattr(module, "_global_optimizer_post_hooks", None),
        getattr(optimizer, "_optimizer_step_pre_hooks", None),
        getattr(optimizer, "_optimizer_step_post_hooks", None),
    ]
    if any(h is None or len(h) for h in hooks):
        return None
    if any(g.get("differentiable") for g in optimizer.param_groups):
        return None
    outer = getattr(type(optimizer), "step", None)
    if not getattr(outer, "hooked", False):
        return None  # not torch's hook wrapper
    middle = getattr(outer, "__wrapped__", None)
    code = getattr(middle, "__code__", None)
    if code is None or code.co_name != "_use_grad":
        return None  # not torch's grad-mode wrapper under it: a subclass's own decorators stay
    return getattr(middle, "__wrapped__", None)


def step_optimizer(optimizer: Any) -> None:
    """`optimizer.step()`, without importing Dynamo when it is not loaded yet."""
    plain = _plain_step(optimizer)
    if plain is None:
        optimizer.step()
        return
    with torch.no_grad():  # what the grad-mode wrapper sets for a non-differentiable step
        plain(optimizer)
