"""Keras 1/2's `keras.utils.np_utils`, kept so old scripts run unchanged.

    from lamina.utils import np_utils
    y = np_utils.to_categorical(y, nb_classes)  # one FutureWarning per process

New code should call `lamina.utils.to_categorical` and `lamina.utils.normalize`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from lamina import legacy_api
from lamina.utils import numerical_utils

_warned = False


def _warn_once() -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(
            "lamina.utils.np_utils is the Keras 1/2 spelling; use lamina.utils.to_categorical "
            "(and lamina.utils.normalize) instead.",
            FutureWarning,
            stacklevel=3,
        )


def to_categorical(
    y: Any,
    num_classes: int | None = None,
    dtype: Any = "float32",
    *,
    nb_classes: int | None = None,
) -> np.ndarray:
    """`lamina.utils.to_categorical`, also accepting Keras 1's `nb_classes=`."""
    _warn_once()
    if nb_classes is not None:
        legacy_api.record("to_categorical(nb_classes=...)")
        if num_classes is not None and num_classes != nb_classes:
            raise ValueError(
                "Expected one of num_classes or nb_classes, received: "
                f"num_classes={num_classes}, nb_classes={nb_classes}"
            )
        num_classes = nb_classes
    return numerical_utils.to_categorical(y, num_classes, dtype)


def normalize(x: Any, axis: int = -1, order: int | float = 2) -> Any:
    """`lamina.utils.normalize`."""
    _warn_once()
    return numerical_utils.normalize(x, axis, order)
