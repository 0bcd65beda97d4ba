"""The built-in recurrences on PyTorch's fused kernels, with Keras's mask semantics.

`run` computes a whole LSTM, GRU (reset_after) or SimpleRNN (tanh / relu) layer with
`torch.lstm` / `torch.gru` / `torch.rnn_tanh` / `torch.rnn_relu`, the kernels behind
`nn.LSTM` and friends (oneDNN's on the CPU, cuDNN's on CUDA): the time loop runs in C++,
so a step costs no Python. GRU and LSTM layers on the CPU run on Lamina's own kernels
instead (`native_gru.py`, `native_lstm.py`: one team of threads for the whole sequence).

Masks, as Keras defines them (`step_loop.py`): at a masked step the state stays and the
output repeats the previous one (zeros before the first unmasked step, or always with
`zero_output_for_mask`). When each sample's unmasked steps form one contiguous run (right
padding, `pad_sequences`' default left padding, or both), that is exactly the kernel run
on the run alone: the runs are gathered to the front, packed (`pack_padded_sequence`,
so each sample stops at its own length) and the outputs put back in place. Other masks
run `torch.*_cell` step by step.
"""

from __future__ import annotations

import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from lamina.layers.recurrent import native_gru, native_lstm
from lamina.layers.recurrent.step_loop import kept

KINDS = ("lstm", "gru", "rnn_tanh", "rnn_relu")
_KERNELS = {
    "lstm": torch.lstm,
    "gru": torch.gru,
    "rnn_tanh": torch.rnn_tanh,
    "rnn_relu": torch.rnn_relu,
}
_CELLS = {
    "lstm": torch.lstm_cell,
    "gru": torch.gru_cell,
    "rnn_tanh": torch.rnn_tanh_cell,
    "rnn_relu": torch.rnn_relu_cell,
}


