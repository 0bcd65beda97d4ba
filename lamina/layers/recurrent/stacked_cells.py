"""StackedRNNCells: several cells run as one, each feeding the next (Keras 3's class).

`RNN([cell_a, cell_b])` wraps its list in one. The state is a list with one entry per
cell (each a list of tensors or a tensor, as that cell takes it); the output is the last
cell's.

    layer = RNN(StackedRNNCells([LSTMCell(32), LSTMCell(16)]))
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lamina import registry
from lamina.layers.base import Layer
from lamina.layers.recurrent import nested_config
from lamina.layers.recurrent.cell_base import cell_error
from lamina.tree import map_structure


def check_cell(owner: Layer, cell: Any) -> None:
    """A cell has a `call` method and a `state_size` (Keras's contract)."""
    if not callable(getattr(cell, "call", None)):
        raise cell_error(owner, "a cell with a call(inputs, states) method", cell=cell)
    if getattr(cell, "state_size", None) is None:
        raise cell_error(owner, "a cell with a state_size (an int, or a list of ints)", cell=cell)


def call_cell(cell: Any, inputs: torch.Tensor, states: Any, training: bool) -> tuple[Any, Any]:
    """One step of `cell`, passing `training` when its `call` takes it."""
    if isinstance(cell, Layer):
        return cell(inputs, states, training=training)
    return cell.call(inputs, states)


def output_size(cell: Any) -> int:
    size = getattr(cell, "output_size", None)
    if size is not None:
        return int(size)
    state = cell.state_size
    return int(state[0] if isinstance(state, (list, tuple)) else state)


def initial_state(cell: Any, batch_size: int, like: torch.Tensor) -> list[Any]:
    """The cell's `get_initial_state(batch_size)`, else zeros of its `state_size`."""
    get = getattr(cell, "get_initial_state", None)
    if get is not None:
        state = get(batch_size=batch_size)
        state = list(state) if isinstance(state, (list, tuple)) else [state]
        return map_structure(lambda s: s.to(device=like.device, dtype=like.dtype), state)
    size = cell.state_size
    sizes = list(size) if isinstance(size, (list, tuple)) else [size]
    return [like.new_zeros(batch_size, int(s)) for s in sizes]


@registry.register("layer", "StackedRNNCells")
class StackedRNNCells(Layer):
    """Cells applied in sequence at each time step."""

    def __init__(self, cells: list[Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(cells, (str, bytes)) or not isinstance(cells, (list, tuple)) or not cells:
            raise cell_error(self, "a non-empty list of cells", cells=cells)
        owner = f"Layer '{self.name}' (StackedRNNCells)"
        cells = [nested_config.deserialize(c, owner=owner, dtype=self.dtype_name) for c in cells]
        for cell in cells:
            check_cell(self, cell)
        self.cells = nn.ModuleList(cells) if all(isinstance(c, nn.Module) for c in cells) else cells

    @property
    def state_size(self) -> list[Any]:
        return [c.state_size for c in self.cells]

    @property
    def output_size(self) -> int:
        return output_size(self.cells[-1])

    def get_initial_state(self, batch_size: int | None = None) -> list[Any]:
        states = []
        for cell in self.cells:
            get = getattr(cell, "get_initial_state", None)
            if get is not None:
                states.append(get(batch_size=batch_size))
            elif isinstance(cell.state_size, (list, tuple)):
                states.append(
                    [torch.zeros(batch_size or 1, s, dtype=self._dtype) for s in cell.state_size]
                )
            else:
                states.append(torch.zeros(batch_size or 1, cell.state_size, dtype=self._dtype))
        return states

    def build(self, input_shape: Any) -> None:
        shape = tuple(input_shape)
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell.__dict__["_build_device"] = getattr(self, "_build_device", None)
                cell._maybe_build(shape)
            shape = (shape[0], output_size(cell))

    def call(self, inputs: torch.Tensor, states: Any, training: bool = False) -> tuple[Any, Any]:
        new_states = []
        for cell, state in zip(self.cells, states):
            nested = isinstance(state, (list, tuple))
            inputs, state = call_cell(cell, inputs, list(state) if nested else [state], training)
            if not nested and isinstance(state, (list, tuple)) and len(state) == 1:
                state = state[0]
            new_states.append(state)
        return inputs, new_states

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return (input_shape[0], self.output_size)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cells": [nested_config.serialize(c) for c in self.cells]}

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None
    ) -> StackedRNNCells:
        config = dict(config)
        dtype = config.get("dtype")
        cells = [
            nested_config.deserialize(c, custom_objects, "StackedRNNCells", dtype)
            for c in config.pop("cells", [])
        ]
        return cls(cells, **config)
