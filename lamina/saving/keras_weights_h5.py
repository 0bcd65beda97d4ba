"""Keras's HDF5 weights files: Keras 3's `.weights.h5` and tf.keras's legacy `.h5` layout.

Keras 3 (`model.weights.h5` inside a `.keras`, and `save_weights("x.weights.h5")`) keeps
each layer's own variables as datasets `vars/0`, `vars/1`, ... under a group named by
where the layer sits: `layers/<snake_case class name>[_N]` for the layers of a
Sequential or functional model (numbered per class, in the order Keras lists the
layers), attribute names for a subclassed model's layers. tf.keras 2 (`save_weights
("x.h5")`, and the `model_weights` group of a full-model `.h5`) keeps one group per
layer of `model.layers`, named by the layer, its `weight_names` attribute listing
datasets inside it, trainable weights first. Loading matches legacy files by layer name,
or by order (as Keras does) when the names differ.
"""

from __future__ import annotations

import io
import os
import re
from typing import Any

import h5py
import numpy as np
import torch

from lamina.io_utils import atomic_write
from lamina.layers.weight_walk import is_layer
from lamina.saving.errors import FileFormatError
from lamina.saving.h5_safety import CheckedH5, open_h5
from lamina.saving.keras_config_out import KERAS_VERSION, keras_class, keras_layer_order, model_kind
from lamina.saving.weight_names import keras_layout, layer_paths

Layout = list[tuple[str, Any, list[Any]]]  # (group path, layer, the layer's own entries)


def snake_case(name: str) -> str:
    """Keras's group name for a class: "Conv2DTranspose" -> "conv2d_transpose"."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _class_name(layer: Any) -> str:
    try:
        return keras_class(layer)[1]
    except ValueError:
        return type(layer).__name__  # weights only: a Lamina-only layer keeps its own name


def _join(*parts: str) -> str:
    return "/".join(p for p in parts if p)


def own_entries(layer: Any) -> list[Any]:
    return [e for e in layer._weight_entries() if e.layer is layer]


def graph_children(model: Any) -> list[Any]:
    """A Sequential's or functional model's layers in Keras's order."""
    kind = model_kind(model)
    layers = list(model.layers)
    if kind != "Functional":
        return layers
    by_name = {layer.name: layer for layer in layers}
    try:
        order = keras_layer_order(model.get_config())
    except (ValueError, TypeError, KeyError):
        return layers
    ordered = [by_name[n] for n in order if n in by_name]
    return ordered + [la for la in layers if all(la is not o for o in ordered)]


def keras3_layout(model: Any) -> Layout:
    """Every layer (the model first) with its group path and own weights."""
    out: Layout = []
    seen: set[int] = set()

    def visit(layer: Any, path: str) -> None:
        if id(layer) in seen:
            return
        seen.add(id(layer))
        out.append((path, layer, own_entries(layer)))
        if model_kind(layer) in ("Functional", "Sequential"):
            container(graph_children(layer), _join(path, "layers"))
            return
        children: list[tuple[str, Any]] = list(layer.named_children())
        if model_kind(layer) == "Model":
            # Keras walks a subclassed model's `layers` property with its attributes: layers
            # no attribute reached first are stored under layers/<class>_<n>.
            children.append(("layers", list(layer.layers)))
        for attr, child in sorted(children, key=lambda kv: _attr_key(kv[0])):
            if is_layer(child):
                visit(child, _join(path, attr))
            elif isinstance(child, (list, torch.nn.ModuleList, torch.nn.Sequential)):
                container([c for c in child if is_layer(c)], _join(path, attr))
            elif isinstance(child, torch.nn.ModuleDict):
                container([c for c in child.values() if is_layer(c)], _join(path, attr))

    def container(children: list[Any], path: str) -> None:
        used: dict[str, int] = {}
        for child in children:
            base = snake_case(_class_name(child))
            if base in used:
                used[base] += 1
                name = f"{base}_{used[base]}"
            else:
                used[base] = 0
                name = base
            visit(child, _join(path, name))

    visit(model, "")
    return out


def _attr_key(name: str) -> str:
    return f"~{name}" if name.startswith("_") else name


