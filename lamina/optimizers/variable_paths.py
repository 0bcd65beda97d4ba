"""Keras's `variable.path` for Lamina's weights: `"<layer path>/<weight name>"`.

Keras names each variable by the layers above it (`"encoder/dense/kernel"`); Muon's
`exclude_layers`/`exclude_embeddings` and `OptimizerMap`'s patterns match these paths.
A torch parameter has no name of its own, so `tag_paths(model)` writes each trainable
weight's path on it as `param.path` (Lamina's paths start below the model: a Sequential's
`"dense/kernel"` is Keras's `"sequential/dense/kernel"`). A weight stored in torch's
layout also gets `param.keras_layout`, the permutation to Keras's (Adafactor factors
the last two axes of Keras's layout).

    tag_paths(model); model.optimizer.build(...)
"""

from __future__ import annotations

from typing import Any

import torch


def tag_paths(model: Any) -> dict[int, str]:
    """Set `param.path` on every weight of `model` (a Lamina Layer); returns id -> path."""
    layers: dict[int, str] = {id(model): ""}

    def visit(layer: Any, prefix: str) -> None:
        for child in layer._sublayers():
            if id(child) not in layers:
                layers[id(child)] = f"{prefix}{child.name}"
                visit(child, layers[id(child)] + "/")

    visit(model, "")
    paths: dict[int, str] = {}
    for entry in model._weight_entries():
        owner = layers.get(id(entry.layer), entry.layer.name)
        path = f"{owner}/{entry.spec.name}" if owner else str(entry.spec.name)
        paths[id(entry.tensor)] = path
        if isinstance(entry.tensor, torch.nn.Parameter):
            entry.tensor.path = path
            to_keras = getattr(entry.spec, "to_keras", None)
            if to_keras is not None:  # stored in torch's layout: the permutation to Keras's
                entry.tensor.keras_layout = tuple(to_keras)
    return paths


def tag_owner_paths(optimizer: Any, params: list[torch.Tensor]) -> None:
    """Tag `params` through the model compiled with `optimizer`, when some lack a path.

    The engine and the loaders build an optimizer from bare parameters; the model that
    holds this optimizer (its `optimizer` attribute) is found among live objects, once per
    build, only for optimizers that read paths (MultiOptimizer, Muon).
    """
    if all(path_of(p) for p in params):
        return
    import gc

    for obj in gc.get_objects():
        try:
            attributes = object.__getattribute__(obj, "__dict__")
        except (AttributeError, TypeError):
            continue
        if attributes.get("optimizer") is optimizer and hasattr(obj, "_weight_entries"):
            tag_paths(obj)  # a Lamina model (optimizers import no layers: duck-typed)
            return


def path_of(variable: Any) -> str:
    """The variable's Keras path, or "" when none was tagged."""
    return str(getattr(variable, "path", "") or "")
