"""`evaluate()` and `predict()`, and the evaluation loop `fit` also runs for validation."""

from __future__ import annotations

from typing import Any

import torch

from lamina import callbacks as callbacks_mod
from lamina import distributed
from lamina.data.adapter import ArrayData, adapt
from lamina.models import compile_utils as cu
from lamina.models.engine_utils import (
    default_device,
    logits_mode,
    progbar,
    resolve_verbose,
)
from lamina.models.predict_outputs import PredictOutputs
from lamina.models.preparation import Preparation
from lamina.models.steps import overridden_steps
from lamina.runtime.cpu import cpu_run_settings
from lamina.utils.packing import pack_x_y_sample_weight


class Inference(Preparation):
    """Mixin giving a Model Keras's `evaluate` and `predict`."""

    def _run_evaluation(self, data: Any, cbs: Any = None) -> dict[str, float]:
        session = distributed.session_of(self)
        if session is not None:
            session.sync_buffers()  # every rank evaluates with rank 0's BatchNorm statistics
        self.reset_metrics()
        self.eval()
        hooks = cbs is not None and cbs.needs_batch_hooks("test")
        if cbs is not None:
            cbs.on_test_begin()
        custom = "test_step" in overridden_steps(self)
        step = self._test_function()
        if step is not None:
            step.recheck = True  # each evaluation's first batch goes through Dynamo's guards
        step_logs: Any = None
        with torch.inference_mode():
            for i, (xb, yb, swb) in enumerate(data.epoch()):
                if yb is None and not custom:
                    raise ValueError("Expected targets y for evaluation, received: y=None")
                if hooks:
                    cbs.on_test_batch_begin(i)
                if step is None or not step(xb, yb, swb):
                    step_logs = self.test_step(pack_x_y_sample_weight(xb, yb, swb))
                if hooks:  # ranks may hold different numbers of validation batches
                    cbs.on_test_batch_end(i, self._step_logs(step_logs, local=True))
        logs = self._step_logs(step_logs)
        if cbs is not None:
            cbs.on_test_end(logs)
        return logs

    def evaluate(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        verbose: Any = "auto",
        sample_weight: Any = None,
        steps: int | None = None,
        callbacks: list[Any] | None = None,
        return_dict: bool = False,
    ) -> Any:
        """Loss and metrics on data: a scalar, a list [loss, *metrics], or a dict."""
        self._assert_compiled("evaluate")
        data = adapt(
            x, y, sample_weight, batch_size, False, self._device or default_device(), steps
        )
        self._prepare(data, data.y if isinstance(data, ArrayData) else None, for_training=False)
        cbs = callbacks_mod.CallbackList(
            list(callbacks or []), model=self, params={"steps": len(data)}
        )
        user_bar = any(isinstance(c, callbacks_mod.ProgbarLogger) for c in callbacks or [])
        bar = progbar(len(data), 0 if user_bar else resolve_verbose(verbose), -1, 0)
        with logits_mode(self._heads), cpu_run_settings(self._device):
            logs = self._run_evaluation(data, cbs)
        if bar is not None:
            bar.finish(logs)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: Any = "auto",
        steps: int | None = None,
        callbacks: list[Any] | None = None,
    ) -> Any:
        """Model outputs for `x`, batch by batch, as NumPy arrays."""
        device = self._device or default_device()
        data = adapt(x, None, None, batch_size, False, device, steps)
        self._move_to(device)
        self.eval()
        cbs = callbacks_mod.CallbackList(
            list(callbacks or []), model=self, params={"steps": len(data)}
        )
        hooks = cbs.needs_batch_hooks("predict")
        cbs.on_predict_begin()
        outs = PredictOutputs(data.n if isinstance(data, ArrayData) else None)
        step = self._test_function("predict")
        if step is not None:
            step.recheck = True  # each call's first compiled batch goes through Dynamo's guards
        with torch.inference_mode(), cpu_run_settings(device):
            for i, (xb, _, _) in enumerate(data.epoch()):
                if hooks:
                    cbs.on_predict_batch_begin(i)
                batch_out = step.predict(xb) if step is not None else None
                if batch_out is None:
                    with self._inference_precision().autocast():
                        batch_out = cu.as_list(self.predict_step(pack_x_y_sample_weight(xb)))
                    batch_out = [o.float() if o.is_floating_point() else o for o in batch_out]
                    if step is not None:
                        step.adopt(xb, batch_out)
                    outs.add(batch_out)
                else:
                    outs.add(batch_out, borrowed=True)
                if hooks:
                    cbs.on_predict_batch_end(i, {"outputs": outs.last})
        cbs.on_predict_end()
        result = outs.numpy()
        return result[0] if len(result) == 1 else result
