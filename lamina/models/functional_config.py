"""A functional model's config in Keras 3's layout, and the model rebuilt from one.

    {"name": ..., "trainable": ...,
     "layers": [{"class_name": "Dense", "config": {...}, "name": "d",
                 "inbound_nodes": [{"args": [<tensor>], "kwargs": {}}]}, ...],
     "input_layers": [["a", 0, 0], ...], "output_layers": [["d", 0, 0], ...]}

A tensor is `{"class_name": "__keras_tensor__", "config": {"shape", "dtype",
"keras_history": [layer name, node index, tensor index]}}`; node indices count a layer's
calls inside this model, in the order they were made (a shared layer has several). As in
Keras, `input_layers` / `output_layers` number a nested functional model's calls from 1.
"""

from __future__ import annotations

import inspect
from typing import Any

from lamina.layers.base import Layer
from lamina.layers.core import InputLayer
from lamina.layers.symbolic import KerasTensor, Node, arithmetic, source_tensor
from lamina.saving.keras_config import REPLAYED_OPERATIONS
from lamina.saving.serialization import deserialize_layer, serialize_layer
from lamina.tree import flatten, map_structure

TENSOR = "__keras_tensor__"


def _offset(layer: Layer) -> int:
    return getattr(type(layer), "_config_node_offset", 0)


def functional_config(model: Any) -> dict[str, Any]:
    """`model.get_config()` of a functional model."""
    per_layer: dict[int, list[Node]] = {id(t.node.layer): [t.node] for t in model.inputs}
    for node in sorted(model._nodes, key=lambda n: n.serial):
        per_layer.setdefault(id(node.layer), []).append(node)
    index = {id(n): i for nodes in per_layer.values() for i, n in enumerate(nodes)}

    def history(t: KerasTensor) -> list[Any]:
        return [t.node.layer.name, index[id(t.node)], t.index]

    def value(v: Any, node: Node) -> Any:
        if isinstance(v, KerasTensor):
            config = {"shape": list(v.shape), "dtype": v.dtype, "keras_history": history(v)}
            return {"class_name": TENSOR, "config": config}
        if isinstance(v, (list, tuple)):
            return [value(x, node) for x in v]
        if isinstance(v, dict) and all(isinstance(k, str) for k in v):
            return {k: value(x, node) for k, x in v.items()}
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        raise ValueError(
            f"Model '{model.name}' expected layer calls with symbolic tensors and JSON values "
            f"to write its config, received: layer '{node.layer.name}' called with {v!r}"
        )

    entries = []
    for layer in model.layers:
        calls = [] if isinstance(layer, InputLayer) else per_layer.get(id(layer), [])
        nodes = [
            {"args": value([n.inputs, *n.args], n), "kwargs": value(n.kwargs, n)} for n in calls
        ]
        entries.append({**serialize_layer(layer), "name": layer.name, "inbound_nodes": nodes})

    def ref(t: KerasTensor) -> list[Any]:
        name, node_index, tensor_index = history(t)
        return [name, node_index + _offset(t.node.layer), tensor_index]

    return {
        "name": model.name,
        "trainable": model.trainable,
        "layers": entries,
        "input_layers": map_structure(ref, model._inputs_struct),
        "output_layers": map_structure(ref, model._outputs_struct),
    }


class _NotReady(Exception):
    """A call refers to a call of another layer that has not been made yet."""


def functional_from_config(
    cls: type, config: dict[str, Any], custom_objects: dict[str, Any] | None = None
) -> Any:
    """Rebuild a functional model: make every layer, then replay its calls in order."""
    missing = [k for k in ("layers", "input_layers", "output_layers") if k not in config]
    if missing:
        raise ValueError(
            "Expected a functional model config with 'layers', 'input_layers' and "
            f"'output_layers', received: keys={sorted(config)}"
        )
    created: dict[str, Layer] = {}
    made: dict[str, list[Any]] = {}  # per layer, the outputs of each call made so far
    pending: dict[str, list[Any]] = {}
    for entry in config["layers"]:
        layer = (
            KerasOperation(entry)
            if KerasOperation.describes(entry)
            else deserialize_layer(entry, custom_objects)
        )
        name = entry.get("name", layer.name)
        if name in created:
            raise ValueError(
                f"Expected unique layer names in a functional config, received: name={name!r} twice"
            )
        created[name] = layer
        made[name] = [source_tensor(layer)] if isinstance(layer, InputLayer) else []
        pending[name] = list(entry.get("inbound_nodes") or [])

    while any(pending.values()):
        progressed = False
        for name, queue in pending.items():
            while queue:
                try:
                    args, kwargs = _resolve_call(queue[0], made, name)
                except _NotReady:
                    break
                call = created[name]
                kwargs = kwargs if isinstance(call, KerasOperation) else _supported(call, kwargs)
                made[name].append(call(*args, **kwargs))
                queue.pop(0)
                progressed = True
        if not progressed:
            waiting = sorted(n for n, q in pending.items() if q)
            raise ValueError(
                "Expected a functional config whose layer calls can all be made in some order, "
                f"received: calls of layers {waiting} that wait on calls never made (a cycle, "
                "or a node index beyond a layer's calls)"
            )

    def tensor(item: list[Any]) -> KerasTensor:
        name, node_index, tensor_index = item
        layer = created.get(name)
        if layer is None:
            raise ValueError(
                "Expected input_layers and output_layers to name layers of the config, "
                f"received: layer={name!r}"
            )
        calls = made[name]
        node_index -= _offset(layer)
        if not 0 <= node_index < len(calls):
            raise ValueError(
                f"Expected a call of layer '{name}' among its {len(calls)} call(s), received: "
                f"node index {item[1]}"
            )
        return flatten(calls[node_index])[tensor_index]

    return cls(
        _tensors(config["input_layers"], tensor),
        _tensors(config["output_layers"], tensor),
        name=config.get("name"),
        trainable=config.get("trainable", True),
    )


