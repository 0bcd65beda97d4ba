"""Keras 3's image augmentation layers added in augmentation_color/tone/histogram/geometry/
regions/policies/boxes, against keras.layers (torch backend).

Seeded random layers draw through lamina.random.SeedGenerator in Keras's order, so a layer
and its Keras twin built with the same seed give the same outputs, call after call: that
is compared value for value (batched and single images, both data formats where Keras
supports them), with output shapes, dtypes, configs and the inference (training=False)
behaviour. RandomElasticTransform's noise comes from torch's global generator in Keras, so
its transform_images is compared under torch.manual_seed with Keras's own transformation.
AugMix picks its layers with Python's `random` in Keras, so it and RandAugment are compared
by statistics over many seeded draws.
"""

from __future__ import annotations

import json
import os
import random as py_random

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from lamina import layers  # noqa: E402

RNG = np.random.RandomState(23)
X255 = (RNG.rand(3, 9, 11, 3) * 255).astype("float32")
X01 = X255 / 255.0
XQ = (RNG.randint(0, 6, (3, 9, 8, 3)) * 40).astype("float32")  # few levels: histogram clipping

CF = {"data_format": "channels_first"}

SEEDED_PARITY = {
    "layers.RandomColorDegeneration": [{"factor": 0.7}, {"factor": (0.2, 0.9), **CF}],
    "layers.RandomGrayscale": [{"factor": 0.5}, {"factor": 0.8, **CF}],
    "layers.RandomHue": [{"factor": 0.8}, {"factor": (0.2, 0.6), "value_range": (0, 1), **CF}],
    "layers.RandomSaturation": [{"factor": (0.2, 0.5)}, {"factor": 0.9, "value_range": (0, 1)},
                                {"factor": (0.1, 0.7), "value_range": (0, 1), **CF}],
    "layers.RandomInvert": [{"factor": 0.6}, {"value_range": (0, 1), **CF}],
    "layers.RandomColorJitter": [
        {"brightness_factor": 0.2, "contrast_factor": (0.3, 0.4), "saturation_factor": (0.2, 0.5),
         "hue_factor": 0.3},
        {"brightness_factor": (-0.1, 0.3), "value_range": (0, 1)},
        {"hue_factor": 0.5, "saturation_factor": (0.3, 0.5)},
    ],
    "layers.RandomPosterization": [{"factor": (2, 6)}, {"factor": 3, "value_range": (0, 1), **CF}],
    "layers.RandomSharpness": [{"factor": 0.8}, {"factor": (0.1, 0.9), "value_range": (0, 1), **CF}],
    "layers.Solarization": [{"addition_factor": 0.3, "threshold_factor": (0.2, 0.7)},
                            {"threshold_factor": 0.5, "value_range": (0, 1)}],
    "layers.RandomShear": [
        {"x_factor": 0.3, "y_factor": (0.1, 0.4)},
        {"x_factor": 0.5, "fill_mode": "constant", "interpolation": "nearest", "fill_value": 7.0},
        {"y_factor": 0.4, "fill_mode": "wrap", **CF},
        {"x_factor": 0.2, "y_factor": 0.2, "fill_mode": "nearest"},
    ],
    "layers.RandomPerspective": [{"factor": 0.7, "scale": 0.6},
                                 {"interpolation": "nearest", "fill_value": 3.0, **CF}],
    "layers.RandomErasing": [{}, {"factor": 0.6, "fill_value": [1.0, 2.0, 3.0], "scale": (0.1, 0.5)},
                             {"fill_value": 9.0, **CF}],
    "layers.RandomGaussianBlur": [{"factor": 0.7, "kernel_size": 5, "sigma": (0.3, 0.9)},
                                  {"kernel_size": 3, **CF}],
    "layers.CutMix": [{"factor": 0.8}, {"factor": (0.2, 0.6), **CF}],
    "layers.MixUp": [{"alpha": 0.4}, {"alpha": 1.5, **CF}],
}  # fmt: skip

