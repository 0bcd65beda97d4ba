"""Keras's momentum under a changing learning rate, on torch's momentum buffers.

Keras accumulates the rate into the velocity (`v = m * v - lr_t * g; w += v`), torch
applies it afterwards (`b = m * b + g; w -= lr_t * b`): the same while the rate is
constant (`v = -lr * b`), different once a schedule or ReduceLROnPlateau changes it.
Scaling the buffers by `lr_old / lr_new` when the rate changes makes torch's update
Keras's exactly (Nesterov included), at the cost of one multiply per change. A compiled
step that fuses several updates per call (steps_per_execution with a schedule) keeps
torch's form inside the call.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.runtime import foreach


class KerasMomentum:
    """Mixin for SGD and RMSprop (uses the Optimizer's `_torch`, `momentum`, rates)."""

    _last_rate: float | None = None
    momentum: float
    _torch: Any

    def _host_rate(self) -> float:
        lr = self.learning_rate  # type: ignore[attr-defined]
        decay = self.decay  # type: ignore[attr-defined]
        return lr / (1.0 + decay * self._steps) if decay else lr  # type: ignore[attr-defined]

    def before_update(self) -> None:
        super().before_update()  # type: ignore[misc]
        if not self.momentum or self._torch is None:
            return
        new, last = self._host_rate(), self._last_rate
        self._last_rate = new
        if last is None or last == new or new == 0:
            return
        buffers = [
            s["momentum_buffer"]
            for s in self._torch.state.values()
            if isinstance(s.get("momentum_buffer"), torch.Tensor)
        ]
        if buffers:
            foreach.mul_(buffers, last / new)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)  # type: ignore[misc]
        self._last_rate = None
