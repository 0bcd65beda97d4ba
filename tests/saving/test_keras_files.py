"""Keras 3's `.keras`, legacy `.h5` and `.weights.h5` files, both ways, against Keras itself.

Every model of `keras_models` is saved by one library and loaded by the other, and the
loaded model must predict what the saving one does (atol 1e-5).
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch
from keras_models import ALL, inputs, randomize

import lamina
from lamina.saving.errors import FileFormatError
from lamina.saving.keras_h5 import load_h5, save_h5
from lamina.saving.keras_v3 import load_keras, save_keras
from lamina.saving.keras_weights_h5 import load_weights_h5, save_weights_h5
from lamina.saving.registration import register_serializable

keras = pytest.importorskip("keras")

pytestmark = pytest.mark.filterwarnings("ignore")


def lamina_out(model, xs):
    with torch.no_grad():
        out = model([torch.from_numpy(x) for x in xs] if len(xs) > 1 else torch.from_numpy(xs[0]))
    return [o.detach().numpy() for o in (out if isinstance(out, (list, tuple)) else [out])]


def keras_out(model, xs):
    out = model(xs if len(xs) > 1 else xs[0], training=False)
    return [
        keras.ops.convert_to_numpy(o) for o in (out if isinstance(out, (list, tuple)) else [out])
    ]


def assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, atol=1e-5)


def lamina_model(name):
    model = ALL[name](lamina)
    randomize(model)
    return model


def keras_model(name):
    model = ALL[name](keras)
    randomize(model)
    return model


@pytest.mark.parametrize("name", sorted(ALL))
def test_lamina_keras_file_loads_in_keras(name, tmp_path):
    model = lamina_model(name)
    xs = inputs(ALL[name])
    save_keras(model, tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert_same(keras_out(loaded, xs), lamina_out(model, xs))


@pytest.mark.parametrize("name", sorted(ALL))
def test_keras_files_load_in_lamina(name, tmp_path):
    model = keras_model(name)
    xs = inputs(ALL[name])
    expected = keras_out(model, xs)
    model.save(tmp_path / "m.keras")
    model.save(tmp_path / "m.h5")
    assert_same(lamina_out(load_keras(tmp_path / "m.keras"), xs), expected)
    assert_same(lamina_out(load_h5(tmp_path / "m.h5"), xs), expected)


@pytest.mark.parametrize("name", sorted(ALL))
def test_lamina_h5_file_loads_in_keras(name, tmp_path):
    model = lamina_model(name)
    xs = inputs(ALL[name])
    save_h5(model, tmp_path / "m.h5")
    loaded = keras.saving.load_model(tmp_path / "m.h5", compile=False)
    assert_same(keras_out(loaded, xs), lamina_out(model, xs))
    assert_same(lamina_out(load_h5(tmp_path / "m.h5"), xs), lamina_out(model, xs))


@pytest.mark.parametrize("name", sorted(ALL))
@pytest.mark.parametrize("filename", ["m.weights.h5", "m.h5"])
def test_weights_files_both_ways(name, filename, tmp_path):
    xs = inputs(ALL[name])
    source = keras_model(name)
    if filename.endswith(".weights.h5"):
        source.save_weights(tmp_path / filename)
    else:  # Keras 3 writes tf.keras's weights layout only inside a full-model .h5
        source.save(tmp_path / filename)
    twin = ALL[name](lamina)
    assert load_weights_h5(twin, tmp_path / filename) == []
    assert_same(lamina_out(twin, xs), keras_out(source, xs))

    source = lamina_model(name)
    save_weights_h5(source, tmp_path / ("l" + filename))
    twin = ALL[name](keras)
    twin.load_weights(tmp_path / ("l" + filename))
    assert_same(keras_out(twin, xs), lamina_out(source, xs))


def test_weights_file_layout_follows_keras(tmp_path):
    """Group names and dataset order are Keras's own: the two files hold the same paths."""
    import h5py

    keras_model("nested").save_weights(tmp_path / "k.weights.h5")
    save_weights_h5(lamina_model("nested"), tmp_path / "l.weights.h5")

    def listing(path):
        found = []
        with h5py.File(path) as f:
            f.visititems(lambda n, o: found.append((n, getattr(o, "shape", None))))
        return sorted(found)

    assert listing(tmp_path / "l.weights.h5") == listing(tmp_path / "k.weights.h5")