DETERMINISTIC_PARITY = {
    "layers.AutoContrast": [{}, {"value_range": (0, 1)}],
    "layers.Equalization": [{}, {"bins": 64, "value_range": (0, 1)}, {"bins": 32, **CF}],
    # clip limits whose bin-count limit is a whole number (Keras's torch backend truncates
    # it to an integer) and grids needing at most one row/column of padding (its
    # "symmetric" padding is edge replication)
    "layers.ContrastLimitedAdaptiveHistogramEqualization": [
        {"tile_grid_size": (1, 2), "clip_limit": 64.0},
        {"tile_grid_size": (2, 2), "clip_limit": 0},
        {"tile_grid_size": (3, 2), "clip_limit": 0, "value_range": (0, 1)},
    ],
}


def _images(kwargs: dict, quantized: bool = False) -> np.ndarray:
    x = XQ if quantized else X255
    if tuple(kwargs.get("value_range", (0, 255))) == (0, 1):
        x = x / 255.0
    if kwargs.get("data_format") == "channels_first":
        x = x.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(x, dtype="float32")


def _np(t) -> np.ndarray:
    return keras.ops.convert_to_numpy(t)


def _plain(config: dict) -> dict:
    drop = {"name", "dtype", "trainable"}
    return json.loads(json.dumps({k: v for k, v in config.items() if k not in drop}))


def _compare(expected, got, atol: float = 2e-4) -> None:
    e = _np(expected)
    g = got.detach().cpu().numpy()
    assert g.shape == e.shape
    assert g.dtype == e.dtype
    np.testing.assert_allclose(g, e, rtol=2e-5, atol=atol)


def _pair(name: str, kwargs: dict, seeded: bool):
    short = name.split(".")[-1]
    extra = {"seed": 11} if seeded else {}
    return getattr(keras.layers, short)(**kwargs, **extra), getattr(layers, short)(
        **kwargs, **extra
    )


def _call(layer, x, training, labels=None):
    if labels is None:
        return layer(x, training=training)
    return layer({"images": x, "labels": labels}, training=training)


@pytest.mark.parametrize("name", sorted(SEEDED_PARITY))
def test_seeded_layer_matches_keras(name: str) -> None:
    mixes = name in ("layers.CutMix", "layers.MixUp")
    for kwargs in SEEDED_PARITY[name]:
        x = _images(kwargs)
        labels = np.eye(3, dtype="float32") if mixes else None
        k, lam = _pair(name, kwargs, seeded=True)
        for _ in range(2):  # the generators advance in step
            e = _call(k, x.copy(), True, labels)
            g = _call(
                lam,
                torch.from_numpy(x.copy()),
                True,
                None if labels is None else torch.from_numpy(labels),
            )
            if mixes:
                _compare(e["images"], g["images"])
                _compare(e["labels"], g["labels"])
            else:
                _compare(e, g)
        assert _plain(lam.get_config()) == _plain(k.get_config())
        assert tuple(lam.compute_output_shape(x.shape)) == tuple(k.compute_output_shape(x.shape))
        # inference: Lamina's augmentation layers are the identity
        np.testing.assert_array_equal(lam(torch.from_numpy(x)).numpy(), x)
        if not mixes:  # one image (rank 3) draws as a batch of one
            k1, l1 = _pair(name, kwargs, seeded=True)
            _compare(
                k1(x[0].copy(), training=True), l1(torch.from_numpy(x[0].copy()), training=True)
            )
        rebuilt = type(lam).from_config(lam.get_config())
        assert _plain(rebuilt.get_config()) == _plain(lam.get_config())


@pytest.mark.parametrize("name", sorted(DETERMINISTIC_PARITY))
def test_deterministic_layer_matches_keras(name: str) -> None:
    for kwargs in DETERMINISTIC_PARITY[name]:
        quantized = "Histogram" in name
        x = _images(kwargs, quantized=quantized)
        k, lam = _pair(name, kwargs, seeded=False)
        _compare(k(x.copy(), training=True), lam(torch.from_numpy(x.copy()), training=True))
        # inference: as Keras, AutoContrast and CLAHE apply; Equalization passes through
        if name != "layers.Equalization":
            _compare(k(x.copy()), lam(torch.from_numpy(x.copy())))
        else:
            np.testing.assert_array_equal(lam(torch.from_numpy(x)).numpy(), x)
        _compare(k(x[0].copy(), training=True), lam(torch.from_numpy(x[0].copy()), training=True))
        assert _plain(lam.get_config()) == _plain(k.get_config())


