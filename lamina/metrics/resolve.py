"""From what a user writes in `compile(metrics=...)` to a Metric, and back to a config.

`get` resolves names (with Keras's task rule for 'accuracy' and 'crossentropy'), Metric
objects and classes, config dicts, Loss objects and plain functions; `serialize` gives the
config dict that `get` and `deserialize` turn back into an equal metric.
"""

from __future__ import annotations

from typing import Any

from lamina import losses, registry
from lamina.metrics.accuracy_metrics import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
)
from lamina.metrics.base import MeanMetricWrapper, Metric
from lamina.metrics.probabilistic import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
)


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
        ("binary", losses.binary_focal_crossentropy),
        ("sparse", losses.sparse_categorical_crossentropy),
        ("sparse", losses.categorical_generalized_cross_entropy),
        ("categorical", losses.categorical_crossentropy),
        ("categorical", losses.categorical_focal_crossentropy),
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
        return deserialize(identifier)
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
    """{'class_name', 'config'} that `get` and `deserialize` turn back into an equal metric."""
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


def deserialize(
    config: dict[str, Any] | str, custom_objects: dict[str, Any] | None = None
) -> Metric:
    """A Metric from `serialize`'s dict (or a registered name); `custom_objects` maps
    class names of user-defined metrics to their classes, as in Keras."""
    if isinstance(config, str):
        config = {"class_name": config, "config": {}}
    if not isinstance(config, dict) or "class_name" not in config:
        raise TypeError(
            "Expected a metric config {'class_name': ..., 'config': ...} or a metric name, "
            f"received: config={config!r}"
        )
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or registry.get("metric", name)
    return cls.from_config(dict(config.get("config") or {}))
