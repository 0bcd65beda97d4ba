"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector, ZeroPadding1D/2D, Cropping1D/2D,
UpSampling1D/2D.

Shapes given to these layers exclude the batch axis, as in Keras. Flatten keeps
Keras's NHWC element order (a plain row-major reshape), so a Dense layer after
it sees features in the same order as in Keras and weights transfer unchanged.

    Flatten()(x)                 # (N, 7, 7, 64) -> (N, 3136)
    Reshape((28, 28, 1))(x)      # (N, 784) -> (N, 28, 28, 1)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from lamina import registry
from lamina.layers.base import Layer
from lamina.layers.input_spec import InputSpec


def _error(layer: Layer, expected: str, **received: Any) -> ValueError:
    got = ", ".join(f"{k}={v!r}" for k, v in received.items())
    return ValueError(
        f"Layer '{layer.name}' ({type(layer).__name__}) expected {expected}, received: {got}"
    )


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_format(layer: Layer, data_format: Any) -> str:
    if data_format not in (None, "channels_last"):
        raise _error(
            layer, "data_format='channels_last' (Lamina images are NHWC)", data_format=data_format
        )
    return "channels_last"


@registry.register("layer", "Flatten")
class Flatten(Layer):
    """Collapse all non-batch axes into one, in row-major (Keras) order."""

    def __init__(self, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = _check_format(self, data_format)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs.reshape(inputs.shape[0], -1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        rest = input_shape[1:]
        return (input_shape[0], None if None in rest else math.prod(rest))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}


@registry.register("layer", "Reshape")
class Reshape(Layer):
    """Reshape each sample to `target_shape` (one entry may be -1: inferred)."""

    def __init__(self, target_shape: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(target_shape, int) and not isinstance(target_shape, bool):
            target_shape = (target_shape,)
        ok = isinstance(target_shape, Sequence) and not isinstance(target_shape, str)
        target = tuple(target_shape) if ok else ()
        if (
            not ok
            or not all(_is_int(d) and (d > 0 or d == -1) for d in target)
            or target.count(-1) > 1
        ):
            raise _error(
                self,
                "a target_shape of positive ints with at most one -1",
                target_shape=target_shape,
            )
        self.target_shape = target

    def _resolve(self, input_shape: tuple) -> tuple[int | None, ...]:
        """target_shape with -1 filled in; raises when the sizes cannot match."""
        rest = input_shape[1:]
        if None in rest:
            return tuple(None if d == -1 else d for d in self.target_shape)
        total = math.prod(rest)
        known = math.prod(d for d in self.target_shape if d != -1)
        if (-1 in self.target_shape and total % known) or (
            -1 not in self.target_shape and total != known
        ):
            raise self._mismatch(input_shape)
        return tuple(total // known if d == -1 else d for d in self.target_shape)

    def _mismatch(self, input_shape: Any) -> ValueError:
        size = math.prod(d for d in input_shape[1:] if d is not None)
        return _error(
            self,
            f"an input whose {size} values per sample fit target_shape={self.target_shape}",
            input_shape=tuple(input_shape),
        )

    def build(self, input_shape: tuple) -> None:
        self._resolve(tuple(input_shape))

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        try:
            return inputs.reshape(inputs.shape[0], *self.target_shape)
        except RuntimeError as err:
            raise self._mismatch((None, *inputs.shape[1:])) from err

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], *self._resolve(tuple(input_shape)))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_shape": self.target_shape}


@registry.register("layer", "Permute")
class Permute(Layer):
    """Reorder non-batch axes; `dims` is 1-indexed, e.g. (2, 1) swaps the two axes."""

    def __init__(self, dims: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        ok = isinstance(dims, Sequence) and not isinstance(dims, str)
        if not ok or sorted(dims) != list(range(1, len(dims) + 1)):
            raise _error(
                self, "dims a permutation of 1..n (the batch axis 0 is excluded)", dims=dims
            )
        self.dims = tuple(dims)
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs.permute(0, *self.dims)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], *(input_shape[d] for d in self.dims))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "dims": self.dims}


