"""The Metric contract and the reductions every other metric builds on.

A `Metric` keeps a few state tensors that are all SUMS (totals, counts,
confusion counts): `update_state` adds to them with pure tensor ops (no
`.item()`, no host sync, so it can run inside `torch.compile`), `result()`
combines them, and distributed training can `all_reduce(SUM)` the
`state_tensors()` of every rank and still get the right `result()`.
`Sum` and `Mean` reduce values; `MeanMetricWrapper` averages a per-sample function.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import torch

from lamina import config, initializers, registry
from lamina.losses import _same_rank
from lamina.random.dtypes import to_torch_dtype
from lamina.variables import NonTrainableVariable, VariableMethods

Tensor = torch.Tensor


def _register(*names: str) -> Callable[[Any], Any]:
    return registry.register("metric", *names)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _tensor(x: Any, device: torch.device | None = None) -> Tensor:
    """A detached tensor (metrics never carry gradients) on `device`."""
    t = x.detach() if torch.is_tensor(x) else torch.as_tensor(x)
    return t if device is None or t.device == device else t.to(device)


_AGGREGATIONS = frozenset({"none", "mean", "sum", "only_first_replica"})  # Keras's


def _move_in_place(variable: Tensor, device: torch.device) -> None:
    """Put `variable` on `device` as the same Python object, so user references stay live."""
    moved = variable.detach().to(device)
    try:
        variable.data = moved  # as nn.Module moves parameters (e.g. CPU <-> CUDA)
    except RuntimeError:  # device types set_data refuses (e.g. meta): swap the contents
        torch.utils.swap_tensors(variable, moved.as_subclass(type(variable)))


def _div(a: Tensor, b: Tensor) -> Tensor:
    """a / b, 0 where b == 0 (Keras's divide_no_nan), without a host sync."""
    return torch.where(b != 0, a / torch.where(b != 0, b, torch.ones_like(b)), torch.zeros_like(a))


class Metric:
    """Base class: declare states with `add_state` (Lamina) or `add_variable` (Keras 3),
    then implement `update_state`/`result`.

    States are created on the CPU and follow the data to its device on the first
    `update_state` (or `to(device)`). Updates and `reset_state` work in place, so
    the tensors of `state_tensors()` stay the live states (and normal tensors, even
    when updated under `torch.inference_mode`). A Keras variable keeps its identity
    when it moves, so the attribute a user metric stored it in stays live.
    """

    def __init__(self, dtype: str | torch.dtype | None = None, name: str | None = None):
        self.name = name or _snake(type(self).__name__)
        self._dtype_arg = dtype if not isinstance(dtype, torch.dtype) else str(dtype)[6:]
        self.dtype = config.torch_dtype(dtype)
        self._states: dict[str, tuple[int, ...]] = {}
        self._aggregations: dict[str, str] = {}
        self._device = torch.device("cpu")

    def add_state(self, name: str, shape: tuple[int, ...] = ()) -> None:
        """A zero-initialised SUM state `self.<name>` of `shape`."""
        self._states[name] = tuple(shape)
        with torch.inference_mode(False):  # normal tensors, even if built during evaluate()
            setattr(self, name, torch.zeros(shape, dtype=self.dtype, device=self._device))

    def add_variable(
        self,
        shape: tuple[int, ...] = (),
        initializer: Any = "zeros",
        dtype: Any = None,
        aggregation: str = "sum",
        name: str | None = None,
    ) -> NonTrainableVariable:
        """A Keras 3 metric variable: a state with `assign`/`assign_add`/`value`/`numpy()`.

        It is one of `state_tensors()` (saved with the training state, moved by `to()`,
        zeroed by the default `reset_state`); `aggregation` is reported by
        `state_aggregations()` for the cross-replica reduction.
        """
        if aggregation not in _AGGREGATIONS:
            raise ValueError(
                f"Expected aggregation to be one of {sorted(_AGGREGATIONS)} in metric "
                f"'{self.name}', received: aggregation={aggregation!r}"
            )
        if not hasattr(self, "_states"):
            raise RuntimeError(
                f"Expected super().__init__() to be called in {type(self).__name__}.__init__ "
                "before add_variable, received: no Metric state"
            )
        shape = tuple(int(d) for d in shape)
        torch_dtype = config.torch_dtype(None) if dtype is None else to_torch_dtype(dtype)
        with torch.inference_mode(False):  # a normal tensor, even if built during evaluate()
            init = initializers.get("zeros" if initializer is None else initializer)
            value = torch.as_tensor(init(shape, dtype=torch_dtype)).to(torch_dtype)
            variable = value.to(self._device).as_subclass(NonTrainableVariable)
        key = f"_variable_{len(self._states)}_{name or 'variable'}"  # its name in saved states
        self._states[key] = shape
        self._aggregations[key] = aggregation
        setattr(self, key, variable)
        return variable

    def add_weight(
        self,
        shape: tuple[int, ...] = (),
        initializer: Any = None,
        dtype: Any = None,
        name: str | None = None,
    ) -> NonTrainableVariable:
        """Keras's alias of `add_variable` (sum aggregation; no initializer means zeros).

        Keras 2's name-first form, `add_weight("total", initializer=...)`, works too."""
        if isinstance(shape, str):
            name = shape if name is None else name
            shape = ()
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, name=name)

    @property
    def variables(self) -> list[Tensor]:
        """The metric's states (Keras's `metric.variables`): its variables and Lamina states."""
        return self.state_tensors()

    def to(self, device: torch.device | str) -> Metric:
        """Move the states to `device` (the engine calls this once before training)."""
        device = torch.device(device)
        if device != self._device:
            with torch.inference_mode(False):
                for n in self._states:
                    state = getattr(self, n)
                    if isinstance(state, VariableMethods):
                        _move_in_place(state, device)
                    else:
                        setattr(self, n, state.to(device))
            self._device = device
        for sub in self._sub_metrics():
            sub.to(device)
        return self

    def _sub_metrics(self) -> list[Metric]:
        """Metrics a composite (user) metric holds in its attributes, directly or in a
        list: their states are this metric's too, as Keras tracks them."""
        found: list[Metric] = []
        for value in vars(self).values():
            for item in value if isinstance(value, (list, tuple)) else (value,):
                if isinstance(item, Metric) and item is not self and item not in found:
                    found.append(item)
        return found

    def _add(self, name: str, value: Any) -> None:
        """Accumulate in place (a normal tensor stays normal under inference_mode)."""
        getattr(self, name).add_(value)

    def _follow(self, t: Tensor) -> None:
        if t.device != self._device:
            self.to(t.device)

    def update_state(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def result(self) -> Tensor:
        raise NotImplementedError

    def reset_state(self) -> None:
        """Zero every state (Keras's default), the held metrics' states included."""
        for n in self._states:
            getattr(self, n).zero_()
        for sub in self._sub_metrics():
            sub.reset_state()

    def state_tensors(self) -> list[Tensor]:
        """The state tensors (all sums), in a fixed order, for all_reduce(SUM): this
        metric's, then those of the metrics it holds."""
        own = [getattr(self, n) for n in self._states]
        return own + [t for sub in self._sub_metrics() for t in sub.state_tensors()]

    def state_aggregations(self) -> list[str]:
        """How each of `state_tensors()` combines across replicas (Keras's `aggregation`):
        'sum' for Lamina's states and by default, else what `add_variable` was given."""
        own = [self._aggregations.get(n, "sum") for n in self._states]
        return own + [a for sub in self._sub_metrics() for a in sub.state_aggregations()]

    def __call__(self, *args: Any, **kwargs: Any) -> Tensor:
        """Update with one batch and return the running result (as Keras)."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self._dtype_arg}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def _samplewise(values: Tensor, sample_weight: Any, reduce: Callable) -> tuple[Tensor, Any]:
    """Keras's reduce_to_samplewise_values: per-sample values times their weights."""
    if sample_weight is not None and not isinstance(sample_weight, (int, float)):
        sw = _tensor(sample_weight, values.device).to(values.dtype)
        values, sw = _same_rank(values, sw)
        if values.ndim > sw.ndim:
            values = reduce(values, dim=tuple(range(sw.ndim, values.ndim)))
        sw = sw.broadcast_to(values.shape)
        values = values * sw
        if sw.ndim > 1:
            sw = reduce(sw, dim=tuple(range(1, sw.ndim)))
        sample_weight = sw
    elif sample_weight is not None:
        values = values * float(sample_weight)
    if values.ndim > 1:
        values = reduce(values, dim=tuple(range(1, values.ndim)))
    return values, sample_weight


@_register("Sum", "sum")
class Sum(Metric):
    """The (weighted) sum of the values seen."""

    def __init__(self, name: str = "sum", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        self.add_state("total")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        values = _tensor(values).to(self.dtype)
        self._follow(values)
        values, _ = _samplewise(values, sample_weight, torch.sum)
        self._add("total", values.sum())

    def result(self) -> Tensor:
        return self.total.clone()


@_register("Mean", "mean")
class Mean(Metric):
    """The (weighted) running mean; the engine tracks the loss with it.

    `update_state(batch_loss, sample_weight=batch_size)` weighs each batch by its size.
    """

    def __init__(self, name: str = "mean", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        self.add_state("total")
        self.add_state("count")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        if (
            isinstance(values, Tensor)
            and values.ndim <= 1
            and values.dtype == self.total.dtype
            and values.device == self._device
            and (sample_weight is None or (values.ndim == 0 and isinstance(sample_weight, int)))
        ):
            # The hot path (the engine's loss tracker, unweighted accuracy): two in-place adds.
            weight = 1 if sample_weight is None else sample_weight
            self.total.add_((values.sum() if values.ndim else values).detach(), alpha=weight)
            self.count.add_(values.numel() * weight)
            return
        values = _tensor(values).to(self.dtype)
        self._follow(values)
        values, sw = _samplewise(values, sample_weight, torch.mean)
        self._add("total", values.sum())
        if sw is None:
            count: Any = values.shape[0] if values.ndim >= 1 else 1
        elif isinstance(sw, (int, float)):
            count = float(sw) * (values.shape[0] if values.ndim >= 1 else 1)
        else:
            count = sw.sum()
        self._add("count", count)

    def result(self) -> Tensor:
        return _div(self.total, self.count)


@_register("MeanMetricWrapper")
class MeanMetricWrapper(Mean):
    """The mean of `fn(y_true, y_pred, **kwargs)` (per-sample values) over all samples."""

    def __init__(
        self, fn: Callable[..., Tensor], name: str | None = None, dtype: Any = None, **kwargs
    ):
        if isinstance(fn, str):
            fn = registry.get("loss_function", fn)
        super().__init__(name=name or "mean_metric_wrapper", dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = _tensor(y_pred)
        y_true = _tensor(y_true, y_pred.device)
        super().update_state(self._fn(y_true, y_pred, **self._fn_kwargs), sample_weight)

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), **self._fn_kwargs}
        if type(self) is MeanMetricWrapper:
            config["fn"] = getattr(self._fn, "__name__", repr(self._fn))
        return config
