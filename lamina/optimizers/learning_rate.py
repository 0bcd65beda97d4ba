"""The learning-rate half of `Optimizer`: floats, schedules, Keras 1's `decay`, and the
0-d tensor rate a compiled step reads.

A schedule is evaluated on the host from the step count before each update and
written into the torch optimizer's param groups; the compiled step holds the rate as
a tensor there, so a new rate does not recompile.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.optimizers.schedules import LearningRateSchedule


class LearningRate:
    """Mixin of `Optimizer` (it uses its `_steps`, `decay`, `_torch` and `_number`)."""

    _lr: Any

    @property
    def learning_rate(self) -> float:
        """The current rate as a float (a schedule is evaluated at `iterations`)."""
        if isinstance(self._lr, LearningRateSchedule):
            return float(self._lr(self._steps))
        return float(self._lr()) if callable(self._lr) else self._lr

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        if isinstance(value, LearningRateSchedule) or (
            callable(value) and not isinstance(value, torch.Tensor)
        ):
            self._lr = value
        elif isinstance(self._lr, LearningRateSchedule):
            raise TypeError(
                f"Optimizer '{self.name}' uses a LearningRateSchedule; expected a schedule, received: "
                f"learning_rate={value!r}. Create the optimizer with a float rate to set it directly."
            )
        else:
            self._lr = self._number("learning_rate", value)
        self._sync_lr()

    lr = learning_rate  # Keras 1/2 attribute name

    @property
    def schedule(self) -> LearningRateSchedule | None:
        """The LearningRateSchedule in use, or None."""
        return self._lr if isinstance(self._lr, LearningRateSchedule) else None

    def _sync_lr(self) -> float:
        lr = self.learning_rate
        lr = lr / (1.0 + self.decay * self._steps) if self.decay else lr
        if self._torch is not None:
            for group in self._torch.param_groups:
                if isinstance(group["lr"], torch.Tensor):  # a compiled step reads it as an input
                    group["lr"].fill_(lr)
                else:
                    group["lr"] = lr
        return lr

    def rates_ahead(self, n: int) -> list[float] | None:
        """The rates of the next `n` steps, or None when the rate cannot change between them.

        A compiled step that runs several updates per call (steps_per_execution) takes
        these as one tensor, so a schedule advances on every update, as in eager steps.
        """
        if not (self.decay or isinstance(self._lr, LearningRateSchedule)):
            return None
        start, rates = self._steps, []
        try:
            for k in range(n):
                self._steps = start + k
                lr = self.learning_rate
                rates.append(lr / (1.0 + self.decay * self._steps) if self.decay else lr)
        finally:
            self._steps = start
        return rates

    def use_tensor_lr(self) -> bool:
        """Hold the rate as a 0-d tensor, so a compiled step sees changes without recompiling.

        Returns False (rate stays a float) when torch rejects a tensor rate for this
        optimizer (e.g. foreach Adam without capturable).
        """
        if self._torch is None or not self._owns_groups:
            return False
        if all(isinstance(g["lr"], torch.Tensor) for g in self._torch.param_groups):
            return True
        if self._torch_class is torch.optim.Adam and "foreach" in self._flags:
            return False
        device = self._params[0].device if self._params else None
        for group in self._torch.param_groups:
            group["lr"] = torch.tensor(float(group["lr"]), device=device)
        return True

    def before_update(self) -> None:
        """Host-side work before an update: evaluate the schedule into the param groups."""
        if self.decay or not isinstance(self._lr, float):
            self._sync_lr()
