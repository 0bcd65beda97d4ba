"""SwapEMAWeights: evaluate (and optionally checkpoint) with the optimizer's moving
average of the weights (`use_ema=True`) instead of the trained weights.

Before evaluation or prediction the model's weights and the averages swap places; after
it they swap back. With `swap_on_epoch=True` they swap at each epoch end (so callbacks
after this one, e.g. ModelCheckpoint, see the averages) and back at the next epoch's
start; after the last epoch the averages are made equal to the weights, so the model
keeps them.

    model.fit(..., callbacks=[SwapEMAWeights(swap_on_epoch=True), ModelCheckpoint(...)])
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.callbacks.callback import Callback


class SwapEMAWeights(Callback):
    """Swap the model's weights with the optimizer's moving averages around evaluation.

    Requires an optimizer with `use_ema=True` (or a MultiOptimizer with at least one
    such inner optimizer, or a LossScaleOptimizer around one).
    """

    def __init__(self, swap_on_epoch: bool = False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _optimizers(self) -> list[Any]:
        optimizer = self.model.optimizer
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)
        inner = getattr(optimizer, "optimizers", None)
        if inner is not None:
            chosen = [o for o in inner if getattr(o, "use_ema", False)]
            if not chosen:
                raise ValueError(
                    "SwapEMAWeights expected at least one inner optimizer with use_ema=True, "
                    "received: a MultiOptimizer whose inner optimizers all have use_ema=False"
                )
            return chosen
        if getattr(optimizer, "ema", None) is None:
            raise ValueError(
                "SwapEMAWeights expected an optimizer with use_ema=True, received: "
                f"use_ema={getattr(optimizer, 'use_ema', None)}"
            )
        return [optimizer]

    @torch.no_grad()
    def _swap(self) -> None:
        for opt in self._optimizers():
            for p, average in zip(opt._params or [], opt.ema.averages):
                held = p.detach().clone()
                p.copy_(average)
                average.copy_(held)

    @torch.no_grad()
    def _finalize(self) -> None:
        for opt in self._optimizers():
            for p, average in zip(opt._params or [], opt.ema.averages):
                average.copy_(p)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.swap_on_epoch and self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = False

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = True
            if epoch == self.params.get("epochs", 0) - 1:
                self._finalize()

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        if not self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = True

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = False

    def on_predict_begin(self, logs: dict[str, Any] | None = None) -> None:
        if not self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = True

    def on_predict_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._ema_weights_in_model:  # (Keras tests `not`, leaving the averages in)
            self._swap()
            self._ema_weights_in_model = False
