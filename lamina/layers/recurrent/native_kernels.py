"""What Lamina's C++ recurrent kernels share on the Python side: building, the check
that a call can run on them, and the differentiable backward.

Each kernel (`gru_kernel.cpp`, `lstm_kernel.cpp`, both on `recurrent_team.h`) is a
library of `torch.ops` operators built once per machine by `runtime/native_build.py`.
`NativeKernel.usable` says whether a call can run there: float32/float64 CPU tensors,
no autocast, `lamina.config.native_kernels()` on, and the library built (the first
call builds it; where it cannot be built the layer warns once and runs PyTorch's kernel).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch

from lamina import config
from lamina.runtime import native_build

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = os.path.join(HERE, "recurrent_team.h")

# (x, states, params) -> (output sequence, final states): PyTorch's kernel for a layer
Reference = Callable[[torch.Tensor, list[torch.Tensor], list[torch.Tensor]], tuple[Any, list]]


class NativeKernel:
    """One C++ kernel: its library name (`torch.ops.<library>`), source and layer."""

    def __init__(self, library: str, source: str, layer: str, fallback: str) -> None:
        self.library, self.source = library, os.path.join(HERE, source)
        self.layer, self.fallback = layer, fallback
        self.warned = False

    def load(self) -> bool:
        return native_build.load_operators(self.library, self.source, (HEADER,))

    def usable(self, x: torch.Tensor, tensors: Sequence[torch.Tensor]) -> bool:
        """Whether a call on `x` with these states and weights can run on the kernel
        (building it the first time)."""
        if not config.native_kernels() or x.device.type != "cpu" or x.dim() != 3:
            return False
        if x.dtype not in (torch.float32, torch.float64) or torch.is_autocast_enabled("cpu"):
            return False
        if any(t.dtype != x.dtype or t.device.type != "cpu" for t in tensors):
            return False
        if self.load():
            return True
        if not self.warned:
            self.warned = True
            warnings.warn(
                f"Lamina's CPU {self.layer} kernel could not be built, so {self.layer} layers "
                f"run on {self.fallback} (slower): {native_build.failure(self.library)}. "
                "Expected a C++ compiler and ninja; lamina.config.set_native_kernels(False) "
                "silences this.",
                RuntimeWarning,
                stacklevel=3,
            )
        return False

    def operators(self) -> Any:
        """`torch.ops.<library>`, loading it (callers checked `usable` first)."""
        if not self.load():
            raise RuntimeError(
                f"Expected Lamina's {self.layer} kernel to be built (check usable first), "
                f"received: {native_build.failure(self.library)}"
            )
        return getattr(torch.ops, self.library)


def differentiable_grads(
    needs_input_grad: Sequence[bool],
    inputs: tuple,
    states: int,
    reference: Reference,
    output_grads: Sequence[torch.Tensor | None],
) -> tuple:
    """The gradients of `inputs` = (x, *states, *weights) recomputed through PyTorch's
    kernel with a graph (a backward with create_graph=True, e.g. a gradient penalty).

    `output_grads`: the gradients of the output sequence and of each final state."""
    x, *rest = inputs
    initial, weights = rest[:states], rest[states:]
    out, finals = reference(x, list(initial), [w for w in weights if w is not None])
    pairs = [(t, d) for t, d in zip([out, *finals], output_grads) if d is not None]
    wanted = [i for i, t in enumerate(inputs) if t is not None and needs_input_grad[i]]
    found = torch.autograd.grad(
        [t for t, _ in pairs],
        [inputs[i] for i in wanted],
        [d for _, d in pairs],
        create_graph=True,
        allow_unused=True,
    )
    result: list[Any] = [None] * len(inputs)
    for i, grad in zip(wanted, found):
        result[i] = grad
    return tuple(result)
