"""tf.keras 2's (and Keras 3's legacy) full-model `.h5` files.

The file's root attributes hold `model_config` (the model's `{"class_name", "config"}`
as JSON), `keras_version`, `backend` and, for a compiled model, `training_config` (the
compile arguments with the optimizer as `optimizer_config`); the group `model_weights`
holds the weights in tf.keras's per-layer layout (`keras_weights_h5`). Loading screens
the config for code and builds the model from registered classes only.
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any

from lamina.io_utils import atomic_write
from lamina.saving import json_text
from lamina.saving.compile_config import apply_compile_config, compile_config
from lamina.saving.errors import FileFormatError
from lamina.saving.h5_safety import CheckedH5, open_h5
from lamina.saving.keras_config import from_legacy
from lamina.saving.keras_config_out import KERAS_VERSION, keras_compile_config, keras_entry
from lamina.saving.keras_v3 import build_model
from lamina.saving.keras_weights_h5 import h5_bytes, has_state_hooks, read_legacy, write_legacy

_STRIP = ("module", "registered_name", "build_config")


def save_h5(model: Any, path: str | os.PathLike) -> None:
    """Write `model` as a legacy full-model `.h5` that Keras 3 and tf.keras read (atomically)."""
    if not getattr(model, "built", True):
        raise ValueError(
            f"Model '{model.name}' expected to be built before saving (call it on data or "
            "give it an input shape), received: an unbuilt model"
        )
    for layer in model.modules():  # a vocabulary (an asset) has no place in this format
        lookup = getattr(layer, "_lookup_layer", layer)  # TextVectorization: its StringLookup
        if has_state_hooks(layer) and getattr(lookup, "input_vocabulary", 0) is None:
            raise ValueError(
                f"Layer '{layer.name}' ({type(layer).__name__}) can't be saved in a legacy .h5 "
                "file: expected layers whose state fits its weights, received: a learned "
                "vocabulary (Keras keeps it as an asset). Save the model as .keras or .lamina."
            )
    entry = _legacy_entry(keras_entry(model))
    training = _training_config(keras_compile_config(compile_config(model)))

    def write(h5: Any) -> None:
        h5.attrs["backend"] = "torch"
        h5.attrs["keras_version"] = KERAS_VERSION
        h5.attrs["model_config"] = json.dumps(entry)
        if training is not None:
            h5.attrs["training_config"] = json.dumps(training)
        write_legacy(model, h5.create_group("model_weights"), KERAS_VERSION, "torch")

    data = h5_bytes(write)
    with atomic_write(path, fsync=True) as f:
        f.write(data)


def load_h5(
    path: str | os.PathLike, custom_objects: dict[str, Any] | None = None, compile: bool = True
) -> Any:
    """The model in a full-model `.h5` (tf.keras 2, Keras 3 legacy, or Lamina's)."""
    with open_h5(path) as h5:
        text = h5.text_attr(h5.file, "model_config", "/")
        if text is None:
            raise FileFormatError(
                f"Expected a 'model_config' attribute (a full-model .h5), received: none in "
                f"{h5.label}; a weights-only file loads with model.load_weights"
            )
        entry = _json(text, h5, "model_config")
        model = build_model(from_legacy(entry), custom_objects, h5.where("model_config"))
        read_legacy(model, h5, "model_weights")
        training = h5.text_attr(h5.file, "training_config", "/") if compile else None
        if training is not None:
            cfg = _json(training, h5, "training_config")
            _compile(model, cfg, custom_objects, h5)
    return model


def _json(text: str, h5: CheckedH5, name: str) -> Any:
    value = json_text.loads(text, f"the attribute {name!r} of {h5.label}")
    if name == "model_config" and not (
        isinstance(value, dict) and isinstance(value.get("class_name"), str)
    ):
        raise FileFormatError(
            f"Expected a model entry {{'class_name': ..., 'config': ...}} in {h5.label}, "
            f"received: {str(value)[:200]}"
        )
    return value


def _legacy_entry(entry: Any) -> Any:
    """Keras's legacy config: layer entries without module/registered_name/build_config
    (nested objects such as initializers and dtype policies keep theirs)."""
    if isinstance(entry, list):
        return [_legacy_entry(e) for e in entry]
    if not isinstance(entry, dict):
        return entry
    out = {k: v for k, v in entry.items() if k not in _STRIP}
    config = out.get("config")
    if isinstance(config, dict) and isinstance(config.get("layers"), list):
        out["config"] = {**config, "layers": _legacy_entry(config["layers"])}
    return out


def _training_config(compiled: dict[str, Any] | None) -> dict[str, Any] | None:
    if not compiled:
        return None
    out = {k: v for k, v in compiled.items() if k != "optimizer"}
    optimizer = compiled.get("optimizer")
    if isinstance(optimizer, dict):
        optimizer = {"class_name": optimizer["class_name"], "config": optimizer.get("config")}
    out["optimizer_config"] = optimizer
    return out


def _compile(model: Any, training: Any, custom_objects: Any, h5: CheckedH5) -> None:
    if not isinstance(training, dict):
        raise FileFormatError(f"Expected training_config as an object in {h5.label}")
    cfg = {k: v for k, v in training.items() if k != "optimizer_config"}
    cfg["optimizer"] = training.get("optimizer_config")
    cfg["metrics"] = _legacy_metrics(cfg.get("metrics"))
    cfg["weighted_metrics"] = _legacy_metrics(cfg.get("weighted_metrics"))
    cfg["loss"] = _legacy_loss(cfg.get("loss"))
    try:
        apply_compile_config(model, cfg, custom_objects, source=h5.where("training_config"))
    except (FileFormatError, ValueError, TypeError) as err:
        warnings.warn(
            f"Model '{model.name}' loaded from {h5.label} uncompiled: its training_config "
            f"could not be rebuilt ({err}). Compile it again.",
            stacklevel=3,
        )


def _legacy_metrics(value: Any) -> Any:
    """tf.keras 2 writes metrics per output as nested lists of MeanMetricWrapper entries."""
    if isinstance(value, list):
        items = [_legacy_metrics(v) for v in value]
        if len(items) == 1 and isinstance(items[0], list):
            return items[0]
        return items
    if isinstance(value, dict) and value.get("class_name") == "MeanMetricWrapper":
        config = value.get("config") or {}
        return config.get("fn") if isinstance(config.get("fn"), str) else config.get("name")
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _legacy_metrics(v) for k, v in value.items()}
    return value


def _legacy_loss(value: Any) -> Any:
    """A tf.keras 2 loss object's config without its Keras-2-only `reduction="auto"`."""
    if isinstance(value, dict) and isinstance(value.get("config"), dict):
        config = {k: v for k, v in value["config"].items() if k != "reduction" or v != "auto"}
        return {**value, "config": config}
    if isinstance(value, dict):
        return {k: _legacy_loss(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_legacy_loss(v) for v in value]
    return value
