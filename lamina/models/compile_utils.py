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
from lamina.tree import flatten


def output_layers(model: Any) -> list[Layer | None]:
    """The layer that produces each output, where the model's structure says so
    (`_output_layers()` of Sequential and Functional; None for a subclassed model)."""
    find = getattr(model, "_output_layers", None)
    return find() if find is not None else [None]


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
    """Loss, weight and metrics of one model output.

    `metrics` never see sample weights; `weighted_metrics` see the same weights as the
    loss (`sample_weight`, or the ones `class_weight` makes), as in Keras.
    """

    def __init__(
        self,
        name: str,
        loss: Any,
        weight: float,
        metric_ids: list[Any],
        weighted_ids: list[Any] | None = None,
    ) -> None:
        self.name = name
        self.loss = losses.get(loss)
        self.weight = float(weight)
        self.metric_ids = metric_ids
        self.weighted_ids = list(weighted_ids or [])
        self.metrics: list[Any] = []
        self.weighted_metrics: list[Any] = []
        self.layer: Layer | None = None
        self.train_loss = self.loss  # replaced by the logits variant where possible
        self.activation: Any = None  # applied to logits before the metrics
        self.loss_tracker: Any = None  # per-output loss, for models with several outputs

    def resolve(self, layer: Layer | None, output_shape: tuple | None, prefix: str) -> None:
        """Pick the logits shortcut and concrete metric classes for this output.

        Metric names are set afterwards, for all outputs at once (`name_metrics`).
        """
        act = final_activation(layer)
        variant = self.loss.logits_variant(act) if act and self.loss is not None else None
        if variant is not None:
            self.layer, self.train_loss = layer, variant
            self.activation = activations.get(act)
        if prefix:
            self.loss_tracker = metrics.Mean(name=f"{prefix}_loss")
        self.metrics = [
            metrics.get(mid, loss=self.loss, output_shape=output_shape) for mid in self.metric_ids
        ]
        self.weighted_metrics = [
            metrics.get(mid, loss=self.loss, output_shape=output_shape) for mid in self.weighted_ids
        ]
        # Softmax keeps the order of the logits, so ranking metrics can skip it.
        every = self.metrics + self.weighted_metrics
        if act == "softmax" and all(isinstance(m, _RANKING) for m in every):
            self.activation = None


def _base_name(metric: Any) -> str:
    """The metric's own name, before any output prefix this module gave it (a metric
    object passed to compile() again keeps its name, not the prefixed one)."""
    base = getattr(metric, "_compile_base_name", None)
    if base is None or metric.name not in (base, getattr(metric, "_compile_log_name", None)):
        base = metric.name
    metric._compile_base_name = base
    return base


def name_metrics(heads: list[OutputHead], prefixed: bool) -> None:
    """Keras's log names: `<output>_<name>` with several outputs; a repeated name gets
    `_1`, `_2`...; a weighted metric whose name is taken becomes `weighted_<name>`
    (itself numbered when repeated). Unweighted metrics of all outputs are named first."""
    taken: dict[str, int] = {}

    def numbered(name: str) -> str:
        if name not in taken:
            taken[name] = 1
            return name
        index = taken[name]
        taken[name] += 1
        return f"{name}_{index}"

    def with_prefix(head: OutputHead, name: str) -> str:
        return f"{head.name}_{name}" if prefixed else name

    def assign(metric: Any, name: str) -> None:
        metric.name = name
        metric._compile_log_name = name

    for head in heads:
        for m in head.metrics:
            assign(m, numbered(with_prefix(head, _base_name(m))))
    for head in heads:
        for m in head.weighted_metrics:
            base = _base_name(m)
            name = with_prefix(head, base)
            if name in taken:
                name = numbered(with_prefix(head, f"weighted_{base}"))
            else:
                taken[name] = 1
            assign(m, name)


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


def _as_metric_list(entry: Any) -> list[Any]:
    if entry is None:
        return []
    return list(entry) if isinstance(entry, (list, tuple)) else [entry]


def _flat_metric_ids(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [m for key in sorted(value) for m in _flat_metric_ids(value[key])]
    if isinstance(value, (list, tuple)):
        return [m for entry in value for m in _flat_metric_ids(entry)]
    return [] if value is None else [value]


def metrics_per_output(value: Any, names: list[str], what: str = "metrics") -> list[list[Any]]:
    """`metrics` / `weighted_metrics` of compile() -> one list of metric ids per output.

    As in Keras 3: with one output every metric given applies to it; with several, a
    dict maps output names to a metric or a list of them, and a list with one entry per
    output (a metric, a list, or None) is read per output. Any other flat list applies
    to every output (Keras 3 refuses it; Keras 2 read it so).
    """
    if value is None:
        return [[] for _ in names]
    if len(names) == 1:
        return [_flat_metric_ids(value)]
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(
                f"Expected {what} keys among outputs {names}, received: keys={unknown}"
            )
        return [_as_metric_list(value.get(n)) for n in names]
    value = list(value) if isinstance(value, (list, tuple)) else [value]
    if len(value) == len(names):
        return [_as_metric_list(v) for v in value]
    if any(isinstance(v, (list, tuple)) for v in value):
        raise ValueError(
            f"Expected one entry of {what} per output ({len(names)}: {names}), "
            f"received: {len(value)} entries"
        )
    return [list(value) for _ in names]


def mask_weights(mask: torch.Tensor, sample_weight: Any, reduction: Any, like: torch.Tensor) -> Any:
    """An output's mask as loss weights (Keras 3's `apply_mask`): masked entries weigh 0;
    for a mean, kept ones weigh total / kept, so the mean runs over the kept entries only
    (an all-masked batch weighs 0). Per-sample weights multiply in, aligned to the mask."""
    m = mask.to(dtype=like.dtype, device=like.device)
    if reduction in ("sum_over_batch_size", "mean"):
        kept = m.sum()
        scale = torch.where(kept > 0, m.numel() / kept.clamp_min(1.0), torch.zeros_like(kept))
        m = m * scale
    if sample_weight is None:
        return m
    sw = torch.as_tensor(sample_weight, dtype=like.dtype, device=like.device)
    while sw.ndim > m.ndim and sw.shape[-1] == 1:
        sw = sw.squeeze(-1)
    while 0 < sw.ndim < m.ndim:
        sw = sw.unsqueeze(-1)
    return m * sw


def as_list(structure: Any) -> list[Any]:
    if isinstance(structure, torch.Tensor):
        return [structure]
    return flatten(structure)
