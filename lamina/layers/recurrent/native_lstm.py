"""The CPU LSTM on Lamina's C++ kernel (`lstm_kernel.cpp`), with its own backward.

PyTorch's `torch.lstm` on the CPU runs oneDNN's RNN primitive, a BLAS product per step
split across the intra-op threads (a fork, a join and a repacking of the weights each
step). The kernel runs the whole sequence on one team of threads (`recurrent_team.h`),
each thread a slice of the units, and its backward sums the weight gradients step by
step. Same arithmetic as `torch.lstm` (gates i, f, g, o; sigmoid and tanh), so the same
weights give the same results to rounding; tests compare the two, gradients included.

Used for float32/float64 on the CPU, without autocast, when `lamina.config.native_kernels()`
is on and the kernel could be built (`native_kernels.py`); otherwise `torch.lstm`.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.layers.recurrent.native_kernels import NativeKernel, differentiable_grads

KERNEL = NativeKernel("lamina_native_lstm", "lstm_kernel.cpp", "LSTM", "torch.lstm")
LIBRARY = KERNEL.library


def usable(x: torch.Tensor, states: list[torch.Tensor], params: list[torch.Tensor]) -> bool:
    """Whether this call can run on the kernel (building it the first time)."""
    return KERNEL.usable(x, [*states, *params])


def run(
    x: torch.Tensor, states: list[torch.Tensor], params: list[torch.Tensor], train: bool
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """(output sequence (batch, time, units), [final h, final c]) of an LSTM over `x`.

    The sequence is a view of the kernel's state buffer (time major), not contiguous."""
    w_ih, w_hh = params[0], params[1]
    b_ih, b_hh = (params[2], params[3]) if len(params) == 4 else (None, None)
    h0, c0 = states
    if train:
        out, h, c = _LSTM.apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
        return out, [h, c]
    hs, cs, _, _ = KERNEL.operators().forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, False)
    return hs[1:].transpose(0, 1), [hs[-1], cs[-1]]


def reference(x: torch.Tensor, states: list[torch.Tensor], params: list[torch.Tensor]) -> Any:
    """The same LSTM on `torch.lstm`: (output sequence, [final h, final c])."""
    hx = (states[0][None], states[1][None])
    out, h, c = torch.lstm(x, hx, params, len(params) == 4, 1, 0.0, True, False, True)
    return out, [h[0], c[0]]


class _LSTM(torch.autograd.Function):
    """The kernel's forward and backward as one autograd node (a differentiable backward
    recomputes through `torch.lstm`, as `native_gru._GRU` does through `torch.gru`)."""

    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor, *weights: Any
    ) -> Any:
        w_ih, w_hh, b_ih, b_hh = weights
        hs, cs, g, xt = KERNEL.operators().forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, True)
        ctx.set_materialize_grads(False)
        ctx.has_bias = b_ih is not None
        ctx.save_for_backward(hs, cs, g, xt, x, h0, c0, w_ih, w_hh, b_ih, b_hh)
        return hs[1:].transpose(0, 1), hs[-1].clone(), cs[-1].clone()

    @staticmethod
    def backward(
        ctx: Any, d_out: torch.Tensor | None, d_h: torch.Tensor | None, d_c: torch.Tensor | None
    ) -> Any:
        hs, cs, g, xt, *inputs = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: a differentiable backward
            grads = (d_out, d_h, d_c)
            return differentiable_grads(ctx.needs_input_grad, tuple(inputs), 2, reference, grads)
        need_dx = bool(ctx.needs_input_grad[0])
        w_ih, w_hh = inputs[3], inputs[4]
        dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh = KERNEL.operators().backward(
            hs, cs, g, xt, w_ih, w_hh, d_out, d_h, d_c, need_dx, ctx.has_bias
        )
        bias = (db_ih, db_hh) if ctx.has_bias else (None, None)
        return (dx if need_dx else None), dh0, dc0, dw_ih, dw_hh, *bias
