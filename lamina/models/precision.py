"""Mixed precision for `compile(mixed_precision=...)`: autocast and fp16 loss scaling.

Weights and optimizer state stay float32; matrix products and convolutions run in
bfloat16 or float16 under `torch.autocast`, while reductions and losses stay float32
(autocast's own op lists). float16 has a narrow exponent, so its gradients are computed
from a scaled loss (`torch.amp.GradScaler`): steps with Inf/NaN gradients are skipped
and the scale shrinks; otherwise it grows every 2000 steps.

    model.compile("adam", "sparse_categorical_crossentropy", mixed_precision="bf16")
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

import torch

_POLICIES: dict[str | None, torch.dtype | None] = {
    None: None,
    "float32": None,
    "bf16": torch.bfloat16,
    "bfloat16": torch.bfloat16,
    "mixed_bfloat16": torch.bfloat16,
    "fp16": torch.float16,
    "float16": torch.float16,
    "mixed_float16": torch.float16,
}


def resolve_policy(policy: Any) -> torch.dtype | None:
    """The autocast dtype of a policy name (Keras's 'mixed_float16' or 'fp16', ...)."""
    if policy not in _POLICIES:
        names = sorted(k for k in _POLICIES if k is not None)
        raise ValueError(
            f"Expected mixed_precision in None or {names}, received: mixed_precision={policy!r}"
        )
    return _POLICIES[policy]


class MixedPrecision:
    """The autocast context and, for float16, the loss scaler of one compiled model."""

    def __init__(self, policy: Any, device: torch.device) -> None:
        self.dtype = resolve_policy(policy)
        self.device_type = device.type
        self.scaler: Any = None
        if self.dtype is torch.float16:
            self.scaler = torch.amp.GradScaler(device.type)

    @property
    def enabled(self) -> bool:
        return self.dtype is not None

    def autocast(self) -> Any:
        """`torch.autocast` for the forward pass and loss, or a no-op context."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def backward_and_step(
        self, loss: torch.Tensor, optimizer: Any, constraints: Iterable[Any] = ()
    ) -> None:
        """Backward on the loss times the optimizer's `loss_scale_factor`, then its step
        (which divides the gradients by that factor: `optimizers.update.apply_update`).

        With float16 the loss is scaled once more by the dynamic loss scaler, which
        unscales the gradients before the step and skips a step with Inf/NaN gradients.
        """
        if not loss.requires_grad:
            return  # no trainable weight reaches the loss (Keras: an empty update)
        loss = optimizer.scale_loss(loss)
        if self.scaler is None:
            loss.backward()
            optimizer.step(constraints)
            return
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer, constraints)  # unscales, then steps unless Inf/NaN
        self.scaler.update()
