"""Lamina's `get_config()` as the config Keras 3's `deserialize_keras_object` reads.

Lamina's configs already use Keras 3's argument names and functional layout; Keras
also wants each object tagged with its `module` and `registered_name`, dtypes as
DTypePolicy objects, an InputLayer's `batch_shape`, a `build_config` with each layer's
input shape, and a functional model's layers in the order Keras itself walks them
(the order fixes the names of the groups in `model.weights.h5`). A layer Keras 3 has
no class for, or a user class that is not registered, is refused here, by name,
before any file is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lamina import registry
from lamina.layers.base import Layer
from lamina.layers.core import InputLayer
from lamina.layers.weight_walk import TorchWeight
from lamina.saving.serialization import registered_name

# Lamina's layer classes whose Keras 3 class has the same name and arguments.
KERAS_LAYERS = frozenset(
    """Activation ActivityRegularization Add Average AveragePooling1D AveragePooling2D
    BatchNormalization CenterCrop Concatenate Conv1D Conv2D Conv2DTranspose Cropping2D Dense
    Dot Dropout ELU Flatten GaussianDropout GaussianNoise GlobalAveragePooling1D
    GlobalAveragePooling2D GlobalMaxPooling1D GlobalMaxPooling2D InputLayer LayerNormalization
    LeakyReLU MaxPooling1D MaxPooling2D Maximum Minimum Multiply Normalization PReLU Permute
    RandomBrightness RandomContrast RandomCrop RandomFlip RandomRotation RandomTranslation
    RandomZoom ReLU RepeatVector Rescaling Reshape Resizing Softmax SpatialDropout1D
    SpatialDropout2D Subtract UpSampling2D ZeroPadding2D
    TextVectorization StringLookup IntegerLookup
    Embedding Masking TimeDistributed UpSampling1D ZeroPadding1D Cropping1D
    SimpleRNN LSTM GRU RNN SimpleRNNCell LSTMCell GRUCell StackedRNNCells Bidirectional
    AdaptiveAveragePooling1D AdaptiveAveragePooling2D AdaptiveAveragePooling3D
    AdaptiveMaxPooling1D AdaptiveMaxPooling2D AdaptiveMaxPooling3D AlphaDropout AveragePooling3D
    Conv1DTranspose Conv3D Conv3DTranspose ConvLSTM1D ConvLSTM2D ConvLSTM3D Cropping3D
    DepthwiseConv1D DepthwiseConv2D GlobalAveragePooling3D GlobalMaxPooling3D MaxPooling3D
    SeparableConv1D SeparableConv2D SpatialDropout3D UpSampling3D ZeroPadding3D
    Attention AdditiveAttention MultiHeadAttention GroupQueryAttention EinsumDense Identity
    GroupNormalization UnitNormalization RMSNormalization ReversibleEmbedding
    CategoryEncoding Discretization Hashing HashedCrossing
    AugMix AutoContrast ContrastLimitedAdaptiveHistogramEqualization CutMix Equalization
    MaxNumBoundingBoxes MixUp RandAugment RandomColorDegeneration RandomColorJitter
    RandomElasticTransform RandomErasing RandomGaussianBlur RandomGrayscale RandomHue
    RandomInvert RandomPerspective RandomPosterization RandomSaturation RandomSharpness
    RandomShear Solarization MelSpectrogram STFTSpectrogram""".split()
)
KERAS_VERSION = "3.0.0"  # the format Lamina writes (Keras reads it without checking)
MODEL_MODULES = {"Functional": "keras.src.models.functional", "Sequential": "keras"}
_NESTED_MODULES = {
    "_initializer": "keras.initializers",
    "_regularizer": "keras.regularizers",
    "_constraint": "keras.constraints",
}
_LAMINA_ONLY_ARGS = ("input_shape", "batch_input_shape", "input_dim")  # Embedding keeps input_dim
# Arguments Keras's class does not take, dropped while at the value Keras assumes.
_KERAS_DEFAULTS = {
    "SpatialDropout1D": {"trainable": True},
    "SpatialDropout2D": {"trainable": True},
    "SpatialDropout3D": {"trainable": True},
}
KERAS_COMPILE_ARGS = (
    "optimizer",
    "loss",
    "loss_weights",
    "metrics",
    "weighted_metrics",
    "run_eagerly",
    "steps_per_execution",
    "jit_compile",
)


def model_kind(layer: Any) -> str | None:
    """ "Functional", "Sequential", "Model" (subclassed) or None for a plain layer."""
    for name in ("Functional", "Sequential"):
        cls = registry.lookup("layer", name)
        if cls is not None and isinstance(layer, cls):
            return name
    return "Model" if hasattr(layer, "compile") and hasattr(layer, "layers") else None


def keras_class(layer: Layer) -> tuple[str, str, str | None]:
    """(module, class_name, registered_name) as Keras 3 writes them for `layer`."""
    kind = model_kind(layer)
    cls = type(layer)
    if kind in MODEL_MODULES and cls.__module__.startswith("lamina."):
        return MODEL_MODULES[kind], kind, kind if kind == "Functional" else None
    if cls.__module__.startswith("lamina."):
        for klass in cls.__mro__:
            if klass.__name__ in KERAS_LAYERS and klass.__module__.startswith("lamina.layers"):
                return "keras.layers", klass.__name__, None
        raise ValueError(
            f"Layer '{layer.name}' ({cls.__name__}) can't be saved in a Keras format: expected "
            f"a layer Keras 3 has, received: {cls.__name__}, which Keras 3 lacks. Save the "
            "model as .lamina instead."
        )
    name = registered_name(layer)
    if registry.lookup("layer", name) is not cls:
        raise ValueError(
            f"Layer '{layer.name}' ({cls.__name__}) can't be saved in a Keras format: expected "
            "a Keras layer or a class registered with @lamina.saving.register_serializable, "
            f"received: the unregistered class {cls.__module__}.{cls.__qualname__}"
        )
    full = cls.__dict__.get("_lamina_registered_name") or f"Custom>{name}"
    return cls.__module__, name, full


def check_keras_weights(layer: Layer) -> None:
    """Refuse weights Keras has no place for (those of plain torch modules)."""
    for entry in layer._weight_entries():
        if isinstance(entry.spec, TorchWeight):
            raise ValueError(
                f"Layer '{entry.layer.name}' ({type(entry.layer).__name__}) can't be saved in a "
                f"Keras format: expected weights made with add_weight, received: the torch "
                f"module weight {entry.spec.name!r}. Save the model as .lamina instead."
            )


def keras_entry(layer: Layer) -> dict[str, Any]:
    """`{"module", "class_name", "config", "registered_name", "build_config"}` for `layer`."""
    module, class_name, registered = keras_class(layer)
    kind = model_kind(layer)
    if kind == "Functional" and module == MODEL_MODULES["Functional"]:
        config = functional_config(layer)
    elif kind == "Sequential" and module == MODEL_MODULES["Sequential"]:
        config = sequential_config(layer)
    elif isinstance(layer, InputLayer):
        config = input_layer_config(layer.get_config())
    else:
        check_keras_weights(layer)
        config = layer_config(layer.get_config(), keep_input_dim=class_name == "Embedding")
        for key, default in _KERAS_DEFAULTS.get(class_name, {}).items():
            if config.get(key, default) != default:
                raise ValueError(
                    f"Layer '{layer.name}' ({class_name}) can't be saved in a Keras format: "
                    f"expected {key}={default!r} (Keras's {class_name} has no {key} "
                    f"argument), received: {key}={config[key]!r}"
                )
            config.pop(key, None)
    entry: dict[str, Any] = {
        "module": module,
        "class_name": class_name,
        "config": config,
        "registered_name": registered,
    }
    shape = getattr(layer, "keras_build_shapes", None) or getattr(layer, "_build_input_shape", None)
    if kind == "Sequential":
        shape = config.get("build_input_shape")
    if shape is not None and not isinstance(layer, InputLayer) and kind != "Functional":
        entry["build_config"] = _build_config(class_name, shape)
    return entry


# Keras layers whose build takes one shape per input by name (Keras writes a shapes_dict).
_SHAPE_ARGS = {
    "MultiHeadAttention": ("query_shape", "value_shape", "key_shape"),
    "GroupQueryAttention": ("query_shape", "value_shape", "key_shape"),
}


def _build_config(class_name: str, shape: Any) -> dict[str, Any]:
    names = _SHAPE_ARGS.get(class_name)
    if names and isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)):
        return {"shapes_dict": {n: _lists(s) for n, s in zip(names, shape)}}
    return {"input_shape": _lists(shape)}


def layer_config(config: dict[str, Any], keep_input_dim: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key in _LAMINA_ONLY_ARGS and not (keep_input_dim and key == "input_dim"):
            continue
        if key == "dtype":
            out[key] = dtype_policy(value)
        elif key == "activity_regularizer" and value is None:
            continue
        elif _is_layer_entry(value):
            out[key] = nested_layer_entry(value)
        elif isinstance(value, list) and value and all(_is_layer_entry(v) for v in value):
            out[key] = [nested_layer_entry(v) for v in value]
        else:
            out[key] = _nested(key, value)
    return out


def _is_layer_entry(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and "module" not in value
        and isinstance(value.get("class_name"), str)
        and isinstance(value.get("config"), dict)
        and registry.lookup("layer", value["class_name"]) is not None
    )


def nested_layer_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """A layer inside a layer's config (Bidirectional's `layer`, an RNN's `cell`, the
    `cells` of StackedRNNCells) tagged as Keras 3 writes it."""
    name = entry["class_name"]
    module, registered = "keras.layers", None
    if name not in KERAS_LAYERS:
        cls = registry.lookup("layer", name)
        module = cls.__module__
        registered = cls.__dict__.get("_lamina_registered_name") or f"Custom>{name}"
    return {
        "module": module,
        "class_name": name,
        "config": layer_config(entry["config"]),
        "registered_name": registered,
    }


def dtype_policy(name: Any) -> dict[str, Any]:
    return {
        "module": "keras",
        "class_name": "DTypePolicy",
        "config": {"name": name or "float32"},
        "registered_name": None,
    }


def input_layer_config(config: dict[str, Any]) -> dict[str, Any]:
    shape = list(config.get("shape") or [])
    return {
        "batch_shape": [config.get("batch_size"), *shape],
        "dtype": config.get("dtype") or "float32",
        "sparse": False,
        "ragged": False,
        "name": config["name"],
        "optional": False,
    }


def sequential_config(model: Any) -> dict[str, Any]:
    config = model.get_config()
    entries = []
    stack = list(model.layers)
    if model._input_layer is not None and len(config["layers"]) > len(stack):
        stack.insert(0, model._input_layer)
    for layer in stack:
        entries.append(keras_entry(layer))
    return {
        "name": config["name"],
        "trainable": config["trainable"],
        "dtype": dtype_policy(None),
        "layers": entries,
        "build_input_shape": config.get("build_input_shape"),
    }


def functional_config(model: Any) -> dict[str, Any]:
    config = model.get_config()
    by_name = {layer.name: layer for layer in model.layers}
    entries = []
    for item in config["layers"]:
        layer = by_name[item["name"]]
        entry = keras_entry(layer)
        entry["name"] = item["name"]
        entry["inbound_nodes"] = _tensor_dtypes(item.get("inbound_nodes") or [])
        entries.append(entry)
    order = keras_layer_order({**config, "layers": entries})
    position = {name: i for i, name in enumerate(order)}
    entries.sort(key=lambda e: position.get(e["name"], len(position)))
    return {**config, "layers": entries}


def keras_layer_order(config: dict[str, Any]) -> list[str]:
    """Layer names of a functional config in the order Keras 3 lists its layers.

    Keras sorts layers by depth (the longest path to an output, deepest first) and,
    within a depth, by when a depth-first walk from the outputs first meets them.
    """
    entries = {e["name"]: e for e in config["layers"] if isinstance(e, dict) and "name" in e}
    first_seen: dict[str, int] = {}
    finished: set[tuple[str, int]] = set()
    ordered: list[tuple[str, int]] = []

    def parents(node: tuple[str, int]) -> list[tuple[str, int]]:
        name, index = node
        calls = entries.get(name, {}).get("inbound_nodes") or []
        if index >= len(calls):
            return []
        return [(h[0], h[1]) for h in _histories(calls[index])]

    def walk(node: tuple[str, int], active: set[tuple[str, int]]) -> None:
        if node in finished or node[0] not in entries or node in active:
            return
        first_seen.setdefault(node[0], len(first_seen))
        active.add(node)
        for parent in parents(node):
            walk(parent, active)
        active.discard(node)
        finished.add(node)
        ordered.append(node)

    for ref in _refs(config.get("output_layers")):
        walk((ref[0], _node_index(entries, ref)), set())
    node_depth: dict[tuple[str, int], int] = {}
    layer_depth: dict[str, int] = {}
    for node in reversed(ordered):
        depth = max(node_depth.setdefault(node, 0), layer_depth.get(node[0], 0))
        layer_depth[node[0]] = depth
        node_depth[node] = depth
        for parent in parents(node):
            if parent in finished:
                node_depth[parent] = max(depth + 1, node_depth.get(parent, 0))
    for ref in _refs(config.get("input_layers")):
        if ref[0] not in layer_depth:
            layer_depth[ref[0]] = 0
            first_seen[ref[0]] = -1
    return sorted(layer_depth, key=lambda n: (-layer_depth[n], first_seen[n]))


def _node_index(entries: dict[str, Any], ref: list[Any]) -> int:
    """input_layers/output_layers count a nested functional model's calls from 1."""
    entry = entries[ref[0]] if ref[0] in entries else {}
    nested = entry.get("class_name") == "Functional"
    return ref[1] - 1 if nested and ref[1] > 0 else ref[1]


