"""`pad_sequences`, as `keras.utils.pad_sequences` (and Keras 2's
`keras.preprocessing.sequence.pad_sequences`): lists of sequences to one 2-D array.

    pad_sequences([[1, 2, 3], [4]], maxlen=2)              # [[2, 3], [0, 4]]
    pad_sequences([[1, 2, 3], [4]], padding="post")        # [[1, 2, 3], [4, 0, 0]]

'pre' padding and truncating by default (the end of each sequence is kept, next to
the model's last time step), `value` fills, `dtype` is the array's (object for strings).
Samples may be sequences of equal-shaped items (a 3-D result).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

_SIDES = ("pre", "post")


def pad_sequences(
    sequences: Sequence[Any],
    maxlen: int | None = None,
    dtype: Any = "int32",
    padding: str = "pre",
    truncating: str = "pre",
    value: Any = 0.0,
) -> np.ndarray:
    """Pad (or truncate) every sequence to `maxlen` (default: the longest)."""
    if padding not in _SIDES:
        raise ValueError(
            f"pad_sequences expected padding in {_SIDES}, received: padding={padding!r}"
        )
    if truncating not in _SIDES:
        raise ValueError(
            f"pad_sequences expected truncating in {_SIDES}, received: truncating={truncating!r}"
        )
    if maxlen is not None and (
        isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 0
    ):
        raise ValueError(
            f"pad_sequences expected maxlen None or an integer >= 0, received: maxlen={maxlen!r}"
        )
    if isinstance(sequences, (str, bytes)) or not hasattr(sequences, "__len__"):
        raise ValueError(
            f"pad_sequences expected a list of sequences, received: {type(sequences).__name__}"
        )
    lengths, item_shape = [], None
    for i, seq in enumerate(sequences):
        if isinstance(seq, (str, bytes)) or not hasattr(seq, "__len__"):
            raise ValueError(
                "pad_sequences expected a list of sequences (lists, tuples or arrays), "
                f"received: {seq!r} at position {i}"[:300]
            )
        lengths.append(len(seq))
        if item_shape is None and len(seq):
            item_shape = np.asarray(seq).shape[1:]
    item_shape = item_shape or ()
    width = int(maxlen) if maxlen is not None else max(lengths, default=0)
    text_dtype = dtype is object or np.dtype(dtype).kind in "USO"
    if isinstance(value, str) and not text_dtype:
        raise ValueError(
            f"pad_sequences expected a dtype that holds value={value!r} (dtype=object for "
            f"strings of any length), received: dtype={dtype!r}"
        )
    out = np.full((len(lengths), width, *item_shape), value, dtype=dtype)
    if width == 0:
        return out
    for i, seq in enumerate(sequences):
        if not lengths[i]:
            continue
        kept = seq[-width:] if truncating == "pre" else seq[:width]
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != item_shape:
            raise ValueError(
                f"pad_sequences expected items of shape {item_shape} in every sequence, "
                f"received: {kept.shape[1:]} in the sequence at position {i}"
            )
        if padding == "post":
            out[i, : len(kept)] = kept
        else:
            out[i, width - len(kept) :] = kept
    return out
