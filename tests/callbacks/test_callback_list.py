"""CallbackList: every hook reaches every callback, in order, with the same logs; batch-hook needs."""

from __future__ import annotations

import inspect

import pytest
from callback_fakes import FakeModel

from lamina import callbacks

EPOCH_AND_BATCH_HOOKS = (
    "on_epoch_begin",
    "on_epoch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_batch_begin",
    "on_test_batch_end",
    "on_predict_batch_begin",
    "on_predict_batch_end",
)
RUN_HOOKS = (
    "on_train_begin",
    "on_train_end",
    "on_test_begin",
    "on_test_end",
    "on_predict_begin",
    "on_predict_end",
)
ALL_HOOKS = RUN_HOOKS + EPOCH_AND_BATCH_HOOKS


def _hook_args(hook: str, logs: dict) -> tuple:
    return (3, logs) if hook in EPOCH_AND_BATCH_HOOKS else (logs,)


class Recorder(callbacks.Callback):
    """Records (its name, hook, arguments) of every hook into a shared list."""

    def __init__(self, name: str, calls: list):
        super().__init__()
        self.name, self.calls = name, calls

    def _record(self, hook: str, *args) -> None:
        self.calls.append((self.name, hook, args))

    def on_train_begin(self, logs=None):
        self._record("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self._record("on_train_end", logs)

    def on_test_begin(self, logs=None):
        self._record("on_test_begin", logs)

    def on_test_end(self, logs=None):
        self._record("on_test_end", logs)

    def on_predict_begin(self, logs=None):
        self._record("on_predict_begin", logs)

    def on_predict_end(self, logs=None):
        self._record("on_predict_end", logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._record("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._record("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._record("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._record("on_train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._record("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._record("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._record("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._record("on_predict_batch_end", batch, logs)


class DuckTyped:
    """Not a Callback: has set_model/set_params and one hook; the others are skipped."""

    def __init__(self, calls: list):
        self.calls = calls

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("duck", "on_epoch_end", (epoch, logs)))


def test_hook_methods_are_written_in_the_class_body():
    source = inspect.getsource(callbacks.CallbackList)
    for hook in (*ALL_HOOKS, "on_batch_begin", "on_batch_end"):
        assert hook in callbacks.CallbackList.__dict__, hook
        method = callbacks.CallbackList.__dict__[hook]
        assert method.__name__ == hook
        assert f"    def {hook}(self" in source, hook
        assert inspect.getsource(method).lstrip().startswith(f"def {hook}(self"), hook


def test_lambda_callback_hook_methods_are_written_in_the_class_body():
    source = inspect.getsource(callbacks.LambdaCallback)
    for hook in (*ALL_HOOKS, "on_batch_begin", "on_batch_end"):
        assert hook in callbacks.LambdaCallback.__dict__, hook
        assert f"    def {hook}(self" in source, hook


@pytest.mark.parametrize("hook", ALL_HOOKS)
def test_each_hook_reaches_every_callback_in_order_with_the_logs(hook):
    calls: list = []
    seen: list = []
    lam = callbacks.LambdaCallback(**{hook: lambda *args: seen.append(args)})
    cbs = callbacks.CallbackList(
        [Recorder("a", calls), lam, Recorder("b", calls), DuckTyped(calls), Recorder("c", calls)],
        model=FakeModel(),
    )
    logs = {"loss": 0.5}
    getattr(cbs, hook)(*_hook_args(hook, logs))
    expected_args = _hook_args(hook, logs)
    recorded = [c for c in calls if c[0] != "duck"]
    assert [c[0] for c in recorded] == ["a", "b", "c"]
    for _, got_hook, args in recorded:
        assert got_hook == hook
        assert args == expected_args and args[-1] is logs  # the same dict, not a copy
    assert seen == [expected_args] and seen[0][-1] is logs
    duck = [c for c in calls if c[0] == "duck"]
    assert duck == ([("duck", hook, expected_args)] if hook == "on_epoch_end" else [])


@pytest.mark.parametrize("hook", ALL_HOOKS)
def test_each_hook_takes_logs_by_keyword_and_defaults_to_none(hook):
    calls: list = []
    cbs = callbacks.CallbackList([Recorder("a", calls)])
    index = (7,) if hook in EPOCH_AND_BATCH_HOOKS else ()
    getattr(cbs, hook)(*index, logs={"x": 1.0})
    getattr(cbs, hook)(*index)
    assert [c[2] for c in calls] == [(*index, {"x": 1.0}), (*index, None)]


@pytest.mark.parametrize(
    "alias, hook",
    [("on_batch_begin", "on_train_batch_begin"), ("on_batch_end", "on_train_batch_end")],
)
def test_keras2_batch_names_on_the_list_dispatch_train_batches(alias, hook):
    calls: list = []
    cbs = callbacks.CallbackList([Recorder("a", calls), Recorder("b", calls)])
    logs = {"loss": 1.0}
    getattr(cbs, alias)(2, logs)
    assert calls == [("a", hook, (2, logs)), ("b", hook, (2, logs))]


def test_builtin_callbacks_dispatch_through_the_list_in_order(tmp_path):
    """Each built-in callback, in one list, sees the epoch logs in list order (History and
    CSVLogger record them; ReduceLROnPlateau adds learning_rate for the later ones only)."""
    order: list = []
    model = FakeModel(0.1)
    first = callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: order.append(("first", dict(logs)))
    )
    history = callbacks.History()
    plateau = callbacks.ReduceLROnPlateau(patience=1, factor=0.5)
    csv_logger = callbacks.CSVLogger(tmp_path / "log.csv")
    last = callbacks.LambdaCallback(on_epoch_end=lambda e, logs: order.append(("last", dict(logs))))
    cbs = callbacks.CallbackList([first, history, plateau, csv_logger, last], model=model)
    cbs.on_train_begin()
    for epoch in range(2):
        cbs.on_epoch_begin(epoch)
        cbs.on_epoch_end(epoch, {"val_loss": 1.0})
    cbs.on_train_end()
    assert order == [
        ("first", {"val_loss": 1.0}),
        ("last", {"val_loss": 1.0, "learning_rate": 0.1}),
        ("first", {"val_loss": 1.0}),
        ("last", {"val_loss": 1.0, "learning_rate": 0.1}),
    ]
    assert history.history == {"val_loss": [1.0, 1.0]}  # it ran before ReduceLROnPlateau
    assert model.optimizer.learning_rate == 0.05
    rows = (tmp_path / "log.csv").read_text().splitlines()
    assert rows == ["epoch,learning_rate,val_loss", "0,0.1,1.0", "1,0.1,1.0"]


def test_callback_list_add_history_and_params():
    cbs = callbacks.CallbackList([], add_history=True, model=FakeModel(), params={"epochs": 3})
    assert isinstance(cbs.history, callbacks.History) and len(cbs) == 1
    assert cbs.history.params == {"epochs": 3}
    late = callbacks.Callback()
    cbs.append(late)
    assert late.model is cbs.model and late.params == {"epochs": 3}
    assert list(cbs) == [cbs.history, late] and cbs[1] is late


# ------------------------------------------------------------------ needs_batch_hooks
def _epoch_level_callbacks(tmp_path) -> list:
    return [
        callbacks.History(),
        callbacks.EarlyStopping(),
        callbacks.ReduceLROnPlateau(),
        callbacks.LearningRateScheduler(lambda epoch, lr: lr),
        callbacks.CSVLogger(tmp_path / "log.csv"),
        callbacks.ModelCheckpoint(str(tmp_path / "ckpt.keras")),
        callbacks.LambdaCallback(on_epoch_end=lambda e, logs: None),
    ]


@pytest.mark.parametrize("mode", ["train", "test", "predict"])
def test_epoch_level_callbacks_need_no_batch_hooks(tmp_path, mode):
    assert not callbacks.CallbackList(_epoch_level_callbacks(tmp_path)).needs_batch_hooks(mode)


def test_a_batch_lambda_needs_train_batch_hooks_only(tmp_path):
    batch_lambda = callbacks.LambdaCallback(on_batch_end=lambda b, logs: None)
    cbs = callbacks.CallbackList([*_epoch_level_callbacks(tmp_path), batch_lambda])
    assert cbs.needs_batch_hooks("train")
    assert not cbs.needs_batch_hooks("test") and not cbs.needs_batch_hooks("predict")
    test_lambda = callbacks.LambdaCallback(on_test_batch_end=lambda b, logs: None)
    assert callbacks.CallbackList([test_lambda]).needs_batch_hooks("test")
    assert not callbacks.CallbackList([test_lambda]).needs_batch_hooks("train")


def test_needs_batch_hooks_reports_only_real_batch_work(tmp_path):
    class Batchy(callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            pass

    class TrainBatchy(callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            pass

    class Duck(DuckTyped):
        def on_train_batch_end(self, batch, logs=None):
            pass

    assert callbacks.CallbackList([Batchy()]).needs_batch_hooks("train")
    assert not callbacks.CallbackList([Batchy()]).needs_batch_hooks("test")
    assert callbacks.CallbackList([TrainBatchy()]).needs_batch_hooks("train")
    assert callbacks.CallbackList([Duck([])]).needs_batch_hooks("train")  # duck-typed: assume so
    batch_lambda = callbacks.LambdaCallback(on_batch_begin=lambda b, logs: None)
    assert callbacks.CallbackList([batch_lambda]).needs_batch_hooks("train")
    assert callbacks.CallbackList([callbacks.TerminateOnNaN()]).needs_batch_hooks("train")
    every_2 = callbacks.ModelCheckpoint(str(tmp_path / "c.keras"), save_freq=2)
    assert callbacks.CallbackList([every_2]).needs_batch_hooks("train")
