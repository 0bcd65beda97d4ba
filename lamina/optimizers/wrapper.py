"""The base of optimizers that hand the update to inner optimizers (LossScaleOptimizer,
MultiOptimizer): no torch optimizer of their own, the engine's calls passed on.

The engine drives every optimizer through `build`, `scale_loss`, `step` (or, after a
compiled step, `before_update`, `update`, `count_step`), `zero_grad`, `state_dict` and
`finalize_variable_values`; a wrapper implements them over `_inners()`. It has no
traced rule, so a compiled step computes the gradients and the update runs eagerly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lamina.optimizers.base import Optimizer


class WrapperOptimizer(Optimizer):
    """An optimizer whose updates are its inner optimizers' (see the module docstring)."""

    def __init__(self, name: str | None = None, loss_scale_factor: float | None = None) -> None:
        self._wrapping = False  # the base __init__ sets a rate of its own: not passed on
        super().__init__(0.0, loss_scale_factor=loss_scale_factor, name=name)
        self._wrapping = True

    def _inners(self) -> list[Optimizer]:
        raise NotImplementedError

    def step(self, constraints: Iterable[Any] = ()) -> None:
        if self._params is None:
            raise RuntimeError(
                f"Optimizer '{self.name}' expected build(params) before step(), received: an "
                "unbuilt optimizer"
            )
        self.before_update()
        self.update(constraints)
        self.count_step()

    def before_update(self) -> None:
        for inner in self._inners():
            inner.before_update()

    def use_tensor_lr(self) -> bool:
        return False

    def rates_ahead(self, n: int) -> list[float] | None:
        return None

    def bind_state(self) -> None:
        for inner in self._inners():
            inner.bind_state()

    def _mutates_grads(self) -> bool:
        return True

    def finalize_variable_values(self, var_list: Iterable[Any]) -> None:
        variables = list(var_list)
        for inner in self._inners():
            mine = {id(p) for p in inner._params or []}
            inner.finalize_variable_values([v for v in variables if id(v) in mine])
