"""The steps a model runs per batch, as Keras 3 defines them, for subclasses to override.

    train_step(data)    forward, compute_loss, gradients, the optimizer update,
                        compute_metrics; returns the logs
    test_step(data)     forward, compute_loss, compute_metrics; returns the logs
    predict_step(data)  forward; returns the outputs
    compute_loss(x, y, y_pred, sample_weight, training)   the total loss
    compute_metrics(x, y, y_pred, sample_weight)          updates metrics, returns the logs

`data` is one batch as Keras packs it (`lamina.utils.unpack_x_y_sample_weight`). `fit`,
`evaluate` and `predict` call these for every batch, whether the step runs eagerly or
compiled: the compiled default train step (`compiled_step.py`) runs the same
`_default_train_step` with gradients from `torch.func` instead of autograd's backward,
and a compiled override is the override itself, traced (`compiled_custom_step.py`).

The default steps return `MetricLogs` (`logs.py`), read only when shown, so they force no
host sync.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch

from lamina import metrics as metrics_mod
from lamina.layers.base import Layer
from lamina.layers.mask_utils import get_mask
from lamina.models import compile_utils as cu
from lamina.models.logs import MetricLogs
from lamina.utils.packing import unpack_x_y_sample_weight

STEP_METHODS = ("train_step", "test_step", "predict_step", "compute_loss", "compute_metrics")


class EagerGradients:
    """How the default train step gets its gradients and applies them when it runs
    eagerly: autograd's backward on the loss, then the optimizer's step (through the
    float16 loss scaler when there is one). The compiled step brings its own
    (`compiled_step.FunctionalGradients`)."""

    def loss_and_gradients(
        self, model: Any, x: Any, y: Any, sample_weight: Any
    ) -> tuple[torch.Tensor, Any, list, Any]:
        """The loss, the predictions, the per-output losses and the gradients (None here:
        backward runs in `apply`, where the loss scaler needs it)."""
        with model._precision.autocast():
            y_pred = model._forward_module(True)(x, training=True)
            loss, terms = model._loss_and_terms(x, y, y_pred, sample_weight, training=True)
        return loss, y_pred, terms, None

    def apply(self, model: Any, loss: torch.Tensor, grads: Any) -> None:
        """The update: backward, the optimizer's step, the layers' constraints."""
        model.optimizer.zero_grad()
        constrained = model._loss_layers()[2]
        model._precision.backward_and_step(loss, model.optimizer, constrained)


EAGER_GRADIENTS = EagerGradients()


def overridden_steps(model: Any) -> frozenset[str]:
    """Which of Keras's step methods the model's class overrides."""
    cls = type(model)
    return frozenset(n for n in STEP_METHODS if getattr(cls, n) is not getattr(Steps, n))


def _masked_metrics(head: Any, yt: Any, probs: Any, mask: torch.Tensor, sample_weight: Any) -> None:
    """Update one output's metrics when it carries a mask: mean metrics weigh each entry
    by the mask (times the sample weights for weighted metrics); others ignore it (Keras)."""
    mask = mask.detach()
    for m in head.metrics:
        if isinstance(m, metrics_mod.MeanMetricWrapper):
            m.update_state(yt, probs, sample_weight=cu.mask_weights(mask, None, "sum", probs))
        else:
            m.update_state(yt, probs)
    for m in head.weighted_metrics:
        if isinstance(m, metrics_mod.MeanMetricWrapper):
            weights = cu.mask_weights(mask, sample_weight, "sum", probs)
            m.update_state(yt, probs, sample_weight=weights)
        else:
            m.update_state(yt, probs, sample_weight=sample_weight)


class Steps:
    """Keras's per-batch methods (mixed into `Trainer`); see the module doc."""

    # ------------------------------------------------------------------ train
    def train_step(self, data: Any) -> Any:
        """One training step on `data`, a batch `x`, `(x, y)` or `(x, y, sample_weight)`.

        Forward pass, `compute_loss`, gradients, the optimizer update (clipping, weight
        decay and constraints included), then `compute_metrics`, whose logs it returns.
        Override it for a custom training loop (GANs, several optimizers); `fit` then
        shows the logs it returns.
        """
        return self._default_train_step(data, EAGER_GRADIENTS)

    def _default_train_step(self, data: Any, gradients: Any) -> Any:
        """`train_step`'s body, with `gradients` supplying the loss's gradients and the
        update: `EAGER_GRADIENTS`, or the compiled step's functional ones."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        loss, y_pred, terms, grads = gradients.loss_and_gradients(self, x, y, sample_weight)
        self._track_losses(loss, terms, x)
        gradients.apply(self, loss, grads)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    # ------------------------------------------------------------- test/predict
    def test_step(self, data: Any) -> Any:
        """One evaluation step: forward pass (training=False), `compute_loss`,
        `compute_metrics`; returns the logs."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        with self._precision.autocast():
            y_pred = self(x, training=False)
            loss, terms = self._loss_and_terms(x, y, y_pred, sample_weight, training=False)
        self._track_losses(loss, terms, x)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data: Any) -> Any:
        """The model's outputs for one batch (training=False)."""
        x, _, _ = unpack_x_y_sample_weight(data)
        return self(x, training=False)

    # ------------------------------------------------------------------- loss
    def compute_loss(
        self,
        x: Any = None,
        y: Any = None,
        y_pred: Any = None,
        sample_weight: Any = None,
        training: bool = True,
    ) -> torch.Tensor:
        """The total loss: compile()'s losses (weighted per output), the weight
        regularizers' penalties and the losses layers added with `add_loss`.

        Override it for a custom loss; the default train and test steps call it.
        `x` and `training` are unused here, as in Keras.
        """
        return self._compiled_loss(y, y_pred, sample_weight)[0]

    def _loss_and_terms(
        self, x: Any, y: Any, y_pred: Any, sample_weight: Any, training: bool
    ) -> tuple[torch.Tensor, list]:
        """`compute_loss`, plus the per-output losses when it is the default one (an
        override gives only its total; the per-output loss trackers then stay still)."""
        if not self._custom_compute_loss:
            return self._compiled_loss(y, y_pred, sample_weight)
        if self._compute_loss_takes_training:
            return self.compute_loss(x, y, y_pred, sample_weight, training=training), []
        return self.compute_loss(x, y, y_pred, sample_weight), []

    def _compiled_loss(self, y: Any, y_pred: Any, sample_weight: Any) -> tuple[Any, list]:
        """The default total loss and the per-output losses (None for an output without)."""
        preds = cu.as_list(y_pred)
        if not self._heads_resolved:  # compute_loss called outside fit/evaluate
            self._output_shape_cache = [(None, *p.shape[1:]) for p in preds]
            self._resolve_heads()
        total = None
        terms: list[Any] = []
        if any(h.train_loss is not None for h in self._heads):
            ys = [] if y is None else cu.as_list(y)
            if len(ys) != len(preds):
                raise ValueError(
                    f"Model '{self.name}' expected {len(preds)} target array(s), one per "
                    f"output, received: {len(ys)}"
                )
            for head, yt, yp in zip(self._heads, ys, preds):
                if head.train_loss is None:
                    terms.append(None)
                    continue
                mask = get_mask(yp)
                if mask is not None:  # Keras 3: the output's mask weighs the loss
                    reduction = getattr(head.train_loss, "reduction", "sum_over_batch_size")
                    weights = cu.mask_weights(mask, sample_weight, reduction, yp)
                    loss = head.train_loss(yt, yp, sample_weight=weights)
                else:
                    loss = head.train_loss(yt, yp, sample_weight=sample_weight)
                terms.append(loss)
                loss = loss * head.weight if head.weight != 1.0 else loss
                total = loss if total is None else total + loss
        regularized, all_layers, _ = self._loss_layers()
        for layer in regularized:
            for penalty in layer.regularization_losses():
                total = penalty if total is None else total + penalty
        for layer in all_layers:
            if layer._call_losses:
                for extra in layer._call_losses:
                    total = extra if total is None else total + extra
                # Counted now; a compiled step's transform-wrapped tensors must not outlive it.
                layer._call_losses = []
        if total is None:
            raise ValueError(
                f"Model '{self.name}' expected a loss to compute: compile(loss=...), an "
                "override of compute_loss or train_step, or losses added with add_loss(), "
                "received: loss=None"
            )
        return total, terms

    def _track_losses(self, loss: torch.Tensor, terms: list, x: Any) -> None:
        """The loss trackers weigh each batch by its size, as in Keras."""
        batch = int(cu.as_list(x)[0].shape[0])
        self._loss_tracker.update_state(loss.detach(), sample_weight=batch)
        for head, term in zip(self._heads, terms):
            if head.loss_tracker is not None and term is not None:
                head.loss_tracker.update_state(term.detach(), sample_weight=batch)

    # ---------------------------------------------------------------- metrics
    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        """Update compile()'s metrics and return the logs (`get_metrics_result()`).

        `metrics` are unweighted, `weighted_metrics` take `sample_weight`, as in Keras.
        An output's mask weighs the mean metrics (accuracy, mse...), as Keras 3's
        `MeanMetricWrapper` does.
        """
        if y is not None and self._heads:
            with torch.no_grad():
                for head, yt, yp in zip(self._heads, cu.as_list(y), cu.as_list(y_pred)):
                    if not head.metrics and not head.weighted_metrics:
                        continue
                    mask = get_mask(yp)
                    yp = yp.detach()
                    probs = head.activation(yp) if head.activation is not None else yp
                    if mask is not None:
                        _masked_metrics(head, yt, probs, mask, sample_weight)
                        continue
                    for m in head.metrics:
                        m.update_state(yt, probs)
                    for m in head.weighted_metrics:
                        m.update_state(yt, probs, sample_weight=sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self) -> MetricLogs:
        """`{name: result}` of `self.metrics`; each result is computed when first read."""
        return MetricLogs(self)

    @property
    def metrics(self) -> list[Any]:
        """The loss, the per-output losses, every output's `metrics`, every output's
        `weighted_metrics` (Keras's order of the compiled metrics), then the metrics the
        model holds as attributes (`self.tracker = metrics.Mean()`), which Keras tracks too.
        `fit` and `evaluate` reset them at the start of every epoch and evaluation."""
        tracker = getattr(self, "_loss_tracker", None)
        out = [tracker] if tracker is not None else []
        heads = getattr(self, "_heads", [])
        out += [h.loss_tracker for h in heads if h.loss_tracker is not None]
        for head in heads:
            out += head.metrics
        for head in heads:
            out += head.weighted_metrics
        seen = {id(m) for m in out}
        for value in list(vars(self).values()):
            if isinstance(value, metrics_mod.Metric) and id(value) not in seen:
                seen.add(id(value))
                out.append(value)
        return out

    @property
    def metrics_names(self) -> list[str]:
        return [m.name for m in self.metrics]

    def reset_metrics(self) -> None:
        for m in self.metrics:
            m.reset_state()

    # ---------------------------------------------------------------- helpers
    def _note_overrides(self) -> None:
        """Record which step methods the class overrides (read on every step)."""
        overrides = overridden_steps(self)
        self._overrides = overrides
        self._custom_compute_loss = "compute_loss" in overrides
        self._compute_loss_takes_training = self._custom_compute_loss and (
            "training" in inspect.signature(self.compute_loss).parameters
        )

    def _custom_train_step(self) -> bool:
        return "train_step" in overridden_steps(self)

    def _fused_logits(self) -> bool:
        """Whether the loss may read an output layer's logits (the default steps only:
        an override of any step sees the outputs as the model returns them)."""
        return not (overridden_steps(self) - {"predict_step"})

    def _loss_layers(self) -> tuple[list, list, list]:
        """Layers with regularizers, all layers (for `add_loss` losses) and layers with
        constraints; found once per fit/evaluate by `_prepare`."""
        if getattr(self, "_all_layers", None) is None:
            self._find_loss_layers()
        return self._regularized, self._all_layers, self._constrained

    def _find_loss_layers(self) -> None:
        self._all_layers = [m for m in self.modules() if isinstance(m, Layer)]
        self._regularized = [
            la
            for la in self._all_layers
            if any(s.regularizer is not None for s in la._weight_specs)
        ]
        self._constrained = [
            la for la in self._all_layers if any(s.constraint is not None for s in la._weight_specs)
        ]
