"""Keras 3's `LossScaleOptimizer`: dynamic loss scaling around another optimizer.

The loss is multiplied by a scale before backward (float16 gradients stay out of the
underflow range); the update divides the gradients by it. A step with an Inf/NaN gradient
is skipped and halves the scale; `dynamic_growth_steps` finite steps in a row double it.

    opt = optimizers.LossScaleOptimizer(optimizers.Adam(1e-3), initial_scale=2.0**15)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from lamina import registry
from lamina.optimizers.base import Optimizer
from lamina.optimizers.serialization import deserialize, serialize
from lamina.optimizers.wrapper import WrapperOptimizer

# Keras's base-optimizer arguments LossScaleOptimizer refuses (set them on the inner one).
_REFUSED = {
    "weight_decay": None,
    "clipnorm": None,
    "global_clipnorm": None,
    "clipvalue": None,
    "use_ema": False,
    "ema_momentum": 0.99,
    "ema_overwrite_frequency": None,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
}
# Keys under which the scale rides in the first saved param group (the saving format
# keeps torch's param groups as JSON; see state_dict).
_SCALE, _COUNTER = "lamina_loss_scale", "lamina_loss_scale_steps"


@registry.register("optimizer", "LossScaleOptimizer", "loss_scale_optimizer")
class LossScaleOptimizer(WrapperOptimizer):
    """Dynamic loss scaling around `inner_optimizer` (Keras's arguments and defaults).

    `learning_rate` and `iterations` are the inner optimizer's; a skipped step does not
    count. `dynamic=False` is refused as in Keras (set `loss_scale_factor` on the inner
    optimizer instead).
    """

    def __init__(
        self,
        inner_optimizer: Optimizer,
        initial_scale: float = 2.0**15,
        dynamic_growth_steps: int = 2000,
        name: str | None = None,
        **kwargs: Any,
    ):
        if not isinstance(inner_optimizer, Optimizer):
            raise TypeError(
                f"LossScaleOptimizer expected a Lamina Optimizer as inner_optimizer, received: "
                f"inner_optimizer={inner_optimizer!r}"
            )
        if not kwargs.pop("dynamic", True):
            raise ValueError(
                "LossScaleOptimizer expected dynamic=True (dynamic=False is gone in Keras 3: set "
                "loss_scale_factor on the inner optimizer), received: dynamic=False"
            )
        for key, default in _REFUSED.items():
            if key in kwargs and kwargs.pop(key) != default:
                raise ValueError(
                    f"LossScaleOptimizer expected no {key} (set it on the inner optimizer), "
                    f"received: {key}={kwargs.get(key)!r}"
                )
        if kwargs:
            raise ValueError(
                f"LossScaleOptimizer expected known arguments, received: {sorted(kwargs)}"
            )
        self.inner_optimizer = inner_optimizer
        super().__init__(name=name)
        self.initial_scale = float(initial_scale)
        if isinstance(dynamic_growth_steps, bool) or int(dynamic_growth_steps) < 1:
            raise ValueError(
                f"LossScaleOptimizer expected dynamic_growth_steps >= 1, received: "
                f"dynamic_growth_steps={dynamic_growth_steps!r}"
            )
        self.dynamic_growth_steps = int(dynamic_growth_steps)
        inner_optimizer.loss_scale_factor = None
        self.dynamic_scale = torch.tensor(self.initial_scale, dtype=torch.float32)
        self.step_counter = torch.zeros((), dtype=torch.int64)
        self._applied = False

    def _inners(self) -> list[Optimizer]:
        return [self.inner_optimizer]

    # -------------------------------------------------------------- delegation
    @property
    def learning_rate(self) -> float:
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        if self._wrapping:
            self.inner_optimizer.learning_rate = value

    @property
    def iterations(self) -> torch.Tensor:
        return self.inner_optimizer.iterations

    @iterations.setter
    def iterations(self, value: Any) -> None:
        pass  # the inner optimizer counts

    @property
    def _steps(self) -> int:
        return self.inner_optimizer._steps

    @_steps.setter
    def _steps(self, value: int) -> None:
        pass

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return self.inner_optimizer.param_groups

    # ------------------------------------------------------------------ build
    def build(self, params: Iterable[torch.Tensor]) -> None:
        params = list({id(p): p for p in params}.values())
        self._params = params
        if params:
            device = params[0].device
            self.dynamic_scale = self.dynamic_scale.to(device)
            self.step_counter = self.step_counter.to(device)
        self.inner_optimizer.build(params)

    # ------------------------------------------------------------------- step
    def scale_loss(self, loss: torch.Tensor) -> torch.Tensor:
        """The loss times the current dynamic scale."""
        return loss * (self.dynamic_scale if self.built else self.initial_scale)

    def update(self, constraints: Iterable[Any] = ()) -> None:
        """Unscale and update when every gradient is finite; else skip and halve the scale."""
        grads = [p.grad for p in self._params or [] if p.grad is not None]
        finite = (
            bool(torch.stack([torch.isfinite(g).all() for g in grads]).all()) if grads else True
        )
        self._applied = finite
        if not finite:
            self.step_counter.zero_()
            self.dynamic_scale.mul_(0.5)
            return
        for g in grads:
            g.div_(self.dynamic_scale.to(g.dtype))
        self.inner_optimizer.update(constraints)
        if int(self.step_counter) == self.dynamic_growth_steps - 1:
            self.step_counter.zero_()
            self.dynamic_scale.mul_(2.0)
        else:
            self.step_counter.add_(1)

    def count_step(self) -> None:
        if self._applied:
            self.inner_optimizer.count_step()

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        state = self.inner_optimizer.state_dict()
        torch_state = state.get("torch")
        if torch_state is not None and torch_state.get("param_groups"):
            groups = [dict(g) for g in torch_state["param_groups"]]
            groups[0][_SCALE] = float(self.dynamic_scale)
            groups[0][_COUNTER] = int(self.step_counter)
            state["torch"] = {**torch_state, "param_groups": groups}
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        torch_state = state.get("torch")
        if torch_state is not None and torch_state.get("param_groups"):
            groups = [dict(g) for g in torch_state["param_groups"]]
            if _SCALE in groups[0]:
                self.dynamic_scale.fill_(float(groups[0].pop(_SCALE)))
                self.step_counter.fill_(int(groups[0].pop(_COUNTER, 0)))
            state = {**state, "torch": {**torch_state, "param_groups": groups}}
        self.inner_optimizer.load_state_dict(state)

    # ----------------------------------------------------------------- config
    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "inner_optimizer": serialize(self.inner_optimizer),
            "initial_scale": self.initial_scale,
            "dynamic_growth_steps": self.dynamic_growth_steps,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LossScaleOptimizer:
        config = dict(config)
        inner = config.pop("inner_optimizer")
        return cls(deserialize(inner) if isinstance(inner, dict) else inner, **config)
