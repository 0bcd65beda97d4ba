"""History: every key of the epoch logs, and model.history."""

from __future__ import annotations

from callback_fakes import FakeModel

from lamina import callbacks


def test_history_records_every_key_and_sets_model_history():
    history = callbacks.History()
    model = FakeModel()
    cbs = callbacks.CallbackList([history], model=model)
    cbs.on_train_begin()
    for epoch in range(3):
        cbs.on_epoch_end(
            epoch, {"loss": 1.0 / (epoch + 1), "val_loss": 2.0 - epoch, "accuracy": 0.1 * epoch}
        )
    assert history.epoch == [0, 1, 2]
    assert history.history == {
        "loss": [1.0, 0.5, 1.0 / 3],
        "val_loss": [2.0, 1.0, 0.0],
        "accuracy": [0.0, 0.1, 0.2],
    }
    assert model.history is history
