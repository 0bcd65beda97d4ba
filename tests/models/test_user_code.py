"""The user's code in a model is part of its step signature, so saved steps never go stale.

References: the SHA-256 of nothing (a model of built-in layers only) and the step
signature itself (compile_signature), before and after an edit of the user's code.
"""

from __future__ import annotations

import hashlib
import importlib
import sys

import pytest
import torch

import lamina
from lamina import layers
from lamina.models import user_code
from lamina.models.compile_signature import step_signature

LAYER_SOURCE = """
from lamina import layers


def helper(x):
    return x * {factor}


class Scaled(layers.Layer):
    def call(self, x, training=None):
        return helper(x)
"""


def _model(extra, loss="mse"):
    model = lamina.Sequential([layers.Dense(4, input_shape=(3,)), *extra, layers.Dense(2)])
    model.compile("sgd", loss, jit_compile=True)
    return model


def _batches():
    return [(torch.zeros(8, 3), torch.zeros(8, 2), None)]


def test_built_in_layers_hash_nothing():
    assert user_code.user_code_hash(_model([])) == hashlib.sha256().hexdigest()


def test_editing_a_helper_in_the_users_file_changes_the_signature(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "my_layers.py").write_text(LAYER_SOURCE.format(factor=2))
    import my_layers

    before = step_signature(_model([my_layers.Scaled()]), _batches())
    again = step_signature(_model([my_layers.Scaled()]), _batches())
    (tmp_path / "my_layers.py").write_text(LAYER_SOURCE.format(factor=30))
    importlib.reload(my_layers)
    after = step_signature(_model([my_layers.Scaled()]), _batches())
    sys.modules.pop("my_layers", None)
    assert before == again and before != after


def test_without_a_file_the_bytecode_of_the_class_is_hashed(monkeypatch):
    """A class typed into a notebook has no file: its functions' bytecode stands in."""
    monkeypatch.setattr(user_code, "_user_file", lambda obj: None)

    class Scaled(layers.Layer):
        def call(self, x, training=None):
            return x * 2

    first = user_code.user_code_hash(_model([Scaled()]))
    assert user_code.user_code_hash(_model([Scaled()])) == first

    class Scaled(layers.Layer):  # noqa: F811  the same name, edited
        def call(self, x, training=None):
            return x * 3

    assert user_code.user_code_hash(_model([Scaled()])) != first


def test_a_custom_loss_function_is_part_of_the_hash(monkeypatch):
    monkeypatch.setattr(user_code, "_user_file", lambda obj: None)

    def my_loss(y_true, y_pred):
        return ((y_true - y_pred) ** 2).mean()

    first = user_code.user_code_hash(_model([], loss=my_loss))

    def my_loss(y_true, y_pred):  # noqa: F811
        return (y_true - y_pred).abs().mean()

    assert user_code.user_code_hash(_model([], loss=my_loss)) != first
    assert first != hashlib.sha256().hexdigest()


def test_installed_packages_are_not_read_as_user_files():
    assert user_code._user_file(pytest.fixture) is None  # from site-packages
    assert user_code._user_file(test_installed_packages_are_not_read_as_user_files) is not None
