"""Keras 1 spellings: argument mapping, exactly one FutureWarning, modern configs."""

import warnings

import numpy as np
import pytest
import torch
from layer_harness import run_layer_test

from lamina.layers import Conv1D, Conv2D, Convolution1D, Convolution2D


def _construct(cls, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layer = cls(*args, **kwargs)
    return layer, caught


def test_convolution2d_maps_arguments_with_one_warning():
    layer, caught = _construct(
        Convolution2D,
        8,
        3,
        2,
        border_mode="same",
        subsample=(2, 2),
        init="he_normal",
        activation="relu",
        input_shape=(6, 6, 1),
    )
    assert len(caught) == 1 and caught[0].category is FutureWarning
    message = str(caught[0].message)
    assert "Keras 1 spelling" in message and "Conv2D(filters, kernel_size, padding=" in message
    assert "Conv2D(8, (3, 2), padding='same', strides=(2, 2), activation='relu')" in message
    assert caught[0].filename == __file__  # stacklevel points at the caller
    assert isinstance(layer, Conv2D)
    config = layer.get_config()
    assert config["filters"] == 8 and config["kernel_size"] == (3, 2)
    assert config["padding"] == "same" and config["strides"] == (2, 2)
    assert config["kernel_initializer"]["class_name"] == "HeNormal"
    assert config["activation"] == "relu" and config["input_shape"] == [6, 6, 1]


def test_convolution2d_computes_what_conv2d_computes():
    legacy, _ = _construct(Convolution2D, 4, 3, 3, border_mode="same")
    modern = Conv2D(4, 3, padding="same")
    x = torch.randn(2, 5, 5, 3)
    legacy(x), modern(x)
    modern.set_weights(legacy.get_weights())
    torch.testing.assert_close(legacy(x), modern(x))


@pytest.mark.filterwarnings("ignore:Convolution2D:FutureWarning")
def test_convolution2d_harness_and_config_rebuilds_conv2d():
    def reference(x, w):
        conv = torch.nn.Conv2d(2, 3, 3)
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(w[0]).permute(3, 2, 0, 1))
            conv.bias.copy_(torch.from_numpy(w[1]))
            return conv(torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()

    result = run_layer_test(
        Convolution2D,
        {"nb_filter": 3, "nb_row": 3, "nb_col": 3},
        (2, 5, 5, 2),
        (2, 3, 3, 3),
        expected_num_params=3 * 3 * 2 * 3 + 3,
        reference=reference,
        compiled_fit=False,
    )
    rebuilt = Convolution2D.from_config(result.layer.get_config())
    assert type(rebuilt) is Conv2D


def test_convolution2d_initial_weights_bias_flag_and_errors():
    kernel = np.ones((2, 2, 1, 1), np.float32)
    layer, _ = _construct(Convolution2D, 1, 2, 2, weights=[kernel], bias=False)
    out = layer(torch.ones(1, 3, 3, 1))
    np.testing.assert_array_equal(out.detach().numpy(), np.full((1, 2, 2, 1), 4.0, np.float32))
    with pytest.raises(ValueError, match=r"dim_ordering='tf'.*received: dim_ordering='th'"):
        _construct(Convolution2D, 1, 2, 2, dim_ordering="th")


@pytest.mark.filterwarnings("ignore:Convolution1D:FutureWarning")
def test_convolution1d_maps_arguments():
    layer, caught = _construct(
        Convolution1D, 4, 3, border_mode="same", subsample_length=2, input_dim=5, input_length=9
    )
    assert len(caught) == 1 and "Conv1D(4, 3, padding='same', strides=2)" in str(caught[0].message)
    assert isinstance(layer, Conv1D) and layer.get_config()["input_shape"] == [9, 5]
    assert layer(torch.zeros(2, 9, 5)).shape == (2, 5, 4)
    run_layer_test(
        Convolution1D,
        {"nb_filter": 2, "filter_length": 2},
        (2, 4, 3),
        (2, 3, 2),
        expected_num_params=2 * 3 * 2 + 2,
        reference=lambda x, w: (
            np.einsum("ntkc,kco->nto", np.stack([x[:, :-1], x[:, 1:]], 2), w[0]) + w[1]
        ),
        compiled_fit=False,
    )
