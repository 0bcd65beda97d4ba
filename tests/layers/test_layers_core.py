"""Dense and Activation (core.py) through the shared harness, against NumPy and torch.nn.Linear."""

import numpy as np
import pytest
import torch
from layer_harness import run_layer_test

from lamina import layers, regularizers
from lamina.layers import Activation, Dense


def _linear_ref(x, w):
    return x @ w[0] + w[1]


def test_dense_matches_numpy():
    run_layer_test(
        Dense,
        {"units": 3},
        input_shape=(2, 4),
        expected_output_shape=(2, 3),
        expected_num_params=15,
        expected_num_trainable_weights=2,
        expected_num_non_trainable_weights=0,
        reference=_linear_ref,
    )


def test_dense_relu_on_rank3_input_matches_torch_linear():
    def reference(x, w):
        linear = torch.nn.Linear(4, 5)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w[0].T))
            linear.bias.copy_(torch.from_numpy(w[1]))
            return torch.relu(linear(torch.from_numpy(x))).numpy()

    run_layer_test(
        Dense,
        {"units": 5, "activation": "relu"},
        input_shape=(2, 3, 4),
        expected_output_shape=(2, 3, 5),
        expected_num_params=25,
        reference=reference,
    )


def test_dense_without_bias():
    run_layer_test(
        Dense,
        {"units": 2, "use_bias": False},
        input_shape=(3, 4),
        expected_output_shape=(3, 2),
        expected_num_params=8,
        reference=lambda x, w: x @ w[0],
        compiled_fit=False,
    )


def test_dense_kernel_is_keras_layout():
    layer = Dense(7)
    layer(torch.zeros(1, 3))
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 7) and bias.shape == (7,)
    assert tuple(layer.kernel.shape) == (3, 7)  # stored as Keras's (in, out) too
    x = torch.randn(4, 3)
    torch.testing.assert_close(layer(x), x @ layer.kernel + layer.bias)
    x3 = torch.randn(2, 5, 3)  # any leading axes: one product over the last one
    torch.testing.assert_close(layer(x3), x3 @ layer.kernel + layer.bias)
    strided = torch.randn(2, 3, 5).transpose(1, 2)  # not contiguous: matmul, then the bias
    torch.testing.assert_close(layer(strided), strided @ layer.kernel + layer.bias)


def test_dense_activity_regularizer_is_per_sample():
    layer = Dense(2, kernel_initializer="ones", activity_regularizer=regularizers.L2(0.5))
    x = torch.tensor([[1.0, 2.0], [3.0, -1.0], [0.0, 1.0], [2.0, 2.0]])
    out = layer(x)
    expected = 0.5 * float((out.detach() ** 2).sum()) / 4
    assert len(layer.losses) == 1
    assert float(layer.losses[0].detach()) == pytest.approx(expected)


def test_dense_bad_units_error():
    with pytest.raises(
        ValueError,
        match=r"Layer 'd' \(Dense\) expected a positive integer for units, received: units=0",
    ):
        Dense(0, name="d")


@pytest.mark.parametrize(
    "activation,fn",
    [
        ("relu", lambda x: np.maximum(x, 0)),
        ("tanh", np.tanh),
        ("sigmoid", lambda x: 1 / (1 + np.exp(-x))),
    ],
)
def test_activation_matches_numpy(activation, fn):
    run_layer_test(
        Activation,
        {"activation": activation},
        input_shape=(2, 5),
        expected_output_shape=(2, 5),
        expected_num_params=0,
        reference=lambda x, w: fn(x),
        compiled_fit=False,
    )


def test_activation_softmax_and_logits_mode():
    def softmax(x, w):
        e = np.exp(x - x.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    result = run_layer_test(
        Activation,
        {"activation": "softmax"},
        (3, 4),
        (3, 4),
        expected_num_params=0,
        reference=softmax,
    )
    layer = result.layer
    x = torch.randn(2, 4)
    layer._emit_logits = True
    torch.testing.assert_close(layer(x), x)


def test_build_called_by_hand_marks_the_layer_built_like_keras():
    """`layer.build(shape)` then `set_weights` then a call: the call must use those weights
    (Keras marks a layer built after its build; a second build would draw new ones)."""

    class Scale(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight("w", (input_shape[-1],), initializer="ones")

        def call(self, x):
            return x * self.w

    for layer, shape in ((Scale(), (None, 3)), (layers.Dense(2), (None, 3))):
        layer.build(shape)
        assert layer.built
        weights = [np.full_like(w, 0.5) for w in layer.get_weights()]
        layer.set_weights(weights)
        out = layer(torch.ones(1, 3))
        expected = np.ones((1, 3)) * 0.5 if isinstance(layer, Scale) else np.full((1, 2), 2.0)
        np.testing.assert_allclose(out.detach().numpy(), expected)
