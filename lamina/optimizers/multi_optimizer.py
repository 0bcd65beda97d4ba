"""Keras 3's `MultiOptimizer`: each variable updated by the optimizer its map picks.

    opt = optimizers.MultiOptimizer(
        optimizers.OptimizerMap(optimizers.SGD(0.1), {"encoder/.*": optimizers.Adam()}))

The map is an `OptimizerMap` (by variable path, `variable_paths.tag_paths`) or any
callable from a variable to an optimizer. Each inner optimizer is built on its own
variables and keeps its own rate, schedule and state; `learning_rate` on the
MultiOptimizer itself is an error, as in Keras.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from lamina import registry
from lamina.optimizers.base import Optimizer
from lamina.optimizers.optimizer_map import OptimizerMap, check_member
from lamina.optimizers.variable_paths import tag_owner_paths
from lamina.optimizers.wrapper import WrapperOptimizer

_INDEX = "lamina_optimizer"  # which inner optimizer a saved param group belongs to


@registry.register("optimizer", "MultiOptimizer", "multi_optimizer")
class MultiOptimizer(WrapperOptimizer):
    """Delegates each variable to the optimizer `optimizer_map(variable)` returns.

    `loss_scale_factor`, when given, is set on every inner optimizer too (Keras).
    `optimizers` lists the inner optimizers in first-use order.
    """

    def __init__(
        self, optimizer_map: Any, loss_scale_factor: float | None = None, name: str | None = None
    ):
        if not callable(optimizer_map):
            raise TypeError(
                f"MultiOptimizer expected an OptimizerMap or a callable, received: "
                f"optimizer_map={optimizer_map!r}"
            )
        self._optimizer_map = optimizer_map
        self._inner_optimizers: list[Optimizer] = []
        super().__init__(name=name, loss_scale_factor=loss_scale_factor)
        found = list(optimizer_map.values()) if isinstance(optimizer_map, OptimizerMap) else []
        if isinstance(optimizer_map, OptimizerMap):
            found.append(optimizer_map.default_optimizer)
        for opt in found:
            self._adopt(opt)
        self._groups: list[list[torch.Tensor]] = []

    def _adopt(self, opt: Any) -> int:
        check_member(opt, "MultiOptimizer")
        for i, known in enumerate(self._inner_optimizers):
            if known is opt:
                return i
        opt.loss_scale_factor = self.loss_scale_factor
        self._inner_optimizers.append(opt)
        return len(self._inner_optimizers) - 1

    def _inners(self) -> list[Optimizer]:
        return list(self._inner_optimizers)

    @property
    def optimizers(self) -> list[Optimizer]:
        return list(self._inner_optimizers)

    @property
    def learning_rate(self) -> float:
        raise AttributeError(
            "MultiOptimizer has no single learning_rate: read it on the inner optimizers "
            "(MultiOptimizer.optimizers)."
        )

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        if self._wrapping:
            raise AttributeError(
                "MultiOptimizer has no single learning_rate: set it on the inner optimizers "
                "(MultiOptimizer.optimizers)."
            )
        self._lr = value

    @property
    def loss_scale_factor(self) -> float | None:
        return self.__dict__.get("_loss_scale_factor")

    @loss_scale_factor.setter
    def loss_scale_factor(self, value: float | None) -> None:
        self.__dict__["_loss_scale_factor"] = value
        for opt in self.__dict__.get("_inner_optimizers", []):
            opt.loss_scale_factor = value

    # ------------------------------------------------------------------ build
    def build(self, params: Iterable[torch.Tensor]) -> None:
        """Ask the map for each variable's optimizer and build each on its variables."""
        params = list({id(p): p for p in params}.values())
        if self._params is not None and [id(p) for p in params] == [id(p) for p in self._params]:
            return
        tag_owner_paths(self, params)
        groups: list[list[torch.Tensor]] = [[] for _ in self._inner_optimizers]
        for p in params:
            index = self._adopt(self._optimizer_map(p))
            groups += [[] for _ in range(len(self._inner_optimizers) - len(groups))]
            groups[index].append(p)
        self._params, self._groups = params, groups
        for opt, group in zip(self._inner_optimizers, groups):
            if group:
                opt.build(group)

    # ------------------------------------------------------------------- step
    def update(self, constraints: Iterable[Any] = ()) -> None:
        busy = [
            opt
            for opt, group in zip(self._inner_optimizers, self._groups)
            if any(p.grad is not None for p in group)
        ]
        for k, opt in enumerate(busy):  # the constraints project once, after every update
            opt.update(constraints if k == len(busy) - 1 else ())
        self._busy = busy

    def count_step(self) -> None:
        for opt in getattr(self, "_busy", []):
            opt.count_step()
        self._busy = []
        self.iterations.add_(1)
        self._steps += 1

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """The inner optimizers' torch states merged, indexed by this optimizer's variables;
        each param group carries the index of its optimizer."""
        index = {id(p): i for i, p in enumerate(self._params or [])}
        merged: dict[str, Any] = {"state": {}, "param_groups": []}
        for k, (opt, group) in enumerate(zip(self._inner_optimizers, self._groups)):
            inner = opt.state_dict().get("torch")
            if not group or inner is None:
                continue
            for local, slots in inner["state"].items():
                merged["state"][index[id(group[local])]] = slots
            for g in inner["param_groups"]:
                params = [index[id(group[i])] for i in g["params"]]
                merged["param_groups"].append({**g, "params": params, _INDEX: k})
        return {"iterations": self._steps, "learning_rate": None, "torch": merged, "ema": None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._steps = int(state.get("iterations", 0))
        self.iterations.fill_(self._steps)
        merged = state.get("torch")
        for k, (opt, group) in enumerate(zip(self._inner_optimizers, self._groups)):
            inner: dict[str, Any] = {"state": {}, "param_groups": []}
            global_to_local = {}
            for g in (merged or {}).get("param_groups", []):
                if g.get(_INDEX) != k:
                    continue
                params = []
                for i in g["params"]:
                    global_to_local[i] = len(global_to_local)
                    params.append(global_to_local[i])
                rest = {key: v for key, v in g.items() if key != _INDEX}
                inner["param_groups"].append({**rest, "params": params})
            for i, slots in (merged or {}).get("state", {}).items():
                if int(i) in global_to_local:
                    inner["state"][global_to_local[int(i)]] = slots
            if group:
                torch_state = inner if inner["param_groups"] else None
                opt.load_state_dict({"iterations": self._steps, "torch": torch_state})

    # ----------------------------------------------------------------- config
    def get_config(self) -> dict[str, Any]:
        mapping = self._optimizer_map
        if isinstance(mapping, OptimizerMap):
            serialized: Any = {"class_name": "OptimizerMap", "config": mapping.get_config()}
        else:
            serialized = getattr(mapping, "__qualname__", repr(mapping))
        return {
            "optimizer_map": serialized,
            "loss_scale_factor": self.loss_scale_factor,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MultiOptimizer:
        config = dict(config)
        mapping = config["optimizer_map"]
        if isinstance(mapping, dict):
            mapping = registry.get("optimizer_map", mapping["class_name"]).from_config(
                mapping["config"]
            )
        elif not callable(mapping):
            raise ValueError(
                f"MultiOptimizer expected a serialized OptimizerMap to rebuild, received: "
                f"optimizer_map={mapping!r} (a function map cannot be saved; pass it again)"
            )
        config["optimizer_map"] = mapping
        return cls(**config)
