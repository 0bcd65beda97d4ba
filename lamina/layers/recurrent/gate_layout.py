"""Keras's recurrent weights as the parameter lists of PyTorch's fused kernels.

The cells store Keras's kernels transposed ((gates * units, input_dim), PyTorch's
`weight_ih` shape), so the conversion is only about gate order and biases:

- LSTM: Keras i, f, c, o and PyTorch i, f, g, o are the same order; Keras has one bias
  where PyTorch adds `bias_ih + bias_hh`, so the second is zeros.
- GRU (reset_after=True): Keras z, r, h against PyTorch r, z, n; the (2, 3 * units) bias
  is PyTorch's `bias_ih` (row 0) and `bias_hh` (row 1), each reordered.
- SimpleRNN: one gate; the second bias is zeros.

The reordering is a concatenation of views, differentiable, so gradients reach the
stored (Keras-layout) weights; it costs a copy of each matrix per call, small next to
the recurrence itself.
"""

from __future__ import annotations

from typing import Any

import torch


def _keras_to_torch_gru(w: torch.Tensor, units: int) -> torch.Tensor:
    """Rows (or entries) z, r, h -> r, z, h along dim 0."""
    return torch.cat([w[units : 2 * units], w[:units], w[2 * units :]])


def fused_params(kind: str, cell: Any) -> list[torch.Tensor]:
    """[weight_ih, weight_hh] (+ [bias_ih, bias_hh] with use_bias) for `kind`'s kernel."""
    if kind == "gru":
        units = cell.units
        params = [
            _keras_to_torch_gru(cell.kernel, units),
            _keras_to_torch_gru(cell.recurrent_kernel, units),
        ]
        if cell.bias is not None:
            params += [
                _keras_to_torch_gru(cell.bias[0], units),
                _keras_to_torch_gru(cell.bias[1], units),
            ]
        return params
    params = [cell.kernel, cell.recurrent_kernel]
    if cell.bias is not None:
        params += [cell.bias, cell.bias.new_zeros(cell.bias.shape)]
    return params
