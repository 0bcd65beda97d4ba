"""3D pooling over channels-last volumes: MaxPooling3D, AveragePooling3D and their global forms.

Same rules as the 1D/2D layers (pooling.py): `strides=None` means the pool size;
'same' padding is TensorFlow's (the odd cell goes after), max pooling never
picks a padded cell and average pooling counts only real cells.

    MaxPooling3D()(x)              # (N, 16, 16, 16, C) -> (N, 8, 8, 8, C)
    GlobalAveragePooling3D()(x)    # (N, D, H, W, C) -> (N, C)
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import registry
from lamina.layers.convolutional import IntOrTuple
from lamina.layers.pooling import _GlobalPooling, _Pooling
from lamina.layers.spatial_nd import channels_first, channels_last, pool_nd


class _Pooling3D(_Pooling):
    """Windowed pooling of NDHWC volumes."""

    rank, kind = 3, "max"

    def __init__(
        self,
        pool_size: IntOrTuple = (2, 2, 2),
        strides: IntOrTuple | None = None,
        padding: str = "valid",
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        out = pool_nd(channels_first(inputs), self.kind, self.pool_size, self.strides, self.padding)
        return channels_last(out)


@registry.register("layer", "MaxPooling3D", "MaxPool3D")
class MaxPooling3D(_Pooling3D):
    """Maximum over pool_size windows of NDHWC volumes (default 2x2x2, stride = pool size)."""

    rank, kind = 3, "max"


@registry.register("layer", "AveragePooling3D", "AvgPool3D")
class AveragePooling3D(_Pooling3D):
    """Mean over pool_size windows of NDHWC volumes; 'same' ignores padded cells.

    `pool_size` is required, as in Keras.
    """

    rank, kind = 3, "avg"

    def __init__(
        self,
        pool_size: IntOrTuple,
        strides: IntOrTuple | None = None,
        padding: str = "valid",
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


@registry.register("layer", "GlobalAveragePooling3D", "GlobalAvgPool3D")
class GlobalAveragePooling3D(_GlobalPooling):
    """Mean over depth, height and width: (N, D, H, W, C) -> (N, C)."""

    rank, kind = 3, "avg"


@registry.register("layer", "GlobalMaxPooling3D", "GlobalMaxPool3D")
class GlobalMaxPooling3D(_GlobalPooling):
    """Maximum over depth, height and width: (N, D, H, W, C) -> (N, C)."""

    rank, kind = 3, "max"


MaxPool3D = MaxPooling3D
AvgPool3D = AveragePooling3D
GlobalAvgPool3D = GlobalAveragePooling3D
GlobalMaxPool3D = GlobalMaxPooling3D
