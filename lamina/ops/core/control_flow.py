"""Control flow with Keras's torch-backend semantics: Python loops and branches on torch.

Keras's `cond`, `switch`, `while_loop`, `fori_loop`, `scan`, `map` and
`associative_scan` run eagerly here (torch has no graph-level control flow), so the
functions passed in may use any Python; `vectorized_map` batches with `torch.vmap`.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import Any

import torch

from lamina import tree
from lamina.ops.conversion import convert_to_tensor

__all__ = [
    "associative_scan",
    "cond",
    "fori_loop",
    "map",
    "scan",
    "switch",
    "vectorized_map",
    "while_loop",
]


def _is_nested(x: Any) -> bool:
    return isinstance(x, (list, tuple, dict))


def _pack_as(structure: Any, flat: Sequence[Any]) -> Any:
    """Rebuild `structure`'s nesting with the leaves `flat` (in `tree.flatten` order)."""
    leaves = iter(flat)
    return tree.map_structure(lambda _: next(leaves), structure)


def cond(pred: Any, true_fn: Callable[[], Any], false_fn: Callable[[], Any]) -> Any:
    """`true_fn()` if `pred` is true, else `false_fn()`."""
    return true_fn() if bool(pred) else false_fn()


def switch(index: Any, branches: Sequence[Callable[..., Any]], *operands: Any) -> Any:
    """Call `branches[index](*operands)`; `index` is clamped into `[0, len(branches) - 1]`."""
    position = int(convert_to_tensor(index, "int32").item())
    position = builtins.min(builtins.max(position, 0), len(branches) - 1)
    return branches[position](*operands)


def while_loop(
    cond: Callable[..., Any],
    body: Callable[..., Any],
    loop_vars: Any,
    maximum_iterations: int | None = None,
) -> Any:
    """Repeat `loop_vars = body(*loop_vars)` while `cond(*loop_vars)`, at most `maximum_iterations` times."""
    is_tuple = isinstance(loop_vars, (list, tuple))
    state = tuple(loop_vars) if is_tuple else (loop_vars,)
    state = tree.map_structure(convert_to_tensor, state)
    steps = 0
    while bool(cond(*state)) and (maximum_iterations is None or steps < maximum_iterations):
        state = body(*state)
        state = tuple(state) if isinstance(state, (list, tuple)) else (state,)
        steps += 1
    return state if is_tuple else state[0]


def fori_loop(lower: int, upper: int, body_fun: Callable[[int, Any], Any], init_val: Any) -> Any:
    """`val = body_fun(i, val)` for `i` in `range(lower, upper)`, starting from `init_val`."""
    val = init_val
    for i in range(int(lower), int(upper)):
        val = body_fun(i, val)
    return val


def scan(
    f: Callable[[Any, Any], tuple[Any, Any]],
    init: Any,
    xs: Any = None,
    length: int | None = None,
    reverse: bool = False,
    unroll: int | bool = 1,
) -> tuple[Any, Any]:
    """Loop `carry, y = f(carry, x)` over the leading axis of `xs`; return the last carry and stacked `y`s."""
    if not callable(f):
        raise TypeError(f"Expected a callable f, received: f={f!r}")
    if not isinstance(unroll, bool) and (not isinstance(unroll, int) or unroll < 1):
        raise ValueError(
            f"Expected unroll to be a positive int or a bool, received: unroll={unroll!r}"
        )
    if xs is None and length is None:
        raise ValueError("Expected xs to scan over or a length, received: xs=None, length=None")
    xs_flat = [] if xs is None else [convert_to_tensor(x) for x in tree.flatten(xs)]
    steps = int(length) if length is not None else int(xs_flat[0].shape[0])
    init_flat = [convert_to_tensor(v) for v in tree.flatten(init)]
    carry = _pack_as(init, init_flat) if _is_nested(init) else init_flat[0]
    empty_y = [torch.zeros_like(v) for v in init_flat]
    order = reversed(range(steps)) if reverse else range(steps)
    ys = []
    for i in order:
        step_xs = [x[i] for x in xs_flat]
        if not step_xs:
            packed = None
        else:
            packed = _pack_as(xs, step_xs) if _is_nested(xs) else step_xs[0]
        carry, y = f(carry, packed)
        ys.append(empty_y if y is None else y)
    if reverse:
        ys.reverse()
    flat_ys = [tree.flatten(y) for y in ys]
    stacked = [torch.stack(column) for column in zip(*flat_ys)]
    return carry, _pack_as(ys[0], stacked) if _is_nested(ys[0]) else stacked[0]


