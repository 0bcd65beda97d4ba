"""Flatten, Reshape, Permute, RepeatVector, ZeroPadding2D, Cropping2D, UpSampling2D vs NumPy."""

import numpy as np
import pytest
import torch
from layer_harness import run_layer_test

from lamina.layers import (
    Cropping2D,
    Flatten,
    Input,
    Permute,
    RepeatVector,
    Reshape,
    UpSampling2D,
    ZeroPadding2D,
)


def test_flatten_keeps_keras_nhwc_order():
    result = run_layer_test(
        Flatten,
        {},
        (2, 3, 4, 5),
        (2, 60),
        expected_num_params=0,
        reference=lambda x, w: x.reshape(2, -1),
    )
    x, out = result.inputs, result.output
    h, w, c = 2, 1, 3  # element (h, w, c) lands at (h * W + w) * C + c
    assert out[1, (h * 4 + w) * 5 + c] == x[1, h, w, c]
    run_layer_test(Flatten, {}, (3, 4), (3, 4), reference=lambda x, w: x, compiled_fit=False)


@pytest.mark.parametrize(
    "target,expected", [((4, 3), (2, 4, 3)), ((-1, 2), (2, 6, 2)), ((3, 2, 2), (2, 3, 2, 2))]
)
def test_reshape_matches_numpy(target, expected):
    run_layer_test(
        Reshape,
        {"target_shape": target},
        (2, 12),
        expected,
        expected_num_params=0,
        reference=lambda x, w: x.reshape(expected),
        compiled_fit=-1 in target,
    )


def test_reshape_size_mismatch_errors_name_layer_and_shapes():
    with pytest.raises(ValueError) as err:
        Reshape((5, 5), name="rs")(torch.zeros(2, 12))
    msg = str(err.value)
    assert (
        "Layer 'rs' (Reshape)" in msg
        and "target_shape=(5, 5)" in msg
        and "input_shape=(None, 12)" in msg
    )
    with pytest.raises(
        ValueError, match=r"target_shape=\(-1, 5\).*received: input_shape=\(None, 3, 4\)"
    ):
        Reshape((-1, 5))(Input(shape=(3, 4)))
    with pytest.raises(ValueError, match=r"at most one -1, received: target_shape=\(-1, -1\)"):
        Reshape((-1, -1))
    layer = Reshape((2, 6))
    layer(torch.zeros(1, 12))
    with pytest.raises(ValueError, match=r"received: input_shape=\(None, 10\)"):
        layer(torch.zeros(1, 10))


def test_permute_matches_numpy():
    run_layer_test(
        Permute,
        {"dims": (3, 1, 2)},
        (2, 3, 4, 5),
        (2, 5, 3, 4),
        expected_num_params=0,
        reference=lambda x, w: np.transpose(x, (0, 3, 1, 2)),
    )
    with pytest.raises(ValueError, match=r"permutation of 1..n.*received: dims=\(0, 1\)"):
        Permute((0, 1))


def test_repeat_vector_matches_numpy():
    run_layer_test(
        RepeatVector,
        {"n": 3},
        (2, 4),
        (2, 3, 4),
        expected_num_params=0,
        reference=lambda x, w: np.repeat(x[:, None, :], 3, axis=1),
    )


@pytest.mark.parametrize(
    "padding,pads",
    [(1, ((1, 1), (1, 1))), ((2, 0), ((2, 2), (0, 0))), (((0, 1), (2, 3)), ((0, 1), (2, 3)))],
)
def test_zero_padding2d_matches_numpy(padding, pads):
    h, w = 3, 4
    out = (2, h + sum(pads[0]), w + sum(pads[1]), 2)
    run_layer_test(
        ZeroPadding2D,
        {"padding": padding},
        (2, h, w, 2),
        out,
        expected_num_params=0,
        reference=lambda x, wts: np.pad(x, ((0, 0), pads[0], pads[1], (0, 0))),
        compiled_fit=padding == ((0, 1), (2, 3)),
    )


@pytest.mark.parametrize(
    "cropping,crops", [(1, ((1, 1), (1, 1))), (((0, 2), (1, 0)), ((0, 2), (1, 0)))]
)
def test_cropping2d_matches_numpy(cropping, crops):
    (t, b), (left, r) = crops
    run_layer_test(
        Cropping2D,
        {"cropping": cropping},
        (2, 5, 6, 2),
        (2, 5 - t - b, 6 - left - r, 2),
        expected_num_params=0,
        reference=lambda x, w: x[:, t : 5 - b, left : 6 - r, :],
        compiled_fit=cropping == 1,
    )
    with pytest.raises(ValueError, match=r"larger than the cropping"):
        Cropping2D(3)(torch.zeros(1, 5, 9, 1))


def test_upsampling2d_nearest_repeats_pixels():
    run_layer_test(
        UpSampling2D,
        {"size": (2, 3)},
        (2, 2, 3, 2),
        (2, 4, 9, 2),
        expected_num_params=0,
        reference=lambda x, w: np.repeat(np.repeat(x, 2, axis=1), 3, axis=2),
    )


def test_upsampling2d_bilinear_half_pixel_hand_values():
    # Output pixel centres map to -0.25, 0.25, 0.75, 1.25 in input coordinates (clamped at the edges).
    x = torch.tensor([0.0, 1.0]).reshape(1, 1, 2, 1)
    out = UpSampling2D((1, 2), interpolation="bilinear")(x)
    np.testing.assert_allclose(out[0, 0, :, 0].numpy(), [0.0, 0.25, 0.75, 1.0])
    run_layer_test(
        UpSampling2D,
        {"size": 2, "interpolation": "bilinear"},
        (1, 2, 2, 1),
        (1, 4, 4, 1),
        reference=lambda x, w: _bilinear_x2(x),
    )
    with pytest.raises(ValueError, match=r"received: interpolation='cubic'"):
        UpSampling2D(interpolation="cubic")


def _bilinear_x2(x):
    coords = np.clip((np.arange(4) + 0.5) / 2 - 0.5, 0, 1)
    lo, frac = np.floor(coords).astype(int), coords - np.floor(coords)
    hi = np.minimum(lo + 1, 1)
    rows = x[:, lo] * (1 - frac)[None, :, None, None] + x[:, hi] * frac[None, :, None, None]
    return (
        rows[:, :, lo] * (1 - frac)[None, None, :, None]
        + rows[:, :, hi] * frac[None, None, :, None]
    )
