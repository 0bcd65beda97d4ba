"""Einsum equations of multi-head attention for any rank and any attention axes.

A projected tensor has axes (batch, <steps...>, heads, dim). Attention runs over the
`attention_axes` steps; every other axis but the last (heads included) is a batch axis.
The scores have axes (<batch axes>, <query steps>, <source steps>).
"""

from __future__ import annotations

import string
from collections.abc import Sequence

_LETTERS = string.ascii_lowercase


def projection(free: int, bound: int, out: int) -> tuple[str, str, int]:
    """'abc,cde->abde'-style equation: `free` axes kept, `bound` contracted, `out` made;
    returns the equation, the bias axes (the made ones) and the output rank."""
    kept = _LETTERS[:free]
    contracted = _LETTERS[free : free + bound]
    made = _LETTERS[free + bound : free + bound + out]
    return f"{kept}{contracted},{contracted}{made}->{kept}{made}", made, free + out


def attention(rank: int, attention_axes: Sequence[int]) -> tuple[str, str, int]:
    """(scores equation of query and key, combine equation of scores and value, scores rank)."""
    target = _LETTERS[:rank]
    batch = [i for i in range(rank - 1) if i not in attention_axes]
    extra = iter(_LETTERS[rank:])
    source = "".join(target[i] if i in batch or i == rank - 1 else next(extra) for i in range(rank))
    product = (
        "".join(target[i] for i in batch)
        + "".join(target[i] for i in attention_axes)
        + "".join(source[i] for i in attention_axes)
    )
    return f"{target},{source}->{product}", f"{product},{source}->{target}", len(product)
