"""JSON values -> NumPy arrays a model input takes, checked before the model sees them.

Only numbers are accepted (JSON's true/false are refused, not read as 1/0; strings are
refused, not parsed), lists must be rectangular, every value finite (the body parser
already refuses NaN and Infinity literals; a number like 1e999 that overflows is caught
here), and the shape must be the input's, axis for axis (None = any size). Integer
inputs take integers only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.serve.errors import ServeError
from lamina.serve.signature import TensorSpec

_NUMBER_TYPES = (int, float)


def shape_text(shape: tuple[int | None, ...]) -> str:
    """(None, 28, 28, 1) -> '(-1, 28, 28, 1)', the metadata's way to show an open axis."""
    dims = ["-1" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def to_array(value: Any, spec: TensorSpec, where: str, batched: bool) -> np.ndarray:
    """`value` (one sample, or a batch when `batched`) as an array of `spec`'s dtype;
    a 400 ServeError naming `where` when it is not one."""
    expected = spec.shape if batched else spec.sample_shape
    what = f"{where}: {'a batch' if batched else 'a sample'} of shape {shape_text(expected)}"
    try:
        grid = np.asarray(value, dtype=object)
    except (ValueError, TypeError, RecursionError) as err:
        raise _bad(what, f"ragged nested lists ({type(err).__name__})") from err
    kinds = set(map(type, grid.flat))
    if not kinds <= set(_NUMBER_TYPES):
        raise _bad(what, _describe_kinds(kinds - set(_NUMBER_TYPES)))
    if not _shape_fits(grid.shape, expected):
        raise _bad(what, f"shape={shape_text(grid.shape)}")
    dtype = spec.numpy_dtype
    if dtype.kind in "iu":
        return _integers(grid, kinds, dtype, what)
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            array = grid.astype(dtype)
    except OverflowError as err:
        raise _bad(what, "a number too large for a float") from err
    if not np.isfinite(array).all():
        raise _bad(what, "a number that overflows " + dtype.name)
    return array


def _integers(grid: np.ndarray, kinds: set[type], dtype: np.dtype, what: str) -> np.ndarray:
    if float in kinds:
        raise _bad(what, f"a fractional number where {dtype.name} integers are expected")
    info = np.iinfo(dtype)
    values = grid.ravel().tolist()
    if values and (min(values) < info.min or max(values) > info.max):
        raise _bad(what, f"an integer outside {dtype.name}'s range")
    return grid.astype(dtype)


def _shape_fits(shape: tuple[int, ...], expected: tuple[int | None, ...]) -> bool:
    return len(shape) == len(expected) and all(
        want is None or got == want for got, want in zip(shape, expected)
    )


def _describe_kinds(kinds: set[type]) -> str:
    names = {
        bool: "booleans (true/false)",
        str: "strings",
        type(None): "null",
        list: "ragged nested lists",
        dict: "objects",
    }
    return ", ".join(sorted(names.get(kind, kind.__name__) for kind in kinds))


def _bad(what: str, received: str) -> ServeError:
    return ServeError(400, f"Expected numbers in {what}, received: {received}")