# ------------------------------------------------------------------ Keras 3 layout
def has_state_hooks(layer: Any) -> bool:
    """A layer saving state beyond weights through Keras's hooks (`save_own_variables`:
    named variables such as a text layer's `idf_weights`; `save_assets`: files)."""
    return callable(getattr(layer, "save_own_variables", None)) or callable(
        getattr(layer, "save_assets", None)
    )


def write_keras3(model: Any, h5: h5py.File) -> None:
    """Keras 3's layout: a `vars` group (with the layer's name) per layer; a layer with
    `save_own_variables` writes its named variables there, as Keras does."""
    for path, layer, entries in keras3_layout(model):
        group = h5.create_group(_join(path, "vars"))
        group.attrs["name"] = layer.name
        for i, entry in enumerate(entries):
            group.create_dataset(str(i), data=_numpy(entry))
        if not entries and callable(getattr(layer, "save_own_variables", None)):
            store: dict[str, Any] = {}
            layer.save_own_variables(store)
            for key, value in store.items():
                group.create_dataset(key, data=np.asarray(value))


def named_vars(h5: CheckedH5, path: str) -> dict[str, np.ndarray]:
    """The datasets of a layer's `vars` group by name (a stateful layer's variables)."""
    inner = _join(path, "vars")
    group = h5.group(inner)
    if group is None:
        return {}
    return {name: h5.array(group[name], f"{inner}/{name}") for name in group}


def read_keras3(model: Any, h5: CheckedH5, skip_mismatch: bool = False) -> list[str]:
    """Load Keras 3's layout into `model`; returns the weights skipped (skip_mismatch)."""
    staged: list[tuple[Any, np.ndarray]] = []
    skipped: list[str] = []
    visited: set[str] = set()
    later: list[tuple[Any, dict[str, np.ndarray]]] = []  # (layer, its named variables)
    for path, layer, entries in keras3_layout(model):
        inner = _join(path, "vars")
        visited.add(inner)
        group = h5.group(inner)
        if not entries and has_state_hooks(layer):
            if callable(getattr(layer, "load_own_variables", None)):  # named variables
                later.append((layer, named_vars(h5, path)))
            continue
        values = _vars(h5, group, inner) if group is not None else []
        if len(values) != len(entries):
            if skip_mismatch and entries:
                skipped.extend(f"{layer.name}/{e.spec.name}" for e in entries)
                continue
            if not entries and not values:
                continue
            raise FileFormatError(
                f"Layer '{layer.name}' ({type(layer).__name__}) expected {len(entries)} "
                f"weights ({', '.join(e.spec.name for e in entries) or 'none'}), received: "
                f"{len(values)} in {h5.where(inner)}"
            )
        for i, (entry, value) in enumerate(zip(entries, values)):
            if not _fits(entry, value, layer, h5.where(f"{inner}/{i}"), skip_mismatch):
                skipped.append(f"{layer.name}/{entry.spec.name}")
                continue
            staged.append((entry, value))
    extra = [p for p in _var_groups(h5.file) if p not in visited and not _is_optimizer(p)]
    if extra and not skip_mismatch:
        raise FileFormatError(
            f"Model '{model.name}' expected weights only for its own layers, received: "
            f"weights at {extra[:5]} in {h5.label} that no layer of the model matches"
        )
    _assign(staged)
    for layer, store in later:
        if store:
            layer.load_own_variables(store)
    return skipped


def _is_optimizer(path: str) -> bool:
    return path.split("/")[0] == "optimizer"


def _var_groups(h5: h5py.File) -> list[str]:
    """Paths of `vars` groups holding datasets (the file was checked: no links out)."""
    found: list[str] = []

    def visit(group: h5py.Group, path: str) -> None:
        for name in group:
            obj = group[name]
            sub = _join(path, name)
            if isinstance(obj, h5py.Group):
                if name == "vars" and len(obj):
                    found.append(sub)
                visit(obj, sub)

    visit(h5, "")
    return found


def _vars(h5: CheckedH5, group: h5py.Group, inner: str) -> list[np.ndarray]:
    names = list(group.keys())
    if sorted(names, key=lambda n: (len(n), n)) != [str(i) for i in range(len(names))]:
        raise FileFormatError(
            f"Expected datasets named 0, 1, 2, ..., received: {names[:10]} in {h5.where(inner)}"
        )
    return [h5.array(group[str(i)], f"{inner}/{i}") for i in range(len(names))]