ELASTIC_PARITY = {"layers.RandomElasticTransform": [
    {"factor": 0.8, "scale": 0.7},
    {"scale": (0.2, 0.5), "interpolation": "nearest", "fill_mode": "constant", "fill_value": 5.0},
    {"factor": 1.0, "scale": 0.4, "fill_mode": "wrap", **CF},
]}  # fmt: skip


@pytest.mark.parametrize("name", sorted(ELASTIC_PARITY))
def test_elastic_transform_matches_keras_given_its_transformation(name: str) -> None:
    for kwargs in ELASTIC_PARITY[name]:
        x = _images(kwargs)
        k, lam = _pair(name, kwargs, seeded=True)
        for _ in range(2):
            t = k.get_random_transformation(x, training=True)
            ours = lam.get_random_transformation(torch.from_numpy(x), training=True)
            np.testing.assert_array_equal(
                ours["apply_transform"].numpy(), _np(t["apply_transform"])
            )
            np.testing.assert_allclose(
                float(ours["distortion_factor"]), float(t["distortion_factor"])
            )
            torch.manual_seed(4)  # Keras's torch backend draws the noise from the global generator
            e = k.transform_images(torch.from_numpy(x.copy()), t)
            mine = {**t, "seed": None}
            torch.manual_seed(4)
            _compare(e, lam.transform_images(torch.from_numpy(x.copy()), mine), atol=5e-4)
        assert _plain(lam.get_config()) == _plain(k.get_config())
        out = lam(torch.from_numpy(x), training=True)
        assert out.shape == x.shape and float(out.min()) >= 0 and float(out.max()) <= 255


POLICY_PARITY = {
    "layers.RandAugment": [{"factor": 0.5}, {"num_ops": 3, "factor": (0.1, 0.3)}],
    "layers.AugMix": [{"all_ops": False, "num_chains": 2, "alpha": 0.5}, {"factor": 0.3}],
}
X8 = np.ascontiguousarray(X255[:2, :8, :8])


@pytest.mark.parametrize("name", sorted(POLICY_PARITY))
def test_policy_matches_keras_in_shape_config_and_statistics(name: str) -> None:
    """Shapes, dtypes, value range and config equal Keras's. AugMix without the colour ops:
    the mean absolute change per draw, averaged over 16 seeded draws, within 25% of Keras's
    (Keras picks its chain layers with Python's `random`). RandAugment's change is not
    compared: Keras 3.15's RandomBrightness adds its delta in place, so inside RandAugment
    every step brightens the batch whichever layer it picked (about 1.5x Lamina's change)."""
    py_random.seed(0)
    for index, kwargs in enumerate(POLICY_PARITY[name]):
        k, lam = _pair(name, kwargs, seeded=True)
        e_change, g_change = [], []
        for _ in range(16 if index == 0 else 3):
            e = _np(k(X8.copy(), training=True))
            g = lam(torch.from_numpy(X8.copy()), training=True)
            assert g.shape == e.shape and g.dtype == torch.float32
            assert float(g.min()) >= -1e-3 and float(g.max()) <= 255.0 + 1e-3
            e_change.append(np.abs(e - X8).mean())
            g_change.append(float((g - torch.from_numpy(X8)).abs().mean()))
        if name == "layers.AugMix" and index == 0:
            assert np.mean(g_change) == pytest.approx(np.mean(e_change), rel=0.25)
        assert np.mean(g_change) > 1.0
        assert _plain(lam.get_config()) == _plain(k.get_config())
        np.testing.assert_array_equal(lam(torch.from_numpy(X8)).numpy(), X8)
    still = layers.RandAugment(num_ops=0, seed=1)(torch.from_numpy(X8), training=True)
    np.testing.assert_array_equal(still.numpy(), X8)


BOXES_PARITY = {"layers.MaxNumBoundingBoxes": [3, 5, 8]}


