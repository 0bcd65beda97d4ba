"""`TorchOptimizer`: any `torch.optim` optimizer behind Lamina's optimizer API."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

import torch

from lamina import registry
from lamina.optimizers.base import Optimizer
from lamina.runtime.optim_without_dynamo import construct_optimizer


@registry.register("optimizer", "TorchOptimizer")
class TorchOptimizer(Optimizer):
    """Any `torch.optim` optimizer in Lamina's contract: an instance, or a class and its arguments.

        model.compile(optimizer=torch.optim.SGD(model.parameters(), lr=0.1), loss="mse")
        model.compile(optimizer=TorchOptimizer(torch.optim.RAdam, lr=1e-3), loss="mse")

    Clipping, the moving average (`use_ema`), `loss_scale_factor` and `learning_rate`
    (floats or schedules) work as for Keras optimizers; `weight_decay` and everything else
    is the torch optimizer's own business (its own arguments).
    """

    _owns_groups = False

    def __init__(
        self,
        optimizer: Any,
        learning_rate: Any = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        name: str | None = None,
        **torch_kwargs: Any,
    ):
        instance = optimizer if isinstance(optimizer, torch.optim.Optimizer) else None
        cls = type(optimizer) if instance is not None else optimizer
        if isinstance(cls, str):
            cls = getattr(torch.optim, cls, None)
        if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
            raise TypeError(
                f"Expected a torch.optim.Optimizer instance or class, received: optimizer={optimizer!r}"
            )
        self._torch_class, self._torch_kwargs = cls, torch_kwargs
        if learning_rate is None:
            default = inspect.signature(cls).parameters.get("lr")
            learning_rate = (
                instance.param_groups[0]["lr"]
                if instance is not None
                else torch_kwargs.get("lr", default.default if default else 0.001)
            )
        torch_kwargs.pop("lr", None)
        accepted = inspect.signature(cls).parameters
        for key in torch_kwargs:
            if key not in accepted:
                hint = registry.closest(key, accepted)
                raise TypeError(
                    f"Expected arguments of {cls.__name__}, received: {key}={torch_kwargs[key]!r}."
                    + (f" Did you mean: {', '.join(repr(h) for h in hint)}?" if hint else "")
                )
        self._owns_groups = instance is None
        super().__init__(
            float(learning_rate)
            if isinstance(learning_rate, (int, torch.Tensor))
            else learning_rate,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            name=name or cls.__name__.lower(),
        )
        if instance is not None:
            self._torch = instance
            self._params = [p for g in instance.param_groups for p in g["params"]]
            if self.ema is not None:
                self.ema.build(self._params, None)

    def _make_torch(self, params: list[torch.Tensor], lr: float) -> Any:
        return construct_optimizer(self._torch_class, params, lr=lr, **self._torch_kwargs)

    def _torch_hparams(self) -> dict[str, Any]:
        return dict(self._torch_kwargs)

    def build(self, params: Iterable[torch.Tensor]) -> None:
        """Build from a class; an instance keeps its own parameters (checked to be the model's)."""
        if self._owns_groups:
            return super().build(params)
        mine = {id(p) for p in self._params or []}
        params = list(params)
        if params and not any(id(p) in mine for p in params):
            raise ValueError(
                f"Optimizer '{self.name}' expected a torch optimizer over the model's parameters, "
                f"received: one holding none of the {len(params)} trainable parameters"
            )

    def get_config(self) -> dict[str, Any]:
        kwargs = self._torch_kwargs if self._owns_groups else dict(self._torch.defaults)
        kwargs = {k: v for k, v in kwargs.items() if k != "lr"}
        config = super().get_config()
        config.pop("weight_decay", None)
        return {"optimizer": self._torch_class.__name__, **config, **kwargs}
