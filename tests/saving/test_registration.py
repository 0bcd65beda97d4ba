"""Custom layers, losses and activations load through `register_serializable` or
`custom_objects`, and an unknown name is an error that names it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import layers, registry
from lamina.saving import FileFormatError, custom_object_scope, register_serializable


class Scale(layers.Layer):
    def __init__(self, factor: float = 2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight("w", (input_shape[-1],), initializer="ones")

    def call(self, x):
        return x * self.w * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def cubic(x):
    return x**3


def my_loss(y_true, y_pred):
    return torch.mean(torch.abs(y_true - y_pred), dim=-1)


def _model() -> lamina.Model:
    return lamina.Sequential(
        [layers.Input((3,)), Scale(3.0, name="scale"), layers.Dense(2, activation=cubic)]
    )


def _xy():
    rng = np.random.default_rng(0)
    return rng.random((16, 3), dtype=np.float32), rng.random((16, 2), dtype=np.float32)


def test_custom_objects_load_a_custom_layer_activation_and_loss(tmp_path):
    x, y = _xy()
    model = _model()
    model.compile("sgd", my_loss)
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "c.lamina")
    loaded = lamina.models.load_model(
        tmp_path / "c.lamina", custom_objects={"Scale": Scale, "cubic": cubic, "my_loss": my_loss}
    )
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    assert loaded.get_layer("scale").factor == 3.0
    with pytest.raises(ValueError):  # the scope ended: nothing stays registered
        registry.get("layer", "Scale")


def test_unknown_custom_names_are_named_in_the_error(tmp_path):
    model = _model()
    model.compile("sgd", my_loss)
    model.save(tmp_path / "c.lamina")
    with pytest.raises(FileFormatError, match="'Scale'"):
        lamina.models.load_model(tmp_path / "c.lamina")
    with pytest.raises(FileFormatError, match="'my_loss'"):
        lamina.models.load_model(
            tmp_path / "c.lamina", custom_objects={"Scale": Scale, "cubic": cubic}
        )
    loaded = lamina.models.load_model(
        tmp_path / "c.lamina", custom_objects={"Scale": Scale, "cubic": cubic}, compile=False
    )
    assert not loaded.compiled


def test_register_serializable_makes_a_class_loadable_under_both_names(tmp_path):
    @register_serializable(package="tests_pkg")
    class Shift(layers.Layer):
        def call(self, x):
            return x + 1.0

    try:
        assert registry.get("layer", "tests_pkg>Shift") is Shift
        model = lamina.Sequential([layers.Input((2,)), Shift(), layers.Dense(1)])
        model.save(tmp_path / "s.lamina")
        loaded = lamina.models.load_model(tmp_path / "s.lamina")
        x = np.ones((2, 2), np.float32)
        np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    finally:
        registry.unregister("layer", "Shift", Shift)
        registry.unregister("layer", "tests_pkg>Shift", Shift)


def test_custom_object_scope_overrides_and_restores():
    def relu(x):
        return x

    original = registry.get("activation", "relu")
    with custom_object_scope({"relu": relu}):
        assert registry.get("activation", "relu") is relu
    assert registry.get("activation", "relu") is original
    with pytest.raises(TypeError, match="Expected a class or a function"):
        with custom_object_scope({"x": 3}):
            pass


class _CountPositives(lamina.metrics.Metric):
    """A user metric written as in Keras's guides, never registered."""

    def __init__(self, name="count_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.count.assign_add(lamina.ops.sum(lamina.ops.cast(y_pred > 0.5, "float32")))

    def result(self):
        return self.count.value


def test_an_unregistered_metric_is_saved_by_name_and_compiles_from_custom_objects(tmp_path):
    x, y = _xy()
    model = lamina.Sequential([layers.Input((3,)), layers.Dense(2)])
    model.compile("sgd", "mse", metrics=[_CountPositives()])
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.lamina")
    loaded = lamina.models.load_model(
        tmp_path / "m.lamina", custom_objects={"_CountPositives": _CountPositives}
    )
    assert loaded.compiled
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    with pytest.raises(FileFormatError, match="_CountPositives"):
        lamina.models.load_model(tmp_path / "m.lamina")
    assert not lamina.models.load_model(tmp_path / "m.lamina", compile=False).compiled
