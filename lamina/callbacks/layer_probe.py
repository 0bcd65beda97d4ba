"""Per-layer measurements for Diagnostics: gradients, activations and update sizes.

`LayerProbe.measure(x, y, sample_weight)` runs one extra eager forward and backward pass
of the model on a batch, in training mode, and returns per layer:

- `grad_norm`: the L2 norm of the loss's gradient with respect to the layer's trainable
  weights (all of them together: kernel and bias), and `grad_rms` = that norm divided by
  the square root of the number of weights, which compares layers of different sizes;
- `weight_norm`: the L2 norm of those weights;
- `dead_fraction` (ReLU layers): the share of units (the last axis: Dense units, Conv
  channels) whose output is zero for every sample and position of the batch;
- `saturation` (sigmoid and tanh layers): the share of outputs where the activation's
  derivative is below a tenth of its peak (sigmoid outside [0.026, 0.974], tanh with
  |y| > 0.949), where gradients hardly pass.

Gradients come from `torch.autograd.grad`, so no `.grad` is touched; `PreservedState`
restores random generators and BatchNormalization statistics; the weights are only read.
The compiled train step is not involved: it runs unchanged.

`UpdateMeter` reads the size of one real optimizer step: `begin()` copies the weights
before a batch, `end(steps)` returns per layer ||W_after - W_before|| / ||W_before||
(divided by `steps` when the step covered several batches: steps_per_execution).

Values stay 0-dimensional tensors on the model's device (no host sync during the epoch);
`Diagnostics` reads them when the epoch ends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from lamina.callbacks.probe_state import PreservedState

# Where an activation's derivative falls below a tenth of its peak: sigmoid's
# s(1 - s) < 0.025 and tanh's 1 - t^2 < 0.1.
SIGMOID_FLAT = 0.5 - math.sqrt(0.25 - 0.025)
TANH_FLAT = math.sqrt(0.9)
RELU_NAMES = ("relu", "relu6")
WATCHED_ACTIVATIONS = (*RELU_NAMES, "sigmoid", "tanh")


def activation_kind(layer: Any) -> str | None:
    """'relu', 'sigmoid' or 'tanh' when the layer's output is that function of its input.

    Dense, Conv and Activation layers (an `activation` attribute) and ReLU layers without
    a slope or threshold; recurrent layers are left out (their output mixes gates)."""
    if type(layer).__name__ == "ReLU":
        plain = (
            getattr(layer, "negative_slope", 0.0) == 0.0 and getattr(layer, "threshold", 0.0) == 0.0
        )
        return "relu" if plain else None
    fn = getattr(layer, "activation", None)
    if not callable(fn) or hasattr(layer, "recurrent_activation") or hasattr(layer, "cell"):
        return None
    name = getattr(fn, "__name__", None)
    if name in RELU_NAMES:
        return "relu"
    return name if name in WATCHED_ACTIVATIONS else None


def is_layer(module: Any) -> bool:
    """A Lamina (Keras) layer: a module with Keras's `trainable_weights` and a `name`."""
    return hasattr(type(module), "trainable_weights") and isinstance(
        getattr(module, "name", None), str
    )


def tensors(structure: Any) -> list[torch.Tensor]:
    """The tensors in a nest of lists, tuples and dicts, in order."""
    if isinstance(structure, torch.Tensor):
        return [structure]
    if isinstance(structure, dict):
        structure = list(structure.values())
    if isinstance(structure, (list, tuple)):
        return [t for item in structure for t in tensors(item)]
    return []


def own_parameters(layer: Any) -> list[torch.nn.Parameter]:
    """The trainable parameters `layer` holds itself (not those of its sublayers)."""
    inner = {
        id(p)
        for sub in layer.modules()
        if sub is not layer and is_layer(sub)
        for p in sub.parameters()
    }
    return [p for p in layer.parameters() if p.requires_grad and id(p) not in inner]


@dataclass
class WatchedLayer:
    """One layer the probe reports on: its weights and the activation it ends in."""

    name: str
    layer: Any
    activation: str | None
    params: list[torch.nn.Parameter] = field(default_factory=list)
    size: int = 0  # number of trainable weights


def watched_layers(model: Any) -> list[WatchedLayer]:
    """Every layer with trainable weights of its own or a watched activation, in module order."""
    out = []
    for module in model.modules():
        if not is_layer(module):
            continue
        params = own_parameters(module)
        kind = activation_kind(module) if module is not model else None
        if params or kind is not None:
            size = sum(p.numel() for p in params)
            out.append(WatchedLayer(module.name, module, kind, params, size))
    return out


class _ActivationStats:
    """What the forward hooks collect for one layer over one probe pass."""

    def __init__(self) -> None:
        self.alive: torch.Tensor | None = None  # per unit: positive somewhere in the batch
        self.flat = 0  # number of saturated outputs (a tensor once counted)
        self.count = 0
        self.outputs: list[torch.Tensor] = []  # the outputs, to tell the model's own apart


