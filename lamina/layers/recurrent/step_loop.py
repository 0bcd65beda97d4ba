"""The Python time loop: any cell, one step at a time, with Keras's mask semantics.

The RNN layer uses it when no fused kernel applies (custom cells, other activations,
recurrent dropout in training, GRU with reset_after=False). What a mask means, as in
Keras 3: at a masked step the states keep their previous values and the output repeats
the previous step's output (zeros before the first unmasked step), or is zeros with
`zero_output_for_mask`. With `go_backwards` the inputs and the mask are read from the
end, and the outputs come in that (reversed) order.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch

Step = Callable[[torch.Tensor, Any], tuple[torch.Tensor, Any]]


def zip_map(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], a: Any, b: Any) -> Any:
    """`fn` over the leaves of two structures of the same shape (lists and tuples)."""
    if isinstance(a, (list, tuple)):
        return type(a)(zip_map(fn, x, y) for x, y in zip(a, b))
    return fn(a, b)


def kept(keep: torch.Tensor, new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
    """`new` where the step is kept (`keep`, one bool per sample), else `old`."""
    return torch.where(keep.view(-1, *([1] * (new.dim() - 1))), new, old)


def run_steps(
    step: Step,
    sequences: torch.Tensor,
    states: list[Any],
    mask: torch.Tensor | None,
    go_backwards: bool,
    return_sequences: bool,
    zero_output_for_mask: bool,
) -> tuple[torch.Tensor, list[Any]]:
    """(the output sequence or the last output, the final states)."""
    if go_backwards:
        sequences = sequences.flip(1)
        mask = mask.flip(1) if mask is not None else None
    outputs: list[torch.Tensor] = []
    previous: torch.Tensor | None = None
    output = None
    for t in range(sequences.shape[1]):
        output, new_states = step(sequences[:, t], states)
        if not isinstance(new_states, (list, tuple)):
            new_states = [new_states]
        if mask is not None:
            keep = mask[:, t]
            if previous is None or zero_output_for_mask:
                previous = torch.zeros_like(output)
            output = kept(keep, output, previous)
            new_states = zip_map(functools.partial(kept, keep), list(new_states), states)
            previous = output
        states = list(new_states)
        if return_sequences:
            outputs.append(output)
    if output is None:
        raise ValueError(
            f"Expected sequences with at least one time step, received: shape={tuple(sequences.shape)}"
        )
    return (torch.stack(outputs, dim=1) if return_sequences else output), states
