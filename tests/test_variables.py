"""lamina.variables and Layer.add_weight's argument forms, against Keras 3 (torch backend)."""

from __future__ import annotations

import copy
import os

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

import lamina  # noqa: E402
from lamina.runtime.tensor_subclass import plain_torch_function  # noqa: E402
from lamina.variables import NonTrainableVariable, Variable  # noqa: E402


def _pair(build):
    """The same custom layer body run by Keras and by Lamina."""

    class K(keras.layers.Layer):
        def build(self, input_shape):
            build(self, input_shape)

        def call(self, x):
            return x

    class L(lamina.layers.Layer):
        def build(self, input_shape):
            build(self, input_shape)

        def call(self, x):
            return x

    k, lam = K(), L()
    k.build((2, 3))
    lam.build((2, 3))
    return k, lam


def test_keras3_positional_and_keyword_forms_match_keras() -> None:
    def build(layer, shape):
        layer.a = layer.add_weight((3, 4), "ones")
        layer.b = layer.add_weight(shape=(4,), initializer="zeros", trainable=False)
        layer.c = layer.add_weight((2,), "ones", "float64")
        layer.n = layer.add_weight(shape=(), initializer="zeros", dtype="int32", trainable=False)

    k, lam = _pair(build)
    for name in "abcn":
        kv, lv = getattr(k, name), getattr(lam, name)
        assert tuple(lv.shape) == tuple(kv.shape)
        assert str(lv.dtype).split(".")[-1] == kv.dtype
        np.testing.assert_array_equal(lv.numpy(), keras.ops.convert_to_numpy(kv))
    assert len(lam.trainable_weights) == len(k.trainable_weights) == 2
    assert len(lam.non_trainable_weights) == len(k.non_trainable_weights) == 2


def test_default_initializers_follow_keras() -> None:
    def build(layer, shape):
        layer.w = layer.add_weight(shape=(200, 300))
        layer.i = layer.add_weight(shape=(5,), dtype="int32", trainable=False)

    k, lam = _pair(build)
    limit = np.sqrt(6 / 500)  # glorot_uniform, Keras's default for a float weight
    w = lam.w.numpy()
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.9 * limit
    assert np.abs(keras.ops.convert_to_numpy(k.w)).max() <= limit
    assert lam.i.numpy().tolist() == keras.ops.convert_to_numpy(k.i).tolist() == [0] * 5


def test_name_first_forms_keras2_and_lamina() -> None:
    layer = lamina.layers.Layer()
    k2 = layer.add_weight("kernel", (2, 2), "float64", "ones")  # Keras 2: name, shape, dtype, init
    own = layer.add_weight("bias", (2,), "ones")  # Lamina: name, shape, initializer
    assert k2.dtype == torch.float64 and k2.sum().item() == 4
    assert own.dtype == torch.float32 and own.sum().item() == 2
    assert [n for n, _ in layer.named_parameters()] == ["kernel", "bias"]


def test_an_unnamed_weight_takes_the_attribute_it_is_assigned_to() -> None:
    class Linear(lamina.layers.Layer):
        def __init__(self):
            super().__init__()
            self.w = self.add_weight(shape=(2, 3), initializer="ones")
            self.b = self.add_weight(shape=(3,), initializer="zeros")
            self.total = self.add_weight(shape=(3,), initializer="zeros", trainable=False)

        def call(self, x):
            return x @ self.w + self.b + self.total

    layer = Linear()
    assert len(layer.weights) == 3 and len(layer.trainable_weights) == 2
    layer(torch.ones(1, 2))
    assert list(layer.state_dict()) == ["w", "b", "total"]
    assert layer.total is layer._buffers["total"] and "total" not in layer.__dict__
    assert [n for n, _ in layer.named_parameters()] == ["w", "b"]