def _tensors(struct: Any, tensor: Any) -> Any:
    """input_layers / output_layers back to tensors: leaves are [name, node, index]."""
    if isinstance(struct, list) and len(struct) == 3 and isinstance(struct[0], str):
        return tensor(struct)
    if isinstance(struct, dict):
        return {k: _tensors(v, tensor) for k, v in struct.items()}
    if isinstance(struct, list):
        return [_tensors(v, tensor) for v in struct]
    raise ValueError(f"Expected [layer name, node index, tensor index], received: {struct!r}")


def _resolve_call(data: Any, made: dict[str, list[Any]], name: str) -> tuple[list, dict]:
    if not isinstance(data, dict) or "args" not in data:
        raise ValueError(
            f"Expected each inbound node of layer '{name}' as {{'args': [...], 'kwargs': {{}}}} "
            f"(Keras 3's layout), received: {str(data)[:200]}"
        )

    def resolve(v: Any) -> Any:
        if isinstance(v, dict) and v.get("class_name") == TENSOR:
            source, node_index, tensor_index = v["config"]["keras_history"]
            if source not in made:
                raise ValueError(
                    f"Expected layer '{name}' to be called on layers of the config, "
                    f"received: layer={source!r}"
                )
            if node_index >= len(made[source]):
                raise _NotReady
            return flatten(made[source][node_index])[tensor_index]
        if isinstance(v, dict) and v.get("class_name") == "__tuple__":
            return tuple(resolve(x) for x in v["config"]["value"])
        if isinstance(v, dict):
            return {k: resolve(x) for k, x in v.items()}
        if isinstance(v, list):
            return [resolve(x) for x in v]
        return v

    return resolve(list(data["args"])), resolve(dict(data.get("kwargs") or {}))


def _supported(layer: Layer, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Drop None-valued keywords the layer's `call` does not take (Keras records mask=None)."""
    params = inspect.signature(layer.call).parameters
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return kwargs
    return {k: v for k, v in kwargs.items() if v is not None or k in params or k == "training"}


class KerasOperation:
    """An operation node of a Keras 3 functional config (`h + 3` is saved as
    `keras.src.ops.numpy.Add` called on a tensor and 3), replayed on the symbolic tensors:
    Lamina builds it as a merge layer or a Rescaling, named as the node was."""

    def __init__(self, entry: dict[str, Any]) -> None:
        self.kind = str(entry.get("class_name"))
        self.name = str(entry.get("name") or entry.get("config", {}).get("name") or "")
        if self.kind not in REPLAYED_OPERATIONS:
            raise ValueError(
                "Expected Keras operations Lamina rebuilds in a functional config "
                f"({', '.join(REPLAYED_OPERATIONS)}), received: "
                f"{entry.get('module')}.{self.kind} named {self.name!r}"
            )

    @staticmethod
    def describes(entry: dict[str, Any]) -> bool:
        """Whether a config entry is an operation rather than a layer."""
        return str(entry.get("module", "")).startswith(("keras.src.ops.", "keras.ops."))

    def __call__(self, *args: Any, **kwargs: Any) -> KerasTensor:
        if kwargs or len(args) != (1 if self.kind == "Negative" else 2):
            raise ValueError(
                f"Expected the operation '{self.name}' ({self.kind}) called on "
                f"{'one tensor' if self.kind == 'Negative' else 'two operands'}, received: "
                f"{len(args)} argument(s), keywords {sorted(kwargs)}"
            )
        name = self.name or None
        if self.kind == "Negative":
            return arithmetic(args[0], -1.0, "*", name)
        a, b = args
        op = REPLAYED_OPERATIONS[self.kind]
        if isinstance(a, KerasTensor):
            return arithmetic(a, b, op, name)
        if op == "/":
            raise ValueError(
                f"Expected a tensor on the left of the division '{self.name}', received: a "
                f"number ({a!r}) divided by a tensor"
            )
        return arithmetic(b, a, "r-" if op == "-" else op, name)
