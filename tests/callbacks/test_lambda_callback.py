"""LambdaCallback: each function runs for its hook, with the hook's arguments."""

from __future__ import annotations

import pytest
from callback_fakes import FakeModel

from lamina import callbacks


def test_lambda_callback_calls_the_right_functions():
    calls = []
    cb = callbacks.LambdaCallback(
        on_train_begin=lambda logs: calls.append(("train_begin", logs)),
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch, logs)),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch, logs)),
        on_batch_begin=lambda batch, logs: calls.append(("batch_begin", batch, logs)),
        on_batch_end=lambda batch, logs: calls.append(("batch_end", batch, logs)),
        on_train_end=lambda logs: calls.append(("train_end", logs)),
    )
    cbs = callbacks.CallbackList([cb], model=FakeModel())
    cbs.on_train_begin()
    cbs.on_epoch_begin(0)
    cbs.on_train_batch_begin(0)
    cbs.on_train_batch_end(0, {"loss": 2.0})
    cbs.on_batch_end(1, {"loss": 1.0})  # Keras 2 name of the same hook
    cbs.on_test_batch_end(0, {"loss": 9.0})  # not a training batch: not called
    cbs.on_epoch_end(0, {"loss": 1.5})
    cbs.on_train_end({"loss": 1.5})
    assert calls == [
        ("train_begin", None),
        ("epoch_begin", 0, None),
        ("batch_begin", 0, None),
        ("batch_end", 0, {"loss": 2.0}),
        ("batch_end", 1, {"loss": 1.0}),
        ("epoch_end", 0, {"loss": 1.5}),
        ("train_end", {"loss": 1.5}),
    ]


@pytest.mark.parametrize(
    "hook, index",
    [("on_train_begin", ()), ("on_epoch_end", (2,)), ("on_train_batch_end", (5,))],
)
def test_lambda_callback_hooks_take_logs_by_keyword(hook, index):
    """Keras's CallbackList and user code call `cb.on_epoch_end(epoch, logs=logs)`."""
    seen = []
    cb = callbacks.LambdaCallback(**{hook: lambda *args: seen.append(args)})
    getattr(cb, hook)(*index, logs={"loss": 1.0})
    getattr(cb, hook)(*index)
    assert seen == [(*index, {"loss": 1.0}), (*index, None)]


def test_lambda_callback_train_batch_hooks_run_the_keras2_functions_too():
    seen = []
    cb = callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append(("train_batch_end", batch)),
        on_batch_end=lambda batch, logs: seen.append(("batch_end", batch)),
    )
    cb.on_train_batch_end(0, {})
    cb.on_batch_end(1, {})  # called directly: only its own function
    assert seen == [("train_batch_end", 0), ("batch_end", 0), ("batch_end", 1)]
    assert cb.overrides("on_train_batch_end") and cb.overrides("on_batch_end")
    assert not cb.overrides("on_test_batch_end")


def test_lambda_callback_rejects_unknown_hooks():
    with pytest.raises(
        TypeError, match=r"received: on_epoch_ends=\.\.\. Did you mean: 'on_epoch_end'"
    ):
        callbacks.LambdaCallback(on_epoch_ends=print)


def test_keras2_batch_hook_names_receive_train_batches():
    seen = []

    class Legacy(callbacks.Callback):
        def on_batch_begin(self, batch, logs=None):
            seen.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            seen.append(("end", batch, logs))

    cbs = callbacks.CallbackList([Legacy()])
    cbs.on_train_batch_begin(3)
    cbs.on_train_batch_end(3, {"loss": 1.0})
    assert seen == [("begin", 3), ("end", 3, {"loss": 1.0})]
