"""`train_on_batch`, `test_on_batch` and `predict_on_batch`: one step on one batch."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lamina.data.adapter import ArrayData
from lamina.models.engine_utils import (
    apply_class_weight,
    default_device,
    format_logs,
    logits_mode,
)
from lamina.models.preparation import Preparation
from lamina.models.trainable_state import check_trainable_unchanged
from lamina.utils.packing import pack_x_y_sample_weight


class BatchMethods(Preparation):
    """Mixin giving a Model Keras's single-batch methods."""

    def _run_one_batch(self, x: Any, y: Any, sample_weight: Any, train: bool) -> Any:
        device = self._device or default_device()
        data = ArrayData(x, y, sample_weight, shuffle=False, device=device)
        data.batch_size = data.n  # the whole batch at once
        self._prepare(data, for_training=train)
        self.reset_metrics()
        (xb, yb, swb) = next(iter(data.epoch()))
        with logits_mode(self._heads):
            if train:
                self.train()
                step = self._step_function()
                step.new_epoch()
                logs = step(xb, yb, swb)
            else:
                self.eval()
                with torch.inference_mode():
                    logs = self.test_step(pack_x_y_sample_weight(xb, yb, swb))
        return self._step_logs(logs)

    def train_on_batch(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        class_weight: Any = None,
        return_dict: bool = False,
    ) -> Any:
        """One gradient step on one batch; returns the loss (and metrics)."""
        self._assert_compiled("train_on_batch")
        check_trainable_unchanged(self, "train_on_batch")
        if class_weight:
            table = self._class_weight_table(class_weight)
            yt = torch.as_tensor(np.asarray(y))
            sample_weight = apply_class_weight(table.cpu(), yt, sample_weight).numpy()
        logs = self._run_one_batch(x, y, sample_weight, train=True)
        return format_logs(logs, return_dict)

    def test_on_batch(
        self, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False
    ) -> Any:
        """Loss (and metrics) on one batch, without updating weights."""
        self._assert_compiled("test_on_batch")
        return format_logs(self._run_one_batch(x, y, sample_weight, train=False), return_dict)

    def predict_on_batch(self, x: Any) -> Any:
        return self.predict(x, batch_size=len(x), verbose=0)
