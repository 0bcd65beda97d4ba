"""Reading layer configs that Keras 3 wrote (`model.get_config()`, `model.to_json()`).

Keras 3 stores dtypes as DTypePolicy objects, an InputLayer's shape as `batch_shape`,
nested objects (initializers, regularizers, constraints) with "module" keys, and arguments
Lamina has no use for at values where they change nothing (`quantization_config=None`,
`synchronized=False`, ...). `translate` maps a config to the Lamina class's constructor
arguments, and refuses, naming the layer, an argument Lamina could not honour.
"""

from __future__ import annotations

import inspect
from typing import Any

from lamina import registry
from lamina.layers.base import Layer
from lamina.layers.core import InputLayer

# Keras-only arguments that do nothing while another argument is off.
_ONLY_WITH = {"renorm_momentum": "renorm", "renorm_clipping": "renorm"}
# Nested objects by the suffix of the argument that holds them.
_KINDS = {"_initializer": "initializer", "_regularizer": "regularizer", "_constraint": "constraint"}


def translate(cls: type, config: dict[str, Any]) -> dict[str, Any]:
    """`config` (from Keras 3) as arguments for `cls.from_config`."""
    out = {key: _value(key, value) for key, value in config.items()}
    if issubclass(cls, InputLayer):
        out = _input_layer(out)
    if getattr(cls, "_from_config_reads_known_keys", False):
        return without_mask_ops(out)  # a model's from_config reads the keys it knows
    accepted = _accepted(cls)
    name = out.get("name", "?")
    for key in [k for k in out if k not in accepted]:
        value = out[key]
        if (
            value is None
            or value is False
            or (key in _ONLY_WITH and not config.get(_ONLY_WITH[key]))
        ):
            del out[key]
            continue
        raise ValueError(
            f"Layer '{name}' ({cls.__name__}) from a Keras config: expected arguments that "
            f"Lamina's {cls.__name__} accepts, received: {key}={value!r}"
        )
    return out


# Operation nodes a functional model replays as layers (`h + 3`: models/functional_config.py)
# and the operator each stands for; other operations are dropped (masks) or refused.
REPLAYED_OPERATIONS = {
    "Add": "+",
    "Subtract": "-",
    "Multiply": "*",
    "Divide": "/",
    "TrueDivide": "/",
    "Negative": "neg",
}


def without_mask_ops(config: dict[str, Any]) -> dict[str, Any]:
    """A functional config without the operation nodes Keras 3 records for masks.

    Keras writes `Embedding(mask_zero=True)`'s mask as a `NotEqual` node (module
    keras.src.ops...) feeding `mask=` of the next layer. Lamina's layers compute and pass
    their masks themselves, so those nodes and the `mask=` references go. Arithmetic
    (`REPLAYED_OPERATIONS`) stays, for the model to replay; any other operation that feeds
    anything but a mask is refused, naming it."""
    layers = config.get("layers")
    if not isinstance(layers, list):
        return config
    ops = {
        e.get("name"): e.get("class_name")
        for e in layers
        if isinstance(e, dict)
        and str(e.get("module") or "").startswith("keras.src.ops")
        and e.get("class_name") not in REPLAYED_OPERATIONS
    }
    if not ops:
        return config
    kept = []
    for entry in layers:
        if not isinstance(entry, dict) or entry.get("name") in ops:
            continue
        nodes = entry.get("inbound_nodes")
        if isinstance(nodes, list):
            entry = {**entry, "inbound_nodes": [_drop_mask(n, ops) for n in nodes]}
        used = _history_names(entry.get("inbound_nodes")) & set(ops)
        if used:
            op = sorted(used)[0]
            raise ValueError(
                f"Layer '{entry.get('name')}' from a Keras config: expected layers, "
                f"arithmetic ({', '.join(REPLAYED_OPERATIONS)}) or operations computing "
                f"masks as inputs, received: the operation '{op}' ({ops[op]}) as an input"
            )
        kept.append(entry)
    for key in ("input_layers", "output_layers"):
        if _history_names(config.get(key)) & set(ops):
            raise ValueError(
                f"Expected a functional model's {key} to be layers or arithmetic "
                f"({', '.join(REPLAYED_OPERATIONS)}), received: an operation among "
                f"{sorted(f'{n} ({c})' for n, c in ops.items())}"
            )
    return {**config, "layers": kept}