def _first_tensor(output: Any) -> torch.Tensor | None:
    return next((t for t in tensors(output) if t.is_floating_point()), None)


class LayerProbe:
    """Measures a model's layers on one batch (see the module doc)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.layers = watched_layers(model)

    def measure(self, x: Any, y: Any, sample_weight: Any = None) -> dict[str, Any]:
        """One forward and backward pass on (x, y): `{'loss', 'layers': {name: stats},
        'order': [names in the order they ran], 'outputs': {names of output layers}}`."""
        model = self.model
        seen: dict[str, _ActivationStats] = {}
        handles = [w.layer.register_forward_hook(_Hook(w, seen)) for w in self.layers]
        try:
            with PreservedState(model), torch.enable_grad():
                y_pred = model(x, training=True)
                loss = _loss(model, x, y, y_pred, sample_weight)
                params = [p for w in self.layers for p in w.params]
                grads = torch.autograd.grad(loss, params, allow_unused=True) if params else []
        finally:
            for handle in handles:
                handle.remove()
        model_outputs = {id(t) for t in tensors(y_pred)}
        outputs = {
            name for name, s in seen.items() if any(id(t) in model_outputs for t in s.outputs)
        }
        layers: dict[str, dict[str, Any]] = {}
        position = 0
        for w in self.layers:
            if w.name not in seen:
                continue  # not called in this pass
            stats: dict[str, Any] = {}
            if w.params:
                own = grads[position : position + len(w.params)]
                present = [g for g in own if g is not None]
                if present:
                    norm = torch.sqrt(sum(g.detach().float().pow(2).sum() for g in present))
                    stats["grad_norm"] = norm
                    stats["grad_rms"] = norm / math.sqrt(w.size)
                with torch.no_grad():
                    stats["weight_norm"] = torch.sqrt(
                        sum(p.detach().float().pow(2).sum() for p in w.params)
                    )
            position += len(w.params)
            act = seen[w.name]
            if w.activation == "relu" and act.alive is not None:
                stats["dead_fraction"] = 1.0 - act.alive.float().mean()
            elif w.activation in ("sigmoid", "tanh") and act.count:
                stats["saturation"] = act.flat / act.count
            layers[w.name] = stats
        order = [name for name in seen if name in layers]
        return {"loss": loss.detach(), "layers": layers, "order": order, "outputs": outputs}


class _Hook:
    """A forward hook recording one layer's activation statistics (detached)."""

    def __init__(self, watched: WatchedLayer, seen: dict[str, _ActivationStats]) -> None:
        self.watched = watched
        self.seen = seen

    def __call__(self, module: Any, inputs: Any, output: Any) -> None:
        stats = self.seen.setdefault(self.watched.name, _ActivationStats())
        out = _first_tensor(output)
        if out is None:
            return
        stats.outputs.append(out)
        kind = self.watched.activation
        if kind is None or getattr(module, "_emit_logits", False):
            return
        with torch.no_grad():
            out = out.detach()
            if kind == "relu":
                alive = (out > 0).reshape(-1, out.shape[-1]).any(dim=0) if out.dim() else None
                if alive is not None:
                    stats.alive = alive if stats.alive is None else stats.alive | alive
            else:
                if kind == "sigmoid":
                    flat = (out < SIGMOID_FLAT) | (out > 1.0 - SIGMOID_FLAT)
                else:
                    flat = out.abs() > TANH_FLAT
                stats.flat = stats.flat + flat.sum()
                stats.count += out.numel()


def _loss(model: Any, x: Any, y: Any, y_pred: Any, sample_weight: Any) -> torch.Tensor:
    """The training loss the model's own step computes (compile()'s losses, penalties and
    added losses, or its `compute_loss` override)."""
    terms = getattr(model, "_loss_and_terms", None)
    if terms is not None:
        return terms(x, y, y_pred, sample_weight, training=True)[0]
    return model.compute_loss(x, y, y_pred, sample_weight)


class UpdateMeter:
    """The relative size of real optimizer steps, per layer (see the module doc)."""

    def __init__(self, layers: list[WatchedLayer]) -> None:
        self.layers = [w for w in layers if w.params]
        self._before: list[list[torch.Tensor]] | None = None

    @property
    def pending(self) -> bool:
        return self._before is not None

    def begin(self) -> None:
        with torch.no_grad():
            self._before = [[p.detach().clone() for p in w.params] for w in self.layers]

    def end(self, steps: int = 1) -> dict[str, torch.Tensor]:
        before, self._before = self._before, None
        if before is None:
            return {}
        out = {}
        with torch.no_grad():
            for w, old in zip(self.layers, before):
                delta = sum(
                    (p.detach().float() - o.float()).pow(2).sum() for p, o in zip(w.params, old)
                )
                size = sum(o.float().pow(2).sum() for o in old)
                out[w.name] = torch.sqrt(delta) / torch.sqrt(size).clamp_min(1e-30) / max(steps, 1)
        return out
