"""keras.callbacks against Keras 3 (torch backend), driven through the same scripted hooks:
EarlyStopping (stopping epoch, restored weights), ReduceLROnPlateau and
LearningRateScheduler (rate traces, logs), TerminateOnNaN, LambdaCallback (calls),
CallbackList, ModelCheckpoint (files written), TensorBoard (scalar tags, runs, steps),
ProgbarLogger (printed lines) and RemoteMonitor (what reaches the server). The callbacks
that need a real fit are in test_callbacks_fit_parity.py."""

from __future__ import annotations

import contextlib
import http.server
import io
import json
import os
import re
import threading
import urllib.parse
import warnings

import numpy as np
import pytest
from callback_parity_harness import drive, keras, keras_model, lamina_model

from lamina import callbacks

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

LOSSES = [1.0, 0.8, 0.85, 0.9, 0.79, 0.795, 0.81, 0.82, 0.83, 0.84]


def both(name: str, **kwargs):
    return getattr(keras.callbacks, name)(**kwargs), getattr(callbacks, name)(**kwargs)


def same(theirs: dict, ours: dict) -> None:
    assert theirs["stopped"] == ours["stopped"]
    assert ours["rates"] == pytest.approx(theirs["rates"], rel=1e-6)
    assert theirs["marker"] == ours["marker"]
    for k_logs, l_logs in zip(theirs["logs"], ours["logs"]):
        assert set(k_logs) == set(l_logs)
        for key, value in k_logs.items():
            assert l_logs[key] == pytest.approx(float(value), rel=1e-6), key


def run_both(name: str, logs, **kwargs) -> None:
    theirs, ours = both(name, **kwargs)
    same(drive(theirs, keras_model(), logs), drive(ours, lamina_model(), logs))
    for attr in ("stopped_epoch", "best_epoch", "wait", "best", "cooldown_counter"):
        if hasattr(theirs, attr):
            assert getattr(ours, attr) == pytest.approx(float(getattr(theirs, attr))), attr


def early_stopping() -> None:
    val = [{"val_loss": v, "loss": 2 * v} for v in LOSSES]
    acc = [{"accuracy": 1 - v} for v in LOSSES]
    for kwargs, logs in [
        ({"patience": 2}, val),
        ({"patience": 2, "restore_best_weights": True}, val),
        ({"patience": 1, "min_delta": 0.02, "restore_best_weights": True}, val),
        ({"patience": 3, "baseline": 0.7, "restore_best_weights": True}, val),
        ({"patience": 2, "start_from_epoch": 4, "restore_best_weights": True}, val),
        ({"monitor": "loss", "patience": 0}, val),
        ({"monitor": "accuracy", "mode": "max", "patience": 2, "restore_best_weights": True}, acc),
        ({"monitor": "accuracy", "mode": "min", "patience": 2}, acc),
    ]:
        run_both("EarlyStopping", logs, **kwargs)


def reduce_lr_on_plateau() -> None:
    val = [{"val_loss": v} for v in LOSSES]
    for kwargs in [
        {"patience": 1},
        {"factor": 0.5, "patience": 1, "cooldown": 2},
        {"factor": 0.2, "patience": 0, "min_lr": 0.01},
        {"factor": 0.5, "patience": 1, "min_delta": 0.05},
        {"monitor": "val_loss", "mode": "max", "patience": 1, "factor": 0.9},
    ]:
        run_both("ReduceLROnPlateau", val, **kwargs)


def learning_rate_scheduler() -> None:
    logs = [{"loss": v} for v in LOSSES[:6]]
    run_both("LearningRateScheduler", logs, schedule=lambda e, lr: lr * 0.5 if e % 2 else lr)
    run_both("LearningRateScheduler", logs, schedule=lambda e: 0.1 / (1 + e))


def terminate_on_nan() -> None:
    outputs = []
    for cb, model in (
        (callbacks.TerminateOnNaN(), lamina_model()),
        (keras.callbacks.TerminateOnNaN(), keras_model()),
    ):
        cb.set_model(model)
        model.stop_training = False
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            stops = []
            for batch, loss in enumerate([1.0, 0.5, float("nan"), 0.4]):
                cb.on_train_batch_end(batch, {"loss": loss})
                stops.append(model.stop_training)
        outputs.append((stops, out.getvalue().strip()))
    assert outputs[0] == outputs[1]


def lambda_callback() -> None:
    hooks = [
        "on_train_begin",
        "on_epoch_begin",
        "on_train_batch_begin",
        "on_train_batch_end",
        "on_epoch_end",
        "on_train_end",
    ]
    traces = []
    for module in (keras.callbacks, callbacks):
        calls: list = []
        kwargs = {h: (lambda *a, h=h, calls=calls: calls.append((h, *a))) for h in hooks}
        cb = module.LambdaCallback(**kwargs)
        cb.on_train_begin({"a": 1})
        cb.on_epoch_begin(0, {"b": 2})
        cb.on_train_batch_begin(3, {"c": 3})
        cb.on_train_batch_end(3, {"loss": 0.5})
        cb.on_epoch_end(0, {"loss": 0.4})
        cb.on_train_end({"z": 0})
        cb.on_test_begin({})  # not given: a no-op
        traces.append(calls)
    assert traces[0] == traces[1]


