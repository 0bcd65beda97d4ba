"""Running the fused recurrence wherever the layer is called: eager, under `torch.func`
transforms, or inside `torch.compile`.

- Eager, with autograd (`fit`'s default step): `fused.run`, whose kernels carry their
  own backward. The fast path.
- Under a `torch.func` transform (the engine's compiled step takes gradients with
  `grad_and_value`): functorch decomposes `torch.lstm` into per-step operations (13x
  slower here) and cannot pack sequences, so the recurrence runs as two custom operators,
  which functorch hands plain tensors:
  `lamina::recurrence` runs `fused.run`; `lamina::recurrence_backward` recomputes it with
  autograd and takes its gradients. torch runs an operator's kernel with autograd's
  dispatch keys excluded for the calling thread, so the recomputation runs on a helper
  thread, whose thread-local state is fresh. An `autograd.Function` in the
  `setup_context` style ties them together. It costs a second forward pass.
  A functorch tensor is recognised by having no storage of its own.
- Traced by `torch.export` (`model.export`): the plain kernels, so the file holds only ATen
  operations (`torch.lstm`, or with a mask one `torch.*_cell` step at a time).
- Traced by Dynamo: a graph break around the call (`torch.compiler.disable`). Traced,
  `torch.lstm` decomposes into one matrix product and a few pointwise kernels per step
  (a 20-step LSTM compiled for 140 s and ran 6x slower than eager here) or, with oneDNN,
  into an operator Inductor fails to call (torch 2.13); and Dynamo ignores an
  `autograd.Function`'s backward inside `torch.func` transforms (the gradients of an
  opaque forward would be zeros). After the break the call runs eagerly, as above.

The operators are registered when a recurrent layer is built (`register()`), so
`import lamina` does not pay for them.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional

import torch
from torch import Tensor

from lamina.layers.recurrent import fused
from lamina.layers.recurrent.thread_tuner import ThreadTuner, run_tuned

_OPS: dict[str, Any] = {}
_LOCK = threading.Lock()
_POOL: list[ThreadPoolExecutor] = []
Spec = tuple[
    str, bool, bool, bool, int
]  # kind, go_backwards, return_sequences, zero_output, n_states


def register() -> None:
    """Define the two operators once per process (a few milliseconds)."""
    with _LOCK:
        if not _OPS:
            _OPS.update(_define())


def _define() -> dict[str, Any]:
    # torch.library reads these annotations to build the operators' schemas.
    @torch.library.custom_op("lamina::recurrence", mutates_args=())
    def forward_op(
        kind: str,
        x: Tensor,
        mask: Optional[Tensor],  # noqa: UP045 (torch.library's schema reader)
        states: list[Tensor],
        params: list[Tensor],
        go_backwards: bool,
        return_sequences: bool,
        zero_output_for_mask: bool,
    ) -> list[Tensor]:
        out, finals = fused.run(
            kind, x, mask, states, params, go_backwards, return_sequences, zero_output_for_mask
        )
        # Fresh tensors: an operator's outputs may not alias its inputs or each other.
        return [t.clone(memory_format=torch.contiguous_format) for t in (out, *finals)]

    @forward_op.register_fake
    def _(kind, x, mask, states, params, go_backwards, return_sequences, zero_output_for_mask):
        units = states[0].shape[-1]
        shape = (x.shape[0], x.shape[1], units) if return_sequences else (x.shape[0], units)
        return [x.new_empty(shape), *[s.new_empty(s.shape) for s in states]]

    @torch.library.custom_op("lamina::recurrence_backward", mutates_args=())
    def backward_op(
        kind: str,
        x: Tensor,
        mask: Optional[Tensor],  # noqa: UP045
        states: list[Tensor],
        params: list[Tensor],
        go_backwards: bool,
        return_sequences: bool,
        zero_output_for_mask: bool,
        grads: list[Tensor],
    ) -> list[Tensor]:
        spec = (kind, go_backwards, return_sequences, zero_output_for_mask)
        threads = torch.get_num_threads()
        job = _pool().submit(_recompute_grads, spec, x, mask, states, params, grads, threads)
        return job.result()

    @backward_op.register_fake
    def _(kind, x, mask, states, params, go_backwards, return_sequences, zero_output, grads):
        return [torch.empty_like(t) for t in (x, *states, *params)]

    return {"forward": forward_op, "backward": backward_op}


def _pool() -> ThreadPoolExecutor:
    with _LOCK:
        if not _POOL:
            _POOL.append(ThreadPoolExecutor(1, thread_name_prefix="lamina-rnn-backward"))
        return _POOL[0]


def _recompute_grads(
    spec: tuple[str, bool, bool, bool],
    x: torch.Tensor,
    mask: torch.Tensor | None,
    states: list[torch.Tensor],
    params: list[torch.Tensor],
    grads: list[torch.Tensor],
    threads: int,
) -> list[torch.Tensor]:
    """Gradients of `fused.run` for x, the states and the params (on the helper thread)."""
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    kind, go_backwards, return_sequences, zero_output = spec
    inputs = [t.detach().requires_grad_(True) for t in (x, *states, *params)]
    n = len(states)
    with torch.enable_grad():
        out, finals = fused.run(
            kind,
            inputs[0],
            mask,
            inputs[1 : 1 + n],
            inputs[1 + n :],
            go_backwards,
            return_sequences,
            zero_output,
        )
    found = torch.autograd.grad([out, *finals], inputs, grads, allow_unused=True)
    return [torch.zeros_like(i) if g is None else g.contiguous() for g, i in zip(found, inputs)]


class _Recurrence(torch.autograd.Function):
    """`fused.run` as forward and backward operators (see the module doc)."""

    @staticmethod
    def forward(spec: Spec, x: torch.Tensor, mask: Any, *tensors: torch.Tensor) -> tuple:
        kind, go_backwards, return_sequences, zero_output, n = spec
        with torch.no_grad():  # the operator has no autograd kernel of its own
            outs = _OPS["forward"](
                kind,
                x,
                mask,
                list(tensors[:n]),
                list(tensors[n:]),
                go_backwards,
                return_sequences,
                zero_output,
            )
        return tuple(outs)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Any) -> None:
        spec, x, mask, *tensors = inputs
        ctx.spec = spec
        ctx.has_mask = mask is not None
        ctx.save_for_backward(x, *tensors, *([mask] if mask is not None else []))

    @staticmethod
    def backward(ctx: Any, *grads: torch.Tensor) -> tuple:
        kind, go_backwards, return_sequences, zero_output, n = ctx.spec
        saved = list(ctx.saved_tensors)
        mask = saved.pop() if ctx.has_mask else None
        x, tensors = saved[0], saved[1:]
        with torch.no_grad():
            found = _OPS["backward"](
                kind,
                x,
                mask,
                tensors[:n],
                tensors[n:],
                go_backwards,
                return_sequences,
                zero_output,
                list(grads),
            )
        return (None, found[0], None, *found[1:])


def run(
    kind: str,
    x: torch.Tensor,
    mask: torch.Tensor | None,
    states: list[torch.Tensor],
    params: list[torch.Tensor],
    go_backwards: bool,
    return_sequences: bool,
    zero_output_for_mask: bool,
    tuner: ThreadTuner | None = None,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """`fused.run`, as the context allows (see the module doc): (output, final states).

    On the CPU, `tuner` picks the kernels' thread count (`thread_tuner.py`)."""
    args = (kind, x, mask, states, params, go_backwards, return_sequences, zero_output_for_mask)
    if torch.compiler.is_exporting():  # model.export: ATen operations a file can hold
        return fused.run(*args, traceable=True)
    if torch.compiler.is_compiling():
        return torch.compiler.disable(_eager)(*args)
    return _eager(*args, tuner=tuner)


