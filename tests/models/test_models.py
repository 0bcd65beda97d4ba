"""Sequential, functional and subclassed models: building, calling, training, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _mlp(**kw):
    return lamina.Sequential(
        [
            layers.Dense(8, activation="relu", input_shape=(4,)),
            layers.Dense(3, activation="softmax"),
        ],
        **kw,
    )


def _blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0]], dtype="float32")
    y = rng.integers(0, 3, size=n)
    x = centers[y] + rng.normal(scale=0.3, size=(n, 4)).astype("float32")
    return x, y


def test_sequential_add_builds_and_matches_manual_forward():
    model = lamina.Sequential()
    model.add(layers.Dense(5, activation="tanh", input_shape=(4,)))
    model.add(layers.Dense(2))
    assert model.built and model.layers[1].output_shape == (None, 2)
    x = np.random.default_rng(1).normal(size=(6, 4)).astype("float32")
    k1, b1, k2, b2 = model.get_weights()
    expected = np.tanh(x @ k1 + b1) @ k2 + b2
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5)
    assert isinstance(model, torch.nn.Module)
    np.testing.assert_allclose(model(torch.from_numpy(x)).detach().numpy(), expected, atol=1e-5)


def test_functional_two_inputs_two_outputs_trains():
    lamina.utils.set_random_seed(0)
    a = layers.Input(shape=(4,), name="a")
    b = layers.Input(shape=(2,), name="b")
    hidden, concat = layers.Dense(6, activation="relu"), layers.Concatenate()
    h = concat([hidden(a), b])
    cls = layers.Dense(3, activation="softmax", name="cls")(h)
    reg = layers.Dense(1, name="reg")(h)
    model = lamina.Model([a, b], [cls, reg])
    # Keras 3's order (by depth, then first met from the outputs), checked in test_graph_order.py
    assert model.layers == [
        a.node.layer,
        hidden,
        b.node.layer,
        concat,
        model.layers[4],
        model.layers[5],
    ]
    assert [la.name for la in model.layers[4:]] == ["cls", "reg"]
    x, y = _blobs()
    extra = np.random.default_rng(2).normal(size=(len(x), 2)).astype("float32")
    target = x.sum(axis=1, keepdims=True)
    model.compile(
        optimizer=lamina.optimizers.Adam(0.01),
        loss=["sparse_categorical_crossentropy", "mse"],
        metrics={"cls": ["accuracy"]},
        device="cpu",
    )
    before = model.evaluate([x, extra], [y, target], verbose=0, return_dict=True)
    hist = model.fit([x, extra], [y, target], epochs=30, batch_size=16, verbose=0)
    after = model.evaluate([x, extra], [y, target], verbose=0, return_dict=True)
    assert after["loss"] < before["loss"]
    assert set(hist.history) == {"loss", "cls_loss", "reg_loss", "cls_accuracy"}
    assert after["loss"] == pytest.approx(after["cls_loss"] + after["reg_loss"], rel=1e-5)
    assert after["cls_accuracy"] > 0.9
    p_cls, p_reg = model.predict([x, extra], verbose=0)
    assert p_cls.shape == (len(x), 3) and p_reg.shape == (len(x), 1)
    np.testing.assert_allclose(p_cls.sum(axis=1), 1.0, atol=1e-5)


def test_subclassed_model_trains_like_torch_module():
    class Net(lamina.Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(8, activation="relu")
            self.out = layers.Dense(3, activation="softmax")

        def call(self, x, training=None):
            return self.out(self.hidden(x))

    lamina.utils.set_random_seed(0)
    net = Net()
    x, y = _blobs()
    net.compile(
        optimizer=lamina.optimizers.Adam(0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        device="cpu",
    )
    net.fit(x, y, epochs=30, batch_size=16, verbose=0)
    assert net.evaluate(x, y, verbose=0)[1] > 0.9
    assert len(net.get_weights()) == 4 and net.get_weights()[0].shape == (4, 8)


def test_history_and_validation_split_keys():
    x, y = _blobs()
    model = _mlp()
    model.compile(
        optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], device="cpu"
    )
    hist = model.fit(x, y, epochs=3, batch_size=32, validation_split=0.25, verbose=0)
    assert set(hist.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 3 for v in hist.history.values())
    # Validation metrics equal evaluate on the last 25% of samples (Keras takes the tail).
    ev = model.evaluate(x[90:], y[90:], verbose=0, return_dict=True)
    assert hist.history["val_loss"][-1] == pytest.approx(ev["loss"], abs=1e-5)


def test_sample_weight_and_class_weight_equivalent():
    x, y = _blobs(60)
    results = []
    for kw in (
        {"sample_weight": np.where(y == 1, 3.0, 1.0).astype("float32")},
        {"class_weight": {0: 1.0, 1: 3.0, 2: 1.0}},
    ):
        lamina.utils.set_random_seed(5)
        model = _mlp()
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", device="cpu")
        model.fit(x, y, epochs=2, batch_size=20, shuffle=False, verbose=0, **kw)
        results.append(model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_train_and_test_on_batch():
    x, y = _blobs(32)
    model = _mlp()
    model.compile(
        optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"], device="cpu"
    )
    loss0 = model.test_on_batch(x, y)[0]
    w0 = model.get_weights()[0].copy()
    out = model.train_on_batch(x, y, return_dict=True)
    assert out["loss"] == pytest.approx(loss0, abs=1e-6)  # loss measured before the update
    assert not np.allclose(model.get_weights()[0], w0)
    assert model.test_on_batch(x, y)[0] < loss0


def test_dataloader_and_dataset_inputs():
    x, y = _blobs(64)
    ds = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    model = _mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", device="cpu")
    model.fit(ds, epochs=1, batch_size=16, verbose=0)
    loader = torch.utils.data.DataLoader(ds, batch_size=16)
    hist = model.fit(loader, epochs=2, verbose=0)
    assert len(hist.history["loss"]) == 2
    ev_loader = model.evaluate(loader, verbose=0)
    ev_arrays = model.evaluate(x, y, batch_size=16, verbose=0)
    assert ev_loader == pytest.approx(ev_arrays, abs=1e-5)


def test_stop_training_flag_from_callback():
    class StopAfterTwo(lamina.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    x, y = _blobs(32)
    model = _mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", device="cpu")
    hist = model.fit(x, y, epochs=10, verbose=0, callbacks=[StopAfterTwo()])
    assert len(hist.history["loss"]) == 2


def test_freezing_a_layer_keeps_its_weights():
    x, y = _blobs(32)
    model = _mlp()
    model.layers[0].trainable = False
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", device="cpu")
    w0 = model.get_weights()
    model.fit(x, y, epochs=2, verbose=0)
    w1 = model.get_weights()
    np.testing.assert_array_equal(w0[0], w1[0])
    assert not np.allclose(w0[2], w1[2])
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2


def test_regularization_adds_to_loss():
    x, y = _blobs(32)
    model = lamina.Sequential(
        [
            layers.Dense(
                3,
                activation="softmax",
                input_shape=(4,),
                kernel_regularizer=lamina.regularizers.l2(0.5),
            )
        ]
    )
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", device="cpu")
    plain = lamina.Sequential([layers.Dense(3, activation="softmax", input_shape=(4,))])
    plain.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", device="cpu")
    plain.set_weights(model.get_weights())
    k = model.get_weights()[0]
    diff = model.evaluate(x, y, verbose=0) - plain.evaluate(x, y, verbose=0)
    assert diff == pytest.approx(0.5 * float((k**2).sum()), rel=1e-5)


# ------------------------------------------------------------------- bad input
def test_fit_before_compile_is_explained():
    with pytest.raises(RuntimeError, match="compile"):
        _mlp().fit(np.zeros((4, 4)), np.zeros(4))


def test_unknown_names_suggest_closest():
    model = _mlp()
    with pytest.raises(ValueError, match="adam"):
        model.compile(optimizer="adamm", loss="mse")
    with pytest.raises(ValueError, match="categorical_crossentropy"):
        model.compile(optimizer="adam", loss="categorical_crosentropy")
    with pytest.raises(ValueError, match="relu"):
        layers.Dense(3, activation="rellu")


def test_x_y_length_mismatch_and_nan_inputs():
    model = _mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", device="cpu")
    with pytest.raises(ValueError, match=r"len\(x\)=10, len\(y\)=9"):
        model.fit(np.zeros((10, 4), "float32"), np.zeros(9), verbose=0)
    x = np.zeros((10, 4), "float32")
    x[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or Inf"):
        model.fit(x, np.zeros(10), verbose=0)


def test_label_mistakes_are_explained():
    x, y = _blobs(30)
    model = _mlp()
    model.compile(optimizer="adam", loss="categorical_crossentropy", device="cpu")
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        model.fit(x, y, verbose=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", device="cpu")
    with pytest.raises(ValueError):
        model.fit(x, np.eye(3)[y], verbose=0)
    with pytest.raises(ValueError, match="3"):
        model.fit(x, y + 1, verbose=0)


def test_image_into_dense_without_flatten_is_explained():
    model = lamina.Sequential([layers.Dense(10, activation="softmax", input_shape=(28, 28))])
    model.compile(optimizer="adam", loss="categorical_crossentropy", device="cpu")
    with pytest.raises(ValueError, match="Flatten"):
        model.fit(np.zeros((8, 28, 28), "float32"), np.eye(10)[np.zeros(8, int)], verbose=0)


def test_wrong_input_shape_names_the_layer():
    model = _mlp()
    with pytest.raises(
        ValueError, match=r"Layer 'dense.*expected.*received: input_shape=\(None, 5\)"
    ):
        model.predict(np.zeros((2, 5), "float32"), verbose=0)


def test_legacy_spellings_warn_once(monkeypatch):
    from lamina.models import engine_utils

    monkeypatch.setattr(engine_utils, "_WARNED", set())  # one warning per process: start afresh
    x, y = _blobs(16)
    model = _mlp()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", device="cpu")
    with pytest.warns(FutureWarning, match="epochs"):
        hist = model.fit(x, y, nb_epoch=2, verbose=0)
    assert len(hist.history["loss"]) == 2


class _Subclassed(lamina.Model):
    def __init__(self):
        super().__init__()
        self.out = layers.Dense(3, activation="softmax")

    def call(self, x):
        return self.out(x)


def _functional_mlp():
    inp = layers.Input((4,))
    return lamina.Model(inp, layers.Dense(3, activation="softmax")(inp))


@pytest.mark.parametrize("make", [_mlp, _functional_mlp, _Subclassed], ids=lambda f: f.__name__)
def test_keras1_fit_spelling_warns_at_the_callers_line(make, monkeypatch):
    """The nb_epoch warning names this file and line, whatever the model kind
    (the engine's frames in between are skipped), like the other Keras 1 spellings."""
    from lamina.models import engine_utils

    monkeypatch.setattr(engine_utils, "_WARNED", set())  # one warning per process
    x, y = _blobs(16)
    model = make()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", device="cpu")
    with pytest.warns(FutureWarning, match="nb_epoch") as record:
        line = _lineno() + 1
        model.fit(x, y, nb_epoch=1, verbose=0)
    warning = next(w for w in record if "nb_epoch" in str(w.message))
    assert (warning.filename, warning.lineno) == (__file__, line)


def test_other_keras1_spellings_warn_at_the_callers_line(monkeypatch):
    """Keras 1 layer, np_utils and optimizer spellings also name the caller's line."""
    import warnings

    from lamina.utils import np_utils

    monkeypatch.setattr(np_utils, "_warned", False)  # np_utils warns once per process

    calls = [
        lambda: layers.Convolution2D(4, 3, 3, border_mode="same"),
        lambda: layers.Convolution1D(4, 3, border_mode="same"),
        lambda: np_utils.to_categorical([0, 1], nb_classes=2),
        lambda: lamina.optimizers.SGD(lr=0.1),
    ]
    for call in calls:
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            call()
        found = [w for w in record if issubclass(w.category, FutureWarning)]
        assert found and all(w.filename == __file__ for w in found), [
            (w.filename, str(w.message)[:40]) for w in found
        ]


def _lineno() -> int:
    import inspect

    return inspect.currentframe().f_back.f_lineno


def test_summary_counts(capsys):
    model = _mlp(name="tiny")
    model.summary()
    out = capsys.readouterr().out
    assert 'Model: "tiny"' in out and "(None, 8)" in out and "(None, 3)" in out
    assert "Total params: 67 (268.00 B)" in out
    assert "Trainable params: 67" in out and "Non-trainable params: 0" in out


def test_integer_and_float64_inputs_are_cast_like_keras():
    model = _mlp()
    ints = np.arange(8).reshape(2, 4)
    expected = model.predict(ints.astype("float32"), verbose=0)
    np.testing.assert_allclose(model.predict(ints, verbose=0), expected, atol=1e-6)
    out = model(torch.from_numpy(ints.astype("float64")))
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.detach().numpy(), expected, atol=1e-6)


