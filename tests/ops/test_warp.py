"""warp_affine and its matrix builders against NumPy references and hand-worked values.

The fill-mode reference pads the image with `np.pad` (whose 'symmetric', 'reflect', 'wrap',
'edge' and 'constant' modes are Keras's 'reflect', 'mirror', 'wrap', 'nearest' and
'constant') and samples the padded array, so it shares no code with the implementation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lamina.ops.warp import (
    flip,
    identity,
    rotation,
    shear,
    translation,
    warp_affine,
    zoom,
)

NP_PAD_MODE = {
    "constant": "constant",
    "nearest": "edge",
    "reflect": "symmetric",
    "wrap": "wrap",
    "mirror": "reflect",
}
FILL_MODES = list(NP_PAD_MODE)


def _reference(img, m, fill_mode, fill_value=0.0, interpolation="bilinear", pad=40):
    """Warp one HWC image by 3x3 OUTPUT->INPUT matrix m, sampling an np.pad-extended copy."""
    h, w, _ = img.shape
    kwargs = {"constant_values": fill_value} if fill_mode == "constant" else {}
    padded = np.pad(img, ((pad, pad), (pad, pad), (0, 0)), mode=NP_PAD_MODE[fill_mode], **kwargs)
    ys, xs = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    pts = np.stack([xs.ravel(), ys.ravel(), np.ones(h * w)])
    x_in, y_in, _ = np.asarray(m, dtype=np.float64) @ pts
    x_in, y_in = x_in + pad, y_in + pad
    if interpolation == "nearest":
        out = padded[np.round(y_in).astype(int), np.round(x_in).astype(int)]
        return out.reshape(h, w, -1)
    x0, y0 = np.floor(x_in).astype(int), np.floor(y_in).astype(int)
    fx, fy = (x_in - x0)[:, None], (y_in - y0)[:, None]
    out = (
        padded[y0, x0] * (1 - fy) * (1 - fx)
        + padded[y0, x0 + 1] * (1 - fy) * fx
        + padded[y0 + 1, x0] * fy * (1 - fx)
        + padded[y0 + 1, x0 + 1] * fy * fx
    )
    return out.reshape(h, w, -1)


def _images(b=2, h=5, w=7, c=2, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).uniform(0, 1, size=(b, h, w, c)).astype(dtype)


def _warp(x, m, **kw):
    return warp_affine(
        torch.from_numpy(x), m.to(torch.float64 if x.dtype == np.float64 else torch.float32), **kw
    ).numpy()


# ----------------------------------------------------------------------------- directions
@pytest.mark.parametrize("k", [1, -1, 2])
def test_rotation_matches_rot90_counter_clockwise(k):
    x = _images(b=2, h=6, w=6, c=3)
    out = _warp(x, rotation(torch.full((2,), k * math.pi / 2), 6, 6))
    np.testing.assert_allclose(out, np.rot90(x, k=k, axes=(1, 2)), atol=1e-6)


def test_half_turn_on_a_non_square_image():
    x = _images(b=1, h=4, w=6, c=1)
    out = _warp(x, rotation(torch.tensor([math.pi]), 4, 6))
    np.testing.assert_allclose(out, np.rot90(x, k=2, axes=(1, 2)), atol=1e-6)


def test_flips_are_exact():
    x = _images(b=4, h=5, w=7, c=2)
    h = torch.tensor([True, False, True, False])
    v = torch.tensor([False, True, True, False])
    out = _warp(x, flip(h, v, 5, 7))
    np.testing.assert_array_equal(out[0], np.flip(x[0], axis=1))
    np.testing.assert_array_equal(out[1], np.flip(x[1], axis=0))
    np.testing.assert_array_equal(out[2], np.flip(x[2], axis=(0, 1)))
    np.testing.assert_array_equal(out[3], x[3])
    np.testing.assert_array_equal(out[:1], np.flip(x[:1], axis=2))


def test_translation_moves_content_right_and_down():
    x = _images(b=1, h=6, w=8, c=1)
    right = _warp(x, translation(torch.tensor([3.0]), torch.tensor([0.0])), fill_mode="constant")
    rolled = np.roll(x, 3, axis=2)
    np.testing.assert_array_equal(right[:, :, 3:], rolled[:, :, 3:])
    np.testing.assert_array_equal(right[:, :, :3], 0.0)  # the uncovered band is filled
    down = _warp(
        x,
        translation(torch.tensor([0.0]), torch.tensor([2.0])),
        fill_mode="constant",
        fill_value=-1.0,
    )
    np.testing.assert_array_equal(down[:, 2:], x[:, :-2])
    np.testing.assert_array_equal(down[:, :2], -1.0)
    wrapped = _warp(x, translation(torch.tensor([3.0]), torch.tensor([0.0])), fill_mode="wrap")
    np.testing.assert_array_equal(wrapped, rolled)
    edge = _warp(x, translation(torch.tensor([3.0]), torch.tensor([0.0])), fill_mode="nearest")
    np.testing.assert_array_equal(edge[:, :, :3], np.repeat(x[:, :, :1], 3, axis=2))


def test_zoom_factor_above_one_zooms_out():
    x = _images(b=1, h=9, w=9, c=1)
    out = _warp(x, zoom(torch.tensor([2.0]), torch.tensor([2.0]), 9, 9), fill_mode="constant")
    # Output pixel (4 + d) reads input pixel (4 + 2d): content is half the size.
    np.testing.assert_array_equal(out[0, 4, 4:7, 0], x[0, 4, [4, 6, 8], 0])
    np.testing.assert_array_equal(out[0, 2:7, 4, 0], x[0, [0, 2, 4, 6, 8], 4, 0])
    assert (out[0, 0, :, 0] == 0).all()  # outside the shrunken content
    inside = _warp(x, zoom(torch.tensor([0.5]), torch.tensor([0.5]), 9, 9))
    np.testing.assert_allclose(
        inside[0, 4, 4:7, 0], [x[0, 4, 4, 0], x[0, 4, 4:6, 0].mean(), x[0, 4, 5, 0]], rtol=1e-6
    )


def test_shear_matrix_and_direction():
    a = 0.3
    m = shear(torch.tensor([a]), 5, 7)[0].double().numpy()
    cx, cy = 3.0, 2.0
    for x, y in [(0, 0), (6, 4), (3, 2), (1, 3)]:
        want = [(x - cx) - math.sin(a) * (y - cy) + cx, math.cos(a) * (y - cy) + cy, 1.0]
        np.testing.assert_allclose(m @ [x, y, 1.0], want, atol=1e-6)
    img = np.zeros((1, 5, 7, 1), np.float32)
    img[0, :, 3] = 1.0  # a vertical line through the centre
    out = _warp(img, shear(torch.tensor([math.asin(0.5)]), 5, 7), interpolation="nearest")
    assert out[0, 4, 4, 0] == 1.0 and out[0, 0, 2, 0] == 1.0  # bottom moved right, top left


def test_builders_compose_with_matmul():
    quarter = rotation(torch.tensor([math.pi / 2]), 5, 5)
    torch.testing.assert_close(quarter @ quarter, rotation(torch.tensor([math.pi]), 5, 5))
    one, two = (
        translation(torch.tensor([1.0]), torch.tensor([0.0])),
        translation(torch.tensor([2.0]), torch.tensor([-1.0])),
    )
    torch.testing.assert_close(one @ two, translation(torch.tensor([3.0]), torch.tensor([-1.0])))
    assert identity(3).shape == (3, 3, 3)
    torch.testing.assert_close(
        identity(2, dtype=torch.float64), torch.eye(3, dtype=torch.float64).expand(2, 3, 3)
    )


# ----------------------------------------------------------------------------- fill modes
@pytest.mark.parametrize(
    "fill_mode, expected",
    [
        ("reflect", [3, 2, 1, 1]),  # d c b a | a b c d
        ("mirror", [4, 3, 2, 1]),  # d c b | a b c d
        ("wrap", [2, 3, 4, 1]),  # b c d | a b c d
        ("nearest", [1, 1, 1, 1]),
        ("constant", [9, 9, 9, 1]),
    ],
)
def test_fill_modes_at_the_border_by_hand(fill_mode, expected):
    row = np.array([1, 2, 3, 4], np.float32).reshape(1, 1, 4, 1)
    for interpolation in ("nearest", "bilinear"):
        out = _warp(
            row,
            translation(torch.tensor([3.0]), torch.tensor([0.0])),
            fill_mode=fill_mode,
            fill_value=9.0,
            interpolation=interpolation,
        )
        np.testing.assert_array_equal(out.ravel(), expected)


@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_fill_modes_match_numpy_pad_reference(fill_mode, interpolation):
    x = _images(b=3, h=5, w=7, c=2, seed=1)
    angles = torch.tensor([0.4, -1.1, 2.5], dtype=torch.float64)
    m = (
        translation(
            torch.tensor([2.3, -4.6, 9.2], dtype=torch.float64),
            torch.tensor([-1.7, 3.1, 0.4], dtype=torch.float64),
        )
        @ rotation(angles, 5, 7)
        @ zoom(
            torch.tensor([1.7, 0.6, 2.9], dtype=torch.float64),
            torch.tensor([1.3, 0.8, 2.2], dtype=torch.float64),
            5,
            7,
        )
    )
    out = _warp(x, m, fill_mode=fill_mode, fill_value=0.5, interpolation=interpolation)
    for i in range(3):
        want = _reference(x[i].astype(np.float64), m[i].numpy(), fill_mode, 0.5, interpolation)
        np.testing.assert_allclose(out[i], want, atol=1e-5)


def test_nearest_vs_bilinear_interpolation():
    x = _images(b=1, h=3, w=6, c=1)
    m = translation(torch.tensor([0.25]), torch.tensor([0.0]))
    bilinear = _warp(x, m, interpolation="bilinear")
    nearest = _warp(x, m, interpolation="nearest")
    # grid_sample's normalised coordinates round at ~1e-7
    np.testing.assert_allclose(
        bilinear[:, :, 1:], 0.75 * x[:, :, 1:] + 0.25 * x[:, :, :-1], rtol=1e-5, atol=1e-7
    )
    np.testing.assert_array_equal(nearest, x)
    far = _warp(x, translation(torch.tensor([0.75]), torch.tensor([0.0])), interpolation="nearest")
    np.testing.assert_array_equal(far[:, :, 1:], x[:, :, :-1])


# ----------------------------------------------------------------------------- batches, dtypes
def test_batch_of_different_matrices_in_one_call():
    x = _images(b=4, h=6, w=6, c=3, seed=2)
    m = torch.stack(
        [
            identity(1)[0],
            flip(torch.tensor([True]), torch.tensor([False]), 6, 6)[0],
            rotation(torch.tensor([math.pi / 2]), 6, 6)[0],
            translation(torch.tensor([1.0]), torch.tensor([2.0]))[0],
        ]
    )
    out = _warp(x, m, fill_mode="constant")
    np.testing.assert_array_equal(out[0], x[0])
    np.testing.assert_array_equal(out[1], np.flip(x[1], axis=1))
    np.testing.assert_allclose(out[2], np.rot90(x[2]), atol=1e-6)
    np.testing.assert_array_equal(out[3, 2:, 1:], x[3, :-2, :-1])
    for i in range(4):
        np.testing.assert_array_equal(
            out[i : i + 1], _warp(x[i : i + 1], m[i : i + 1], fill_mode="constant")
        )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fill_mode", FILL_MODES)
def test_identity_returns_the_input(dtype, fill_mode):
    x = _images(b=2, h=4, w=5, c=3, dtype=dtype)
    out = warp_affine(torch.from_numpy(x), identity(2), fill_mode=fill_mode, fill_value=0.3)
    assert out.dtype == torch.from_numpy(x).dtype
    np.testing.assert_array_equal(out.numpy(), x)
    two_by_three = identity(2)[:, :2, :]
    np.testing.assert_array_equal(warp_affine(torch.from_numpy(x), two_by_three).numpy(), x)


def test_float64_matches_reference_tightly():
    x = _images(b=1, h=5, w=5, c=1, dtype=np.float64)
    m = rotation(torch.tensor([0.7], dtype=torch.float64), 5, 5)
    out = _warp(x, m, fill_mode="reflect")
    assert out.dtype == np.float64
    np.testing.assert_allclose(out[0], _reference(x[0], m[0].numpy(), "reflect"), atol=1e-12)


def test_uint8_derived_floats():
    raw = np.random.default_rng(3).integers(0, 256, size=(2, 6, 6, 3), dtype=np.uint8)
    x = torch.from_numpy(raw).float()
    out = warp_affine(x, rotation(torch.tensor([math.pi / 2, -math.pi / 2]), 6, 6))
    np.testing.assert_array_equal(out[0].numpy(), np.rot90(raw[0]).astype(np.float32))
    np.testing.assert_array_equal(out[1].numpy(), np.rot90(raw[1], k=-1).astype(np.float32))
    shifted = warp_affine(
        x, translation(torch.tensor([0.5, 0.5]), torch.zeros(2)), fill_mode="nearest"
    )
    assert shifted.min() >= 0 and shifted.max() <= 255
    np.testing.assert_allclose(
        shifted[:, :, 1:].numpy(), (raw[:, :, 1:] / 2.0 + raw[:, :, :-1] / 2.0), rtol=1e-6
    )


def test_gradient_reaches_the_images():
    x = torch.rand(2, 4, 4, 1, requires_grad=True)
    warp_affine(x, rotation(torch.tensor([0.3, 1.0]), 4, 4), fill_mode="reflect").sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"fill_mode": "bogus"}, "fill_mode='bogus'"),
        ({"interpolation": "bicubic"}, "interpolation='bicubic'"),
        ({"images": torch.rand(4, 4, 1)}, "images=(4, 4, 1)"),
        ({"images": torch.zeros(1, 4, 4, 1, dtype=torch.uint8)}, "images_dtype=torch.uint8"),
        ({"matrices": torch.eye(3)}, "matrices=(3, 3)"),
        ({"matrices": identity(2)}, "matrices=(2, 3, 3)"),
        ({"matrices": torch.zeros(1, 3, 2)}, "matrices=(1, 3, 2)"),
        ({"matrices": identity(1).to("meta")}, "matrices_device='meta'"),
    ],
)
def test_clear_errors(kwargs, needle):
    args = {"images": torch.rand(1, 4, 4, 1), "matrices": identity(1), **kwargs}
    with pytest.raises(ValueError, match="Expected") as info:
        warp_affine(**args)
    assert "warp_affine" in str(info.value) and needle in str(info.value)


def test_nearest_rounds_half_to_even_like_torch_round():
    row = np.arange(1, 7, dtype=np.float32).reshape(1, 1, 6, 1)
    for dx in (0.5, -0.5, 2.5):
        out = _warp(
            row, translation(torch.tensor([dx]), torch.tensor([0.0])), interpolation="nearest"
        )
        x_in = torch.round(torch.arange(6.0) - dx).long().clamp(0, 5).numpy()  # edge fill
        np.testing.assert_array_equal(out.ravel(), row.ravel()[x_in])


def test_compiled_warp_matches_eager_with_and_without_gradients():
    x = torch.from_numpy(_images(b=2, h=6, w=7, c=2, seed=4))
    m = rotation(torch.tensor([0.3, -2.0]), 6, 7) @ zoom(
        torch.tensor([1.2, 0.7]), torch.tensor([0.9, 1.1]), 6, 7
    )
    torch._dynamo.reset()
    fn = torch.compile(
        lambda a, b: warp_affine(a, b, "reflect"), fullgraph=True, backend="aot_eager"
    )
    np.testing.assert_array_equal(
        fn(x, m).numpy(), warp_affine(x, m, "reflect").numpy()
    )  # opaque op
    xg = x.clone().requires_grad_(True)
    fn(xg, m).sum().backward()  # needs a gradient: traced through, differentiable
    eager = x.clone().requires_grad_(True)
    warp_affine(eager, m, "reflect").sum().backward()
    # traced: the gather path; eager: grid_sample (normalised coordinates round differently)
    np.testing.assert_allclose(xg.grad.numpy(), eager.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fill_mode", ["constant", "nearest", "reflect", "wrap", "mirror"])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_axis_aligned_matrices_take_the_separable_path_with_the_same_result(
    fill_mode, interpolation
):
    """Flips, zooms and shifts (no rotation or shear) compute coordinates per row and per
    column; an off-diagonal of 1e-9 forces the full per-pixel path for comparison."""
    x = torch.from_numpy(_images(b=3, h=7, w=9, c=2, seed=8)).double()
    flips = flip(torch.tensor([True, False, True]), torch.tensor([False, True, True]), 7, 9)
    whole = flips @ translation(torch.tensor([2.0, -3.0, 0.0]), torch.tensor([-1.0, 4.0, 2.0]))
    frac = whole @ translation(torch.tensor([0.4, 0.0, 0.3]), torch.tensor([0.0, 0.6, 0.0]))
    frac = frac @ zoom(torch.tensor([1.0, 0.8, 1.3]), torch.tensor([1.0, 1.2, 0.9]), 7, 9)
    for m in (whole.double(), frac.double()):  # whole pixels (exact copies), then fractions
        nudged = m.clone()
        nudged[:, 0, 1] += 1e-9
        got = warp_affine(x, m, fill_mode, 0.5, interpolation)
        want = warp_affine(x, nudged, fill_mode, 0.5, interpolation)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-6)
