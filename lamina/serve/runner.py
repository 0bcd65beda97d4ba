"""A model's inference call for the batcher: arrays in, NumPy outputs out.

It computes what `model.predict` computes (the model's `predict_step` in eval mode under
`torch.inference_mode`, its inference precision, float outputs as float32) without
predict's per-call set-up (data adapter, callbacks, progress bar, CPU settings), which
costs more than a small batch's arithmetic. The CPU settings predict enters per call are
entered once per worker thread instead (`cpu_settings`). Models compute one at a time
(`COMPUTE_LOCK`): the runtime's CPU settings are process-wide, and on a CPU two models at
once would only share the same cores.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any

import numpy as np
import torch

from lamina.runtime.cpu_threads import cpu_threads
from lamina.runtime.denormals import flush_denormals
from lamina.tree import flatten

COMPUTE_LOCK = threading.Lock()


class ModelRunner:
    """Calls `model` on batches of NumPy arrays, one per input in the model's order."""

    def __init__(self, model: Any) -> None:
        self.model = model
        model.eval()
        parameter = next(iter(model.parameters()), None)
        self.device = parameter.device if parameter is not None else torch.device("cpu")
        precision = getattr(model, "_inference_precision", None)
        self._autocast = (lambda: precision().autocast()) if callable(precision) else nullcontext

    def __call__(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        tensors = [torch.from_numpy(np.ascontiguousarray(a)).to(self.device) for a in arrays]
        x: Any = tensors[0] if len(tensors) == 1 else tensors
        with COMPUTE_LOCK, torch.inference_mode(), self._autocast():
            outputs = flatten(self.model.predict_step((x,)))
        return [_numpy(out) for out in outputs]

    @contextlib.contextmanager
    def cpu_settings(self) -> Iterator[None]:
        """The CPU settings `predict` runs under (denormals flushed, threads capped to the
        CPUs the process may use), for a worker thread's whole life."""
        with flush_denormals(self.device), cpu_threads(self.device):
            yield


def _numpy(out: Any) -> np.ndarray:
    tensor = torch.as_tensor(out)
    if tensor.is_floating_point():
        tensor = tensor.float()
    return tensor.detach().cpu().numpy()
