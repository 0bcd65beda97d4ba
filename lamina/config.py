"""Global settings, mirroring `keras.config`: float type, epsilon, image layout."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch

_FLOATX = "float32"
_EPSILON = 1e-7

_DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
}


def floatx() -> str:
    """The default float type of new weights, 'float32' unless changed."""
    return _FLOATX


def set_floatx(value: str) -> None:
    global _FLOATX
    if value not in _DTYPES:
        raise ValueError(f"Expected one of {sorted(_DTYPES)}, received: floatx={value!r}")
    _FLOATX = value


def epsilon() -> float:
    """The fuzz factor Keras adds to avoid division by zero (1e-7)."""
    return _EPSILON


def set_epsilon(value: float) -> None:
    global _EPSILON
    _EPSILON = float(value)


def image_data_format() -> str:
    """Lamina images are NHWC, as in Keras's default."""
    return "channels_last"


def torch_dtype(name: str | torch.dtype | None) -> torch.dtype:
    """Map a Keras dtype name (or None for floatx) to a torch dtype."""
    if name is None:
        return _DTYPES[_FLOATX]
    if isinstance(name, torch.dtype):
        return name
    if name not in _DTYPES:
        raise ValueError(f"Expected a float dtype in {sorted(_DTYPES)}, received: dtype={name!r}")
    return _DTYPES[name]


_FLUSH_DENORMAL = True


def flush_denormal() -> bool:
    """Whether `fit` flushes denormal floats to zero while it trains on the CPU (default True)."""
    return _FLUSH_DENORMAL


def set_flush_denormal(enabled: bool) -> None:
    """Turn off (or on) flushing denormals to zero during `fit` on the CPU.

    Why: optimizer state of dead units decays into denormal floats, which the CPU
    computes with up to 100x slower; TensorFlow and XLA flush them by default. The
    process's own setting is restored when `fit` returns.

        lamina.config.set_flush_denormal(False)   # exact IEEE denormals, slower
    """
    global _FLUSH_DENORMAL
    if not isinstance(enabled, bool):
        raise TypeError(f"Expected a bool, received: enabled={enabled!r}")
    _FLUSH_DENORMAL = enabled


_REUSE_CPU_MEMORY = True


def reuse_cpu_memory() -> bool:
    """Whether fit/evaluate/predict keep freed CPU memory for reuse (default True)."""
    return _REUSE_CPU_MEMORY


def set_reuse_cpu_memory(enabled: bool) -> None:
    """Turn off (or on) keeping freed CPU memory in the heap during fit/evaluate/predict.

    Why: glibc returns large freed blocks to the kernel, and re-mapping them costs a
    page fault per 4 KiB on every training step (a third more time for the courses'
    CNN). See `lamina.runtime.cpu_memory`; memory is handed back when the call returns.

        lamina.config.set_reuse_cpu_memory(False)   # glibc's default behaviour
    """
    global _REUSE_CPU_MEMORY
    if not isinstance(enabled, bool):
        raise TypeError(f"Expected a bool, received: enabled={enabled!r}")
    _REUSE_CPU_MEMORY = enabled


_STEP_LIBRARY = os.environ.get("LAMINA_STEP_LIBRARY", "1") != "0"  # "0": off from the start


def step_library() -> bool:
    """Whether compiled train steps are kept as libraries for later runs (default True)."""
    return _STEP_LIBRARY


def set_step_library(enabled: bool) -> None:
    """Turn off (or on) keeping compiled train steps as libraries in the compile cache.

    Why: a new process that compiles a step compiled before still pays seconds of
    imports and tracing; a library of the step (AOTInductor) loads in milliseconds, so
    the second run of a script trains compiled from its first steps. Building one
    costs about as much as a first compile. See `lamina.models.saved_step`.

        lamina.config.set_step_library(False)   # compile in every process

    The environment variable LAMINA_STEP_LIBRARY=0 turns it off in new processes.
    """
    global _STEP_LIBRARY
    if not isinstance(enabled, bool):
        raise TypeError(f"Expected a bool, received: enabled={enabled!r}")
    _STEP_LIBRARY = enabled


_NATIVE_KERNELS = os.environ.get("LAMINA_NATIVE_KERNELS", "1") != "0"  # "0": off from the start


def native_kernels() -> bool:
    """Whether Lamina's own C++ kernels (the CPU GRU) may be built and used (default True)."""
    return _NATIVE_KERNELS


def set_native_kernels(enabled: bool) -> None:
    """Turn off (or on) Lamina's C++ kernels; PyTorch's own kernels run instead.

    Why: on the CPU, `torch.gru` runs each step's gate arithmetic as separate kernels
    and records a dozen autograd nodes per step; Lamina's GRU kernel
    (`layers/recurrent/gru_kernel.cpp`) fuses them. It is compiled once per machine,
    torch version and source (seconds, with the C++ compiler and ninja) into the
    compile cache. Where it cannot be built, layers warn once and use PyTorch's.

        lamina.config.set_native_kernels(False)   # torch.gru, as nn.GRU runs it

    The environment variable LAMINA_NATIVE_KERNELS=0 turns them off in new processes.
    """
    global _NATIVE_KERNELS
    if not isinstance(enabled, bool):
        raise TypeError(f"Expected a bool, received: enabled={enabled!r}")
    _NATIVE_KERNELS = enabled


_CPU_THREADS: int | str | None = "auto"


def cpu_threads() -> int | str | None:
    """Threads for fit/evaluate/predict on the CPU: 'auto' (default), an int, or None."""
    return _CPU_THREADS


def set_cpu_threads(value: int | str | None) -> None:
    """How many intra-op threads fit/evaluate/predict use on the CPU.

    'auto' (default) caps PyTorch's pool at the CPUs the process may use (its affinity
    and any cgroup CPU quota, which PyTorch does not see: a container with `--cpus=2`
    on a large host otherwise runs one thread per host core); an int uses exactly that
    many; None leaves `torch.get_num_threads()` alone. The process's setting is restored
    when the call returns. See `lamina.runtime.cpu_threads`.

        lamina.config.set_cpu_threads(1)   # e.g. one process per core
    """
    global _CPU_THREADS
    ok = value is None or value == "auto"
    ok = ok or (isinstance(value, int) and not isinstance(value, bool) and value >= 1)
    if not ok:
        raise ValueError(
            f"Expected 'auto', None or an int >= 1 for cpu_threads, received: value={value!r}"
        )
    _CPU_THREADS = value


# Loading a model file builds its layers from the file's config before reading the weights.
# A hostile config could ask for a layer of 10^12 parameters; while a budget is set,
# `Layer.add_weight` refuses any weight beyond what the file's tensors can fill.
_WEIGHT_BUDGET: list[int] = []


class WeightBudgetExceeded(ValueError):
    """A config asked for more weight elements than the file being loaded holds."""


@contextlib.contextmanager
def weight_budget(elements: int) -> Iterator[None]:
    """Allow at most `elements` weight elements to be created in the block (nests)."""
    _WEIGHT_BUDGET.append(int(elements))
    try:
        yield
    finally:
        _WEIGHT_BUDGET.pop()


def spend_weight_budget(elements: int, what: str) -> None:
    """Called before a weight is allocated; raises when a loading budget is exceeded."""
    if not _WEIGHT_BUDGET:
        return
    left = _WEIGHT_BUDGET[-1] - int(elements)
    if left < 0:
        raise WeightBudgetExceeded(
            f"Expected the file's config to describe weights its tensors can fill, received: "
            f"{what} of {int(elements)} elements with {_WEIGHT_BUDGET[-1]} elements left"
        )
    _WEIGHT_BUDGET[-1] = left
