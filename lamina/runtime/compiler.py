"""The private Dynamo, Inductor and torch.nn names the compiled steps rely on, with fallbacks.

PyTorch gives no public way to raise Dynamo's recompile limit, to compile a captured
FX graph with Inductor and keep the compiled function, or to recognise every torch
convolution module by one base class. Each function here reaches the private name
when the running torch has it and otherwise does the nearest public thing, so an
older or newer torch loses speed, not correctness.

    allow_recompiles(64)
    fn, direct = compile_graph(gm, example_inputs, options)

On the CPU, `compile_graph` also skips Inductor's per-process vector-ISA probe once a
previous process recorded its result (`vec_isa_cache.py`).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Sequence
from typing import Any

import torch

from lamina.runtime.vec_isa_cache import settle_vec_isa

# Public torch convolution modules, for a torch without `torch.nn.modules.conv._ConvNd`.
_PUBLIC_CONVOLUTIONS = (
    torch.nn.Conv1d,
    torch.nn.Conv2d,
    torch.nn.Conv3d,
    torch.nn.ConvTranspose1d,
    torch.nn.ConvTranspose2d,
    torch.nn.ConvTranspose3d,
)


def _dynamo_config() -> Any:
    """`torch._dynamo.config`, or None where this torch has no Dynamo."""
    try:
        import torch._dynamo
    except ImportError:
        return None
    return getattr(torch._dynamo, "config", None)


def allow_recompiles(limit: int) -> str | None:
    """Let Dynamo compile one code object at least `limit` times.

    Every model's compiled step compiles the same function, so a process that builds
    many models (tests, notebooks, hyper-parameter loops) would otherwise reach Dynamo's
    default limit and silently run eagerly. Returns the name of the setting raised
    (`recompile_limit`, or `cache_size_limit` in older torch), or None when this torch
    has neither and nothing was changed.
    """
    config = _dynamo_config()
    for name in ("recompile_limit", "cache_size_limit"):
        if config is not None and hasattr(config, name):
            setattr(config, name, max(getattr(config, name), limit))
            return name
    return None


def own_code(method: Any) -> Any:
    """`method` (bound) with a code object of its own, for `torch.compile`.

    Dynamo caches compiled graphs, and counts recompiles against its limit, per code
    object. Every model's compiled step runs the same method, so without this a
    process that compiles many models (a test suite, a notebook, a hyper-parameter
    search) reaches the limit and Dynamo quietly runs later models' steps uncompiled;
    and the graphs of models long gone stay in the shared cache. With a copy of the code
    per step, each model has its own cache, freed with the step.
    """
    fn = method.__func__
    copy = types.FunctionType(
        fn.__code__.replace(), fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__
    )
    copy.__qualname__, copy.__doc__ = fn.__qualname__, fn.__doc__
    return copy.__get__(method.__self__)


def _inductor_compile_fx() -> Callable[..., Any] | None:
    """Inductor's `compile_fx`, or None where this torch does not have it."""
    try:
        from torch._inductor.compile_fx import compile_fx
    except ImportError:
        return None
    return compile_fx


def compile_graph(
    gm: torch.fx.GraphModule, example_inputs: Sequence[Any], options: dict[str, Any] | None
) -> tuple[Callable[..., Any], bool]:
    """Compile a graph Dynamo captured with Inductor, for a `torch.compile` backend.

    Returns the compiled function and whether the caller may call it directly with the
    graph's inputs (skipping Dynamo's guards, see `models/direct_call.py`). Without
    Inductor's `compile_fx` the graph goes through the public `torch.compile` with the
    Inductor backend instead: as fast per step, but only Dynamo may call it.
    """
    compile_fx = _inductor_compile_fx()
    if compile_fx is not None:
        if all(t.device.type == "cpu" for t in example_inputs if isinstance(t, torch.Tensor)):
            settle_vec_isa()  # the vector-ISA probe once per machine, not once per process
        return compile_fx(gm, example_inputs, config_patches=options), True
    return torch.compile(gm, backend="inductor", dynamic=False, options=options), False


def is_torch_convolution(module: torch.nn.Module) -> bool:
    """Whether `module` is one of torch's convolution modules (plain or transposed, any rank)."""
    base = getattr(torch.nn.modules.conv, "_ConvNd", None)
    return isinstance(module, base if isinstance(base, type) else _PUBLIC_CONVOLUTIONS)
