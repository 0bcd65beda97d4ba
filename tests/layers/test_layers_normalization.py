"""BatchNormalization and LayerNormalization against NumPy formulas and torch.nn modules."""

import numpy as np
import pytest
import torch
from layer_harness import run_layer_test

from lamina.layers import BatchNormalization, LayerNormalization


def bn_inference(x, w, eps=1e-3):
    gamma, beta, mean, var = w
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


@pytest.mark.parametrize("shape", [(4, 3), (3, 5, 3), (2, 3, 4, 3)])
def test_batch_norm_inference_matches_numpy(shape):
    run_layer_test(
        BatchNormalization,
        {},
        shape,
        shape,
        expected_num_params=4 * 3,
        expected_num_non_trainable_params=2 * 3,
        expected_num_trainable_weights=2,
        expected_num_non_trainable_weights=2,
        reference=bn_inference,
        compiled_fit=False,
    )


def test_batch_norm_training_mode_gradients():
    run_layer_test(
        BatchNormalization,
        {"momentum": 0.9, "epsilon": 1e-2},
        (5, 2, 2, 3),
        (5, 2, 2, 3),
        expected_num_params=12,
        expected_num_non_trainable_params=6,
        reference=lambda x, w: bn_inference(x, w, eps=1e-2),
        gradcheck_training=True,
    )


def test_batch_norm_matches_torch_batchnorm2d_in_eval():
    def reference(x, w):
        bn = torch.nn.BatchNorm2d(3, eps=1e-3).eval()
        with torch.no_grad():
            for tensor, value in zip([bn.weight, bn.bias, bn.running_mean, bn.running_var], w):
                tensor.copy_(torch.from_numpy(value))
            return bn(torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()

    run_layer_test(
        BatchNormalization,
        {},
        (2, 4, 4, 3),
        (2, 4, 4, 3),
        expected_num_params=12,
        expected_num_non_trainable_params=6,
        reference=reference,
        compiled_fit=False,
    )


def test_batch_norm_training_output_and_moving_statistics_match_numpy():
    rng = np.random.default_rng(1)
    layer = BatchNormalization()  # momentum 0.99, epsilon 1e-3
    layer(torch.zeros(1, 3, 3, 2))
    gamma, beta = np.array([1.5, 0.5], np.float32), np.array([0.2, -0.1], np.float32)
    layer.set_weights([gamma, beta, np.zeros(2, np.float32), np.ones(2, np.float32)])
    moving_mean, moving_var = np.zeros(2), np.ones(2)
    for _ in range(3):
        x = (rng.normal(size=(4, 3, 3, 2)) * [2.0, 0.5] + [1.0, -3.0]).astype(np.float32)
        out = layer(torch.from_numpy(x), training=True).detach().numpy()
        mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))  # Keras: biased variance
        np.testing.assert_allclose(
            out, gamma * (x - mean) / np.sqrt(var + 1e-3) + beta, rtol=1e-4, atol=1e-5
        )
        moving_mean = 0.99 * moving_mean + 0.01 * mean
        moving_var = 0.99 * moving_var + 0.01 * var
        _, _, got_mean, got_var = layer.get_weights()
        np.testing.assert_allclose(got_mean, moving_mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got_var, moving_var, rtol=1e-5, atol=1e-6)
    before = layer.get_weights()
    layer(torch.from_numpy(x), training=False)
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_frozen_batch_norm_uses_moving_statistics_even_when_training():
    layer = BatchNormalization()
    x = torch.randn(8, 3) * 4 + 2
    layer(x)
    weights = [
        np.array([2.0, 1.0, 0.5], np.float32),
        np.array([0.1, 0.0, -0.1], np.float32),
        np.array([1.0, 2.0, 3.0], np.float32),
        np.array([4.0, 1.0, 0.25], np.float32),
    ]
    layer.set_weights(weights)
    layer.trainable = False
    out = layer(x, training=True)
    np.testing.assert_allclose(
        out.detach().numpy(), bn_inference(x.numpy(), weights), rtol=1e-5, atol=1e-6
    )
    for a, b in zip(weights, layer.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 4


def test_batch_norm_batch_of_one_in_training():
    layer = BatchNormalization(beta_initializer="ones")
    out = layer(torch.tensor([[3.0, -2.0]]), training=True)
    np.testing.assert_allclose(out.detach().numpy(), [[1.0, 1.0]])  # x - mean = 0
    np.testing.assert_allclose(layer.get_weights()[2], [0.03, -0.02], rtol=1e-5)
    np.testing.assert_allclose(layer.get_weights()[3], [0.99, 0.99], rtol=1e-6)


def test_batch_norm_channels_first_axis_and_options():
    def reference(x, w):
        beta, mean, var = (v.reshape(1, 2, 1, 1) for v in w)
        return (x - mean) / np.sqrt(var + 1e-3) + beta

    run_layer_test(
        BatchNormalization,
        {"axis": 1, "scale": False},
        (2, 2, 3, 3),
        (2, 2, 3, 3),
        expected_num_params=6,
        expected_num_non_trainable_params=4,
        expected_num_trainable_weights=1,
        reference=reference,
    )
    with pytest.raises(
        ValueError,
        match=r"\(BatchNormalization\) expected an axis in 1..1 \(not the batch axis\), received: axis=0",
    ):
        BatchNormalization(axis=0)(torch.zeros(2, 3))


def ln_reference(axes, eps=1e-3):
    def reference(x, w):
        mean = x.mean(axis=axes, keepdims=True)
        var = x.var(axis=axes, keepdims=True)
        shape = [x.shape[d] if d in axes else 1 for d in range(x.ndim)]
        return (x - mean) / np.sqrt(var + eps) * w[0].reshape(shape) + w[1].reshape(shape)

    return reference


@pytest.mark.parametrize(
    "axis,shape,params",
    [
        (-1, (3, 4), 8),
        (-1, (2, 3, 4), 8),
        ([1, 2], (2, 3, 4), 24),
        (1, (2, 3, 4), 6),
        ([1, 3], (2, 3, 2, 4), 24),
    ],
)
def test_layer_norm_matches_numpy(axis, shape, params):
    axes = tuple(a % len(shape) for a in ([axis] if isinstance(axis, int) else axis))
    run_layer_test(
        LayerNormalization,
        {"axis": axis},
        shape,
        shape,
        expected_num_params=params,
        reference=ln_reference(axes),
        compiled_fit=axis == [1, 3],
    )


def test_layer_norm_matches_torch_layernorm():
    def reference(x, w):
        ln = torch.nn.LayerNorm(4, eps=1e-3)
        with torch.no_grad():
            ln.weight.copy_(torch.from_numpy(w[0]))
            ln.bias.copy_(torch.from_numpy(w[1]))
            return ln(torch.from_numpy(x)).numpy()

    run_layer_test(
        LayerNormalization, {}, (2, 3, 4), (2, 3, 4), expected_num_params=8, reference=reference
    )