def _drop_mask(node: Any, ops: dict[str, Any]) -> Any:
    if not isinstance(node, dict) or not isinstance(node.get("kwargs"), dict):
        return node
    kwargs = dict(node["kwargs"])
    if "mask" in kwargs and _history_names(kwargs["mask"]) <= set(ops):
        del kwargs["mask"]
    return {**node, "kwargs": kwargs}


def _history_names(value: Any) -> set[str]:
    """The layer names a structure's `keras_history` entries (or [name, i, j]) point at."""
    if isinstance(value, dict):
        history = (
            (value.get("config") or {}).get("keras_history")
            if isinstance(value.get("config"), dict)
            else None
        )
        if isinstance(history, list) and history and isinstance(history[0], str):
            return {history[0]}
        return set().union(*(_history_names(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        if len(value) == 3 and isinstance(value[0], str) and isinstance(value[1], int):
            return {value[0]}
        return set().union(*(_history_names(v) for v in value)) if value else set()
    return set()


def _value(key: str, value: Any) -> Any:
    if key == "dtype" and isinstance(value, dict):
        return (value.get("config") or {}).get("name")  # DTypePolicy -> "float32"
    if isinstance(value, dict) and value.get("class_name") == "function":
        return value.get("config")  # a function by name: the registry (or custom_objects) has it
    if isinstance(value, dict) and "class_name" in value and "module" in value:
        if value.get("class_name") == "DTypePolicy":
            return (value.get("config") or {}).get("name")
        kind = next((k for suffix, k in _KINDS.items() if key.endswith(suffix)), None)
        return {"class_name": value["class_name"], "config": _nested(kind, value)}
    return value


def _nested(kind: str | None, value: dict[str, Any]) -> dict[str, Any]:
    """A nested object's config without the Keras-only arguments left at None."""
    config = dict(value.get("config") or {})
    if kind is None:
        return config
    try:
        accepted = _accepted(registry.get(kind, value["class_name"]))
    except (ValueError, TypeError):
        return config  # unknown: the layer's own lookup raises with the valid names
    return {k: v for k, v in config.items() if k in accepted or v is not None}


def _input_layer(config: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in config.items() if k not in ("sparse", "ragged", "optional")}
    for flag in ("sparse", "ragged", "optional"):
        if config.get(flag):
            raise ValueError(
                f"Layer '{config.get('name')}' (InputLayer) from a Keras config: expected a "
                f"dense, required input, received: {flag}=True"
            )
    batch_shape = out.pop("batch_shape", None) or out.pop("batch_input_shape", None)
    if batch_shape is not None:
        out["shape"] = list(batch_shape[1:])
        out["batch_size"] = batch_shape[0]
    return out


def _accepted(cls: type) -> set[str]:
    """Keyword arguments `cls(...)` accepts, following `**kwargs` up to Layer."""
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        names |= {p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        if klass is Layer or not any(p.kind == p.VAR_KEYWORD for p in params):
            break
    names.discard("self")
    return names


def from_legacy(entry: Any) -> Any:
    """A tf.keras 2 / legacy-HDF5 model entry in Keras 3's layout: every layer entry
    marked as Keras's (so `translate` reads it) and old-style inbound nodes
    (`[[name, node, tensor, kwargs], ...]`) as `{"args": [...], "kwargs": {...}}`."""
    if isinstance(entry, list):
        return [from_legacy(e) for e in entry]
    if not isinstance(entry, dict):
        return entry
    out = dict(entry)
    if isinstance(out.get("class_name"), str) and isinstance(out.get("config"), dict):
        out.setdefault("module", "keras.layers")
        config = dict(out["config"])
        if isinstance(config.get("layers"), list):
            config["layers"] = [from_legacy(e) for e in config["layers"]]
        out["config"] = config
    nodes = out.get("inbound_nodes")
    if isinstance(nodes, list):
        out["inbound_nodes"] = [_node(n) for n in nodes]
    return out


def _node(node: Any) -> Any:
    if isinstance(node, dict):
        return node  # Keras 3's layout already
    if not isinstance(node, list) or not all(isinstance(t, list) and len(t) >= 3 for t in node):
        raise ValueError(f"Expected an inbound node as a list of tensors, received: {node!r}"[:300])
    tensors = [
        {"class_name": "__keras_tensor__", "config": {"keras_history": [t[0], t[1], t[2]]}}
        for t in node
    ]
    kwargs = node[0][3] if len(node[0]) > 3 and isinstance(node[0][3], dict) else {}
    return {"args": [tensors[0] if len(tensors) == 1 else tensors], "kwargs": kwargs}