def run(
    kind: str,
    x: torch.Tensor,
    mask: torch.Tensor | None,
    states: list[torch.Tensor],
    params: list[torch.Tensor],
    go_backwards: bool,
    return_sequences: bool,
    zero_output_for_mask: bool,
    traceable: bool = False,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """(output sequence or last output, final states) of a `kind` layer over `x`.

    `traceable=True` (torch.export) takes no decision on the mask's values: a masked
    sequence runs the step loop, which reads no tensor on the host."""
    if go_backwards:
        x = x.flip(1)
        mask = mask.flip(1) if mask is not None else None
    if mask is not None:
        mask = mask.to(device=x.device, dtype=torch.bool)
        if traceable:
            return _cell_loop(kind, x, mask, states, params, return_sequences, zero_output_for_mask)
        found = contiguous_runs(mask)
        if found is None:
            return _cell_loop(kind, x, mask, states, params, return_sequences, zero_output_for_mask)
        starts, lengths = found
        if not bool((lengths == x.shape[1]).all()):
            return _packed(
                kind,
                x,
                mask,
                starts,
                lengths,
                states,
                params,
                return_sequences,
                zero_output_for_mask,
            )
    sequence, finals = _kernel(kind, x, states, params, native=not traceable)
    return (sequence.contiguous() if return_sequences else finals[0]), finals


def contiguous_runs(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(start, length) of each sample's unmasked run, or None when some sample's unmasked
    steps are not one contiguous run. (Reads the mask on the host: one sync.)"""
    lengths = mask.sum(1)
    starts = mask.to(torch.uint8).argmax(1)  # the first True (0 when there is none)
    t = torch.arange(mask.shape[1], device=mask.device)
    run = (t >= starts[:, None]) & (t < (starts + lengths)[:, None])
    return (starts, lengths) if torch.equal(run, mask) else None


def _train(x: torch.Tensor, params: list[torch.Tensor]) -> bool:
    """Whether the kernel must keep what its backward needs."""
    return torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for p in params))


def _kernel(
    kind: str,
    x: torch.Tensor,
    states: list[torch.Tensor],
    params: list[torch.Tensor],
    native: bool = True,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The fused kernel over all of `x` (batch first): (outputs, final states).

    `native=False` (torch.export) keeps to ATen's kernels, which an exported file holds."""
    if native and kind == "gru" and native_gru.usable(x, states[0], params):
        out, h = native_gru.run(x, states[0], params, _train(x, [*params, *states]))
        return out, [h]
    if native and kind == "lstm" and native_lstm.usable(x, states, params):
        return native_lstm.run(x, states, params, _train(x, [*params, *states]))
    has_biases, train = len(params) == 4, _train(x, params)
    hx = [s.unsqueeze(0) for s in states]
    if kind == "lstm":
        out, h, c = torch.lstm(x, (hx[0], hx[1]), params, has_biases, 1, 0.0, train, False, True)
        return out, [h[0], c[0]]
    out, h = _KERNELS[kind](x, hx[0], params, has_biases, 1, 0.0, train, False, True)
    return out, [h[0]]


def _packed(
    kind: str,
    x: torch.Tensor,
    mask: torch.Tensor,
    starts: torch.Tensor,
    lengths: torch.Tensor,
    states: list[torch.Tensor],
    params: list[torch.Tensor],
    return_sequences: bool,
    zero_output_for_mask: bool,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Each sample's unmasked run through the kernel, packed; outputs put back in place."""
    batch, steps, features = x.shape
    t = torch.arange(steps, device=x.device)
    take = (starts[:, None] + t).clamp_(max=steps - 1)
    runs = x.gather(1, take[..., None].expand(batch, steps, features))
    # A fully masked sample runs one step whose results are dropped below.
    packed = pack_padded_sequence(
        runs, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
    )
    order, back = packed.sorted_indices, packed.unsorted_indices
    hx = [s.unsqueeze(0).index_select(1, order) for s in states]
    has_biases, train = len(params) == 4, _train(x, params)
    data, sizes = packed.data, packed.batch_sizes
    if kind == "lstm":
        out, h, c = torch.lstm(
            data, sizes, (hx[0], hx[1]), params, has_biases, 1, 0.0, train, False
        )
        finals = [h[0].index_select(0, back), c[0].index_select(0, back)]
    else:
        out, h = _KERNELS[kind](data, sizes, hx[0], params, has_biases, 1, 0.0, train, False)
        finals = [h[0].index_select(0, back)]
    empty = lengths == 0
    finals = [kept(~empty, f, s) for f, s in zip(finals, states)]
    last = kept(~empty, finals[0], torch.zeros_like(finals[0]))  # the last unmasked output
    if not return_sequences:
        if zero_output_for_mask:
            last = kept(mask[:, -1], last, torch.zeros_like(last))
        return last, finals
    sequence, _ = pad_packed_sequence(
        PackedSequence(out, sizes, order, back), batch_first=True, total_length=steps
    )
    where = (t - starts[:, None]).clamp_(0, steps - 1)
    inside = sequence.gather(1, where[..., None].expand(batch, steps, sequence.shape[-1]))
    after = (t >= (starts + lengths)[:, None])[..., None]
    filler = torch.zeros_like(last) if zero_output_for_mask else last
    outside = torch.where(after, filler[:, None, :], torch.zeros_like(inside))
    return torch.where(mask[..., None], inside, outside), finals


def _cell_loop(
    kind: str,
    x: torch.Tensor,
    mask: torch.Tensor,
    states: list[torch.Tensor],
    params: list[torch.Tensor],
    return_sequences: bool,
    zero_output_for_mask: bool,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Any mask, one `torch.*_cell` step at a time (Keras's semantics, step_loop.py)."""
    cell = _CELLS[kind]
    biases = params[2:] if len(params) == 4 else [None, None]
    previous = torch.zeros_like(states[0])
    outputs = []
    for t in range(x.shape[1]):
        keep = mask[:, t]
        if kind == "lstm":
            new = list(cell(x[:, t], (states[0], states[1]), params[0], params[1], *biases))
        else:
            new = [cell(x[:, t], states[0], params[0], params[1], *biases)]
        states = [kept(keep, n, s) for n, s in zip(new, states)]
        fill = torch.zeros_like(previous) if zero_output_for_mask else previous
        previous = kept(keep, new[0], fill)
        if return_sequences:
            outputs.append(previous)
    return (torch.stack(outputs, dim=1) if return_sequences else previous), states
