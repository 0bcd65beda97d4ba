"""Keras 1 spellings used by older course code, mapped onto the modern layers.

    Convolution2D(32, 3, 3, border_mode="same", input_shape=(28, 28, 1))
    # == Conv2D(32, (3, 3), padding="same", input_shape=(28, 28, 1)), with one FutureWarning

Each construction issues exactly one FutureWarning showing the modern call.
The layers *are* their modern counterparts (subclasses), and `get_config()`
returns the modern Conv2D / Conv1D config, so a saved model reloads as Conv2D /
Conv1D (`Convolution2D.from_config` builds a Conv2D).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from lamina import legacy_api, registry
from lamina.layers.base import Layer
from lamina.layers.convolutional import Conv1D, Conv2D, Conv2DTranspose
from lamina.layers.convolutional_3d import Conv3D
from lamina.layers.convolutional_transpose import Conv1DTranspose, Conv3DTranspose
from lamina.layers.depthwise_separable import SeparableConv1D, SeparableConv2D

# Keras 1 initializer names that differ from today's.
_INIT_NAMES = {
    "uniform": "random_uniform",
    "normal": "random_normal",
    "zero": "zeros",
    "one": "ones",
}


def _init(name: Any) -> Any:
    return _INIT_NAMES.get(name, name) if isinstance(name, str) else name


def _check_dim_ordering(cls: str, dim_ordering: str) -> None:
    if dim_ordering not in ("default", "tf"):
        raise ValueError(
            f"Layer {cls} expected dim_ordering='tf' (Lamina images are channels-last NHWC), "
            f"received: dim_ordering={dim_ordering!r}"
        )


def _modern_call(cls: str, positional: Sequence[str], keywords: dict[str, Any]) -> str:
    kws = [f"{k}={v!r}" for k, v in keywords.items()]
    return f"{cls}({', '.join([*positional, *kws])})"


class _InitialWeights:
    """Keras 1's `weights=` argument: arrays (Keras layout) loaded once the layer is built."""

    _initial_weights: list[np.ndarray] | None = None

    def build(self, input_shape: tuple) -> None:
        super().build(input_shape)  # type: ignore[misc]
        if self._initial_weights is not None:
            self.built = True
            self.set_weights(self._initial_weights)  # type: ignore[attr-defined]
            self._initial_weights = None


@registry.register("layer", "Convolution2D")
class Convolution2D(_InitialWeights, Conv2D):
    """Keras 1's Convolution2D(nb_filter, nb_row, nb_col, ...): use Conv2D."""

    def __init__(
        self,
        nb_filter: int,
        nb_row: int,
        nb_col: int,
        init: Any = "glorot_uniform",
        activation: Any = None,
        weights: Sequence[Any] | None = None,
        border_mode: str = "valid",
        subsample: Sequence[int] = (1, 1),
        dim_ordering: str = "default",
        W_regularizer: Any = None,
        b_regularizer: Any = None,
        activity_regularizer: Any = None,
        W_constraint: Any = None,
        b_constraint: Any = None,
        bias: bool = True,
        **kwargs: Any,
    ) -> None:
        _check_dim_ordering("Convolution2D", dim_ordering)
        legacy_api.record("Convolution2D")
        modern = {"padding": border_mode, "strides": tuple(subsample)}
        if activation is not None:
            modern["activation"] = activation
        warnings.warn(
            f"Convolution2D(nb_filter, nb_row, nb_col, border_mode=..., subsample=..., init=...) is the "
            f"Keras 1 spelling; use Conv2D(filters, kernel_size, padding=..., strides=..., "
            f"kernel_initializer=...), here "
            f"{_modern_call('Conv2D', [str(nb_filter), str((nb_row, nb_col))], modern)}.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__(
            nb_filter,
            (nb_row, nb_col),
            strides=tuple(subsample),
            padding=border_mode,
            activation=activation,
            use_bias=bias,
            kernel_initializer=_init(init),
            kernel_regularizer=W_regularizer,
            bias_regularizer=b_regularizer,
            activity_regularizer=activity_regularizer,
            kernel_constraint=W_constraint,
            bias_constraint=b_constraint,
            **kwargs,
        )
        self._initial_weights = list(weights) if weights is not None else None

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """Configs are Conv2D's (see module docstring), so this rebuilds a Conv2D."""
        return Conv2D.from_config(config)


@registry.register("layer", "Convolution1D")
class Convolution1D(_InitialWeights, Conv1D):
    """Keras 1's Convolution1D(nb_filter, filter_length, ...): use Conv1D."""

    def __init__(
        self,
        nb_filter: int,
        filter_length: int,
        init: Any = "glorot_uniform",
        activation: Any = None,
        weights: Sequence[Any] | None = None,
        border_mode: str = "valid",
        subsample_length: int = 1,
        W_regularizer: Any = None,
        b_regularizer: Any = None,
        activity_regularizer: Any = None,
        W_constraint: Any = None,
        b_constraint: Any = None,
        bias: bool = True,
        input_dim: int | None = None,
        input_length: int | None = None,
        **kwargs: Any,
    ) -> None:
        legacy_api.record("Convolution1D")
        modern = {"padding": border_mode, "strides": subsample_length}
        if activation is not None:
            modern["activation"] = activation
        warnings.warn(
            "Convolution1D(nb_filter, filter_length, border_mode=..., subsample_length=..., init=...) "
            "is the Keras 1 spelling; use Conv1D(filters, kernel_size, padding=..., strides=..., "
            f"kernel_initializer=...), here "
            f"{_modern_call('Conv1D', [str(nb_filter), str(filter_length)], modern)}.",
            FutureWarning,
            stacklevel=2,
        )
        if input_dim is not None and "input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length, input_dim)
        super().__init__(
            nb_filter,
            filter_length,
            strides=subsample_length,
            padding=border_mode,
            activation=activation,
            use_bias=bias,
            kernel_initializer=_init(init),
            kernel_regularizer=W_regularizer,
            bias_regularizer=b_regularizer,
            activity_regularizer=activity_regularizer,
            kernel_constraint=W_constraint,
            bias_constraint=b_constraint,
            **kwargs,
        )
        self._initial_weights = list(weights) if weights is not None else None

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """Configs are Conv1D's, so this rebuilds a Conv1D."""
        return Conv1D.from_config(config)


# Keras 3's second names of the same classes (keras.layers.Convolution3D is Conv3D).
Convolution1DTranspose = Conv1DTranspose
Convolution2DTranspose = registry.register("layer", "Convolution2DTranspose")(Conv2DTranspose)
Convolution3D = Conv3D
Convolution3DTranspose = Conv3DTranspose
SeparableConvolution1D = SeparableConv1D
SeparableConvolution2D = SeparableConv2D
