"""A model's `compile()` settings as JSON, and compiling a loaded model with them again.

Losses, metrics and the optimizer are stored as registered names or `{"class_name",
"config"}` entries (Keras's `compile_config`); a user's own function is stored by name
and found again only in `custom_objects` or the registry. Nothing is imported by name.
"""

from __future__ import annotations

import warnings
from typing import Any

from lamina import losses as losses_mod
from lamina import metrics as metrics_mod
from lamina import optimizers as optimizers_mod
from lamina import registry
from lamina.saving.errors import FileFormatError

_FLAGS = ("run_eagerly", "steps_per_execution", "jit_compile", "mixed_precision")


def compile_config(model: Any) -> dict[str, Any] | None:
    """The arguments `model` was compiled with, as JSON values; None when not compiled.

    An argument that can't be described (a lambda as loss, a torch.optim instance) gives
    a warning and None: the file then loads uncompiled, as Keras does.
    """
    if not getattr(model, "compiled", False) or model.optimizer is None:
        return None
    try:
        config: dict[str, Any] = {
            "optimizer": _optimizer(model.optimizer),
            "loss": _spec(model._loss_arg, "loss"),
            "metrics": _spec(model._metrics_arg, "metric"),
            "loss_weights": _plain(model._loss_weights_arg),
            "weighted_metrics": _spec(model._weighted_metrics_arg, "metric"),
        }
    except (TypeError, ValueError, NotImplementedError) as err:
        warnings.warn(
            f"Model '{model.name}' is saved without its compile() settings: {err}. "
            "Load it with compile=False and compile it again.",
            stacklevel=3,
        )
        return None
    for flag in _FLAGS:
        value = getattr(model, f"_{flag}", getattr(model, flag, None))
        config[flag] = value if isinstance(value, (bool, int, str)) or value is None else None
    return config


def apply_compile_config(
    model: Any, config: Any, custom_objects: dict[str, Any] | None = None, source: str = "the file"
) -> None:
    """`model.compile(...)` with what `compile_config` saved (or what Keras saved)."""
    if not isinstance(config, dict):
        raise FileFormatError(
            f"Expected the compile settings as an object in {source}, received: {config!r}"[:300]
        )
    try:
        optimizer = _load_optimizer(config.get("optimizer") or "rmsprop", custom_objects)
        loss = _load(config.get("loss"), "loss", custom_objects)
        metrics = _load(config.get("metrics"), "metric", custom_objects)
        weighted = _load(config.get("weighted_metrics"), "metric", custom_objects)
    except FileFormatError:
        raise
    except (TypeError, KeyError, AttributeError, ValueError, RecursionError) as err:
        raise FileFormatError(
            f"Expected compile settings Lamina can rebuild in {source}, received: {err}. "
            "Pass custom_objects={...} or load with compile=False."
        ) from None
    kwargs: dict[str, Any] = {}
    for flag in _FLAGS:
        value = config.get(flag)
        if flag == "jit_compile" and value not in (True, False, "auto"):
            continue  # Keras writes "auto" or booleans; anything else keeps Lamina's default
        if flag == "steps_per_execution" and (not isinstance(value, int) or value < 1):
            continue
        if flag == "run_eagerly" and not isinstance(value, bool):
            continue
        if flag == "mixed_precision" and value not in ("bf16", "fp16", None):
            continue
        if value is not None:
            kwargs[flag] = value
    try:
        model.compile(
            optimizer=optimizer,
            loss=loss,
            metrics=metrics,
            loss_weights=_plain(config.get("loss_weights")),
            weighted_metrics=weighted,
            **kwargs,
        )
    except (TypeError, ValueError) as err:
        raise FileFormatError(
            f"Expected compile settings Lamina accepts in {source}, received: {err}"
        ) from None


def _optimizer(optimizer: Any) -> dict[str, Any]:
    name = _registered_class(type(optimizer), "optimizer")
    return {"class_name": name, "config": _plain(optimizer.get_config())}


