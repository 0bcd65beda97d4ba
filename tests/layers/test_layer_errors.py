"""Arguments in the wrong place fail at construction with a message that says so (issue 12).

`layers.Dense(64, regularizers.l2(0.01))` (a slide of seed 004) puts the regularizer in
`activation`; it used to fail at the first call with an opaque RuntimeError.
"""

import pytest
import torch

from lamina import activations, constraints, initializers, layers, regularizers


@pytest.mark.parametrize(
    "make",
    [
        lambda a: layers.Dense(64, a),
        lambda a: layers.Conv2D(8, 3, activation=a),
        lambda a: layers.Conv1D(8, 3, activation=a),
        lambda a: layers.Activation(a),
    ],
    ids=["Dense", "Conv2D", "Conv1D", "Activation"],
)
def test_regularizer_passed_as_activation_is_named(make):
    with pytest.raises(TypeError) as info:
        make(regularizers.l2(0.01))
    message = str(info.value)
    assert "regularizer" in message and "activation" in message
    assert "kernel_regularizer=regularizers.L2(l2=0.01)" in message


def test_error_names_the_layer():
    with pytest.raises(TypeError, match=r"Layer 'hidden' \(Dense\) expected an activation"):
        layers.Dense(64, regularizers.l1(0.001), name="hidden")


def test_regularizer_class_and_name_as_activation():
    with pytest.raises(TypeError, match=r"a regularizer.*kernel_regularizer=regularizers\.L2"):
        layers.Dense(4, regularizers.L2)
    with pytest.raises(ValueError, match=r"a regularizer.*kernel_regularizer='l2'"):
        layers.Dense(4, "l2")


@pytest.mark.parametrize(
    ("value", "keyword"),
    [
        (initializers.HeNormal(), "kernel_initializer=initializers.HeNormal("),
        (initializers.Constant(0.5), "kernel_initializer=initializers.Constant(value=0.5)"),
        (constraints.MaxNorm(2.0), "kernel_constraint=constraints.MaxNorm(max_value=2.0"),
        ("glorot_uniform", "kernel_initializer='glorot_uniform'"),
        ("max_norm", "kernel_constraint='max_norm'"),
    ],
)
def test_initializer_or_constraint_as_activation(value, keyword):
    with pytest.raises((TypeError, ValueError)) as info:
        layers.Dense(4, value)
    assert keyword in str(info.value)
    assert "activation" in str(info.value)


def test_real_activations_still_resolve():
    assert activations.get("relu") is activations.relu
    assert activations.get(None) is activations.linear
    assert activations.get(torch.tanh) is torch.tanh
    layer = layers.Dense(3, "softmax")
    out = layer(torch.ones(2, 4))
    torch.testing.assert_close(out.sum(-1), torch.ones(2))


def test_unknown_activation_name_still_suggests():
    with pytest.raises(ValueError, match="Did you mean: 'relu'"):
        layers.Dense(4, "rellu")