def test_assign_methods_and_value_grad() -> None:
    layer = lamina.layers.Layer()
    w = layer.add_weight(shape=(3,), initializer="ones")
    s = layer.add_weight(shape=(3,), initializer="zeros", trainable=False)
    assert isinstance(w, Variable) and isinstance(w, torch.nn.Parameter)
    assert isinstance(s, NonTrainableVariable) and not isinstance(s, torch.nn.Parameter)
    (w * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert w.value.grad.tolist() == [1.0, 2.0, 3.0]
    w.assign([5.0, 6.0, 7.0]).assign_sub(np.ones(3))
    s.assign_add(torch.ones(3)).assign_add(2.0)
    assert w.numpy().tolist() == [4.0, 5.0, 6.0] and s.numpy().tolist() == [3.0, 3.0, 3.0]
    assert type(s + 1) is torch.Tensor and type(w * 2) is torch.Tensor
    clone = copy.deepcopy(s)
    assert type(clone) is NonTrainableVariable and clone.numpy().tolist() == [3.0] * 3
    with pytest.raises(ValueError, match=r"Expected a value of shape \(3,\).*shape=\(2,\)"):
        w.assign([1.0, 2.0])


def test_bad_add_weight_arguments_name_the_layer() -> None:
    layer = lamina.layers.Layer(name="odd")
    with pytest.raises(TypeError, match="Layer 'odd'.*received: \\['colour'\\]"):
        layer.add_weight(shape=(2,), colour="red")
    with pytest.raises(TypeError, match="both by position and by keyword"):
        layer.add_weight((2,), shape=(3,))
    with pytest.raises(ValueError, match="expected a float dtype"):
        layer.add_weight(shape=(2,), dtype="int32", trainable=True)


def test_public_fallback_gives_plain_tensors_and_the_same_values() -> None:
    class Fallback(torch.Tensor):
        __torch_function__ = plain_torch_function(private=False)

    x = torch.arange(4.0).as_subclass(Fallback)
    y = torch.stack([x * 2, x + 1])
    assert type(y) is torch.Tensor and y.tolist() == [[0, 2, 4, 6], [1, 2, 3, 4]]
    parts = torch.split(x, 2)
    assert all(type(p) is torch.Tensor for p in parts)


def test_plain_parameters_swaps_the_class_for_dynamo_and_back() -> None:
    from lamina.variables import plain_parameters

    layer = lamina.layers.Dense(2)
    layer(torch.ones(1, 3))
    before = list(layer.parameters())
    with plain_parameters(layer):
        assert all(type(p) is torch.nn.Parameter for p in layer.parameters())
    after = list(layer.parameters())
    assert all(type(p) is Variable for p in after)
    assert all(a is b for a, b in zip(before, after))


VARIABLE_CASES = {
    "numpy float64 keeps its dtype": lambda m: m.Variable(np.ones(2)),
    "numpy float32 matrix": lambda m: m.Variable(np.ones((2, 3), "float32")),
    "numpy int32, not trainable": lambda m: m.Variable(
        np.arange(3, dtype="int32"), trainable=False
    ),
    "python float": lambda m: m.Variable(3.0),
    "python float list": lambda m: m.Variable([1.0, 2.0]),
    "python int list": lambda m: m.Variable([1, 2], trainable=False),
    "python int": lambda m: m.Variable(3, trainable=False),
    "numpy float64 scalar": lambda m: m.Variable(np.float64(2.5)),
    "initializer by name": lambda m: m.Variable("ones", shape=(2, 3)),
    "initializer object": lambda m: m.Variable(
        m.initializers.Constant(0.5), shape=(2,), dtype="float64"
    ),
    "dtype casts": lambda m: m.Variable(np.ones(2), dtype="float16"),
    "dtype casts to int": lambda m: m.Variable(np.ones(2), dtype="int32", trainable=False),
    "not trainable": lambda m: m.Variable(np.ones(2), trainable=False, name="w"),
}


@pytest.mark.parametrize("case", list(VARIABLE_CASES))
def test_variable_constructor_matches_keras(case) -> None:
    """`keras.Variable(...)` code runs on lamina.Variable: the same dtype, shape,
    trainability and values."""

    def described(v):
        dtype = str(v.dtype).removeprefix("torch.")
        return dtype, tuple(v.shape), bool(v.trainable), np.asarray(v.numpy()).tolist()

    assert described(VARIABLE_CASES[case](lamina)) == described(VARIABLE_CASES[case](keras))


def test_variable_from_numpy_trains_and_copies_like_a_parameter() -> None:
    v = lamina.Variable(np.array([1.0, -2.0], "float32"), name="w")
    assert isinstance(v, torch.nn.Parameter) and v.requires_grad and v.variable_name == "w"
    (v**2).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [2.0, -4.0])
    clone = copy.deepcopy(v)
    assert type(clone) is Variable and clone.requires_grad
    np.testing.assert_array_equal(clone.numpy(), v.numpy())
    assert Variable(torch.ones(2), False).requires_grad is False  # nn.Parameter's own form


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: lamina.Variable("zeros"), "Expected shape=..."),
        (lambda: lamina.Variable(np.ones(2), shape=(3,)), "received: shape=(2,)"),
        (lambda: lamina.Variable(["a", "b"]), "to be numbers"),
        (lambda: lamina.Variable(np.array(["a"])), "ndarray of <U1"),
    ],
)
def test_bad_variable_arguments_say_what_is_expected(make, words) -> None:
    with pytest.raises(ValueError, match="Expected") as info:
        make()
    assert words in str(info.value)
