"""lamina.plot.feature_maps: the maps drawn equal the same network computed in plain torch
(F.conv2d with the model's weights), for Sequential, functional and subclassed models; the
model is left as it was; the picture matches its reference image."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lamina as keras
from lamina import layers
from tests.plot import tiny_cnn
from tests.plot.image_compare import assert_matches_baseline

TOL = {"rtol": 1e-5, "atol": 1e-5}


def test_sequential_maps_equal_torch_and_model_is_unchanged(tmp_path):
    from lamina.plot import feature_maps

    model = tiny_cnn.sequential_cnn()
    model.train()  # the torch flag a user may have left on: it must stay as it is
    before = tiny_cnn.snapshot(model)
    x = tiny_cnn.image(12, 12, 3)
    ref = tiny_cnn.sequential_reference(model, tiny_cnn.nchw(x[None]))
    fig = feature_maps(model, "conv1", x)
    np.testing.assert_allclose(fig.lamina_data["maps"], tiny_cnn.nhwc(ref["conv1"]), **TOL)
    assert fig.lamina_data["layer"] == "conv1"
    # deeper layers; BatchNormalization on its moving statistics, Dropout off
    for name, key in (("pool", "pool"), ("conv2", "conv2"), ("bn", "bn"), ("drop", "bn")):
        maps = feature_maps(model, name, x[None]).lamina_data["maps"]
        np.testing.assert_allclose(maps, tiny_cnn.nhwc(ref[key]), **TOL)
    tiny_cnn.assert_unchanged(model, before)
    assert model.training
    # the picture: the input, then one panel per channel as drawn
    drawn = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    assert len(drawn) == 1 + 4
    for c in range(4):
        np.testing.assert_array_equal(drawn[1 + c], fig.lamina_data["maps"][..., c])
    assert_matches_baseline(fig, "activation_maps", tmp_path)


def test_functional_graph_with_a_skip_connection():
    from lamina.plot import feature_maps

    model = tiny_cnn.functional_cnn()
    before = tiny_cnn.snapshot(model)
    x = tiny_cnn.image(8, 8, 1, seed=3)
    ref = tiny_cnn.functional_reference(model, tiny_cnn.nchw(x[None]))
    for name in ("conv_a", "conv_b", "add", "relu"):
        maps = feature_maps(model, name, x).lamina_data["maps"]
        np.testing.assert_allclose(maps, tiny_cnn.nhwc(ref[name]), **TOL)
    tiny_cnn.assert_unchanged(model, before)


class _Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.conv = layers.Conv2D(2, 3, activation="relu", name="inner_conv")
        self.pool = layers.GlobalAveragePooling2D()
        self.out = layers.Dense(2)

    def call(self, x, training=None):
        return self.out(self.pool(self.conv(x)))


def test_subclassed_model_and_max_maps():
    from lamina.plot import feature_maps

    model = _Subclassed()
    x = tiny_cnn.image(6, 6, 1, seed=4)
    model(x[None])
    kernel, bias = model.conv.get_weights()
    t = torch.tensor(x[None]).permute(0, 3, 1, 2)
    want = torch.relu(F.conv2d(t, torch.tensor(kernel).permute(3, 2, 0, 1), torch.tensor(bias)))
    fig = feature_maps(model, "inner_conv", x, max_maps=1)
    np.testing.assert_allclose(fig.lamina_data["maps"], tiny_cnn.nhwc(want), **TOL)
    assert fig.lamina_data["maps"].shape == (4, 4, 2)  # all channels kept in the data
    assert sum(1 for ax in fig.axes if ax.images) == 1 + 1  # the input and one map drawn


def test_sequence_layers_draw_one_curve_per_channel():
    from lamina.plot import feature_maps

    model = keras.Sequential([layers.Conv1D(3, 5, input_shape=(16, 2), name="c1d")])
    x = np.random.default_rng(5).standard_normal((16, 2)).astype(np.float32)
    kernel, bias = model.get_layer("c1d").get_weights()
    t = torch.tensor(x[None]).transpose(1, 2)
    want = F.conv1d(t, torch.tensor(kernel).permute(2, 1, 0), torch.tensor(bias))[0].T
    fig = feature_maps(model, "c1d", x)
    np.testing.assert_allclose(fig.lamina_data["maps"], want.numpy(), **TOL)
    curves = [ax.lines[0].get_ydata() for ax in fig.axes if ax.lines]
    assert len(curves) == 3
    np.testing.assert_allclose(curves[2], want[:, 2].numpy(), **TOL)


def test_errors_name_the_layer_and_the_input():
    from lamina.plot import feature_maps

    model = tiny_cnn.sequential_cnn()
    x = tiny_cnn.image(12, 12, 3)
    with pytest.raises(ValueError, match=r"Expected a layer with feature maps.*'head'"):
        feature_maps(model, "head", x)
    with pytest.raises(ValueError, match=r"Expected one input.*shape=\(2, 12, 12, 3\)"):
        feature_maps(model, "conv1", np.stack([x, x]))
    with pytest.raises(ValueError, match=r"max_maps"):
        feature_maps(model, "conv1", x, max_maps=0)