def callback_list() -> None:
    results = []
    for module, model in ((keras.callbacks, keras_model()), (callbacks, lamina_model())):
        calls: list = []

        class Recorder(module.Callback):
            def __init__(self, tag, calls=calls):
                super().__init__()
                self.tag, self.calls = tag, calls

            def on_epoch_end(self, epoch, logs=None):
                self.calls.append((self.tag, epoch, dict(logs or {})))

        cbs = module.CallbackList(
            [Recorder("a"), Recorder("b")],
            add_history=True,
            add_progbar=True,
            model=model,
            epochs=3,
            steps=2,
            verbose=0,
        )
        cbs.on_train_begin()
        cbs.on_epoch_begin(0)
        cbs.on_epoch_end(0, {"loss": 1.0})
        cbs.on_train_end()
        kinds = [type(cb).__name__ for cb in cbs.callbacks]
        params = {k: cbs.callbacks[0].params[k] for k in ("epochs", "steps", "verbose")}
        history = next(cb for cb in cbs.callbacks if type(cb).__name__ == "History")
        results.append((kinds, params, calls, history.history))
    assert results[0] == results[1]


def model_checkpoint(tmp_path) -> None:
    logs = [{"val_loss": v, "loss": v + 1} for v in LOSSES[:6]]
    for i, kwargs in enumerate(
        [
            {"save_best_only": True},
            {"save_best_only": False},
            {"save_best_only": True, "initial_value_threshold": 0.82},
            {"save_best_only": True, "monitor": "loss", "mode": "max"},
        ]
    ):
        files = []
        for tag, module, model in (
            ("k", keras.callbacks, keras_model()),
            ("l", callbacks, lamina_model()),
        ):
            folder = tmp_path / f"{tag}{i}"
            path = str(folder / "w.{epoch:02d}-{val_loss:.2f}.weights.h5")
            cb = module.ModelCheckpoint(path, save_weights_only=True, verbose=0, **kwargs)
            drive(cb, model, logs)
            files.append(sorted(os.listdir(folder)) if folder.exists() else [])
        assert files[0] == files[1], kwargs
        assert files[0] or "initial_value_threshold" in kwargs


class FakeSummary:
    """What Keras's TensorBoard calls of tf.summary, recording (run, tag, step, value)."""

    def __init__(self):
        self.records: list = []
        self.run: str | None = None

    def create_file_writer(self, logdir):
        summary = self

        class Writer:
            @contextlib.contextmanager
            def as_default(self, step=None):
                before, summary.run = summary.run, os.path.basename(logdir)
                yield
                summary.run = before

            def flush(self):
                pass

            def close(self):
                pass

        return Writer()

    def scalar(self, name, data, step):
        self.records.append((self.run, name, int(step), float(np.asarray(data))))

    def record_if(self, condition):
        return contextlib.nullcontext()