# ------------------------------------------------------------------ mismatches
@pytest.mark.parametrize("filename", ["w.weights.h5", "w.h5"])
def test_shape_mismatch_names_layer_and_shapes(filename, tmp_path):
    source = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(4, name="d"), keras.layers.Dense(2, name="e")]
    )
    randomize(source)
    if filename.endswith(".weights.h5"):
        source.save_weights(tmp_path / filename)
    else:
        source.save(tmp_path / filename)
    target = lamina.Sequential(
        [lamina.Input((3,)), lamina.layers.Dense(5, name="d"), lamina.layers.Dense(2, name="e")]
    )
    before = target.get_weights()
    with pytest.raises(FileFormatError) as err:
        load_weights_h5(target, tmp_path / filename)
    text = str(err.value)
    assert "'d'" in text and "(3, 5)" in text and "(3, 4)" in text and filename in text
    assert all(np.array_equal(a, b) for a, b in zip(before, target.get_weights()))

    skipped = load_weights_h5(target, tmp_path / filename, skip_mismatch=True)
    assert skipped == ["d/kernel", "d/bias", "e/kernel"]  # e's kernel is (5, 2) here
    np.testing.assert_allclose(target.layers[1].get_weights()[1], source.layers[1].get_weights()[1])
    np.testing.assert_allclose(target.layers[0].get_weights()[0], before[0])


def test_count_mismatch_is_an_error(tmp_path):
    source = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    source.save_weights(tmp_path / "w.weights.h5")
    target = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2), lamina.layers.Dense(2)])
    with pytest.raises(FileFormatError, match="expected 2 weights"):
        load_weights_h5(target, tmp_path / "w.weights.h5")


# ------------------------------------------------------------------ compile settings
def test_keras_compile_settings_load_in_lamina(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(0.0123), loss="mse", metrics=["mae"])
    model.save(tmp_path / "m.keras")
    loaded = load_keras(tmp_path / "m.keras")
    assert type(loaded.optimizer).__name__ == "Adam"
    assert float(loaded.optimizer.learning_rate) == pytest.approx(0.0123)
    assert loaded.loss == "mse"
    assert load_keras(tmp_path / "m.keras", compile=False).optimizer is None


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_lamina_compile_settings_load_in_keras(suffix, tmp_path):
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
    model.compile(optimizer=lamina.optimizers.SGD(0.05), loss=lamina.losses.MeanSquaredError())
    path = tmp_path / f"m{suffix}"
    (save_keras if suffix == ".keras" else save_h5)(model, path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.optimizer).__name__ == "SGD"
    assert float(loaded.optimizer.learning_rate) == pytest.approx(0.05)
    assert "mean_squared_error" in str(loaded.loss)
    again = (load_keras if suffix == ".keras" else load_h5)(path)
    assert type(again.optimizer).__name__ == "SGD"


# ------------------------------------------------------------------ no Keras equivalent
@register_serializable(package="tests")
class _TorchInside(lamina.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = torch.nn.Linear(3, 2)

    def call(self, x, training=None):
        return self.inner(x)


class _Unregistered(lamina.layers.Layer):
    def call(self, x, training=None):
        return x * 2


@pytest.mark.parametrize(
    "layer, words",
    [
        (lambda: lamina.layers.Maxout(2), ["Maxout", "Keras 3 lacks"]),
        (lambda: _Unregistered(name="twice"), ["'twice'", "unregistered", "_Unregistered"]),
        (lambda: _TorchInside(name="wrapped"), ["'wrapped'", "torch module", "inner.weight"]),
    ],
)
@pytest.mark.parametrize("save", [save_keras, save_h5])
def test_layer_without_keras_equivalent_is_refused(layer, words, save, tmp_path):
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(3), layer()])
    path = tmp_path / "m.out"
    with pytest.raises(ValueError) as err:
        save(model, path)
    for word in words:
        assert word in str(err.value)
    assert not path.exists() and not list(tmp_path.iterdir())


def test_lamina_only_layers_still_save_weights(tmp_path):
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(4), lamina.layers.Maxout(2)])
    randomize(model)
    save_weights_h5(model, tmp_path / "m.weights.h5")
    twin = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(4), lamina.layers.Maxout(2)])
    load_weights_h5(twin, tmp_path / "m.weights.h5")
    x = inputs(ALL["dense"])[0][:, :4]
    assert_same(lamina_out(twin, [x]), lamina_out(model, [x]))


# ------------------------------------------------------------------ tf.keras 2 files
def _tf2_dense(name, units, activation, inbound):
    config = {
        "name": name,
        "trainable": True,
        "dtype": "float32",
        "units": units,
        "activation": activation,
        "use_bias": True,
        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}},
        "kernel_regularizer": None,
        "bias_regularizer": None,
        "activity_regularizer": None,
        "kernel_constraint": None,
        "bias_constraint": None,
    }
    return {"class_name": "Dense", "config": config, "name": name, "inbound_nodes": inbound}