def test_set_weights_with_a_wrong_shape_changes_nothing():
    model = _mlp()
    before = model.get_weights()
    bad = [w.copy() + 1 for w in before]
    bad[2] = np.zeros((9, 3), "float32")
    with pytest.raises(
        ValueError, match=r"expected weight 'kernel' of shape \(8, 3\), received: shape=\(9, 3\)"
    ):
        model.set_weights(bad)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_predict_batches_match_one_call_and_a_generator_of_batches():
    """predict fills preallocated outputs for arrays and concatenates for generators."""
    inp = lamina.Input((4,))
    hidden = layers.Dense(6, activation="tanh")(inp)
    model = lamina.Model(inp, [layers.Dense(3)(hidden), layers.Dense(2)(hidden)])
    x = np.random.default_rng(0).normal(size=(23, 4)).astype("float32")
    a, b = model.predict(x, batch_size=5, verbose=0)  # 4 full batches and a tail of 3
    with torch.no_grad():
        ra, rb = model(torch.as_tensor(x), training=False)
    np.testing.assert_allclose(a, ra.numpy(), atol=1e-6)
    np.testing.assert_allclose(b, rb.numpy(), atol=1e-6)
    assert a.shape == (23, 3) and b.shape == (23, 2) and a.dtype == np.float32

    def batches():
        for i in range(0, 23, 5):
            yield x[i : i + 5]

    ga, gb = model.predict(batches(), verbose=0)
    np.testing.assert_allclose(ga, a, atol=1e-6)
    np.testing.assert_allclose(gb, b, atol=1e-6)


def test_subclassed_model_first_built_inside_predict_keeps_updatable_weights():
    """predict runs under inference_mode; weights built there must stay normal tensors, so
    set_weights and fit can still update them in place."""

    class Net(lamina.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(3)

        def call(self, x):
            return self.dense(x)

    model = Net()
    x = np.ones((4, 5), "float32")
    model.predict(x, verbose=0)
    kernel, bias = model.get_weights()
    model.set_weights([np.full_like(kernel, 0.5), np.ones_like(bias)])
    np.testing.assert_allclose(model.predict(x, verbose=0), np.full((4, 3), 3.5), rtol=1e-6)
    model.compile("sgd", "mse", device="cpu")
    model.fit(x, np.zeros((4, 3), "float32"), verbose=0)
    assert not np.allclose(model.get_weights()[0], 0.5)