def _eager(
    kind: str,
    x: torch.Tensor,
    mask: torch.Tensor | None,
    states: list[torch.Tensor],
    params: list[torch.Tensor],
    go_backwards: bool,
    return_sequences: bool,
    zero_output_for_mask: bool,
    tuner: ThreadTuner | None = None,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    flags = (go_backwards, return_sequences, zero_output_for_mask)
    if not all(has_storage(t) for t in (x, *params)):
        register()
        spec = (kind, *flags, len(states))
        outs = _Recurrence.apply(spec, x, mask, *states, *params)
        return outs[0], list(outs[1:])
    if tuner is None or x.device.type != "cpu":
        return fused.run(kind, x, mask, states, params, *flags)
    n, masked = len(states), mask is not None
    shared: list[bool] = []

    def compute(inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        part_mask = inputs[1] if masked else None
        rest = inputs[1 + masked :]
        out, finals = fused.run(kind, inputs[0], part_mask, rest[:n], rest[n:], *flags)
        shared.append(out is finals[0])
        return finals if shared[-1] else [out, *finals]

    inputs = [x, *([mask] if masked else []), *states, *params]
    in_dims = [0] * (1 + masked + n) + [None] * len(params)
    out_dims = [0] * (n + 1)
    outs = run_tuned(tuner, compute, inputs, in_dims, out_dims)
    return (outs[0], outs) if shared[-1] else (outs[0], outs[1:])


def has_storage(t: torch.Tensor) -> bool:
    """False for tensors of a `torch.func` transform (wrappers without storage)."""
    try:
        t.data_ptr()
    except RuntimeError:
        return False
    return True
