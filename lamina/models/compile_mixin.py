"""`compile()`: the optimizer, loss(es) and metrics, and their per-output heads.

The heads resolve once the model is built (`_resolve_heads`), from the output
names and shapes; the train and test steps read them."""

from __future__ import annotations

from typing import Any

import torch

from lamina import distributed, legacy_api, optimizers
from lamina import losses as losses_mod
from lamina import metrics as metrics_mod
from lamina.models import compile_utils as cu
from lamina.models.engine_utils import default_device
from lamina.models.precision import MixedPrecision, resolve_policy
from lamina.models.trainable_state import trainable_snapshot


class CompileMixin:
    """Mixin giving a Model Keras's `compile()` and the per-output heads it sets up."""

    def compile(
        self,
        optimizer: Any = "rmsprop",
        loss: Any = None,
        metrics: Any = None,
        loss_weights: Any = None,
        weighted_metrics: Any = None,
        run_eagerly: bool = False,
        steps_per_execution: int = 1,
        jit_compile: bool | str = "auto",
        device: str | torch.device | None = None,
        mixed_precision: str | None = None,
    ) -> None:
        """Choose the optimizer, loss(es) and metrics (Keras's signature).

        `loss` may be None when the model overrides `train_step` or `compute_loss` (or
        its layers add losses); fit then fails at once otherwise.
        `jit_compile`: True compiles the whole train step with `torch.compile` (the
        default one, `compiled_step.py`, or an override of `train_step`,
        `compiled_custom_step.py`), False never does, 'auto' (the default) lets
        `compile_policy.CompilePolicy` decide from the run's length and the step's time
        (reported at verbose >= 1); True or False pin the choice. `steps_per_execution=N`
        runs callbacks' batch hooks and the progress bar every N steps, as in Keras.
        `device` overrides the automatic choice (CUDA when present, else CPU).
        `mixed_precision='bf16'` or `'fp16'` (Keras: 'mixed_bfloat16', 'mixed_float16')
        runs the forward pass under autocast, fp16 with loss scaling (`models.precision`).
        """
        resolve_policy(mixed_precision)
        if jit_compile not in (True, False, "auto"):
            raise ValueError(
                f"Expected jit_compile in True, False or 'auto', received: jit_compile={jit_compile!r}"
            )
        if isinstance(steps_per_execution, bool) or not isinstance(steps_per_execution, int):
            raise TypeError(
                "Expected an int >= 1 for steps_per_execution, received: "
                f"steps_per_execution={steps_per_execution!r}"
            )
        if steps_per_execution < 1:
            raise ValueError(
                "Expected steps_per_execution >= 1, received: "
                f"steps_per_execution={steps_per_execution}"
            )
        self.optimizer = optimizers.get(optimizer)
        legacy_api.note_optimizer(optimizer)  # Keras 1 code: its optimizer defaults changed
        for spec in (
            loss.values()
            if isinstance(loss, dict)
            else loss
            if isinstance(loss, (list, tuple))
            else [loss]
        ):
            losses_mod.get(spec)  # unknown names fail here, with the closest valid names
        self.loss = loss
        self._loss_arg, self._metrics_arg, self._loss_weights_arg = loss, metrics, loss_weights
        self._weighted_metrics_arg = weighted_metrics
        self._jit_compile = jit_compile
        self._steps_per_execution = steps_per_execution
        self.run_eagerly = run_eagerly
        self._device = torch.device(device) if device is not None else default_device()
        self._precision = MixedPrecision(mixed_precision, self._device)
        self._mixed_precision = mixed_precision
        self._heads = []
        self._heads_resolved = False
        self._step_fn = None
        self._test_fn = None
        self._predict_fn = None
        self._loss_tracker = metrics_mod.Mean(name="loss")
        # which layers train is fixed here, as in Keras: fit checks it (trainable_state.py)
        self.__dict__["_compiled_trainable"] = trainable_snapshot(self)
        self.compiled = True

    def _resolve_heads(self) -> None:
        """Once the model is built: per-output losses, metrics and logits shortcuts
        (the latter only for the default steps: an override sees the model's outputs)."""
        if self._heads_resolved:
            return
        layers = cu.output_layers(self) if self._fused_logits() else [None]
        out_shapes = self._output_shapes()
        n = max(len(layers), len(out_shapes))
        if len(layers) < n:
            layers = [None] * n
        names = self._output_names(n)
        losses_ = cu.normalise_per_output(self._loss_arg, names, "loss")
        weights = cu.normalise_per_output(self._loss_weights_arg or 1.0, names, "loss weight")
        metric_ids = cu.metrics_per_output(self._metrics_arg, names)
        weighted_ids = cu.metrics_per_output(self._weighted_metrics_arg, names, "weighted_metrics")
        for i, name in enumerate(names):
            head = cu.OutputHead(
                name,
                losses_[i],
                weights[i] if weights[i] is not None else 1.0,
                metric_ids[i],
                weighted_ids[i],
            )
            head.resolve(
                layers[i], out_shapes[i] if i < len(out_shapes) else None, name if n > 1 else ""
            )
            self._heads.append(head)
        cu.name_metrics(self._heads, prefixed=n > 1)
        self._heads_resolved = True

    def _output_names(self, n: int) -> list[str]:
        names = getattr(self, "output_names", None)
        if names and len(names) == n:
            return list(names)
        return ["output"] if n == 1 else [f"output_{i}" for i in range(n)]

    def _output_shapes(self) -> list[tuple | None]:
        shape = getattr(self, "_output_shape_cache", None)
        return shape if shape is not None else [None]

    def _forward_module(self, training: bool) -> Any:
        """What a step calls: in a distributed fit's training steps the DDP wrapper
        (it averages gradients across ranks in backward()), else the model itself."""
        return distributed.forward_module(self) if training else self
