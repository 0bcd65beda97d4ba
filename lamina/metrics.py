"""Metrics by Keras name: streaming statistics updated batch by batch.

A `Metric` keeps a few state tensors that are all SUMS (totals, counts,
confusion counts): `update_state` adds to them with pure tensor ops (no
`.item()`, no host sync, so it can run inside `torch.compile`), `result()`
combines them, and distributed training can `all_reduce(SUM)` the
`state_tensors()` of every rank and still get the right `result()`.

    from lamina import metrics
    m = metrics.get("accuracy", loss="sparse_categorical_crossentropy")
    m.update_state(torch.tensor([1, 0]), torch.tensor([[0.2, 0.8], [0.6, 0.4]]))
    m.result()  # tensor(1.)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import torch

from lamina import config, losses, registry

Tensor = torch.Tensor


def _register(*names: str) -> Callable[[Any], Any]:
    return registry.register("metric", *names)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _tensor(x: Any, device: torch.device | None = None) -> Tensor:
    """A detached tensor (metrics never carry gradients) on `device`."""
    t = x.detach() if torch.is_tensor(x) else torch.as_tensor(x)
    return t if device is None or t.device == device else t.to(device)


def _div(a: Tensor, b: Tensor) -> Tensor:
    """a / b, 0 where b == 0 (Keras's divide_no_nan), without a host sync."""
    return torch.where(b != 0, a / torch.where(b != 0, b, torch.ones_like(b)), torch.zeros_like(a))


class Metric:
    """Base class: declare states with `add_state`, then implement `update_state`/`result`.

    States are created on the CPU and follow the data to its device on the first
    `update_state` (or `to(device)`). Updates and `reset_state` work in place, so
    the tensors of `state_tensors()` stay the live states (and normal tensors, even
    when updated under `torch.inference_mode`).
    """

    def __init__(self, name: str | None = None, dtype: str | torch.dtype | None = None):
        self.name = name or _snake(type(self).__name__)
        self._dtype_arg = dtype if not isinstance(dtype, torch.dtype) else str(dtype)[6:]
        self.dtype = config.torch_dtype(dtype)
        self._states: dict[str, tuple[int, ...]] = {}
        self._device = torch.device("cpu")

    def add_state(self, name: str, shape: tuple[int, ...] = ()) -> None:
        """A zero-initialised SUM state `self.<name>` of `shape`."""
        self._states[name] = tuple(shape)
        with torch.inference_mode(False):  # normal tensors, even if built during evaluate()
            setattr(self, name, torch.zeros(shape, dtype=self.dtype, device=self._device))

    def to(self, device: torch.device | str) -> Metric:
        """Move the states to `device` (the engine calls this once before training)."""
        device = torch.device(device)
        if device != self._device:
            with torch.inference_mode(False):
                for n in self._states:
                    setattr(self, n, getattr(self, n).to(device))
            self._device = device
        return self

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
        for n in self._states:
            getattr(self, n).zero_()

    def state_tensors(self) -> list[Tensor]:
        """The state tensors (all sums), in a fixed order, for all_reduce(SUM)."""
        return [getattr(self, n) for n in self._states]

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
        values, sw = losses._same_rank(values, sw)
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
        super().__init__(name=name or getattr(fn, "__name__", "mean"), dtype=dtype)
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


def _wrapper(class_name: str, fn: Callable[..., Tensor], *aliases: str, **defaults: Any) -> type:
    """Define and register a MeanMetricWrapper subclass named like Keras's."""
    order = [*defaults, "name", "dtype"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        bound = {**defaults, "name": fn.__name__, "dtype": None, **dict(zip(order, args)), **kwargs}
        unknown = set(bound) - set(order)
        if unknown:
            raise TypeError(
                f"Metric '{class_name}' expected arguments among {order}, received: {sorted(unknown)}"
            )
        name, dtype = bound.pop("name"), bound.pop("dtype")
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype, **bound)

    attrs = {"__init__": __init__, "__module__": __name__, "__doc__": f"Mean of {fn.__name__}."}
    cls = type(class_name, (MeanMetricWrapper,), attrs)
    return _register(class_name, fn.__name__, *aliases)(cls)


# ------------------------------------------------------------- accuracy


def _floatx(mask: Tensor) -> Tensor:
    return mask.to(config.torch_dtype(None))


def accuracy(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """1 where y_pred equals y_true exactly (element-wise)."""
    y_true, y_pred = losses._same_rank(_tensor(y_true, y_pred.device), y_pred)
    return _floatx(y_true.to(y_pred.dtype) == y_pred)


def binary_accuracy(y_true: Tensor, y_pred: Tensor, threshold: float = 0.5) -> Tensor:
    """1 where (y_pred > threshold) equals the 0/1 label (element-wise)."""
    y_true, y_pred = losses._same_rank(_tensor(y_true, y_pred.device), y_pred)
    return _floatx(y_true.to(y_pred.dtype) == (y_pred > threshold).to(y_pred.dtype))


def categorical_accuracy(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """1 where argmax(y_pred) equals argmax(one-hot y_true), per sample."""
    return _floatx(_tensor(y_true, y_pred.device).argmax(-1) == y_pred.argmax(-1))


def sparse_categorical_accuracy(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """1 where argmax(y_pred) equals the integer label ((N,) or (N, 1)), per sample."""
    labels = losses._labels(y_true, y_pred)
    return _floatx(labels == y_pred.argmax(-1).to(labels.dtype))


def _in_top_k(labels: Tensor, y_pred: Tensor, k: int) -> Tensor:
    """Keras's rule: the label's score is at least the k-th largest score (ties count)."""
    kth = y_pred.topk(min(k, y_pred.shape[-1]), dim=-1).values[..., -1:]
    return _floatx(y_pred.gather(-1, labels.long().unsqueeze(-1)) >= kth).squeeze(-1)


def top_k_categorical_accuracy(y_true: Tensor, y_pred: Tensor, k: int = 5) -> Tensor:
    """1 where the one-hot target is among the k highest scores."""
    return _in_top_k(_tensor(y_true, y_pred.device).argmax(-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true: Tensor, y_pred: Tensor, k: int = 5) -> Tensor:
    """1 where the integer label is among the k highest scores."""
    return _in_top_k(losses._labels(y_true, y_pred), y_pred, k)


Accuracy = _wrapper("Accuracy", accuracy)
BinaryAccuracy = _wrapper("BinaryAccuracy", binary_accuracy, threshold=0.5)
CategoricalAccuracy = _wrapper("CategoricalAccuracy", categorical_accuracy)
SparseCategoricalAccuracy = _wrapper("SparseCategoricalAccuracy", sparse_categorical_accuracy)
TopKCategoricalAccuracy = _wrapper("TopKCategoricalAccuracy", top_k_categorical_accuracy, k=5)
SparseTopKCategoricalAccuracy = _wrapper(
    "SparseTopKCategoricalAccuracy", sparse_top_k_categorical_accuracy, k=5
)

# ------------------------------------------------- regression, probabilistic

MeanSquaredError = _wrapper("MeanSquaredError", losses.mean_squared_error, "mse")
MeanAbsoluteError = _wrapper("MeanAbsoluteError", losses.mean_absolute_error, "mae")
MeanAbsolutePercentageError = _wrapper(
    "MeanAbsolutePercentageError", losses.mean_absolute_percentage_error, "mape"
)
MeanSquaredLogarithmicError = _wrapper(
    "MeanSquaredLogarithmicError", losses.mean_squared_logarithmic_error, "msle"
)
BinaryCrossentropy = _wrapper(
    "BinaryCrossentropy", losses.binary_crossentropy, from_logits=False, label_smoothing=0.0
)
CategoricalCrossentropy = _wrapper(
    "CategoricalCrossentropy",
    losses.categorical_crossentropy,
    from_logits=False,
    label_smoothing=0.0,
)
SparseCategoricalCrossentropy = _wrapper(
    "SparseCategoricalCrossentropy", losses.sparse_categorical_crossentropy, from_logits=False
)


@_register("RootMeanSquaredError", "root_mean_squared_error", "rmse")
class RootMeanSquaredError(Mean):
    """sqrt of the mean squared error over all samples seen."""

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = _tensor(y_pred)
        y_true, y_pred = losses._same_rank(_tensor(y_true, y_pred.device).to(y_pred.dtype), y_pred)
        super().update_state((y_pred - y_true).square(), sample_weight)

    def result(self) -> Tensor:
        return super().result().sqrt()


# ------------------------------------------------------------- resolution


def _loss_task(loss: Any) -> tuple[str | None, bool]:
    """('binary' | 'sparse' | 'categorical' | None, from_logits) of a loss argument."""
    try:
        obj = losses.get(loss) if loss is not None else None
    except (ValueError, TypeError, KeyError):
        return None, False
    fn = getattr(obj, "fn", None)
    from_logits = bool(getattr(obj, "from_logits", False))
    for task, fn_ in (
        ("binary", losses.binary_crossentropy),
        ("sparse", losses.sparse_categorical_crossentropy),
        ("categorical", losses.categorical_crossentropy),
    ):
        if fn is fn_:  # the loss classes and a wrapped Lamina function alike
            return task, from_logits
    return None, False


def _by_task(identifier: str, loss: Any, output_shape: Any, choices: tuple) -> Metric:
    """Keras's rule for 'accuracy'/'crossentropy': pick the variant matching the task."""
    binary, sparse, categorical, fallback = choices
    task, from_logits = _loss_task(loss)
    kwargs: dict[str, Any] = {"name": identifier}
    if task is None:
        last = output_shape[-1] if output_shape else None
        task = "binary" if last == 1 else "categorical" if last else None
    chosen = {"binary": binary, "sparse": sparse, "categorical": categorical}.get(task, fallback)
    if chosen is BinaryAccuracy:
        kwargs["threshold"] = 0.0 if from_logits else 0.5  # logits: sigmoid(0) = 0.5
    elif chosen in (BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy):
        kwargs["from_logits"] = from_logits
    return chosen(**kwargs)


def get(identifier: Any, loss: Any = None, output_shape: tuple | None = None) -> Metric:
    """Resolve a name, a Metric, a config dict, a Loss or a function to a Metric.

    'accuracy'/'acc' follow Keras: BinaryAccuracy with binary_crossentropy (or a
    1-unit output), SparseCategoricalAccuracy with sparse_categorical_crossentropy,
    CategoricalAccuracy otherwise (output last dim > 1); likewise 'crossentropy'.
    The metric keeps the name the user wrote, so logs show 'accuracy', 'val_accuracy'.
    With `binary_crossentropy(from_logits=True)` BinaryAccuracy thresholds at 0.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in ("accuracy", "acc"):
            choices = (BinaryAccuracy, SparseCategoricalAccuracy, CategoricalAccuracy, Accuracy)
            return _by_task(identifier, loss, output_shape, choices)
        if key in ("crossentropy", "ce"):
            choices = (
                BinaryCrossentropy,
                SparseCategoricalCrossentropy,
                CategoricalCrossentropy,
                CategoricalCrossentropy,
            )
            return _by_task(identifier, loss, output_shape, choices)
        try:
            cls = registry.get("metric", identifier)
        except ValueError:
            try:  # any loss function works as a metric, as in Keras
                return MeanMetricWrapper(registry.get("loss_function", identifier), name=identifier)
            except ValueError:
                pass
            raise
        name = identifier if identifier == identifier.lower() else None
        return cls(name=name) if name else cls()
    if isinstance(identifier, dict):
        cls = registry.get("metric", identifier["class_name"])
        return cls.from_config(dict(identifier.get("config", {})))
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, losses.Loss):
        return MeanMetricWrapper(identifier.call, name=identifier.name)
    if callable(identifier):
        return MeanMetricWrapper(identifier, name=getattr(identifier, "__name__", None))
    raise TypeError(
        "Expected a metric name, a Metric, a config dict or a function, received: "
        f"metric={identifier!r} (type {type(identifier).__name__})"
    )


def serialize(metric: Metric) -> dict[str, Any]:
    """{'class_name', 'config'} that `get` turns back into an equal metric."""
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


# The confusion-matrix metrics live in their own module (file size); importing it
# registers them, and attribute access below makes `metrics.AUC` etc. work in any
# import order.
from lamina import metrics_confusion as _confusion  # noqa: E402


def __getattr__(name: str) -> Any:
    if name in _confusion.__all__:
        return getattr(_confusion, name)
    raise AttributeError(f"module 'lamina.metrics' has no attribute {name!r}")
