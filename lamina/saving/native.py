"""Lamina's own model file, `.lamina`: a zip of JSON and safetensors that any tool can open.

    config.json             format version, the architecture (`get_config`), build shape
    compile.json            loss, metrics, optimizer config (or null)
    model.safetensors       the weights in Keras's layouts, named "layer/.../weight"
    optimizer.safetensors   the optimizer's slots ("state/<i>/<slot>") and moving averages
    optimizer.json          its iteration count, rate and torch's param groups

    assets/<layer path>/... a text layer's vocabulary (`vocabulary.txt`), as Keras 3 stores it
    layer_variables.safetensors   named variables of such layers ("<layer path>/idf_weights")

Preprocessing state that has a fixed shape (normalization statistics) is held in weights,
so it travels in `model.safetensors`; a vocabulary and its IDF weights, whose sizes come
from `adapt`, travel as Keras 3 saves them (`layer_state.py`, the same layer paths as a
`.keras` file). Loading builds the model from the config under a weight budget (the
file's own tensor count), then checks every tensor before assigning any.
"""

from __future__ import annotations

import json
import math
import os
from typing import IO, Any

import numpy as np
import torch

from lamina import config as lamina_config
from lamina.saving import json_text
from lamina.saving.compile_config import apply_compile_config, compile_config
from lamina.saving.errors import FileFormatError, where
from lamina.saving.layer_state import collect_assets, collect_variables, restore
from lamina.saving.optimizer_state import optimizer_payload, restore_optimizer
from lamina.saving.registration import custom_object_scope
from lamina.saving.serialization import deserialize_layer, serialize_layer
from lamina.saving.tensor_files import dump, parse
from lamina.saving.weight_names import assign_weights, weight_tensors
from lamina.saving.zip_archive import SafeZip, add_member, writing_zip

FORMAT = "lamina"
FORMAT_VERSION = 1
VARIABLES = "layer_variables.safetensors"
MAX_INPUT_ELEMENTS = 1 << 24  # per sample: building a model runs it on zeros of this shape


def save_lamina(model: Any, path: str | os.PathLike, include_optimizer: bool = True) -> None:
    """Write `model` to `path` atomically (temporary file, fsync, rename)."""
    _require_built(model)
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "lamina_version": _version(),
        "model": serialize_layer(model),
        "build_input_shape": _json_shape(getattr(model, "_build_input_shape", None)),
    }
    tensors = weight_tensors(model)
    members = {
        "config.json": json.dumps(config, indent=1).encode(),
        "compile.json": json.dumps(compile_config(model)).encode(),
        "model.safetensors": dump(tensors),
    }
    variables = collect_variables(model)
    if variables:
        members[VARIABLES] = dump(
            {
                f"{path}/{key}": torch.from_numpy(np.ascontiguousarray(value))
                for path, store in variables.items()
                for key, value in store.items()
            }
        )
    members.update(collect_assets(model))
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and optimizer is not None and getattr(optimizer, "built", False):
        opt_tensors, opt_meta = optimizer_payload(optimizer)
        members["optimizer.safetensors"] = dump(opt_tensors)
        members["optimizer.json"] = json.dumps(opt_meta).encode()
    with writing_zip(path) as archive:
        for name, data in members.items():
            add_member(archive, name, data, compress=name.endswith(".json"))


def load_lamina(
    source: str | os.PathLike | IO[bytes],
    custom_objects: dict[str, Any] | None = None,
    compile: bool = True,
    safe_mode: bool = True,
) -> Any:
    """The model in a `.lamina` file, with its weights (and optimizer state if compiled)."""
    label = source if isinstance(source, (str, os.PathLike)) else None
    with SafeZip(source, label) as archive:
        config = read_json(archive, "config.json")
        _check_header(config, label)
        tensors = read_tensors(archive, "model.safetensors")
        budget = sum(t.numel() for t in tensors.values())
        with custom_object_scope(custom_objects):
            model = build_from_config(config, custom_objects, budget, label)
            assign_weights(model, tensors, source=where(label, "model.safetensors"))
            _restore_layer_state(model, archive, label)
            if compile:
                settings = read_json(archive, "compile.json") if "compile.json" in archive else None
                if settings is not None:
                    apply_compile_config(model, settings, custom_objects, where(label))
                    if "optimizer.json" in archive:
                        _restore_optimizer(model, archive, label)
    return model


def build_from_config(config: dict[str, Any], custom_objects: Any, budget: int, label: Any) -> Any:
    """Instantiate and build the model a header describes, refusing what the file can't back."""
    _check_input_sizes(config.get("model"), label)
    try:
        with lamina_config.weight_budget(budget):
            model = deserialize_layer(config.get("model"), custom_objects)
            shape = config.get("build_input_shape")
            if not model.built and shape is not None:
                model.build(_tuple_shape(shape, label))
    except FileFormatError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RuntimeError) as err:
        raise FileFormatError(
            f"Expected a model config Lamina can build in {where(label, 'config.json')}, "
            f"received: {type(err).__name__}: {str(err)[:400]}"
        ) from None
    except RecursionError:
        raise FileFormatError(
            f"Expected a model config of reasonable depth in {where(label, 'config.json')}, "
            "received: one nested too deeply"
        ) from None
    return model


