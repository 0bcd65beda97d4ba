"""Dropout family, GaussianNoise/GaussianDropout and ActivityRegularization."""

import numpy as np
import pytest
import torch
from layer_harness import run_layer_test

from lamina.layers import (
    ActivityRegularization,
    Dropout,
    GaussianDropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
)


def identity(x, w):
    return x


@pytest.mark.parametrize(
    "cls,kwargs,shape",
    [
        (Dropout, {"rate": 0.5}, (2, 3, 4)),
        (Dropout, {"rate": 0.3, "noise_shape": (None, 1, 4), "seed": 3}, (2, 3, 4)),
        (SpatialDropout2D, {"rate": 0.5}, (2, 3, 3, 4)),
        (SpatialDropout1D, {"rate": 0.5}, (2, 3, 4)),
        (GaussianNoise, {"stddev": 0.1}, (2, 5)),
        (GaussianDropout, {"rate": 0.2}, (2, 5)),
    ],
)
def test_noise_layers_are_identity_in_inference(cls, kwargs, shape):
    run_layer_test(cls, kwargs, shape, shape, expected_num_params=0, reference=identity)


def test_dropout_training_scales_kept_units_by_inverse_keep_probability():
    torch.manual_seed(0)
    rate = 0.25
    layer = Dropout(rate)
    x = torch.rand(200, 50) + 0.5
    out = layer(x, training=True)
    kept = out != 0
    torch.testing.assert_close(out[kept], x[kept] / (1 - rate))
    assert abs(1 - kept.float().mean().item() - rate) < 0.02  # 10,000 draws
    torch.testing.assert_close(layer(x, training=False), x)
    assert layer(x, training=False) is x
    assert Dropout(0.0)(x, training=True) is x


def test_dropout_follows_module_mode_when_training_not_given():
    layer = Dropout(0.5)
    x = torch.ones(100, 10)
    layer.eval()
    assert torch.equal(layer(x), x)
    layer.train()
    assert (layer(x) == 0).any()


def test_dropout_noise_shape_shares_decisions_and_seed_reproduces():
    x = torch.ones(4, 6, 5)
    out = Dropout(0.5, noise_shape=(None, 1, 5), seed=7)(x, training=True)
    assert torch.equal(out, out[:, :1, :].expand_as(out))  # same decision along axis 1
    assert set(out.unique().tolist()) <= {0.0, 2.0}
    again = Dropout(0.5, noise_shape=(None, 1, 5), seed=7)(x, training=True)
    assert torch.equal(out, again)


def test_spatial_dropout_drops_whole_channels():
    x = torch.ones(3, 4, 4, 8)
    out = SpatialDropout2D(0.5, seed=1)(x, training=True)
    per_channel = out.amax(dim=(1, 2))
    assert torch.equal(out, per_channel[:, None, None, :].expand_as(out))
    assert set(per_channel.unique().tolist()) == {0.0, 2.0}
    out1 = SpatialDropout1D(0.5, seed=1)(torch.ones(3, 5, 8), training=True)
    assert torch.equal(out1, out1[:, :1].expand_as(out1))


def test_gaussian_noise_statistics_in_training():
    x = torch.zeros(100, 100)
    noise = GaussianNoise(0.3, seed=0)(x, training=True)
    assert abs(noise.mean().item()) < 0.01 and abs(noise.std().item() - 0.3) < 0.01
    factor = GaussianDropout(0.2, seed=0)(torch.ones(100, 100), training=True)
    assert abs(factor.mean().item() - 1) < 0.01
    assert abs(factor.std().item() - np.sqrt(0.2 / 0.8)) < 0.01


def test_activity_regularization_loss_value():
    layer = ActivityRegularization(l1=0.1, l2=0.01)
    x = torch.tensor([[1.0, -2.0], [3.0, 0.5]])
    out = layer(x)
    assert out is x
    (loss,) = layer.losses
    expected = (0.1 * (1 + 2 + 3 + 0.5) + 0.01 * (1 + 4 + 9 + 0.25)) / 2  # per sample
    assert loss.item() == pytest.approx(expected)
    run_layer_test(
        ActivityRegularization,
        {"l1": 0.1},
        (2, 3),
        (2, 3),
        expected_num_params=0,
        reference=identity,
    )


@pytest.mark.parametrize("rate", [1.5, 1.0, -0.1, "0.5"])
def test_dropout_rate_validation(rate):
    with pytest.raises(
        ValueError,
        match=rf"Layer 'drop' \(Dropout\) expected a rate .* in \[0, 1\), received: rate={rate!r}",
    ):
        Dropout(rate, name="drop")


def test_other_argument_errors():
    with pytest.raises(ValueError, match=r"received: stddev=-1"):
        GaussianNoise(-1)
    with pytest.raises(ValueError, match=r"received: rate=1.0"):
        GaussianDropout(1.0)
    with pytest.raises(ValueError, match=r"noise_shape of rank 2"):
        Dropout(0.5, noise_shape=(None, 1, 1))(torch.ones(2, 3), training=True)
    with pytest.raises(ValueError, match=r"received: l1=-1"):
        ActivityRegularization(l1=-1)


def test_dropout_gradient_is_the_scaled_mask_and_rate_is_unbiased():
    torch.manual_seed(1)
    rate = 0.3
    x = torch.ones(400_000, requires_grad=True)
    out = Dropout(rate)(x, training=True)
    out.sum().backward()
    torch.testing.assert_close(x.grad, out.detach())  # d(out)/dx is the scaled keep mask
    dropped = (out == 0).float().mean().item()
    assert abs(dropped - rate) < 0.003  # 5 standard errors of 400,000 draws
    assert out.mean().item() == pytest.approx(1.0, abs=0.005)  # E[out] = x
