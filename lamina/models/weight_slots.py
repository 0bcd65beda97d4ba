"""Put other tensors in a model's weight slots for one call, and put the weights back.

The compiled train step differentiates the loss with `torch.func.grad_and_value`,
which needs the layers to compute with the tensors it hands in, not with their own
`nn.Parameter`s. `torch.func.functional_call` does that swap in general, but Dynamo
traces its whole machinery (name resolution, pytree flattening, checks) on every
compile, most of the step's tracing. `WeightSlots` finds each weight's slots once,
outside tracing (every module and name holding it, so tied weights stay tied), and
the swap is then one dictionary store per slot. Buffers are swapped too: a layer may
update its buffer in place only when the transform received it as an argument.

    slots = WeightSlots(model, params + buffers)
    with slots.holding(tensors):   # same order
        y = model(x, training=True)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch


class WeightSlots:
    """Every (module, name) slot that holds one of `tensors` (weights or buffers), per tensor."""

    def __init__(self, model: torch.nn.Module, tensors: Sequence[torch.Tensor]) -> None:
        index = {id(t): i for i, t in enumerate(tensors)}
        self.params = list(tensors)
        self.slots: list[list[tuple[dict, str]]] = [[] for _ in tensors]
        for module in model.modules():
            for table in (module._parameters, module._buffers):
                for name, value in table.items():
                    i = index.get(id(value)) if value is not None else None
                    if i is not None:
                        self.slots[i].append((table, name))
        missing = [i for i, s in enumerate(self.slots) if not s]
        if missing:
            raise ValueError(
                "Expected every weight and buffer to belong to a module of the model, "
                f"received: {len(missing)} tensors outside it (first at index {missing[0]})"
            )

    @contextmanager
    def holding(self, tensors: Sequence[torch.Tensor]) -> Iterator[None]:
        """Within the block, the slots of the i-th tensor hold `tensors[i]` instead."""
        for slots, tensor in zip(self.slots, tensors):
            for table, name in slots:
                table[name] = tensor
        try:
            yield
        finally:
            for slots, param in zip(self.slots, self.params):
                for table, name in slots:
                    table[name] = param
