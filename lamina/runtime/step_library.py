"""A captured train-step graph compiled into a shared library (AOTInductor), and loaded.

A new process that compiles a step Inductor has compiled before still pays seconds:
importing Dynamo and Inductor, tracing the step again, loading the cached kernels
(docs/design.md). AOTInductor compiles the same graph, kernels and a C++ wrapper, into
one shared library that a later process loads in milliseconds, without importing
either compiler. The library is built from the graph Dynamo captured, traced again to
ATen operations first (the captured graph holds torch.func's transforms, which the
ahead-of-time path does not take as they are); it updates the weights, optimizer
state and metric states in place, as the captured graph does.

A library is machine code: only libraries this machine compiled into its own cache
directory are loaded (`models/saved_step.py`), never a file from elsewhere.

    build_library(gm, example_inputs, "/cache/step.so")   # seconds to a minute, once
    run = load_library("/cache/step.so")                 # milliseconds, each process
    outputs = run(list_of_input_tensors)
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import shutil
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

import torch

from lamina.runtime.vec_isa_cache import settle_vec_isa

# torch's class of higher-order operators (control flow, wrapped regions), where it has one.
_HIGHER_ORDER = getattr(getattr(torch, "_ops", None), "HigherOrderOperator", None)


class LibraryUnsupported(Exception):
    """The graph cannot become a library (the caller compiles it the usual way)."""


def library_supported(example_inputs: Sequence[Any]) -> bool:
    """Whether this torch builds and loads step libraries for these inputs (CPU tensors)."""
    aoti = getattr(torch._C, "_aoti", None)
    if aoti is None or not hasattr(aoti, "AOTIModelContainerRunnerCpu"):
        return False
    tensors = [t for t in example_inputs if isinstance(t, torch.Tensor)]
    if len(tensors) != len(example_inputs):
        return False  # a symbolic size or a Python value among the inputs
    return all(t.device.type == "cpu" and t.layout == torch.strided for t in tensors)


@functools.lru_cache(maxsize=1)
def machine_key() -> str:
    """A hash of what a library built here assumes of the CPU: architecture, model, flags.

    The library is machine code for this CPU's vector instructions; a cache directory
    shared with another machine (a network home) must not hand it to a CPU without them.
    """
    parts = [platform.machine(), platform.processor()]
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                name = line.split(":", 1)[0].strip()
                if name in ("model name", "flags", "Features", "CPU part"):
                    parts.append(line.strip())
                elif not line.strip() and len(parts) > 2:
                    break  # the first processor's entry is enough
    except OSError:
        pass
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _refused_ops(graph: torch.fx.Graph) -> list[str]:
    """Why the graph cannot become a library, one entry per reason (empty: it can).

    Random operations: a library would draw other numbers than eager. Operators outside
    ATen (custom operators such as the recurrent layers' `lamina::recurrence`): the
    library would call them through a proxy executor that needs files beside it.
    """
    seeded, custom = set(), set()
    for node in graph.nodes:
        if node.op != "call_function":
            continue
        target = node.target
        if torch.Tag.nondeterministic_seeded in getattr(target, "tags", ()):
            seeded.add(str(target))
        namespace = getattr(target, "namespace", None)
        if namespace is not None and namespace not in ("aten", "prims"):
            custom.add(str(target))
        elif namespace is None and _HIGHER_ORDER is not None and isinstance(target, _HIGHER_ORDER):
            custom.add(str(target))
    reasons = [f"random operations: {', '.join(sorted(seeded))}"] if seeded else []
    return reasons + ([f"operators outside ATen: {', '.join(sorted(custom))}"] if custom else [])


def build_library(gm: torch.fx.GraphModule, example_inputs: Sequence[Any], path: str) -> None:
    """Compile `gm` (a graph Dynamo captured) for `example_inputs` into a library at `path`.

    Raises LibraryUnsupported for a graph with random operations, and whatever the
    compiler raises otherwise. The library appears at `path` whole or not at all.
    """
    from torch._guards import tracing
    from torch._inductor import aot_compile
    from torch.fx.experimental.proxy_tensor import make_fx

    settle_vec_isa()  # the vector-ISA probe once per machine, not once per process
    real = [t.detach() for t in example_inputs]
    with tracing(None):  # outside Dynamo's tracing context: a graph of its own
        aten_graph = make_fx(gm, tracing_mode="fake")(*[t.clone() for t in real])
        refused = _refused_ops(aten_graph.graph)
        if refused:
            raise LibraryUnsupported("; ".join(refused))
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        work = tempfile.mkdtemp(prefix=".lamina-build-", dir=directory)
        try:
            built = aot_compile(
                aten_graph,
                tuple(real),
                options={"aot_inductor.output_path": os.path.join(work, "step.so")},
            )
            if not isinstance(built, str) or not os.path.exists(built):
                raise LibraryUnsupported(f"the compiler returned {type(built).__name__}")
            os.replace(built, path)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def load_library(path: str) -> Callable[[list[torch.Tensor]], list[torch.Tensor]]:
    """The step in the library at `path`: called with the graph's inputs, in order."""
    runner = torch._C._aoti.AOTIModelContainerRunnerCpu(path, 1)
    return runner.run
