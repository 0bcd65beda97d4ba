"""The `.lamina` format: everything round-trips, any safetensors reader opens it, training
continues exactly, and bad or hostile files get a `FileFormatError`."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
import torch
from safetensors.numpy import load as np_load_tensors

import lamina
from lamina import layers
from lamina.saving import FileFormatError


def _data(n: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((n, 6, 6, 1), dtype=np.float32), rng.integers(0, 3, n)


def _cnn() -> lamina.Model:
    return lamina.Sequential(
        [
            layers.Input((6, 6, 1)),
            layers.Conv2D(4, 3, activation="relu"),
            layers.BatchNormalization(),
            layers.Flatten(),
            layers.Dropout(0.3),
            layers.Dense(3, activation="softmax"),
        ]
    )


def _trained(optimizer="adam") -> lamina.Model:
    x, y = _data()
    model = _cnn()
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    return model


def test_round_trip_predicts_evaluates_and_keeps_compile_settings(tmp_path):
    x, y = _data()
    model = _trained()
    model.save(tmp_path / "m.lamina")
    loaded = lamina.models.load_model(tmp_path / "m.lamina")
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    assert model.evaluate(x, y, verbose=0) == loaded.evaluate(x, y, verbose=0)
    assert type(loaded.optimizer) is type(model.optimizer)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert [n for n in loaded.get_config()] == [n for n in model.get_config()]
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) == 8


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", "sgd"])
def test_training_continues_exactly_after_a_reload(tmp_path, optimizer):
    """Saved and reloaded mid-run, the model trains on to the same weights bit for bit."""
    x, y = _data()
    opt = {"sgd": lamina.optimizers.SGD(0.1, momentum=0.9)}.get(optimizer, optimizer)
    model = _trained(opt)
    model.save(tmp_path / "m.lamina")
    loaded = lamina.models.load_model(tmp_path / "m.lamina")
    for m in (model, loaded):
        torch.manual_seed(7)
        m.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(model.weights, loaded.weights):
        assert torch.equal(a, b)


def test_the_members_open_with_any_safetensors_reader(tmp_path):
    model = _trained()
    model.save(tmp_path / "m.lamina")
    with zipfile.ZipFile(tmp_path / "m.lamina") as z:
        names = set(z.namelist())
        weights = np_load_tensors(z.read("model.safetensors"))  # NumPy only, no torch
        config = json.loads(z.read("config.json"))
    assert {"config.json", "compile.json", "model.safetensors", "optimizer.safetensors"} <= names
    assert config["format"] == "lamina" and config["format_version"] == 1
    conv = model.get_layer(index=0)
    np.testing.assert_array_equal(weights[f"{conv.name}/kernel"], conv.get_weights()[0])
    assert weights[f"{conv.name}/kernel"].shape == (3, 3, 1, 4)  # Keras's layout
    bn = model.get_layer(index=1)
    np.testing.assert_array_equal(weights[f"{bn.name}/moving_variance"], bn.get_weights()[3])


def test_functional_nested_and_multi_output_models_round_trip(tmp_path):
    inner = lamina.Sequential(
        [layers.Input((5,)), layers.Dense(4, activation="tanh")], name="inner"
    )
    a = layers.Input((5,), name="a")
    b = layers.Input((3,), name="b")
    h = layers.Concatenate()([inner(a), b])
    out1 = layers.Dense(2, name="head1")(h)
    out2 = layers.Dense(1, activation="sigmoid", name="head2")(h)
    model = lamina.Model([a, b], [out1, out2])
    model.compile("adam", ["mse", "binary_crossentropy"], loss_weights=[1.0, 0.5])
    rng = np.random.default_rng(1)
    xa, xb = rng.random((32, 5), dtype=np.float32), rng.random((32, 3), dtype=np.float32)
    ys = [rng.random((32, 2), dtype=np.float32), rng.integers(0, 2, (32, 1)).astype("float32")]
    model.fit([xa, xb], ys, epochs=1, verbose=0)
    model.save(tmp_path / "f.lamina")
    loaded = lamina.models.load_model(tmp_path / "f.lamina")
    for p, q in zip(model.predict([xa, xb], verbose=0), loaded.predict([xa, xb], verbose=0)):
        np.testing.assert_array_equal(p, q)
    assert model.evaluate([xa, xb], ys, verbose=0) == loaded.evaluate([xa, xb], ys, verbose=0)
    with zipfile.ZipFile(tmp_path / "f.lamina") as z:
        names = set(np_load_tensors(z.read("model.safetensors")))
    inner_dense = inner.layers[-1].name
    assert {f"inner/{inner_dense}/kernel", "head1/kernel", "head2/bias"} <= names


def test_normalization_statistics_travel_with_the_weights(tmp_path):
    data = np.random.default_rng(2).normal(3.0, 2.0, (200, 4)).astype("float32")
    norm = layers.Normalization()
    norm.adapt(data)
    model = lamina.Sequential([layers.Input((4,)), norm, layers.Dense(1)])
    model.save(tmp_path / "n.lamina")
    loaded = lamina.models.load_model(tmp_path / "n.lamina")
    np.testing.assert_allclose(loaded.predict(data, verbose=0), model.predict(data, verbose=0))


def test_an_uncompiled_model_loads_uncompiled_and_compile_false_skips_settings(tmp_path):
    model = _cnn()
    model.save(tmp_path / "u.lamina")
    assert not lamina.models.load_model(tmp_path / "u.lamina").compiled
    trained = _trained()
    trained.save(tmp_path / "c.lamina")
    assert not lamina.models.load_model(tmp_path / "c.lamina", compile=False).compiled


def test_a_save_overwrites_atomically_and_overwrite_false_refuses(tmp_path):
    model = _trained()
    path = tmp_path / "m.lamina"
    model.save(path)
    first = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=False"):
        model.save(path, overwrite=False)
    assert path.read_bytes() == first
    assert [p.name for p in tmp_path.iterdir()] == ["m.lamina"]  # no temporary left


def test_a_failed_save_leaves_the_previous_file_loadable(tmp_path, monkeypatch):
    x, _ = _data()
    model = _trained()
    path = tmp_path / "m.lamina"
    model.save(path)
    before = model.predict(x, verbose=0)
    import lamina.saving.native as native

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(native, "add_member", broken)
    with pytest.raises(OSError, match="No space"):
        model.save(path)
    monkeypatch.undo()
    np.testing.assert_array_equal(lamina.models.load_model(path).predict(x, verbose=0), before)
    assert [p.name for p in tmp_path.iterdir()] == ["m.lamina"]


def test_unknown_suffix_and_unbuilt_model_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"\.lamina, \.keras or \.h5.*m\.pkl"):
        _trained().save(tmp_path / "m.pkl")
    with pytest.raises(ValueError, match="built model"):
        lamina.Sequential([layers.Dense(2)]).save(tmp_path / "x.lamina")


def _rewrite(path, name, data):
    buf = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(buf, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, data if item.filename == name else src.read(item))
    path.write_bytes(buf.getvalue())


def test_a_config_asking_for_huge_weights_is_refused_before_allocating(tmp_path):
    model = _trained()
    path = tmp_path / "m.lamina"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        config = json.loads(z.read("config.json"))
    config["model"]["config"]["layers"][-1]["config"]["units"] = 10**9
    _rewrite(path, "config.json", json.dumps(config).encode())
    with pytest.raises(FileFormatError, match="weights its tensors can fill"):
        lamina.models.load_model(path)


def test_a_huge_declared_input_is_refused(tmp_path):
    model = _trained()
    path = tmp_path / "m.lamina"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        config = json.loads(z.read("config.json"))
    config["model"]["config"]["layers"][0]["config"]["batch_shape"] = [None, 10**6, 10**6, 1]
    _rewrite(path, "config.json", json.dumps(config).encode())
    with pytest.raises(FileFormatError, match="elements per sample"):
        lamina.models.load_model(path)


def test_an_unregistered_class_in_the_config_is_named_and_nothing_is_imported(tmp_path):
    model = _trained()
    path = tmp_path / "m.lamina"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        config = json.loads(z.read("config.json"))
    config["model"]["config"]["layers"][1] = {
        "module": "os",
        "class_name": "system",
        "config": {"command": "touch pwned"},
    }
    _rewrite(path, "config.json", json.dumps(config).encode())
    with pytest.raises(FileFormatError, match="'system'"):
        lamina.models.load_model(path)


def test_mismatched_weights_name_the_layer_and_shapes(tmp_path):
    model = _trained()
    path = tmp_path / "m.lamina"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        tensors = np_load_tensors(z.read("model.safetensors"))
    dense = model.layers[-1]
    tensors[f"{dense.name}/bias"] = np.zeros(5, np.float32)
    from safetensors.numpy import save

    _rewrite(path, "model.safetensors", save(tensors, metadata={"layout": "keras"}))
    with pytest.raises(FileFormatError, match=rf"'{dense.name}'.*shape \(3,\).*shape=\(5,\)"):
        lamina.models.load_model(path)