# ------------------------------------------------------------------ legacy layout
def legacy_weights(layer: Any) -> list[Any]:
    """A layer's weights as tf.keras lists them: trainable first, then the others."""
    entries = list(layer._weight_entries())
    return [e for e in entries if e.trainable] + [e for e in entries if not e.trainable]


def legacy_weight_names(layer: Any) -> list[str]:
    paths = layer_paths(layer)
    names: list[str] = []
    for entry in legacy_weights(layer):
        inner = paths.get(id(entry.layer), "")
        name = _join(layer.name, inner, entry.spec.name)
        base, n = name, 1
        while name in names:
            name, n = f"{base}_{n}", n + 1
        names.append(name)
    return names


def legacy_layers(model: Any) -> list[Any]:
    """`model.layers` as Keras lists them (a functional model's InputLayers included)."""
    if model_kind(model) in ("Functional", "Sequential"):
        return graph_children(model)
    return list(model.layers)


def write_legacy(model: Any, group: h5py.Group, keras_version: str, backend: str) -> None:
    """tf.keras's layout into `group` (a file's root, or a full model's `model_weights`)."""
    layers = legacy_layers(model)
    group.attrs["layer_names"] = [layer.name.encode("utf8") for layer in layers]
    group.attrs["backend"] = backend
    group.attrs["keras_version"] = keras_version
    for layer in layers:
        sub = group.create_group(layer.name)
        names = legacy_weight_names(layer)
        sub.attrs["weight_names"] = [n.encode("utf8") for n in names]
        for name, entry in zip(names, legacy_weights(layer)):
            sub.create_dataset(name, data=_numpy(entry))
    top = group.create_group("top_level_model_weights")
    top.attrs["weight_names"] = np.array([], dtype="S1")


def read_legacy(
    model: Any, h5: CheckedH5, inner: str = "", skip_mismatch: bool = False
) -> list[str]:
    """Load tf.keras's layout (at `inner`) into `model`: by layer name when every saved
    layer name is one of the model's, else by order, as Keras does."""
    root = h5.group(inner)
    if root is None:
        raise FileFormatError(f"Expected a group of weights in {h5.where(inner or '/')}")
    names = h5.names_attr(root, "layer_names", inner or "/")
    if names is None:
        raise FileFormatError(
            f"Expected a 'layer_names' attribute (tf.keras's weights layout), received: none "
            f"in {h5.where(inner or '/')}"
        )
    saved: list[tuple[str, list[np.ndarray]]] = []
    for name in names:
        path = _join(inner, name)
        group = h5.group(path)
        if group is None:
            raise FileFormatError(
                f"Expected the layer group named in layer_names in {h5.where(path)}"
            )
        weight_names = h5.names_attr(group, "weight_names", path) or []
        if weight_names:
            values = []
            for w in weight_names:
                if w not in group:
                    raise FileFormatError(
                        f"Expected dataset {w!r} listed in weight_names, received: none in "
                        f"{h5.where(path)}"
                    )
                values.append(h5.array(group[w], _join(path, w)))
            saved.append((name, values))
    layers = [la for la in legacy_layers(model) if legacy_weights(la)]
    by_name = {la.name: la for la in layers}
    if all(name in by_name for name, _ in saved) and len(saved) <= len(layers):
        pairs = [(by_name[name], name, values) for name, values in saved]
        missing = [la.name for la in layers if la.name not in {n for n, _ in saved}]
    else:
        if len(saved) != len(layers) and not skip_mismatch:
            raise FileFormatError(
                f"Model '{model.name}' expected {len(layers)} layers with weights "
                f"({', '.join(la.name for la in layers[:8])}), received: {len(saved)} in "
                f"{h5.where(inner or '/')} ({', '.join(n for n, _ in saved[:8])})"
            )
        pairs = [(la, name, values) for la, (name, values) in zip(layers, saved)]
        missing = [la.name for la in layers[len(saved) :]]
    if missing and not skip_mismatch:
        raise FileFormatError(
            f"Model '{model.name}' expected weights for layers {missing}, received: none in "
            f"{h5.where(inner or '/')}"
        )
    staged: list[tuple[Any, np.ndarray]] = []
    skipped = [f"{n}/*" for n in missing]
    for layer, name, values in pairs:
        entries = legacy_weights(layer)
        label = h5.where(_join(inner, name))
        if len(values) != len(entries):
            if skip_mismatch:
                skipped.extend(f"{layer.name}/{e.spec.name}" for e in entries)
                continue
            raise FileFormatError(
                f"Layer '{layer.name}' ({type(layer).__name__}) expected {len(entries)} weights, "
                f"received: {len(values)} in {label}"
            )
        for entry, value in zip(entries, values):
            if _fits(entry, value, entry.layer, label, skip_mismatch):
                staged.append((entry, value))
            else:
                skipped.append(f"{entry.layer.name}/{entry.spec.name}")
    _assign(staged)
    return skipped