@pytest.mark.parametrize("name", sorted(BOXES_PARITY))
def test_max_num_bounding_boxes_matches_keras(name: str) -> None:
    boxes = RNG.rand(3, 5, 4).astype("float32")
    labels = np.arange(15, dtype="float32").reshape(3, 5)
    for n in BOXES_PARITY[name]:
        data = {"images": X255, "bounding_boxes": {"boxes": boxes, "labels": labels}}
        e = keras.layers.MaxNumBoundingBoxes(n, bounding_box_format="xyxy")(data)
        t = {k: torch.from_numpy(v) for k, v in data["bounding_boxes"].items()}
        g = layers.MaxNumBoundingBoxes(n, bounding_box_format="xyxy")(
            {"images": torch.from_numpy(X255), "bounding_boxes": t}
        )
        for key in ("boxes", "labels"):
            _compare(e["bounding_boxes"][key], g["bounding_boxes"][key], atol=0)
        np.testing.assert_array_equal(g["images"].numpy(), X255)
        shape = {"images": (3, 9, 11, 3), "bounding_boxes": {"boxes": (3, 5, 4), "labels": (3, 5)}}
        got = layers.MaxNumBoundingBoxes(n).compute_output_shape(shape)
        assert tuple(got["bounding_boxes"]["boxes"]) == (3, n, 4)
        assert tuple(got["bounding_boxes"]["labels"]) == (3, n)


def test_saturation_is_clipped_to_unit_range_with_255_images() -> None:
    """Lamina clips the scaled saturation to [0, 1]; Keras 3.15 clips it to value_range, so
    a strong factor on [0, 255] images gives negative channel values there."""
    out = layers.RandomSaturation(factor=(0.95, 0.95), seed=1)(
        torch.from_numpy(X255), training=True
    )
    assert float(out.min()) >= -1e-3 and float(out.max()) <= 255.0 + 1e-3
    hsv = keras.ops.image.rgb_to_hsv(torch.from_numpy(out.numpy() / 255.0))
    assert float(hsv[..., 1].max()) > 0.99  # fully saturated


def test_clahe_clip_limit_is_not_truncated() -> None:
    """Lamina keeps the fractional bin limit (clip_limit * tile pixels / 256): a tiny limit
    flattens each tile's histogram towards uniform but keeps a monotone mapping."""
    x = torch.from_numpy(XQ)
    out = layers.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 2))(x)
    flat = out[0, ..., 0].flatten()
    order = torch.argsort(x[0, ..., 0].flatten(), stable=True)
    assert out.shape == x.shape and float(out.min()) >= 0 and float(out.max()) <= 255
    assert not torch.equal(out, x) and float(flat[order].std()) > 0


def test_layers_without_box_support_refuse_bounding_boxes() -> None:
    """As in Keras (NotImplementedError), CutMix and RandomElasticTransform take no boxes;
    nor does Lamina's RandAugment yet."""
    data = {"images": torch.from_numpy(X255), "bounding_boxes": {"boxes": torch.zeros(3, 1, 4),
                                                               "labels": torch.zeros(3, 1)}}  # fmt: skip
    for layer in (
        layers.CutMix(seed=1, bounding_box_format="xyxy"),
        layers.RandomElasticTransform(seed=1, bounding_box_format="xyxy"),
        layers.RandAugment(seed=1, bounding_box_format="xyxy"),
    ):
        with pytest.raises(NotImplementedError, match="bounding"):
            layer(dict(data), training=True)


def test_errors_name_the_layer() -> None:
    with pytest.raises(ValueError, match=r"Layer 'bad' \(RandomHue\) expected .*received: factor"):
        layers.RandomHue(factor=2.0, name="bad")
    with pytest.raises(ValueError, match="received: fill_mode"):
        layers.RandomShear(0.1, fill_mode="mirror")


BOX_RNG = np.random.RandomState(2)
_XY = BOX_RNG.rand(3, 4, 2) * np.array([11, 9])
BOXES = np.concatenate([_XY, _XY + BOX_RNG.rand(3, 4, 2) * 5 + 1], -1).astype("float32")
BOX_LABELS = np.arange(12, dtype="float32").reshape(3, 4)