def tensorboard(tmp_path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    script = [
        ({"loss": 0.9, "mae": 0.5}, {"val_loss": 1.1, "val_mae": 0.7}),
        ({"loss": 0.7, "mae": 0.4}, {"val_loss": 1.0, "val_mae": 0.6}),
    ]
    found = []
    for module, model in ((keras.callbacks, keras_model()), (callbacks, lamina_model())):
        log_dir = tmp_path / type(model).__module__.split(".")[0]
        cb = module.TensorBoard(log_dir=str(log_dir), write_graph=False)
        if module is keras.callbacks:
            cb._summary_module = FakeSummary()
        cb.set_model(model)
        cb.set_params({"epochs": 2, "steps": 1, "verbose": 0})
        cb.on_train_begin({})
        for epoch, (train, val) in enumerate(script):
            cb.on_epoch_begin(epoch, {})
            model.optimizer.iterations.assign(
                3 * (epoch + 1)
            ) if module is keras.callbacks else model.optimizer.iterations.fill_(3 * (epoch + 1))
            cb.on_test_begin({})
            cb.on_test_end({k[4:]: v for k, v in val.items()})
            cb.on_epoch_end(epoch, {**train, **val})
        cb.on_train_end({})
        if module is keras.callbacks:
            found.append(
                sorted((r, t, s, round(v, 5)) for r, t, s, v in cb._summary_module.records)
            )
            continue
        records = []
        for run in ("train", "validation"):
            acc = EventAccumulator(str(log_dir / run))
            acc.Reload()
            for tag in acc.Tags()["scalars"]:
                records += [(run, tag, e.step, round(e.value, 5)) for e in acc.Scalars(tag)]
        found.append(sorted(records))
    assert found[0] == found[1]
    assert any(t == "evaluation_loss_vs_iterations" for _, t, _, _ in found[1])


def _normalise(text: str) -> list[str]:
    """Progress lines without timings."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text).replace("\x08", "")
    text = re.sub(r"\d+(\.\d+)?(s|ms|us)/step", "T/step", text)
    text = re.sub(r"(?<![\w/.])\d+(s|ms|us)\b", "T", text)
    return [line.rstrip() for line in text.replace("\r", "\n").split("\n") if line.strip()]


def _finished(lines: list[str]) -> list[str]:
    """The epoch headers and each bar's final line. On a stream that is not a terminal
    Lamina's Progbar writes only the final line (lamina/utils/progbar.py); Keras's also
    writes the first step's."""
    return [line for line in lines if line.startswith("Epoch") or line.startswith("3/3")]


def progbar_logger() -> None:
    for verbose in (1, 2):
        outputs = []
        for module in (keras.callbacks, callbacks):
            cb = module.ProgbarLogger()
            cb.set_params({"epochs": 2, "steps": 3, "verbose": verbose})
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                cb.on_train_begin({})
                for epoch in range(2):
                    cb.on_epoch_begin(epoch, {})
                    for batch in range(3):
                        cb.on_train_batch_begin(batch, {})
                        cb.on_train_batch_end(batch, {"loss": 1.0 / (batch + 1 + epoch)})
                    cb.on_epoch_end(epoch, {"loss": 0.25 + epoch, "val_loss": 0.5})
                cb.on_train_end({})
            lines = _normalise(out.getvalue())
            outputs.append(lines if verbose == 2 else _finished(lines))
        assert outputs[0] == outputs[1], verbose
        assert any("Epoch 2/2" in line for line in outputs[1])


class _Recorder(http.server.BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Recorder.received.append((self.path, dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def remote_monitor() -> None:
    """Keras's request (its `requests.post` recorded) vs what Lamina's reaches a local server."""
    import keras.src.callbacks.remote_monitor as keras_remote

    posted: list = []

    class FakeRequests:
        class exceptions:  # noqa: N801
            class RequestException(Exception):
                pass

        @staticmethod
        def post(url, data=None, json=None, headers=None):
            posted.append((url, data, json, headers))

    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Recorder.received = []
    root = f"http://127.0.0.1:{server.server_port}"
    logs = {"loss": 0.5, "acc": np.float32(0.25)}
    saved = keras_remote.requests
    try:
        keras_remote.requests = FakeRequests
        for send_as_json in (False, True):
            kwargs = {
                "root": root,
                "path": "/epoch/",
                "field": "payload",
                "headers": {"X-Run": "7"},
                "send_as_json": send_as_json,
            }
            keras.callbacks.RemoteMonitor(**kwargs).on_epoch_end(3, dict(logs))
            callbacks.RemoteMonitor(**kwargs).on_epoch_end(3, dict(logs))
        # offline: the same warning, training goes on
        unreachable = "http://127.0.0.1:9"

        def refuse(*a, **k):
            raise FakeRequests.exceptions.RequestException()

        FakeRequests.post = staticmethod(refuse)
        messages = []
        for module in (keras.callbacks, callbacks):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                module.RemoteMonitor(root=unreachable).on_epoch_end(0, {"loss": 1.0})
            messages.append([str(w.message) for w in caught])
    finally:
        keras_remote.requests = saved
        server.shutdown()
        thread.join()
    assert messages[0] == messages[1] and messages[0]
    (url_form, data, _, headers), (url_json, _, body, _) = posted
    (path_form, hdr_form, raw_form), (path_json, hdr_json, raw_json) = _Recorder.received
    assert url_form == root + path_form and url_json == root + path_json
    form = urllib.parse.parse_qs(raw_form.decode())
    assert list(form) == list(data) and json.loads(form["payload"][0]) == json.loads(
        data["payload"]
    )
    assert json.loads(raw_json) == body
    assert hdr_form["X-Run"] == headers["X-Run"] == hdr_json["X-Run"]


CALLBACKS_PARITY = {
    "callbacks.EarlyStopping": early_stopping,
    "callbacks.ReduceLROnPlateau": reduce_lr_on_plateau,
    "callbacks.LearningRateScheduler": learning_rate_scheduler,
    "callbacks.TerminateOnNaN": terminate_on_nan,
    "callbacks.LambdaCallback": lambda_callback,
    "callbacks.CallbackList": callback_list,
    "callbacks.ModelCheckpoint": model_checkpoint,
    "callbacks.TensorBoard": tensorboard,
    "callbacks.ProgbarLogger": progbar_logger,
    "callbacks.RemoteMonitor": remote_monitor,
}


@pytest.mark.parametrize("name", sorted(CALLBACKS_PARITY))
def test_callback_parity(name, tmp_path):
    check = CALLBACKS_PARITY[name]
    check(tmp_path) if check.__code__.co_argcount else check()