# ------------------------------------------------------------------ shared
def _numpy(entry: Any) -> np.ndarray:
    return keras_layout(entry).to("cpu").contiguous().numpy()


def _fits(entry: Any, value: np.ndarray, layer: Any, label: str, skip_mismatch: bool) -> bool:
    expected = tuple(keras_layout(entry).shape)
    if tuple(value.shape) == expected:
        return True
    if skip_mismatch:
        return False
    raise FileFormatError(
        f"Layer '{layer.name}' expected weight '{entry.spec.name}' of shape {expected}, "
        f"received: shape={tuple(value.shape)} in {label}"
    )


def _assign(staged: list[tuple[Any, np.ndarray]]) -> None:
    """Copy every checked value in (nothing is copied unless all were checked)."""
    with torch.no_grad():
        for entry, value in staged:
            tensor = torch.as_tensor(np.array(value, order="C"))  # 0-d stays 0-d
            if entry.spec.to_torch is not None:
                tensor = tensor.permute(*entry.spec.to_torch)
            target = entry.tensor
            target.copy_(tensor.to(dtype=target.dtype, device=target.device))


def h5_bytes(write: Any) -> bytes:
    """An HDF5 file built in memory by `write(h5py.File)`."""
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        write(h5)
    return buffer.getvalue()


def layout_of(h5: CheckedH5) -> str:
    """ "keras3", "legacy" (tf.keras weights) or "legacy_model" (a full-model .h5)."""
    root = h5.file
    if "layer_names" in root.attrs or "layer_names0" in root.attrs:
        return "legacy"
    if "model_weights" in root and isinstance(root["model_weights"], h5py.Group):
        return "legacy_model"
    if "vars" in root or "layers" in root or not len(root):
        return "keras3"
    return "keras3"


def save_weights_h5(model: Any, path: str | os.PathLike, layout: str | None = None) -> None:
    """Write `model`'s weights: Keras 3's layout for `.weights.h5`, tf.keras's for other
    `.h5` names (or as `layout` says: "keras3" / "legacy"). The write is atomic."""
    if layout is None:
        layout = "keras3" if os.fspath(path).endswith(".weights.h5") else "legacy"
    if layout not in ("keras3", "legacy"):
        raise ValueError(f"Expected layout 'keras3' or 'legacy', received: layout={layout!r}")
    if not getattr(model, "built", True):
        raise ValueError(
            f"Model '{model.name}' expected to be built before saving weights (call it on data "
            "or build it), received: an unbuilt model"
        )
    if layout == "keras3":
        data = h5_bytes(lambda h5: write_keras3(model, h5))
    else:
        data = h5_bytes(lambda h5: write_legacy(model, h5, KERAS_VERSION, "torch"))
    with atomic_write(path, fsync=True) as f:
        f.write(data)


def load_weights_h5(model: Any, path: str | os.PathLike, skip_mismatch: bool = False) -> list[str]:
    """Load a Keras 3 `.weights.h5`, a tf.keras weights `.h5` or a full-model `.h5` into
    `model`; returns the names of weights skipped when `skip_mismatch=True`."""
    with open_h5(path) as h5:
        kind = layout_of(h5)
        if kind == "keras3":
            return read_keras3(model, h5, skip_mismatch)
        return read_legacy(
            model, h5, "model_weights" if kind == "legacy_model" else "", skip_mismatch
        )
