"""Merge layers: combine a list of tensors (Add, Subtract, Multiply, Average, Maximum, Minimum,
Concatenate, Dot).

Element-wise merges follow Keras's broadcasting: inputs of lower rank get size-1
axes inserted after the batch axis, then sizes of 1 broadcast.

    a, b = Input(shape=(16,)), Input(shape=(16,))
    s = Add()([a, b])                    # or a + b
    c = Concatenate()([a, b])            # (None, 32)
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce
from typing import Any

import torch
import torch.nn.functional as F

from lamina import registry
from lamina.layers.base import Layer


def _error(layer: Layer, expected: str, **received: Any) -> ValueError:
    got = ", ".join(f"{k}={v!r}" for k, v in received.items())
    return ValueError(
        f"Layer '{layer.name}' ({type(layer).__name__}) expected {expected}, received: {got}"
    )


def _is_shape(s: Any) -> bool:
    return isinstance(s, (tuple, list, torch.Size)) and all(
        d is None or isinstance(d, int) for d in s
    )


def _mask_list(layer: Layer, inputs: Any, mask: Any) -> list[Any] | None:
    """The masks of a merge's inputs as a list (None when there are none)."""
    if mask is None:
        return None
    if not isinstance(mask, (list, tuple)) or not isinstance(inputs, (list, tuple)):
        raise _error(layer, "a list of masks, one per input", mask=type(mask).__name__)
    if len(mask) != len(inputs):
        raise _error(layer, f"{len(inputs)} masks, one per input", num_masks=len(mask))
    return list(mask)