def read_json(archive: SafeZip, name: str) -> Any:
    """A JSON member, with every parse failure as a FileFormatError."""
    return json_text.loads(
        archive.read(name, max_bytes=json_text.MAX_BYTES), where(archive.path, name)
    )


def read_tensors(archive: SafeZip, name: str) -> dict[str, torch.Tensor]:
    """A safetensors member, in its saved order; safetensors checks every offset."""
    return parse(archive.read(name), where(archive.path, name))[0]


def _restore_layer_state(model: Any, archive: SafeZip, label: Any) -> None:
    """Text layers' vocabularies (assets) and IDF weights (named variables)."""
    by_path: dict[str, dict[str, Any]] = {}
    if VARIABLES in archive:
        for name, tensor in read_tensors(archive, VARIABLES).items():
            path, _, key = name.rpartition("/")
            by_path.setdefault(path, {})[key] = tensor.numpy()
    assets = {n: (lambda n=n: archive.read(n)) for n in archive.names() if n.startswith("assets/")}
    restore(model, by_path.get, assets, where(label))


def _restore_optimizer(model: Any, archive: SafeZip, label: Any) -> None:
    meta = read_json(archive, "optimizer.json")
    tensors = read_tensors(archive, "optimizer.safetensors")
    optimizer = model.optimizer
    optimizer.build([p for p in model.parameters() if p.requires_grad])  # as fit builds it
    restore_optimizer(optimizer, tensors, meta, where(label, "optimizer.json"))


def _check_header(config: Any, label: Any) -> None:
    if not isinstance(config, dict):
        raise FileFormatError(
            f"Expected an object in {where(label, 'config.json')}, received: "
            f"{type(config).__name__}"
        )
    if config.get("format") != FORMAT:
        raise FileFormatError(
            f"Expected format {FORMAT!r} in {where(label, 'config.json')}, received: "
            f"format={config.get('format')!r}"
        )
    version = config.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version > FORMAT_VERSION:
        raise FileFormatError(
            f"Expected format_version <= {FORMAT_VERSION} in {where(label, 'config.json')}, "
            f"received: format_version={version!r} (a newer Lamina wrote it?)"
        )


def _check_input_sizes(entry: Any, label: Any) -> None:
    """Every declared input shape (any "batch_shape"/"shape" list) must be modest per sample."""
    stack = [entry]
    seen = 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > 1_000_000:
            raise FileFormatError(f"Expected a config of reasonable size in {where(label)}")
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("batch_shape", "batch_input_shape", "shape", "input_shape"):
                    _check_shape(value, key, label)
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)


def _check_shape(value: Any, key: str, label: Any) -> None:
    if not isinstance(value, list):
        return
    dims = value[1:] if key.startswith("batch") else value
    if not all(d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in dims):
        return  # not a shape (a layer's own 'shape' argument is checked by the layer)
    if any(d is not None and d < 0 for d in dims):
        raise FileFormatError(
            f"Expected non-negative dimensions in {where(label, 'config.json')}, received: "
            f"{key}={value!r}"
        )
    elements = math.prod(d or 1 for d in dims)
    if elements > MAX_INPUT_ELEMENTS:
        raise FileFormatError(
            f"Expected an input of at most {MAX_INPUT_ELEMENTS} elements per sample in "
            f"{where(label, 'config.json')}, received: {key}={value!r}"
        )


def _tuple_shape(shape: Any, label: Any) -> Any:
    if isinstance(shape, list) and all(d is None or isinstance(d, int) for d in shape):
        _check_shape(shape, "batch_shape", label)
        return tuple(shape)
    if isinstance(shape, list):
        return [_tuple_shape(s, label) for s in shape]
    if isinstance(shape, dict):
        return {k: _tuple_shape(v, label) for k, v in shape.items()}
    raise FileFormatError(
        f"Expected a build shape (list of ints and nulls) in {where(label, 'config.json')}, "
        f"received: {shape!r}"[:300]
    )


def _json_shape(shape: Any) -> Any:
    if shape is None:
        return None
    if isinstance(shape, (tuple, list, torch.Size)) and all(
        d is None or isinstance(d, int) for d in shape
    ):
        return list(shape)
    if isinstance(shape, (tuple, list)):
        return [_json_shape(s) for s in shape]
    if isinstance(shape, dict):
        return {str(k): _json_shape(v) for k, v in shape.items()}
    return None


def _require_built(model: Any) -> None:
    if not getattr(model, "built", False) or not model.weights and not model.layers:
        raise ValueError(
            f"Expected a built model to save (call it on data, fit it or build(input_shape) "
            f"first), received: model '{model.name}' with no weights yet"
        )


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("lamina")
    except Exception:  # noqa: BLE001 - an uninstalled checkout has no metadata
        return "unknown"
