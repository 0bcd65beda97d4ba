"""`keras.ops.numpy.vectorize`: a function of scalars (or of core dimensions given by a
NumPy gufunc `signature` such as "(n),(n)->()") applied over broadcast inputs with
`torch.vmap`."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import torch

from lamina.ops.numpy.common_iz import as_tensor

__all__ = ["vectorize"]

_DIMS = re.compile(r"\(([^()]*)\)")


def _parse(signature: str) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    if "->" not in signature:
        raise ValueError(f"Expected a signature like '(n),(n)->()', received: {signature!r}")
    inputs, outputs = signature.replace(" ", "").split("->")

    def groups(text: str) -> list[tuple[str, ...]]:
        return [tuple(d for d in g.split(",") if d) for g in _DIMS.findall(text)]

    return groups(inputs), groups(outputs)


def vectorize(
    pyfunc: Callable[..., Any], *, excluded: Any = None, signature: str | None = None
) -> Callable[..., Any]:
    """`pyfunc` lifted over the leading (loop) axes of its broadcast arguments."""
    if not callable(pyfunc):
        raise ValueError(f"Expected a callable pyfunc, received: pyfunc={pyfunc!r}")
    skip = set(excluded or ())

    @functools.wraps(pyfunc)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        fixed = {i: a for i, a in enumerate(args) if i in skip}
        mapped = [as_tensor(a) for i, a in enumerate(args) if i not in skip]
        if signature is None:
            core = [()] * len(mapped)
        else:
            core = _parse(signature)[0]
            if len(core) != len(mapped):
                raise TypeError(
                    f"Expected {len(core)} arguments for signature {signature!r}, "
                    f"received: {len(mapped)}"
                )
        loops = [a.shape[: a.ndim - len(c)] for a, c in zip(mapped, core)]
        loop_shape = torch.broadcast_shapes(*loops) if loops else torch.Size()
        flat = [
            a.expand((*loop_shape, *a.shape[a.ndim - len(c) :])).reshape(
                (-1, *a.shape[a.ndim - len(c) :])
            )
            for a, c in zip(mapped, core)
        ]

        def call(*items: torch.Tensor) -> Any:
            it = iter(items)
            full = [fixed[i] if i in fixed else next(it) for i in range(len(args))]
            return pyfunc(*full, **kwargs)

        if not flat:
            return call()
        result = torch.vmap(call)(*flat)
        if isinstance(result, (tuple, list)):
            return type(result)(r.reshape((*loop_shape, *r.shape[1:])) for r in result)
        return result.reshape((*loop_shape, *result.shape[1:]))

    return wrapped
