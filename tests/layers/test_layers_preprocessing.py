"""Rescaling, Normalization (with adapt), Resizing and CenterCrop against NumPy."""

import numpy as np
import pytest
import torch
from layer_harness import run_layer_test

from lamina.layers import CenterCrop, Normalization, Rescaling, Resizing


def test_rescaling_matches_numpy():
    run_layer_test(
        Rescaling,
        {"scale": 1 / 127.5, "offset": -1.0},
        (2, 3, 3, 2),
        (2, 3, 3, 2),
        expected_num_params=0,
        reference=lambda x, w: x / 127.5 - 1.0,
    )
    per_channel = Rescaling([1.0, 0.5], offset=[0.0, 1.0])
    np.testing.assert_allclose(
        per_channel(torch.ones(1, 2, 2)).numpy(), np.full((1, 2, 2), [1.0, 1.5])
    )


def test_rescaling_turns_uint8_pixels_into_floats():
    pixels = torch.tensor([[0, 51, 255]], dtype=torch.uint8)
    out = Rescaling(1 / 255)(pixels)
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), [[0.0, 0.2, 1.0]], rtol=1e-6)


def test_normalization_with_given_mean_and_variance():
    mean, var = [1.0, -2.0, 0.5], [4.0, 0.25, 1.0]
    run_layer_test(
        Normalization,
        {"mean": mean, "variance": var},
        (2, 4, 3),
        (2, 4, 3),
        expected_num_params=0,
        reference=lambda x, w: (x - np.array(mean)) / np.sqrt(var),
    )
    inverse = Normalization(mean=mean, variance=var, invert=True)
    x = torch.randn(2, 3)
    np.testing.assert_allclose(
        inverse(x).numpy(), x.numpy() * np.sqrt(var) + np.array(mean), rtol=1e-6
    )


def test_normalization_adapt_matches_numpy_statistics():
    rng = np.random.default_rng(0)
    data = (rng.normal(size=(50, 4, 3)) * [1.0, 3.0, 0.5] + [5.0, -1.0, 0.0]).astype(np.float32)
    layer = Normalization()
    layer.adapt(data)
    mean, variance, count = layer.get_weights()
    np.testing.assert_allclose(mean, data.mean(axis=(0, 1)), rtol=1e-5)
    np.testing.assert_allclose(variance, data.var(axis=(0, 1)), rtol=1e-5)
    assert count == 0  # as in Keras 3
    out = layer(torch.from_numpy(data)).numpy()
    np.testing.assert_allclose(out.mean(axis=(0, 1)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(0, 1)), 1, atol=1e-4)
    batched = Normalization()
    batched.adapt([data[:17], data[17:30], torch.from_numpy(data[30:])])
    for a, b in zip(batched.get_weights()[:2], layer.get_weights()[:2]):
        np.testing.assert_allclose(a, b, rtol=1e-5)
    scalar = Normalization(axis=None)
    scalar.adapt(data)
    np.testing.assert_allclose(scalar.get_weights()[:2], [data.mean(), data.var()], rtol=1e-5)


def test_normalization_adaptable_layer_weights_and_errors():
    run_layer_test(
        Normalization,
        {},
        (2, 3),
        (2, 3),
        expected_num_params=7,
        expected_num_non_trainable_params=7,
        expected_num_non_trainable_weights=3,
        reference=lambda x, w: (x - w[0]) / np.sqrt(w[1]),
        compiled_fit=False,
    )
    with pytest.raises(ValueError, match=r"both mean and variance, or neither"):
        Normalization(mean=1.0)
    with pytest.raises(ValueError, match=r"adapt\(\) only on a layer built without mean/variance"):
        Normalization(mean=0.0, variance=1.0).adapt(np.zeros((2, 3)))


def np_resize(x, out_h, out_w, method):
    """TF2 / Keras 3 resize: half-pixel centres, no antialiasing."""

    def coords(n_in, n_out):
        src = (np.arange(n_out) + 0.5) * n_in / n_out
        if method == "nearest":
            idx = np.minimum(np.floor(src), n_in - 1).astype(int)
            return idx, idx, np.zeros(n_out)
        src = np.clip(src - 0.5, 0, n_in - 1)
        lo = np.floor(src).astype(int)
        return lo, np.minimum(lo + 1, n_in - 1), src - lo

    lo, hi, f = coords(x.shape[1], out_h)
    rows = x[:, lo] * (1 - f)[None, :, None, None] + x[:, hi] * f[None, :, None, None]
    lo, hi, f = coords(x.shape[2], out_w)
    return rows[:, :, lo] * (1 - f)[None, None, :, None] + rows[:, :, hi] * f[None, None, :, None]


@pytest.mark.parametrize("method", ["bilinear", "nearest"])
@pytest.mark.parametrize("size", [(3, 4), (9, 7)])
def test_resizing_matches_numpy(method, size):
    run_layer_test(
        Resizing,
        {"height": size[0], "width": size[1], "interpolation": method},
        (2, 5, 6, 2),
        (2, *size, 2),
        expected_num_params=0,
        reference=lambda x, w: np_resize(x, *size, method),
        run_gradcheck=method == "bilinear",
        compiled_fit=size == (3, 4),
    )


def test_resizing_crop_and_pad_to_aspect_ratio():
    x = torch.arange(2 * 4 * 8.0).reshape(2, 4, 8, 1)
    cropped = Resizing(4, 4, crop_to_aspect_ratio=True)(x)
    torch.testing.assert_close(cropped, x[:, :, 2:6])  # central 4x4 window, no resampling needed
    padded = Resizing(8, 8, pad_to_aspect_ratio=True, fill_value=-1.0)(x)
    torch.testing.assert_close(padded[:, 2:6], x)
    assert (padded[:, :2] == -1).all() and (padded[:, 6:] == -1).all()
    with pytest.raises(
        ValueError, match=r"at most one of crop_to_aspect_ratio and pad_to_aspect_ratio"
    ):
        Resizing(4, 4, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ValueError, match=r"received: interpolation='cubic'"):
        Resizing(4, 4, interpolation="cubic")


def test_resizing_antialias_low_pass_filters_when_downsampling():
    x = torch.zeros(1, 1, 8, 1)
    x[0, 0, ::4, 0] = 1.0  # 1, 0, 0, 0, 1, 0, 0, 0
    plain = Resizing(1, 2)(
        x
    )  # samples between pixels 1-2 and 5-6: misses every spike (Keras default)
    smooth = Resizing(1, 2, antialias=True)(x)  # averages over the footprint: about 1/4
    np.testing.assert_array_equal(plain.flatten().numpy(), [0.0, 0.0])
    np.testing.assert_allclose(smooth.flatten().numpy(), [0.25, 0.25], atol=0.08)


def test_center_crop_matches_slicing():
    run_layer_test(
        CenterCrop,
        {"height": 3, "width": 2},
        (2, 6, 5, 2),
        (2, 3, 2, 2),
        expected_num_params=0,
        reference=lambda x, w: x[:, 1:4, 1:3],
    )
    small = CenterCrop(6, 6)(torch.ones(1, 3, 4, 2))
    assert small.shape == (1, 6, 6, 2)
    torch.testing.assert_close(small, torch.ones(1, 6, 6, 2))
