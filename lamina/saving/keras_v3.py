"""Keras 3's `.keras` files: a zip of `metadata.json`, `config.json`, `model.weights.h5`.

`save_keras` writes what `keras.saving.load_model` reads (the config as Keras 3
serialises it, the weights in Keras 3's HDF5 layout, the compile settings);
`load_keras` reads files Keras 3 wrote (or Lamina), building the model only from
registered classes and `custom_objects`, after screening the config for code. Writes
are atomic; reads go through the checked zip and HDF5 readers.
"""

from __future__ import annotations

import datetime
import json
import os
from typing import Any

from lamina.saving import json_text
from lamina.saving.compile_config import apply_compile_config, compile_config
from lamina.saving.errors import FileFormatError, UnsafeFileError, where
from lamina.saving.h5_safety import open_h5
from lamina.saving.keras_config_out import KERAS_VERSION, keras_compile_config, keras_entry
from lamina.saving.keras_lambda import Lambda
from lamina.saving.keras_screen import screen
from lamina.saving.keras_weights_h5 import h5_bytes, named_vars, read_keras3, write_keras3
from lamina.saving.layer_state import collect_assets, restore
from lamina.saving.registration import custom_object_scope, kinds_of
from lamina.saving.serialization import deserialize_layer
from lamina.saving.zip_archive import SafeZip, add_member, writing_zip

CONFIG = "config.json"
METADATA = "metadata.json"
WEIGHTS = "model.weights.h5"


def save_keras(model: Any, path: str | os.PathLike) -> None:
    """Write `model` as Keras 3's `.keras` zip (atomically)."""
    if not getattr(model, "built", True):
        raise ValueError(
            f"Model '{model.name}' expected to be built before saving (call it on data or "
            "give it an input shape), received: an unbuilt model"
        )
    entry = keras_entry(model)
    compiled = keras_compile_config(compile_config(model))
    if compiled:
        entry["compile_config"] = compiled
    metadata = {
        "keras_version": KERAS_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
    }
    weights = h5_bytes(lambda h5: write_keras3(model, h5))
    assets = collect_assets(model)  # text layers' vocabularies, where Keras puts them
    with writing_zip(path) as archive:
        add_member(archive, METADATA, json.dumps(metadata).encode())
        add_member(archive, CONFIG, json.dumps(entry).encode())
        add_member(archive, WEIGHTS, weights, compress=False)
        for name, data in assets.items():
            add_member(archive, name, data)


def load_keras(
    path: str | os.PathLike, custom_objects: dict[str, Any] | None = None, compile: bool = True
) -> Any:
    """The model in a `.keras` file, with its weights (and compiled, when `compile`)."""
    with SafeZip(path) as archive:
        entry = read_config(archive.read(CONFIG, max_bytes=json_text.MAX_BYTES), path)
        model = build_model(entry, custom_objects, where(path, CONFIG))
        if WEIGHTS in archive:
            label = where(path, WEIGHTS)
            with open_h5(archive.read(WEIGHTS), label=label) as h5:
                read_keras3(model, h5)
                assets = {
                    n: (lambda n=n: archive.read(n))
                    for n in archive.names()
                    if n.startswith("assets/")
                }
                restore(model, lambda p: named_vars(h5, p), assets, where(path))
        elif any(n.endswith(".npz") for n in archive.names()):
            raise FileFormatError(
                f"Expected weights as {WEIGHTS}, received: NumPy .npz weights in {where(path)} "
                "(save with Keras's default weights_format='h5')"
            )
        elif model.weights:
            raise FileFormatError(
                f"Expected the member {WEIGHTS} in {where(path)}, received: members "
                f"{archive.names()[:10]}"
            )
    cfg = entry.get("compile_config")
    if compile and isinstance(cfg, dict) and cfg:
        apply_compile_config(model, cfg, custom_objects, source=where(path, CONFIG))
    return model


def read_config(data: bytes, path: Any) -> dict[str, Any]:
    entry = json_text.loads(data, where(path, CONFIG))
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        raise FileFormatError(
            f"Expected a model entry {{'class_name': ..., 'config': ...}} in "
            f"{where(path, CONFIG)}, received: {str(entry)[:200]}"
        )
    return entry


def build_model(entry: dict[str, Any], custom_objects: dict[str, Any] | None, source: str) -> Any:
    """The model an entry describes: screened for code first, classes from the registry."""
    screen(entry, custom_objects, source)
    custom = dict(custom_objects or {})
    custom.setdefault("Lambda", Lambda)
    scoped = {k: v for k, v in custom.items() if k != "Lambda" and _scopable(v)}
    try:
        with custom_object_scope(scoped):
            model = deserialize_layer(_marked(entry), custom)
    except UnsafeFileError:
        raise
    except (
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
        RuntimeError,
        RecursionError,
    ) as err:
        raise FileFormatError(
            f"Expected a model config Lamina can build in {source}, received: {err}"
        ) from err
    if not hasattr(model, "compile"):
        raise FileFormatError(
            f"Expected a model in {source}, received: a {type(model).__name__} layer"
        )
    return model


def _marked(entry: dict[str, Any]) -> dict[str, Any]:
    """Keras 3 marks its entries with "module"; a top-level entry without one gets it."""
    return entry if "module" in entry else {**entry, "module": "keras"}


def _scopable(obj: Any) -> bool:
    try:
        kinds_of(obj)
    except TypeError:
        return False
    return True


def load_keras_weights(
    model: Any, path: str | os.PathLike, skip_mismatch: bool = False
) -> list[str]:
    """`model.load_weights("m.keras")`: the weights of a `.keras` file into a built model."""
    with SafeZip(path) as archive:
        label = where(path, WEIGHTS)
        with open_h5(archive.read(WEIGHTS), label=label) as h5:
            return read_keras3(model, h5, skip_mismatch=skip_mismatch) or []
