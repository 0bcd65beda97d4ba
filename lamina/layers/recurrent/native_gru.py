"""The CPU GRU on Lamina's C++ kernel (`gru_kernel.cpp`), with its own backward.

PyTorch's `torch.gru` on the CPU runs each step as a matrix product plus a dozen
separate gate kernels, each recorded by autograd, and its backward walks those nodes
one by one. The kernel here runs a step as one product (ATen's mm) and one fused pass
over the gates, saves the gates, and takes the backward in one call: a product
and one fused pass per step, then the weight gradients as single products over all
steps. Same arithmetic as `torch.gru` (reset_after, gates r, z, n), so the same weights
give the same results to rounding; tests compare the two, gradients included.

Used for float32/float64 on the CPU, without autocast, when `lamina.config.native_kernels()`
is on and the kernel could be built (`runtime/native_build.py`); otherwise `torch.gru`.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import torch

from lamina import config
from lamina.runtime import native_build

LIBRARY = "lamina_native_gru"
SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gru_kernel.cpp")
_WARNED: list[bool] = []


def usable(x: torch.Tensor, h0: torch.Tensor, params: list[torch.Tensor]) -> bool:
    """Whether this call can run on the kernel (building it the first time)."""
    if not config.native_kernels() or x.device.type != "cpu" or x.dim() != 3:
        return False
    if x.dtype not in (torch.float32, torch.float64) or torch.is_autocast_enabled("cpu"):
        return False
    if any(t.dtype != x.dtype or t.device.type != "cpu" for t in (h0, *params)):
        return False
    if native_build.load_operators(LIBRARY, SOURCE):
        return True
    if not _WARNED:
        _WARNED.append(True)
        warnings.warn(
            "Lamina's CPU GRU kernel could not be built, so GRU layers run on torch.gru "
            f"(slower): {native_build.failure(LIBRARY)}. Expected a C++ compiler and ninja; "
            "lamina.config.set_native_kernels(False) silences this.",
            RuntimeWarning,
            stacklevel=2,
        )
    return False


def run(
    x: torch.Tensor, h0: torch.Tensor, params: list[torch.Tensor], train: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """(output sequence (batch, time, units), final state) of a GRU over `x` (batch first).

    The sequence is a view of the kernel's state buffer (time major), not contiguous."""
    if not native_build.load_operators(LIBRARY, SOURCE):  # usable() said yes: loaded, cached
        raise RuntimeError(
            "Expected Lamina's GRU kernel to be built (check native_gru.usable first), "
            f"received: {native_build.failure(LIBRARY)}"
        )
    w_ih, w_hh = params[0], params[1]
    b_ih, b_hh = (params[2], params[3]) if len(params) == 4 else (None, None)
    if train:
        return _GRU.apply(x, h0, w_ih, w_hh, b_ih, b_hh)
    hs, _, _, _ = torch.ops.lamina_native_gru.forward(x, h0, w_ih, w_hh, b_ih, b_hh, False)
    return hs[1:].transpose(0, 1), hs[-1]


class _GRU(torch.autograd.Function):
    """The kernel's forward and backward as one autograd node.

    A backward that must itself be differentiable (`create_graph=True`, e.g. a gradient
    penalty) recomputes the forward with `torch.gru` and differentiates that, so second
    derivatives work as they do on `torch.gru`; the usual backward runs the kernel."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, h0: torch.Tensor, *weights: Any) -> Any:
        w_ih, w_hh, b_ih, b_hh = weights
        hs, g, ghn, xt = torch.ops.lamina_native_gru.forward(x, h0, w_ih, w_hh, b_ih, b_hh, True)
        ctx.set_materialize_grads(False)
        ctx.has_bias = b_ih is not None
        ctx.save_for_backward(hs, g, ghn, xt, x, h0, w_ih, w_hh, b_ih, b_hh)
        return hs[1:].transpose(0, 1), hs[-1].clone()

    @staticmethod
    def backward(ctx: Any, d_out: torch.Tensor | None, d_last: torch.Tensor | None) -> Any:
        hs, g, ghn, xt, x, h0, w_ih, w_hh, b_ih, b_hh = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: a differentiable backward
            return _differentiable_grads(ctx, (x, h0, w_ih, w_hh, b_ih, b_hh), d_out, d_last)
        need_dx = bool(ctx.needs_input_grad[0])
        dx, dh0, dw_ih, dw_hh, db_ih, db_hh = torch.ops.lamina_native_gru.backward(
            hs, g, ghn, xt, w_ih, w_hh, d_out, d_last, need_dx, ctx.has_bias
        )
        bias = (db_ih, db_hh) if ctx.has_bias else (None, None)
        return (dx if need_dx else None), dh0, dw_ih, dw_hh, *bias


def _differentiable_grads(
    ctx: Any, inputs: tuple, d_out: torch.Tensor | None, d_last: torch.Tensor | None
) -> tuple:
    """The gradients through `torch.gru` recomputed on the same inputs, with a graph."""
    x, h0, *weights = inputs
    params = [w for w in weights if w is not None]
    out, h = torch.gru(x, h0[None], params, ctx.has_bias, 1, 0.0, True, False, True)
    outputs = [t for t, d in ((out, d_out), (h[0], d_last)) if d is not None]
    grads = [d for d in (d_out, d_last) if d is not None]
    wanted = [i for i, t in enumerate(inputs) if t is not None and ctx.needs_input_grad[i]]
    found = torch.autograd.grad(
        outputs, [inputs[i] for i in wanted], grads, create_graph=True, allow_unused=True
    )
    result: list[Any] = [None] * len(inputs)
    for i, grad in zip(wanted, found):
        result[i] = grad
    return tuple(result)