def _histories(value: Any) -> Iterator[list[Any]]:
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            yield value["config"]["keras_history"]
            return
        for v in value.values():
            yield from _histories(v)
    elif isinstance(value, list):
        for v in value:
            yield from _histories(v)


def _refs(struct: Any) -> Iterator[list[Any]]:
    if isinstance(struct, list) and len(struct) == 3 and isinstance(struct[0], str):
        yield struct
    elif isinstance(struct, dict):
        for v in struct.values():
            yield from _refs(v)
    elif isinstance(struct, list):
        for v in struct:
            yield from _refs(v)


def _tensor_dtypes(value: Any) -> Any:
    """Symbolic tensors in inbound nodes with a dtype string (Keras requires one)."""
    if isinstance(value, dict):
        out = {k: _tensor_dtypes(v) for k, v in value.items()}
        if out.get("class_name") == "__keras_tensor__" and not out["config"].get("dtype"):
            out["config"] = {**out["config"], "dtype": "float32"}
        return out
    if isinstance(value, list):
        return [_tensor_dtypes(v) for v in value]
    return value


def _nested(key: str, value: Any) -> Any:
    """An initializer/regularizer/constraint entry tagged with its Keras module."""
    module = next((m for suffix, m in _NESTED_MODULES.items() if key.endswith(suffix)), None)
    if key == "activity_regularizer":
        module = "keras.regularizers"
    if module and isinstance(value, dict) and "class_name" in value and "module" not in value:
        return {
            "module": module,
            "class_name": value["class_name"],
            "config": _lists(value.get("config") or {}),
            "registered_name": None,
        }
    return _lists(value)


