"""Argument checks for ImageDataGenerator: each returns the normalised value or raises a
ValueError naming the argument ("Expected ..., received: name=value")."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from lamina.preprocessing import augment as aug

FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")


def arg_error(argument: str, expected: str, value: Any) -> ValueError:
    return ValueError(
        f"ImageDataGenerator (lamina/preprocessing/image_generator.py): Expected {expected}, "
        f"received: {argument}={value!r}"
    )


def is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def check_number(name: str, v: Any, minimum: float = 0.0) -> float:
    if not is_number(v) or not np.isfinite(v) or v < minimum:
        raise arg_error(name, f"a number >= {minimum}", v)
    return float(v)


def check_flag(name: str, v: Any) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise arg_error(name, "True or False", v)
    return bool(v)


def check_shift_range(name: str, v: Any) -> aug.ShiftRange:
    """Keras's reading: float = fraction (< 1) or pixels (>= 1); int n = whole pixels in
    (-n, n); a list = choices (fractions if all < 1), each with a random sign."""
    if isinstance(v, (list, tuple, np.ndarray)):
        values = tuple(float(x) for x in np.asarray(v, dtype=np.float64).reshape(-1))
        if not values or not all(np.isfinite(values)):
            raise arg_error(name, "a float, an int or a non-empty list of numbers", v)
        return aug.ShiftRange("choice", values=values, fraction=max(values) < 1)
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        if v < 0:
            raise arg_error(name, "a non-negative shift", v)
        if v == 0:
            return aug.ShiftRange()
        return aug.ShiftRange("choice", values=tuple(float(i) for i in range(int(v))))
    if not is_number(v) or not np.isfinite(v) or v < 0:
        raise arg_error(name, "a float, an int or a non-empty list of numbers", v)
    if v == 0:
        return aug.ShiftRange()
    return aug.ShiftRange("uniform", value=float(v), fraction=float(v) < 1)


def check_zoom_range(v: Any) -> tuple[float, float]:
    if is_number(v):
        lo, hi = 1.0 - float(v), 1.0 + float(v)
    elif isinstance(v, (list, tuple)) and len(v) == 2 and all(is_number(x) for x in v):
        lo, hi = float(v[0]), float(v[1])
    else:
        raise arg_error("zoom_range", "a float or a [lower, upper] pair of floats", v)
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0 or lo > hi:
        raise arg_error("zoom_range", "0 <= lower <= upper (a float z means [1 - z, 1 + z])", v)
    return lo, hi


def check_pair(name: str, v: Any, what: str) -> tuple[float, float]:
    if not (isinstance(v, (list, tuple)) and len(v) == 2 and all(is_number(x) for x in v)):
        raise arg_error(name, what, v)
    lo, hi = float(v[0]), float(v[1])
    if lo < 0 or lo > hi:
        raise arg_error(name, what, v)
    return lo, hi


def check_crop(v: Any) -> tuple[int, int] | None:
    if v is None:
        return None
    ok = isinstance(v, (list, tuple)) and len(v) == 2
    ok = ok and all(isinstance(x, numbers.Integral) and not isinstance(x, bool) for x in v)
    if not ok or min(v) < 1:
        raise arg_error("random_crop", "None or (height, width) of positive ints", v)
    return int(v[0]), int(v[1])
