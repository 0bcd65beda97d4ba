"""What `compile` sets up: per-output losses and metrics, and the logits shortcut.

When an output layer ends in softmax/sigmoid and its loss is the matching
cross-entropy, training asks that layer for logits and uses the fused, stable
loss (no log(0)); metrics still see probabilities.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import activations, losses, metrics
from lamina.layers.base import Layer
from lamina.layers.symbolic import flatten


def output_layers(model: Any) -> list[Layer | None]:
    """The layer that produces each output, where the model's structure says so."""
    from lamina.models.functional import Functional
    from lamina.models.sequential import Sequential

    if isinstance(model, Sequential):
        layers = model.layers
        if not layers:
            return [None]
        last = layers[-1]
        if isinstance(last, Sequential):
            return output_layers(last)
        return [last]
    if isinstance(model, Functional):
        return [t.node.layer for t in model.outputs]
    return [None]


def final_activation(layer: Layer | None) -> str | None:
    """'softmax' or 'sigmoid' when `layer` ends in one (and can emit logits)."""
    if layer is None:
        return None
    if type(layer).__name__ == "Softmax" and getattr(layer, "axis", -1) == -1:
        return "softmax"
    fn = getattr(layer, "activation", None)
    if fn is activations.softmax:
        return "softmax"
    if fn is activations.sigmoid:
        return "sigmoid"
    return None


_RANKING = (
    metrics.CategoricalAccuracy,
    metrics.SparseCategoricalAccuracy,
    metrics.TopKCategoricalAccuracy,
    metrics.SparseTopKCategoricalAccuracy,
)


class OutputHead:
    """Loss, weight and metrics of one model output."""

    def __init__(self, name: str, loss: Any, weight: float, metric_ids: list[Any]) -> None:
        self.name = name
        self.loss = losses.get(loss)
        self.weight = float(weight)
        self.metric_ids = metric_ids
        self.metrics: list[Any] = []
        self.layer: Layer | None = None
        self.train_loss = self.loss  # replaced by the logits variant where possible
        self.activation: Any = None  # applied to logits before the metrics
        self.loss_tracker: Any = None  # per-output loss, for models with several outputs

    def resolve(self, layer: Layer | None, output_shape: tuple | None, prefix: str) -> None:
        """Pick the logits shortcut and concrete metric classes for this output."""
        act = final_activation(layer)
        variant = self.loss.logits_variant(act) if act else None
        if variant is not None:
            self.layer, self.train_loss = layer, variant
            self.activation = activations.get(act)
        self.metrics = []
        if prefix:
            self.loss_tracker = metrics.Mean(name=f"{prefix}_loss")
        for mid in self.metric_ids:
            m = metrics.get(mid, loss=self.loss, output_shape=output_shape)
            if prefix:
                m.name = f"{prefix}_{m.name}"
            self.metrics.append(m)
        # Softmax keeps the order of the logits, so ranking metrics can skip it.
        if act == "softmax" and all(isinstance(m, _RANKING) for m in self.metrics):
            self.activation = None


def normalise_per_output(value: Any, names: list[str], what: str) -> list[Any]:
    """A single value, a list, or a dict by output name -> one entry per output."""
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(
                f"Expected {what} keys among outputs {names}, received: keys={unknown}"
            )
        return [value.get(n) for n in names]
    if isinstance(value, (list, tuple)) and len(names) > 1:
        if len(value) != len(names):
            raise ValueError(
                f"Expected one {what} per output ({len(names)}), received: {len(value)}"
            )
        return list(value)
    return [value] * len(names)


def metrics_per_output(value: Any, names: list[str]) -> list[list[Any]]:
    """Keras accepts a flat list (for every output), a list of lists, or a dict."""
    if value is None:
        return [[] for _ in names]
    if isinstance(value, dict):
        out = []
        for n in names:
            v = value.get(n, [])
            out.append(list(v) if isinstance(v, (list, tuple)) else [v])
        return out
    value = list(value) if isinstance(value, (list, tuple)) else [value]
    if len(names) > 1 and value and all(isinstance(v, (list, tuple)) for v in value):
        return [list(v) for v in value]
    return [list(value) for _ in names]


def as_list(structure: Any) -> list[Any]:
    if isinstance(structure, torch.Tensor):
        return [structure]
    return flatten(structure)