def _load_optimizer(entry: Any, custom_objects: dict[str, Any] | None) -> Any:
    if isinstance(entry, str):
        return optimizers_mod.get(entry)
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        raise TypeError(f"expected an optimizer entry, got {entry!r}"[:200])
    cls = _class(entry["class_name"], "optimizer", custom_objects)
    config = dict(entry.get("config") or {})
    if isinstance(config.get("learning_rate"), dict):
        config["learning_rate"] = _schedule(config["learning_rate"])
    config = {k: v for k, v in config.items() if not (k == "is_legacy_optimizer")}
    return cls.from_config(config)


def _schedule(entry: dict[str, Any]) -> Any:
    inner = entry.get("config")
    if isinstance(inner, dict) and "module" in entry:  # Keras 3's nesting
        entry = {"class_name": entry.get("class_name"), "config": inner}
    return entry  # Optimizer.from_config deserialises schedules itself


def _spec(value: Any, kind: str) -> Any:
    """A loss/metric argument (name, object, function, or a list/dict of them) as JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        return {str(k): _spec(v, kind) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_spec(v, kind) for v in value]
    if isinstance(value, type):
        return {"class_name": _saved_class_name(value, kind), "config": {}}
    if hasattr(value, "get_config") and not callable(getattr(value, "__func__", None)):
        if isinstance(value, (losses_mod.Loss, metrics_mod.Metric)):
            name = _saved_class_name(type(value), kind)
            return {"class_name": name, "config": _plain(value.get_config())}
    if callable(value):
        name = getattr(value, "__name__", None)
        if not name or name == "<lambda>":
            raise TypeError(f"a {kind} given as a lambda can't be saved by name")
        return name  # found again through the registry or custom_objects
    raise TypeError(f"a {kind} of type {type(value).__name__} can't be saved")


def _load(value: Any, kind: str, custom_objects: dict[str, Any] | None) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        found = (custom_objects or {}).get(value)
        if found is not None:
            return found
        _check_name(value, kind)
        return value
    if isinstance(value, list):
        return [_load(v, kind, custom_objects) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _load(v, kind, custom_objects) for k, v in value.items()}
    if isinstance(value, dict):
        name = value["class_name"]
        if not isinstance(name, str):
            raise TypeError(f"expected a class name string, got {name!r}")
        if name == "function" and isinstance(value.get("config"), str):  # Keras 3: a function
            return _load(value["config"], kind, custom_objects)
        cls = _class(name, kind, custom_objects)
        config = value.get("config") or {}
        if not isinstance(config, dict):
            raise TypeError(f"expected a config object for {name}, got {config!r}"[:200])
        config = {k: v for k, v in config.items() if k not in ("reduction",) or v is not None}
        return cls.from_config(config)
    raise TypeError(f"expected a {kind} name or entry, got {value!r}"[:200])


def _check_name(name: str, kind: str) -> None:
    """Fail at load (not at the first fit) for a name nothing resolves."""
    if kind == "metric" and name.lower() in ("accuracy", "acc", "crossentropy", "ce"):
        return
    for table in (kind, "loss_function", "loss"):
        try:
            registry.get(table, name)
            return
        except ValueError:
            continue
    raise KeyError(
        f"unknown {kind} {name!r} (a custom {kind} loads through custom_objects or "
        "@lamina.saving.register_serializable)"
    )


def _class(name: str, kind: str, custom_objects: dict[str, Any] | None) -> type:
    found = (custom_objects or {}).get(name)
    if found is not None:
        return found
    try:
        return registry.get(kind, name)
    except ValueError as err:
        raise KeyError(str(err)) from None


def _saved_class_name(cls: type, kind: str) -> str:
    """The registered name of a loss/metric class, or (a user class, as Keras saves it) its
    class name: `load_model` finds it again only in custom_objects, else names it."""
    try:
        return _registered_class(cls, kind)
    except TypeError:
        return cls.__name__


def _registered_class(cls: type, kind: str) -> str:
    for name in (cls.__name__, *registry.names(kind)):
        try:
            if registry.get(kind, name) is cls:
                return name
        except ValueError:
            continue
    raise TypeError(
        f"{kind} class {cls.__name__} is not registered (use @lamina.saving.register_serializable)"
    )


def _plain(value: Any) -> Any:
    """JSON values only: tuples become lists, anything else is refused by name."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    raise TypeError(f"value of type {type(value).__name__} can't be saved as JSON")