def map(f: Callable[[Any], Any], xs: Any) -> Any:  # noqa: A001 - Keras's name
    """`f` applied to each slice of `xs` along its leading axis, results stacked."""
    _, ys = scan(lambda _, x: ((), f(x)), (), xs)
    return ys


def vectorized_map(function: Callable[[Any], Any], elements: Any) -> Any:
    """`function` mapped over the leading axis of `elements` with `torch.vmap`."""
    return torch.vmap(function)(elements)


def _every_other(
    x: torch.Tensor, start: int, stop: int | None, step: int, axis: int
) -> torch.Tensor:
    index = [builtins.slice(None)] * x.dim()
    index[axis] = builtins.slice(start, stop, step)
    return x[tuple(index)]


def _interleave(a: torch.Tensor, b: torch.Tensor, axis: int) -> torch.Tensor:
    """`a[0], b[0], a[1], b[1], ...` along `axis` (`a` may be one longer than `b`)."""
    n_a, n_b = a.shape[axis], b.shape[axis]
    shape = list(a.shape)
    shape[axis] = n_a + n_b
    out = torch.empty(shape, dtype=torch.promote_types(a.dtype, b.dtype), device=a.device)
    index_a = torch.arange(0, 2 * n_a, 2, device=a.device)
    index_b = torch.arange(1, 2 * n_b, 2, device=a.device)
    out = out.index_copy(axis, index_a, a.to(out.dtype))
    return out.index_copy(axis, index_b, b.to(out.dtype))


def associative_scan(
    f: Callable[[Any, Any], Any], elems: Any, reverse: bool = False, axis: int = 0
) -> Any:
    """Inclusive prefix scan of `elems` along `axis` with the associative `f` (a parallel scan)."""
    if not callable(f):
        raise TypeError(f"Expected a callable f, received: f={f!r}")
    flat = [convert_to_tensor(e) for e in tree.flatten(elems)]
    if reverse:
        flat = [torch.flip(e, (axis,)) for e in flat]
    length = int(flat[0].shape[axis])
    if any(int(e.shape[axis]) != length for e in flat[1:]):
        raise ValueError(
            f"Expected elems of one length along axis {axis}, received: shapes={[tuple(e.shape) for e in flat]}"
        )

    def combine(a: list[torch.Tensor], b: list[torch.Tensor]) -> list[torch.Tensor]:
        out = f(_pack_as(elems, a), _pack_as(elems, b))
        return [convert_to_tensor(c) for c in tree.flatten(out)]

    def run(parts: list[torch.Tensor]) -> list[torch.Tensor]:
        n = parts[0].shape[axis]
        if n < 2:
            return parts
        pairs = combine(
            [_every_other(p, 0, -1, 2, axis) for p in parts],
            [_every_other(p, 1, None, 2, axis) for p in parts],
        )
        odd = run(pairs)
        tail = [_every_other(p, 2, None, 2, axis) for p in parts]
        lead = [_every_other(o, 0, -1, 1, axis) for o in odd] if n % 2 == 0 else odd
        even = combine(lead, tail)
        even = [
            torch.cat([_every_other(p, 0, 1, 1, axis), e], dim=axis) for p, e in zip(parts, even)
        ]
        return [_interleave(e, o, axis) for e, o in zip(even, odd)]

    scanned = run(flat)
    if reverse:
        scanned = [torch.flip(s, (axis,)) for s in scanned]
    return _pack_as(elems, scanned)