class _Merge(Layer):
    """Checks that the input is a list of shapes that broadcast together.

    Masks combine as in Keras: element-wise merges keep a step that any input keeps
    (and drop the mask when an input has none)."""

    min_inputs = 1
    max_inputs: int | None = None
    supports_masking = True
    _creates_mask = False  # no input masks: no output mask

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        masks = _mask_list(self, inputs, mask)
        if masks is None or any(m is None for m in masks):
            return None
        return reduce(torch.logical_or, masks)

    def _shapes(self, input_shape: Any) -> list[tuple]:
        if _is_shape(input_shape) or not isinstance(input_shape, (list, tuple)):
            raise _error(
                self, "a list of tensors (call it as Layer()([a, b]))", input_shape=input_shape
            )
        shapes = [tuple(s) for s in input_shape]
        n = len(shapes)
        if n < self.min_inputs or (self.max_inputs is not None and n > self.max_inputs):
            count = (
                f"exactly {self.max_inputs}"
                if self.max_inputs == self.min_inputs
                else f"at least {self.min_inputs}"
            )
            raise _error(self, f"{count} inputs", num_inputs=n, input_shape=shapes)
        return shapes

    def build(self, input_shape: Any) -> None:
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shapes = self._shapes(input_shape)
        rank = max(len(s) for s in shapes)
        out: list[int | None] = list(shapes[0][:1]) + [1] * (rank - 1)
        for s in shapes:
            s = s[:1] + (1,) * (rank - len(s)) + s[1:]
            for i in range(1, rank):
                a, b = out[i], s[i]
                if a == 1 or a is None and b != 1:
                    out[i] = b
                elif b not in (1, None, a):
                    raise _error(self, "input shapes that broadcast together", input_shape=shapes)
        return tuple(out)

    def _aligned(self, inputs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        rank = max(t.dim() for t in inputs)
        return [
            t if t.dim() == rank else t.reshape(t.shape[:1] + (1,) * (rank - t.dim()) + t.shape[1:])
            for t in inputs
        ]

    def call(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        if isinstance(inputs, torch.Tensor):
            raise _error(
                self,
                "a list of tensors (call it as Layer()([a, b]))",
                inputs=f"tensor {tuple(inputs.shape)}",
            )
        return self._merge(self._aligned(list(inputs)))

    def _merge(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError


@registry.register("layer", "Add")
class Add(_Merge):
    """Element-wise sum of the inputs."""

    def _merge(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        return reduce(torch.add, inputs)


@registry.register("layer", "Subtract")
class Subtract(_Merge):
    """inputs[0] - inputs[1] (exactly two inputs)."""

    min_inputs = max_inputs = 2

    def _merge(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        return inputs[0] - inputs[1]


@registry.register("layer", "Multiply")
class Multiply(_Merge):
    """Element-wise product of the inputs."""

    def _merge(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        return reduce(torch.mul, inputs)


@registry.register("layer", "Average")
class Average(_Merge):
    """Element-wise mean of the inputs."""

    def _merge(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        return reduce(torch.add, inputs) / len(inputs)


@registry.register("layer", "Maximum")
class Maximum(_Merge):
    """Element-wise maximum of the inputs."""

    def _merge(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        return reduce(torch.maximum, inputs)


@registry.register("layer", "Minimum")
class Minimum(_Merge):
    """Element-wise minimum of the inputs."""

    def _merge(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        return reduce(torch.minimum, inputs)


@registry.register("layer", "Concatenate")
class Concatenate(_Merge):
    """Join the inputs along `axis` (default the last); other axes must match."""

    _creates_mask = False

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise _error(self, "an integer axis", axis=axis)
        self.axis = axis

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shapes = self._shapes(input_shape)
        rank = len(shapes[0])
        if (
            any(len(s) != rank for s in shapes)
            or not -rank <= self.axis < rank
            or self.axis % rank == 0
        ):
            raise _error(
                self,
                f"inputs of equal rank concatenated on a non-batch axis={self.axis}",
                input_shape=shapes,
            )
        axis = self.axis % rank
        out = list(shapes[0])
        for s in shapes[1:]:
            for i in range(1, rank):
                if i == axis:
                    out[i] = None if out[i] is None or s[i] is None else out[i] + s[i]
                elif out[i] is None:
                    out[i] = s[i]
                elif s[i] is not None and s[i] != out[i]:
                    raise _error(
                        self,
                        f"inputs with matching shapes except on the concat axis={self.axis}",
                        input_shape=shapes,
                    )
        return tuple(out)

    def call(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        if isinstance(inputs, torch.Tensor):
            raise _error(
                self,
                "a list of tensors (call it as Layer()([a, b]))",
                inputs=f"tensor {tuple(inputs.shape)}",
            )
        return torch.cat(list(inputs), dim=self.axis)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """Keras's rule: unmasked inputs count as all kept, masks are widened to their
        input's shape, joined along `axis`, and a step is kept where any entry is."""
        masks = _mask_list(self, inputs, mask)
        if masks is None or all(m is None for m in masks):
            return None
        full = []
        for x, m in zip(inputs, masks):
            if m is None:
                full.append(torch.ones_like(x, dtype=torch.bool))
            elif m.dim() < x.dim():
                full.append(m.unsqueeze(-1) | torch.zeros_like(x, dtype=torch.bool))
            else:
                full.append(m.to(torch.bool))
        return torch.cat(full, dim=self.axis).any(dim=-1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


@registry.register("layer", "Dot")
class Dot(_Merge):
    """Per-sample dot product of two tensors along `axes` (cosine similarity if `normalize`).

    For (batch, d) inputs and axes=1 the output is (batch, 1).
    """

    min_inputs = max_inputs = 2
    _creates_mask = False

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return None  # as in Keras: a dot product has no steps left to mask

    def __init__(self, axes: int | Sequence[int], normalize: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        pair = (axes, axes) if isinstance(axes, int) else tuple(axes)
        if len(pair) != 2 or not all(isinstance(a, int) and not isinstance(a, bool) for a in pair):
            raise _error(self, "axes an int or a pair of ints", axes=axes)
        self.axes = axes if isinstance(axes, int) else list(axes)
        self.normalize = bool(normalize)

    def _pair(self, ranks: Sequence[int]) -> tuple[int, int]:
        pair = (self.axes, self.axes) if isinstance(self.axes, int) else tuple(self.axes)
        return tuple(a % r for a, r in zip(pair, ranks))  # type: ignore[return-value]

    def compute_output_shape(self, input_shape: Any) -> tuple:
        a, b = self._shapes(input_shape)
        ia, ib = self._pair((len(a), len(b)))
        if 0 in (ia, ib) or (a[ia] is not None and b[ib] is not None and a[ia] != b[ib]):
            raise _error(self, f"equal sizes on the non-batch axes={self.axes}", input_shape=[a, b])
        rest = [d for i, d in enumerate(a) if i not in (0, ia)] + [
            d for i, d in enumerate(b) if i not in (0, ib)
        ]
        return (a[0], *rest) if rest else (a[0], 1)

    def call(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        x, y = inputs
        ia, ib = self._pair((x.dim(), y.dim()))
        if self.normalize:
            x, y = F.normalize(x, dim=ia), F.normalize(y, dim=ib)
        xm = x.movedim(ia, -1)
        ym = y.movedim(ib, 1)
        out = torch.bmm(
            xm.reshape(x.shape[0], -1, xm.shape[-1]), ym.reshape(y.shape[0], ym.shape[1], -1)
        )
        shape = (*xm.shape[1:-1], *ym.shape[2:])
        return out.reshape(x.shape[0], *shape) if shape else out.reshape(x.shape[0], 1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}