def _lists(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_lists(v) for v in value]
    if isinstance(value, list):
        return [_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    return value


def keras_compile_config(config: dict[str, Any] | None) -> dict[str, Any] | None:
    """Lamina's compile settings with only the arguments Keras's `compile` takes, the
    optimizer (and loss/metric objects) tagged with their Keras modules."""
    if not config:
        return None
    out = {k: config.get(k) for k in KERAS_COMPILE_ARGS if k in config}
    optimizer = out.get("optimizer")
    if isinstance(optimizer, dict) and "module" not in optimizer:
        out["optimizer"] = {
            "module": "keras.optimizers",
            "class_name": optimizer["class_name"],
            "config": optimizer.get("config") or {},
            "registered_name": None,
        }
    for key, module in (
        ("loss", "keras.losses"),
        ("metrics", "keras.metrics"),
        ("weighted_metrics", "keras.metrics"),
    ):
        out[key] = _tag(out.get(key), module)
    return out


def _tag(value: Any, module: str) -> Any:
    if isinstance(value, list):
        return [_tag(v, module) for v in value]
    if isinstance(value, dict) and "class_name" in value and "module" not in value:
        return {**value, "module": module, "registered_name": None}
    if isinstance(value, dict):
        return {k: _tag(v, module) for k, v in value.items()}
    return value