def _tf2_file(path, functional, arrays):
    """A full-model .h5 as tf.keras 2.13 writes it (old inbound nodes, ':0' weight names)."""
    import json

    import h5py

    layers = [
        {
            "class_name": "InputLayer",
            "config": {
                "batch_input_shape": [None, 3],
                "dtype": "float32",
                "sparse": False,
                "ragged": False,
                "name": "input_1",
            },
            "name": "input_1",
            "inbound_nodes": [],
        },
        _tf2_dense("dense", 4, "relu", [[["input_1", 0, 0, {}]]]),
        _tf2_dense("dense_1", 2, "linear", [[["dense", 0, 0, {}]]]),
    ]
    if functional:
        config = {
            "class_name": "Functional",
            "config": {
                "name": "model",
                "layers": layers,
                "input_layers": [["input_1", 0, 0]],
                "output_layers": [["dense_1", 0, 0]],
            },
        }
    else:
        for layer in layers:
            del layer["name"], layer["inbound_nodes"]
        config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}
    training = {
        "loss": "mse",
        "metrics": [
            [
                {
                    "class_name": "MeanMetricWrapper",
                    "config": {"name": "mae", "dtype": "float32", "fn": "mean_absolute_error"},
                }
            ]
        ],
        "weighted_metrics": None,
        "loss_weights": None,
        "optimizer_config": {
            "class_name": "Adam",
            "config": {
                "name": "Adam",
                "learning_rate": 0.002,
                "beta_1": 0.9,
                "beta_2": 0.999,
                "epsilon": 1e-07,
                "amsgrad": False,
            },
        },
    }
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = "tensorflow"
        f.attrs["keras_version"] = "2.13.1"
        f.attrs["model_config"] = json.dumps(config)
        f.attrs["training_config"] = json.dumps(training)
        weights = f.create_group("model_weights")
        names = ["input_1", "dense", "dense_1"] if functional else ["dense", "dense_1"]
        weights.attrs["layer_names"] = [n.encode() for n in names]
        weights.attrs["backend"] = "tensorflow"
        weights.attrs["keras_version"] = "2.13.1"
        for name in names:
            group = weights.create_group(name)
            own = [f"{name}/kernel:0", f"{name}/bias:0"] if name != "input_1" else []
            group.attrs["weight_names"] = [n.encode() for n in own]
            for weight, value in zip(own, arrays.get(name, [])):
                group[weight] = value


@pytest.mark.parametrize("functional", [True, False])
def test_tf_keras_2_h5_loads(functional, tmp_path):
    rng = np.random.default_rng(3)
    k1, b1 = rng.normal(size=(3, 4)).astype("float32"), rng.normal(size=4).astype("float32")
    k2, b2 = rng.normal(size=(4, 2)).astype("float32"), rng.normal(size=2).astype("float32")
    _tf2_file(tmp_path / "tf2.h5", functional, {"dense": [k1, b1], "dense_1": [k2, b2]})
    x = rng.normal(size=(5, 3)).astype("float32")
    expected = np.maximum(x @ k1 + b1, 0) @ k2 + b2

    model = load_h5(tmp_path / "tf2.h5")
    assert_same(lamina_out(model, [x]), [expected])
    assert type(model.optimizer).__name__ == "Adam"
    assert float(model.optimizer.learning_rate) == pytest.approx(0.002)
    twin = lamina.Sequential(
        [lamina.Input((3,)), lamina.layers.Dense(4, activation="relu"), lamina.layers.Dense(2)]
    )
    load_weights_h5(twin, tmp_path / "tf2.h5")  # the model_weights group of a full file
    assert_same(lamina_out(twin, [x]), [expected])
    assert_same(
        keras_out(keras.saving.load_model(tmp_path / "tf2.h5", compile=False), [x]), [expected]
    )


# ------------------------------------------------------------------ subclassed models
class _KerasNet(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = keras.layers.Dense(4, activation="relu")
        self.blocks = [keras.layers.Dense(4), keras.layers.BatchNormalization()]
        self.out = keras.layers.Dense(2)

    def call(self, x):
        h = self.hidden(x)
        for block in self.blocks:
            h = block(h)
        return self.out(h)


class _LaminaNet(lamina.Model):
    def __init__(self):
        super().__init__()
        self.hidden = lamina.layers.Dense(4, activation="relu")
        self.blocks = torch.nn.ModuleList(
            [lamina.layers.Dense(4), lamina.layers.BatchNormalization()]
        )
        self.out = lamina.layers.Dense(2)

    def call(self, x, training=None):
        h = self.hidden(x)
        for block in self.blocks:
            h = block(h)
        return self.out(h)


def test_subclassed_model_weights_both_ways(tmp_path):
    """Keras names a subclassed model's groups by attribute (and `layers/...` for the rest)."""
    x = inputs(ALL["dense"])[0][:, :5]
    source = _KerasNet()
    source(x)
    randomize(source)
    source.save_weights(tmp_path / "k.weights.h5")
    twin = _LaminaNet()
    twin(torch.from_numpy(x))
    assert load_weights_h5(twin, tmp_path / "k.weights.h5") == []
    assert_same(lamina_out(twin, [x]), keras_out(source, [x]))

    randomize(twin, seed=5)
    save_weights_h5(twin, tmp_path / "l.weights.h5")
    source.load_weights(tmp_path / "l.weights.h5")
    assert_same(keras_out(source, [x]), lamina_out(twin, [x]))
