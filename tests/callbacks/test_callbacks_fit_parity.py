"""keras.callbacks that need a real fit, against Keras 3 (torch backend) fitting a twin
model on the same data: History (keys, values), CSVLogger (columns, rows, append),
Callback (the hooks a fit/evaluate/predict calls, in order), SwapEMAWeights (validation on
the moving averages, final weights) and BackupAndRestore (the resumed epochs, weights,
cleanup). SGD without momentum updates identically in both, so values compare."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from callback_parity_harness import X_VAL, Y_VAL, X, Y, keras, keras_model, lamina_model

import lamina
from lamina import callbacks

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
FIT = {"batch_size": 8, "verbose": 0, "shuffle": False, "validation_data": (X_VAL, Y_VAL)}


def twins(**kwargs):
    return (keras.callbacks, keras_model(**kwargs)), (callbacks, lamina_model(**kwargs))


def close(a, b, rtol=1e-5):
    for x, y in zip(a, b):
        np.testing.assert_allclose(np.asarray(y), np.asarray(x), rtol=rtol, atol=1e-6)


def history() -> None:
    found = []
    for _, model in twins():
        h = model.fit(X, Y, epochs=3, **FIT)
        found.append((h.history, h.epoch, {k: h.params[k] for k in ("epochs", "steps", "verbose")}))
    (kh, ke, kp), (lh, le, lp) = found
    assert sorted(kh) == sorted(lh) and ke == le and kp == lp
    for key in kh:
        np.testing.assert_allclose(lh[key], kh[key], rtol=1e-4, err_msg=key)


def csv_logger(tmp_path) -> None:
    tables = []
    for module, model in twins():
        path = tmp_path / f"{module.__name__}.csv"
        model.fit(X, Y, epochs=2, callbacks=[module.CSVLogger(str(path), separator=";")], **FIT)
        model.fit(
            X,
            Y,
            epochs=1,
            callbacks=[module.CSVLogger(str(path), separator=";", append=True)],
            **FIT,
        )
        with open(path, newline="") as f:
            tables.append(list(csv.reader(f, delimiter=";")))
    theirs, ours = tables
    assert ours[0] == theirs[0] and len(ours) == len(theirs) == 4  # one header, three rows
    for k_row, l_row in zip(theirs[1:], ours[1:]):
        assert l_row[0] == k_row[0]  # the epoch column
        np.testing.assert_allclose(
            [float(v) for v in l_row[1:]], [float(v) for v in k_row[1:]], rtol=1e-4
        )


HOOKS = [
    "on_train_begin",
    "on_train_end",
    "on_epoch_begin",
    "on_epoch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_begin",
    "on_test_end",
    "on_test_batch_begin",
    "on_test_batch_end",
    "on_predict_begin",
    "on_predict_end",
    "on_predict_batch_begin",
    "on_predict_batch_end",
]


def recorder(base):
    """A subclass of `base` (either Callback class) recording (hook, index, sorted log keys)."""

    class Recorder(base):
        def __init__(self):
            super().__init__()
            self.calls = []

    for hook in HOOKS:

        def method(self, *args, hook=hook, **kwargs):
            index = args[0] if args and isinstance(args[0], int) else None
            logs = kwargs.get("logs", args[-1] if args and not isinstance(args[-1], int) else None)
            self.calls.append((hook, index, sorted(logs or {})))

        setattr(Recorder, hook, method)
    return Recorder()


def callback_base() -> None:
    traces = []
    for module, model in twins():
        rec = recorder(module.Callback)
        model.fit(X, Y, epochs=2, callbacks=[rec], **FIT)
        model.evaluate(X_VAL, Y_VAL, batch_size=4, verbose=0, callbacks=[rec])
        model.predict(X_VAL, batch_size=4, verbose=0, callbacks=[rec])
        traces.append(rec.calls)
    theirs, ours = traces
    assert len(theirs) > 20 and {c[0] for c in theirs} == set(HOOKS)
    assert [c[:2] for c in ours] == [c[:2] for c in theirs]
    # batch logs are Keras's running metrics; epoch logs carry the same names
    assert [c for c in ours if c[0] == "on_epoch_end"] == [
        c for c in theirs if c[0] == "on_epoch_end"
    ]


def swap_ema_weights() -> None:
    for swap_on_epoch in (False, True):
        found = []
        for module, _ in twins():
            opt = (keras if module is keras.callbacks else lamina).optimizers.SGD(
                0.1, use_ema=True, ema_momentum=0.5
            )
            model = (
                keras_model(optimizer=opt)
                if module is keras.callbacks
                else lamina_model(optimizer=opt)
            )
            h = model.fit(
                X,
                Y,
                epochs=3,
                callbacks=[module.SwapEMAWeights(swap_on_epoch=swap_on_epoch)],
                **FIT,
            )
            found.append((h.history["val_loss"], model.get_weights()))
        (k_val, k_w), (l_val, l_w) = found
        np.testing.assert_allclose(l_val, k_val, rtol=1e-4)
        close(k_w, l_w)
    with pytest.raises(ValueError, match="use_ema"):
        lamina_model().fit(X, Y, epochs=1, callbacks=[callbacks.SwapEMAWeights()], **FIT)


class Interrupt(Exception):
    pass


def backup_and_restore(tmp_path) -> None:
    found = []
    for module, model in twins():
        folder = tmp_path / module.__name__.replace(".", "_")

        class Crash(module.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                if epoch == 2:
                    raise Interrupt

        class Seen(module.Callback):
            def __init__(self):
                super().__init__()
                self.epochs = []

            def on_epoch_begin(self, epoch, logs=None):
                self.epochs.append(epoch)

        with pytest.raises(Interrupt):
            model.fit(
                X, Y, epochs=4, callbacks=[module.BackupAndRestore(str(folder)), Crash()], **FIT
            )
        left = folder.exists()
        seen = Seen()
        h = model.fit(X, Y, epochs=4, callbacks=[module.BackupAndRestore(str(folder)), seen], **FIT)
        found.append((seen.epochs, h.epoch, left, folder.exists(), model.get_weights()))
    (k_seen, k_epoch, k_left, k_after, k_w), (l_seen, l_epoch, l_left, l_after, l_w) = found
    assert (l_seen, l_epoch, l_left, l_after) == (k_seen, k_epoch, k_left, k_after)
    assert k_seen == [2, 3] and k_left and not k_after
    close(k_w, l_w)


CALLBACKS_FIT_PARITY = {
    "callbacks.History": history,
    "callbacks.CSVLogger": csv_logger,
    "callbacks.Callback": callback_base,
    "callbacks.SwapEMAWeights": swap_ema_weights,
    "callbacks.BackupAndRestore": backup_and_restore,
}


@pytest.mark.parametrize("name", sorted(CALLBACKS_FIT_PARITY))
def test_callback_fit_parity(name, tmp_path):
    check = CALLBACKS_FIT_PARITY[name]
    check(tmp_path) if check.__code__.co_argcount else check()


def test_every_keras_callback_is_covered():
    from test_callbacks_parity import CALLBACKS_PARITY

    public = {f"callbacks.{n}" for n in dir(keras.callbacks) if not n.startswith("_")}
    public.discard("callbacks.OrbaxCheckpoint")  # backend-bound (JAX/Orbax), out of scope
    assert public == set(CALLBACKS_PARITY) | set(CALLBACKS_FIT_PARITY)