BOUNDING_BOX_PARITY = {
    "layers.RandomShear": [
        ({"x_factor": 0.3, "y_factor": 0.2}, "xyxy"),
        ({"x_factor": 0.3, "y_factor": 0.2}, "rel_xyxy"),
        ({"y_factor": 0.4}, "center_xywh"),
    ],
    "layers.RandomPerspective": [({"scale": 0.5, "factor": 0.8}, "xyxy")],
    "layers.MixUp": [({"alpha": 0.5}, "xyxy")],
    "layers.RandomHue": [({"factor": 0.5}, "yxyx")],
    "layers.RandomErasing": [({}, "xywh")],
}


@pytest.mark.parametrize("name", sorted(BOUNDING_BOX_PARITY))
def test_bounding_boxes_match_keras(name: str) -> None:
    """Boxes (and labels, clipped boxes get -1) follow the images as in Keras, in several
    box formats (MixUp's labels: see the next test)."""
    from keras.src.layers.preprocessing.image_preprocessing.bounding_boxes import converters

    for kwargs, fmt in BOUNDING_BOX_PARITY[name]:
        boxes = _np(converters.convert_format(BOXES.copy(), "xyxy", fmt, height=9, width=11))
        k, lam = _pair(name, {**kwargs, "bounding_box_format": fmt}, seeded=True)
        for _ in range(2):
            e = k({"images": X255.copy(), "bounding_boxes": {"boxes": boxes.copy(),
                   "labels": BOX_LABELS.copy()}}, training=True)  # fmt: skip
            g = lam({"images": torch.from_numpy(X255), "bounding_boxes": {
                "boxes": torch.from_numpy(boxes), "labels": torch.from_numpy(BOX_LABELS)}},
                training=True)  # fmt: skip
            _compare(e["images"], g["images"])
            _compare(e["bounding_boxes"]["boxes"], g["bounding_boxes"]["boxes"], atol=1e-4)
            if name != "layers.MixUp":
                _compare(e["bounding_boxes"]["labels"], g["bounding_boxes"]["labels"], atol=0)


def test_mixup_appends_partner_labels_per_image() -> None:
    """Keras 3.15 concatenates MixUp's box labels on the batch axis ((2B, N), mismatching
    its (B, 2N) boxes); Lamina appends each partner's labels per image, like the boxes."""
    layer = layers.MixUp(seed=3, bounding_box_format="xyxy")
    data = {"images": torch.from_numpy(X255), "bounding_boxes": {
        "boxes": torch.from_numpy(BOXES), "labels": torch.from_numpy(BOX_LABELS)}}  # fmt: skip
    out = layer(data, training=True)["bounding_boxes"]
    assert out["boxes"].shape == (3, 8, 4) and out["labels"].shape == (3, 8)
    torch.testing.assert_close(out["labels"][:, :4], torch.from_numpy(BOX_LABELS))
    partner = [
        int(np.where((BOX_LABELS == row[0]).any(1))[0][0]) for row in out["labels"][:, 4:].numpy()
    ]
    for i, j in enumerate(partner):
        torch.testing.assert_close(out["boxes"][i, 4:], torch.from_numpy(BOXES[j]))


MASK_PARITY = {
    "layers.RandomShear": [{"x_factor": 0.3, "y_factor": 0.2}],
    "layers.RandomPerspective": [{"scale": 0.5}],
    "layers.RandomColorDegeneration": [{"factor": 0.5}],
}


@pytest.mark.parametrize("name", sorted(MASK_PARITY))
def test_segmentation_masks_match_keras(name: str) -> None:
    """Masks move with their images, sampled nearest-neighbour (colour layers leave them)."""
    masks = BOX_RNG.randint(0, 4, (3, 9, 11, 1)).astype("float32")
    for kwargs in MASK_PARITY[name]:
        k, lam = _pair(name, kwargs, seeded=True)
        e = k({"images": X255.copy(), "segmentation_masks": masks.copy()}, training=True)
        g = lam({"images": torch.from_numpy(X255), "segmentation_masks": torch.from_numpy(masks)},
                training=True)  # fmt: skip
        _compare(e["images"], g["images"])
        _compare(e["segmentation_masks"], g["segmentation_masks"], atol=0)