@registry.register("layer", "RepeatVector")
class RepeatVector(Layer):
    """Repeat a (batch, features) input n times: (batch, n, features)."""

    def __init__(self, n: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not _is_int(n) or n <= 0:
            raise _error(self, "a positive integer n", n=n)
        self.n = n
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs.unsqueeze(1).expand(-1, self.n, -1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "n": self.n}


def _pairs(layer: Layer, value: Any, arg: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """int | (h, w) | ((top, bottom), (left, right)) -> ((top, bottom), (left, right))."""
    if _is_int(value):
        out: Any = ((value, value), (value, value))
    elif isinstance(value, Sequence) and len(value) == 2 and all(_is_int(v) for v in value):
        out = ((value[0], value[0]), (value[1], value[1]))
    elif (
        isinstance(value, Sequence)
        and len(value) == 2
        and all(
            isinstance(v, Sequence) and len(v) == 2 and all(_is_int(x) for x in v) for v in value
        )
    ):
        out = (tuple(value[0]), tuple(value[1]))
    else:
        out = None
    if out is None or min(out[0] + out[1]) < 0:
        raise _error(
            layer,
            f"{arg} as an int, (height, width) or ((top, bottom), (left, right)) of non-negative ints",
            **{arg: value},
        )
    return out


@registry.register("layer", "ZeroPadding2D")
class ZeroPadding2D(Layer):
    """Add rows and columns of zeros around NHWC images."""

    def __init__(
        self, padding: Any = (1, 1), data_format: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.padding = _pairs(self, padding, "padding")
        self.data_format = _check_format(self, data_format)
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        (top, bottom), (left, right) = self.padding
        return F.pad(inputs, (0, 0, left, right, top, bottom))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        n, h, w, c = input_shape
        (top, bottom), (left, right) = self.padding
        return (
            n,
            None if h is None else h + top + bottom,
            None if w is None else w + left + right,
            c,
        )

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


@registry.register("layer", "Cropping2D")
class Cropping2D(Layer):
    """Remove rows and columns from the edges of NHWC images."""

    def __init__(
        self, cropping: Any = ((0, 0), (0, 0)), data_format: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.cropping = _pairs(self, cropping, "cropping")
        self.data_format = _check_format(self, data_format)
        self.input_spec = InputSpec(ndim=4)

    def build(self, input_shape: tuple) -> None:
        out = self.compute_output_shape(tuple(input_shape))
        if any(d is not None and d <= 0 for d in out[1:3]):
            raise _error(
                self,
                f"an image larger than the cropping {self.cropping}",
                input_shape=tuple(input_shape),
            )

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        (top, bottom), (left, right) = self.cropping
        h, w = inputs.shape[1], inputs.shape[2]
        return inputs[:, top : h - bottom, left : w - right, :]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        n, h, w, c = input_shape
        (top, bottom), (left, right) = self.cropping
        return (
            n,
            None if h is None else h - top - bottom,
            None if w is None else w - left - right,
            c,
        )

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": self.cropping, "data_format": self.data_format}


@registry.register("layer", "UpSampling2D")
class UpSampling2D(Layer):
    """Enlarge NHWC images by integer factors: 'nearest' repeats pixels, 'bilinear' interpolates."""

    def __init__(
        self,
        size: int | Sequence[int] = (2, 2),
        data_format: str | None = None,
        interpolation: str = "nearest",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        size = (size, size) if _is_int(size) else tuple(size) if isinstance(size, Sequence) else ()
        if len(size) != 2 or not all(_is_int(s) and s > 0 for s in size):
            raise _error(self, "size a positive int or a pair of positive ints", size=size)
        if interpolation not in ("nearest", "bilinear"):
            raise _error(self, "interpolation 'nearest' or 'bilinear'", interpolation=interpolation)
        self.size = size
        self.data_format = _check_format(self, data_format)
        self.interpolation = interpolation
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        sh, sw = self.size
        if self.interpolation == "nearest":
            return inputs.repeat_interleave(sh, dim=1).repeat_interleave(sw, dim=2)
        x = inputs.permute(0, 3, 1, 2)
        out = F.interpolate(
            x, size=(x.shape[2] * sh, x.shape[3] * sw), mode="bilinear", align_corners=False
        )
        return out.permute(0, 2, 3, 1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        n, h, w, c = input_shape
        return (
            n,
            None if h is None else h * self.size[0],
            None if w is None else w * self.size[1],
            c,
        )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "size": self.size,
            "data_format": self.data_format,
            "interpolation": self.interpolation,
        }


def _pair_1d(layer: Layer, value: Any, arg: str) -> tuple[int, int]:
    """int | (left, right) of non-negative ints -> (left, right): steps at each end."""
    if _is_int(value):
        out: Any = (value, value)
    elif isinstance(value, Sequence) and len(value) == 2 and all(_is_int(v) for v in value):
        out = (value[0], value[1])
    else:
        out = None
    if out is None or min(out) < 0:
        raise _error(
            layer, f"{arg} as an int or (left, right) of non-negative ints", **{arg: value}
        )
    return out


@registry.register("layer", "ZeroPadding1D")
class ZeroPadding1D(Layer):
    """Add steps of zeros at the start and end of (batch, time, features) sequences."""

    def __init__(self, padding: Any = 1, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.padding = _pair_1d(self, padding, "padding")
        self.data_format = _check_format(self, data_format)
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.pad(inputs, (0, 0, *self.padding))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        n, t, c = input_shape
        return (n, None if t is None else t + sum(self.padding), c)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


@registry.register("layer", "Cropping1D")
class Cropping1D(Layer):
    """Remove steps from the start and end of (batch, time, features) sequences."""

    def __init__(self, cropping: Any = (1, 1), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cropping = _pair_1d(self, cropping, "cropping")
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape: tuple) -> None:
        steps = input_shape[1]
        if steps is not None and steps - sum(self.cropping) <= 0:
            raise _error(
                self,
                f"a sequence longer than the cropping {self.cropping}",
                input_shape=tuple(input_shape),
            )

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        start, end = self.cropping
        steps = inputs.shape[1]
        if steps - start - end <= 0:
            raise _error(
                self,
                f"a sequence longer than the cropping {self.cropping}",
                input_shape=(None, *inputs.shape[1:]),
            )
        return inputs[:, start : steps - end, :]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        n, t, c = input_shape
        return (n, None if t is None else t - sum(self.cropping), c)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": self.cropping}


@registry.register("layer", "UpSampling1D")
class UpSampling1D(Layer):
    """Repeat each step `size` times along the time axis: (N, T, C) -> (N, T * size, C)."""

    def __init__(self, size: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not _is_int(size) or size <= 0:
            raise _error(self, "size a positive int", size=size)
        self.size = size
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs.repeat_interleave(self.size, dim=1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        n, t, c = input_shape
        return (n, None if t is None else t * self.size, c)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": self.size}
