"""lamina.ops.image against keras.ops.image (torch backend): values, dtypes and shapes on
seeded random images, for each interpolation, fill mode and data format."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from lamina.ops import image as limg  # noqa: E402
from lamina.ops.dtypes import standardize_dtype  # noqa: E402

RNG = np.random.RandomState(17)


def _img(shape, dtype="float32", scale=1.0):
    x = RNG.rand(*shape) * scale
    return x.astype(dtype)


NHWC = _img((2, 7, 9, 3))
NCHW = np.ascontiguousarray(NHWC.transpose(0, 3, 1, 2))
HWC = _img((6, 5, 3))
U8 = _img((2, 8, 6, 3), scale=255.0).astype("uint8")
F64 = _img((2, 7, 9, 3), "float64")
VOL = _img((2, 6, 7, 8, 2))
AFFINE = np.array(
    [[0.9, -0.3, 2.2, 0.25, 1.1, -1.7, 0, 0], [1.2, 0.1, -3.1, -0.2, 0.8, 2.4, 0, 0]], "float32"
)
QUAD = np.array([[0, 0], [8, 0], [0, 6], [8, 6]], "float32")
QUAD2 = np.array([[1, 0.5], [7.5, 1], [0.5, 5], [8, 5.5]], "float32")


def _cases():
    """name -> list of (args, kwargs); numpy inputs, copied for each call."""
    c: dict[str, list] = {}
    c["rgb_to_grayscale"] = [
        ((NHWC,), {}),
        ((NCHW,), {"data_format": "channels_first"}),
        ((HWC,), {}),
        ((U8,), {}),
        ((NHWC[..., :1],), {}),
    ]
    c["rgb_to_hsv"] = [((NHWC,), {}), ((NCHW,), {"data_format": "channels_first"}), ((F64,), {})]
    c["hsv_to_rgb"] = [((NHWC,), {}), ((NCHW,), {"data_format": "channels_first"}), ((HWC,), {})]
    c["resize"] = [
        ((NHWC, (4, 13)), {"interpolation": i, "antialias": a})
        for i in ("bilinear", "nearest", "bicubic")
        for a in (False, True)
    ] + [
        ((NCHW, (5, 4)), {"data_format": "channels_first"}),
        ((NHWC, (5, 5)), {"crop_to_aspect_ratio": True}),
        ((NHWC, (5, 5)), {"pad_to_aspect_ratio": True, "fill_value": 0.5}),
        ((NHWC, (3, 12)), {"pad_to_aspect_ratio": True}),
        ((U8, (5, 9)), {}),
        ((U8, (11, 3)), {"interpolation": "bicubic"}),
        ((HWC, (3, 3)), {"interpolation": "nearest"}),
    ]
    c["crop_images"] = [
        ((NHWC,), {"top_cropping": 1, "left_cropping": 2, "target_height": 4, "target_width": 5}),
        ((NHWC,), {"top_cropping": 2, "bottom_cropping": 1, "left_cropping": 0, "right_cropping": 3}),
        ((NCHW,), {"bottom_cropping": 1, "target_height": 3, "right_cropping": 2,
                   "target_width": 4, "data_format": "channels_first"}),
        ((HWC,), {"top_cropping": 1, "left_cropping": 1, "target_height": 2, "target_width": 2}),
    ]  # fmt: skip
    c["pad_images"] = [
        ((NHWC,), {"top_padding": 1, "left_padding": 2, "target_height": 10, "target_width": 12}),
        ((NHWC,), {"top_padding": 2, "bottom_padding": 1, "left_padding": 0, "right_padding": 3}),
        ((NCHW,), {"bottom_padding": 1, "target_height": 9, "right_padding": 2,
                   "target_width": 12, "data_format": "channels_first"}),
        ((U8[0],), {"top_padding": 1, "bottom_padding": 1, "left_padding": 1, "right_padding": 0}),
    ]  # fmt: skip
    c["affine_transform"] = [
        ((NHWC, AFFINE), {"interpolation": i, "fill_mode": m, "fill_value": 0.25})
        for i in ("nearest", "bilinear")
        for m in ("constant", "nearest", "wrap", "mirror", "reflect")
    ] + [
        ((NCHW, AFFINE), {"data_format": "channels_first"}),
        ((HWC, AFFINE[0]), {}),
        ((U8, AFFINE), {"fill_mode": "reflect"}),
    ]
    coords = (RNG.rand(2, 5, 4) * np.array([10, 12]).reshape(2, 1, 1) - 2).astype("float32")
    arr = _img((6, 8))
    c["map_coordinates"] = [
        ((arr, coords, o), {"fill_mode": m, "fill_value": 0.5})
        for o in (0, 1)
        for m in ("constant", "nearest", "wrap", "mirror", "reflect")
    ] + [((_img((4, 5, 3)), (RNG.rand(3, 7) * 5 - 1).astype("float32"), 1), {})]
    c["perspective_transform"] = [
        ((NHWC, QUAD, QUAD2), {"interpolation": i, "fill_value": 0.3})
        for i in ("nearest", "bilinear")
    ] + [
        ((NCHW, QUAD, QUAD2), {"data_format": "channels_first"}),
        ((HWC, QUAD, QUAD2), {}),
        ((NHWC, np.stack([QUAD, QUAD2]), np.stack([QUAD2, QUAD])), {}),
    ]
    c["gaussian_blur"] = [
        ((NHWC,), {"kernel_size": (3, 3), "sigma": (1.0, 1.0), "data_format": "channels_last"}),
        ((NHWC,), {"kernel_size": (5, 5), "sigma": (0.7, 1.6), "data_format": "channels_last"}),
        ((NCHW,), {"kernel_size": (5, 5), "sigma": (1.3, 0.8), "data_format": "channels_first"}),
        ((HWC,), {"kernel_size": (3, 3), "sigma": (2.0, 2.0), "data_format": "channels_last"}),
    ]
    c["sobel_edges"] = [((NHWC,), {}), ((NCHW,), {"data_format": "channels_first"}), ((F64,), {})]
    c["ssim"] = [
        ((NHWC, _img(NHWC.shape)), {"filter_size": 5}),
        ((_img((2, 16, 16, 3)), _img((2, 16, 16, 3))), {}),
        ((NCHW, _img(NCHW.shape)), {"filter_size": 3, "data_format": "channels_first"}),
        ((HWC, HWC * 0.9), {"filter_size": 3, "max_val": 2.0, "k1": 0.02}),
    ]
    c["extract_patches"] = [
        ((NHWC, 3), {}),
        ((NHWC, (2, 3)), {"strides": (1, 2), "padding": "same"}),
        ((NHWC, (2, 2)), {"strides": 1, "dilation_rate": 2}),
        ((NCHW, (3, 2)), {"strides": (2, 1), "data_format": "channels_first", "padding": "same"}),
        ((HWC, 2), {}),
        ((VOL, (2, 3, 2)), {}),
    ]
    c["extract_patches_3d"] = [
        ((VOL, 2), {}),
        ((VOL, (2, 3, 3)), {"strides": (1, 2, 3), "padding": "same"}),
        ((VOL[0], (3, 2, 2)), {"strides": 1}),
        ((np.ascontiguousarray(np.moveaxis(VOL, -1, 1)), 2),
         {"data_format": "channels_first", "padding": "same", "strides": 3}),
    ]  # fmt: skip
    st = [(m, a) for m in ("linear", "cubic", "lanczos3", "lanczos5") for a in (True, False)]
    c["scale_and_translate"] = [
        ((NHWC, (2, 4, 13, 3), np.array([0.6, 1.4], "float32"), np.array([0.3, -1.2], "float32"),
          (1, 2), m), {"antialias": a})
        for m, a in st
    ] + [
        ((U8, (2, 12, 3, 3), np.array([1.5, 0.5], "float32"), np.array([0.0, 0.0], "float32"),
          (1, 2), "bilinear"), {}),
    ]  # fmt: skip
    return c


IMAGE_OPS_PARITY = {f"ops.image.{k}": v for k, v in _cases().items()}
IMAGE_OPS_PARITY["ops.image.elastic_transform"] = [
    {"interpolation": i, "fill_mode": m}
    for i in ("nearest", "bilinear")
    for m in ("reflect", "constant", "wrap")
]


def _copy(v):
    return v.copy() if isinstance(v, np.ndarray) else v


def _np(t) -> np.ndarray:
    return keras.ops.convert_to_numpy(t)


def _compare(expected, got, exact: bool = False) -> None:
    assert isinstance(got, torch.Tensor)
    assert standardize_dtype(got.dtype) == standardize_dtype(expected.dtype)
    assert tuple(got.shape) == tuple(expected.shape)
    e, g = _np(expected), got.detach().numpy()
    if exact or not np.issubdtype(e.dtype, np.floating):
        tol = 1 if e.dtype == np.uint8 else 0
        np.testing.assert_allclose(g.astype("float64"), e.astype("float64"), atol=tol, rtol=0)
    else:
        np.testing.assert_allclose(g, e, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("name", sorted(IMAGE_OPS_PARITY))
def test_image_op_matches_keras(name: str) -> None:
    short = name.split(".")[-1]
    if short == "elastic_transform":
        for kw in IMAGE_OPS_PARITY[name]:
            for images in (NHWC, HWC * 255.0):
                torch.manual_seed(5)  # Keras's torch backend draws from torch's global generator
                expected = keras.ops.image.elastic_transform(
                    images.copy(), alpha=3.0, sigma=1.0, data_format="channels_last", **kw
                )
                torch.manual_seed(5)
                got = limg.elastic_transform(images.copy(), alpha=3.0, sigma=1.0, **kw)
                _compare(expected, got)
        return
    for args, kwargs in IMAGE_OPS_PARITY[name]:
        expected = getattr(keras.ops.image, short)(*map(_copy, args), **kwargs)
        got = getattr(limg, short)(*map(_copy, args), **kwargs)
        _compare(expected, got, exact=short in ("crop_images", "pad_images", "extract_patches_3d"))


def test_ops_accept_tensors_and_keep_device_and_grad() -> None:
    x = torch.tensor(NHWC, requires_grad=True)
    out = limg.affine_transform(x, torch.tensor(AFFINE))
    out.sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape
    assert limg.resize(x, (3, 3)).shape == (2, 3, 3, 3)


def test_affine_transform_projective_terms_divide() -> None:
    """c0, c1 divide the coordinates (TF's documented rule); Keras's torch backend ignores them."""
    t = np.array([1, 0, 0, 0, 1, 0, 0.05, 0.02], "float32")
    got = limg.affine_transform(NHWC, t, interpolation="nearest")
    y, x = 3, 4
    k = 0.05 * x + 0.02 * y + 1
    iy, ix = int(np.round(y / k)), int(np.round(x / k))
    np.testing.assert_allclose(got[:, y, x].numpy(), NHWC[:, iy, ix])


def test_gaussian_blur_data_format_none_is_channels_last() -> None:
    """data_format=None means image_data_format() (channels_last); Keras's torch backend
    treats None as channels_first in gaussian_blur."""
    a = limg.gaussian_blur(NHWC)
    b = limg.gaussian_blur(NHWC, data_format="channels_last")
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    c = limg.gaussian_blur(NCHW, data_format="channels_first").permute(0, 2, 3, 1)
    np.testing.assert_allclose(a.numpy(), c.numpy(), rtol=1e-6, atol=1e-6)


def test_elastic_transform_int_seed_is_reproducible() -> None:
    a = limg.elastic_transform(NHWC, seed=3)
    b = limg.elastic_transform(NHWC, seed=3)
    c = limg.elastic_transform(NHWC, seed=4)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.allclose(a.numpy(), c.numpy())


@pytest.mark.parametrize(
    ("op", "args", "kwargs"),
    [
        ("resize", (NHWC, (2, 2)), {"interpolation": "lanczos3"}),
        ("affine_transform", (NHWC, AFFINE), {"fill_mode": "bad"}),
        ("rgb_to_hsv", (U8,), {}),
        ("crop_images", (NHWC,), {"top_cropping": 1}),
        ("pad_images", (NHWC,), {"top_padding": -1, "bottom_padding": 0,
                                 "left_padding": 0, "right_padding": 0}),
        ("extract_patches", (NHWC, (1, 2, 3, 4)), {}),
        ("sobel_edges", (HWC,), {}),
    ],
)  # fmt: skip
def test_errors_name_the_op(op: str, args: tuple, kwargs: dict) -> None:
    with pytest.raises(ValueError, match=rf"ops.image.{op}: Expected .*received: "):
        getattr(limg, op)(*args, **kwargs)


DTYPE_CASES = [
    ("resize", lambda t: (t, (4, 5)), {}),
    ("resize", lambda t: (t, (9, 13)), {"interpolation": "bicubic"}),
    ("rgb_to_grayscale", lambda t: (t,), {}),
    ("affine_transform", lambda t: (t, np.repeat(AFFINE[:1], 2, 0)), {}),
    ("affine_transform", lambda t: (t, AFFINE), {"interpolation": "nearest", "fill_mode": "wrap"}),
    ("sobel_edges", lambda t: (t,), {}),
    ("extract_patches", lambda t: (t, 2), {}),
    ("pad_images", lambda t: (t,), {"top_padding": 1, "bottom_padding": 0, "left_padding": 1,
                                    "right_padding": 2}),
    ("ssim", lambda t: (t, t.flip(1)), {"filter_size": 3}),
    ("map_coordinates", lambda t: (t[0, ..., 0], np.array([[1.5, 2.2], [3.3, 0.4]], "float32"), 1), {}),
    ("perspective_transform", lambda t: (t, QUAD, QUAD2), {}),
    ("scale_and_translate", lambda t: (t, (2, 5, 6, 3), np.array([0.7, 0.7], "float32"),
                                       np.array([0.0, 0.0], "float32"), (1, 2), "linear"), {}),
]  # fmt: skip


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64", "uint8", "int32"])
def test_image_ops_keep_keras_dtypes(dtype: str) -> None:
    """Half precision, float64 and integer images: the dtype, shape and values Keras gives
    (integer results rounded as Keras rounds them)."""
    scale = 255.0 if dtype in ("uint8", "int32") else 1.0
    t = torch.tensor(NHWC[:, :, :, :] * scale, dtype=torch.float64).to(getattr(torch, dtype))
    tol = {"float16": 2e-2, "bfloat16": 2e-2, "float64": 1e-6}.get(dtype, 1.0)
    for op, make, kwargs in DTYPE_CASES:
        expected = getattr(keras.ops.image, op)(*make(t.clone()), **kwargs)
        got = getattr(limg, op)(*make(t.clone()), **kwargs)
        assert standardize_dtype(got.dtype) == standardize_dtype(expected.dtype), op
        assert tuple(got.shape) == tuple(expected.shape), op
        diff = (got.double() - expected.double()).abs().max().item()
        assert diff <= tol, (op, diff)
