"""The CPU GRU on Lamina's C++ kernel (`gru_kernel.cpp`), with its own backward.

PyTorch's `torch.gru` on the CPU runs each step as a matrix product plus a dozen
separate gate kernels, each recorded by autograd, and its backward walks those nodes
one by one. The kernel runs the whole sequence on a team of threads
(`recurrent_team.h`): per step a product and one fused pass over the gates, and the
backward in one call that also sums the weight gradients. Same arithmetic as `torch.gru`
(reset_after, gates r, z, n), so the same weights give the same results to rounding;
tests compare the two, gradients included.

Used for float32/float64 on the CPU, without autocast, when `lamina.config.native_kernels()`
is on and the kernel could be built (`native_kernels.py`); otherwise `torch.gru`.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.layers.recurrent.native_kernels import NativeKernel, differentiable_grads

KERNEL = NativeKernel("lamina_native_gru", "gru_kernel.cpp", "GRU", "torch.gru")
LIBRARY = KERNEL.library


def usable(x: torch.Tensor, h0: torch.Tensor, params: list[torch.Tensor]) -> bool:
    """Whether this call can run on the kernel (building it the first time)."""
    return KERNEL.usable(x, [h0, *params])


def run(
    x: torch.Tensor, h0: torch.Tensor, params: list[torch.Tensor], train: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """(output sequence (batch, time, units), final state) of a GRU over `x` (batch first).

    The sequence is a view of the kernel's state buffer (time major), not contiguous."""
    w_ih, w_hh = params[0], params[1]
    b_ih, b_hh = (params[2], params[3]) if len(params) == 4 else (None, None)
    if train:
        return _GRU.apply(x, h0, w_ih, w_hh, b_ih, b_hh)
    hs, _, _, _ = KERNEL.operators().forward(x, h0, w_ih, w_hh, b_ih, b_hh, False)
    return hs[1:].transpose(0, 1), hs[-1]


def reference(x: torch.Tensor, states: list[torch.Tensor], params: list[torch.Tensor]) -> Any:
    """The same GRU on `torch.gru`: (output sequence, [final state])."""
    out, h = torch.gru(x, states[0][None], params, len(params) == 4, 1, 0.0, True, False, True)
    return out, [h[0]]


class _GRU(torch.autograd.Function):
    """The kernel's forward and backward as one autograd node.

    A backward that must itself be differentiable (`create_graph=True`, e.g. a gradient
    penalty) recomputes the forward with `torch.gru` and differentiates that, so second
    derivatives work as they do on `torch.gru`; the usual backward runs the kernel."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, h0: torch.Tensor, *weights: Any) -> Any:
        w_ih, w_hh, b_ih, b_hh = weights
        hs, g, ghn, xt = KERNEL.operators().forward(x, h0, w_ih, w_hh, b_ih, b_hh, True)
        ctx.set_materialize_grads(False)
        ctx.has_bias = b_ih is not None
        ctx.save_for_backward(hs, g, ghn, xt, x, h0, w_ih, w_hh, b_ih, b_hh)
        return hs[1:].transpose(0, 1), hs[-1].clone()

    @staticmethod
    def backward(ctx: Any, d_out: torch.Tensor | None, d_last: torch.Tensor | None) -> Any:
        hs, g, ghn, xt, *inputs = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: a differentiable backward
            grads = (d_out, d_last)
            return differentiable_grads(ctx.needs_input_grad, tuple(inputs), 1, reference, grads)
        need_dx = bool(ctx.needs_input_grad[0])
        w_ih, w_hh = inputs[2], inputs[3]
        dx, dh0, dw_ih, dw_hh, db_ih, db_hh = KERNEL.operators().backward(
            hs, g, ghn, xt, w_ih, w_hh, d_out, d_last, need_dx, ctx.has_bias
        )
        bias = (db_ih, db_hh) if ctx.has_bias else (None, None)
        return (dx if need_dx else None), dh0, dw_ih, dw_hh, *bias
