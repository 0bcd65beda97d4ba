"""Images: TF Serving's {"b64": ...} form and multipart uploads, fitted to the model as
`lamina predict` fits an image file (channels, bilinear resize, scaling, flattening)."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from PIL import Image

from lamina.serve.app import create_app
from lamina.serve.config import ServeConfig
from tests.serve.serve_helpers import assert_error, call, png_bytes

RNG = np.random.default_rng(5)
SCALED = {
    "unit": lambda p: p / np.float32(255),
    "signed": lambda p: p / np.float32(127.5) - 1,
    "raw": lambda p: p,
}


def _reference(png: bytes, size: int = 28) -> np.ndarray:
    """The documented preprocessing, by hand: grayscale, bilinear to 28x28, float pixels."""
    import io

    image = Image.open(io.BytesIO(png)).convert("L").resize((size, size), Image.BILINEAR)
    return np.asarray(image, dtype=np.float32)


def _b64(png: bytes) -> dict:
    return {"b64": base64.b64encode(png).decode()}


@pytest.fixture(scope="module")
def pictures() -> list[bytes]:
    """A 56x56 RGB picture and a 20x20 grayscale one."""
    return [
        png_bytes(RNG.integers(0, 256, (56, 56, 3), dtype=np.uint8)),
        png_bytes(RNG.integers(0, 256, (20, 20), dtype=np.uint8)),
    ]


@pytest.fixture(scope="module")
def image_app(models):
    app = create_app(
        {"cnn": models["cnn"], "mlp": models["mlp"], "multi": models["multi"]},
        ServeConfig(model_scales={"mlp": "signed"}, max_image_pixels=100 * 100),
    )
    yield app
    app.state.serve.models.close()


def test_b64_images_are_converted_resized_and_scaled(image_app, models, pictures):
    body = {"instances": [_b64(p) for p in pictures]}
    response = call(image_app, "POST", "/v1/models/cnn:predict", json=body)
    assert response.status_code == 200, response.text
    x = np.stack([SCALED["unit"](_reference(p)) for p in pictures])[..., None]
    np.testing.assert_allclose(
        response.json()["predictions"], models["cnn"].predict(x, verbose=0), atol=1e-5
    )


def test_a_model_reading_pixel_rows_gets_them_flattened_with_its_own_scale(
    image_app, models, pictures
):
    body = {"inputs": [_b64(p) for p in pictures]}
    response = call(image_app, "POST", "/v1/models/mlp:predict", json=body)
    assert response.status_code == 200, response.text
    x = np.stack([SCALED["signed"](_reference(p)).reshape(784) for p in pictures])
    np.testing.assert_allclose(
        response.json()["outputs"], models["mlp"].predict(x, verbose=0), atol=1e-5
    )


def test_multipart_uploads_are_answered_in_order(image_app, models, pictures):
    files = [
        ("file", ("a.png", pictures[0], "image/png")),
        ("file", ("b.png", pictures[1], "image/png")),
    ]
    response = call(image_app, "POST", "/v1/models/cnn:predict", files=files)
    assert response.status_code == 200, response.text
    x = np.stack([SCALED["unit"](_reference(p)) for p in pictures])[..., None]
    np.testing.assert_allclose(
        response.json()["predictions"], models["cnn"].predict(x, verbose=0), atol=1e-5
    )


def test_an_image_input_beside_a_numeric_one(image_app, models, pictures):
    meta = RNG.random((1, 5), dtype=np.float32)
    body = {"instances": [{"image": _b64(pictures[0]), "meta": meta[0].tolist()}]}
    response = call(image_app, "POST", "/v1/models/multi:predict", json=body)
    assert response.status_code == 200, response.text
    image = SCALED["unit"](_reference(pictures[0]))[None, ..., None]
    digit, size = models["multi"].predict([image, meta], verbose=0)
    answer = response.json()["predictions"][0]
    np.testing.assert_allclose(answer["digit"], digit[0], atol=1e-5)
    np.testing.assert_allclose(answer["size"], size[0], atol=1e-5)


@pytest.mark.parametrize("scale", ["unit", "signed", "raw"])
def test_the_scale_option(models, pictures, scale):
    app = create_app({"cnn": models["cnn"]}, ServeConfig(scale=scale))
    response = call(app, "POST", "/v1/models/cnn:predict", json={"instances": [_b64(pictures[1])]})
    x = SCALED[scale](_reference(pictures[1]))[None, ..., None]
    np.testing.assert_allclose(
        response.json()["predictions"], models["cnn"].predict(x, verbose=0), atol=1e-5
    )
    app.state.serve.models.close()


def test_bad_images_are_refused(image_app, pictures):
    url = "/v1/models/cnn:predict"
    cases = [
        ({"instances": [{"b64": "not base64!!"}]}, "base64"),
        ({"instances": [{"b64": 12}]}, "base64 string"),
        ({"instances": [_b64(b"GIF89a but not really an image")]}, "Pillow cannot read"),
        ({"instances": [_b64(pictures[0][:200])]}, "Pillow cannot read"),
        ({"instances": [_b64(png_bytes(np.zeros((101, 101), np.uint8)))]}, "at most 10,000 pixels"),
        ({"instances": [{"meta": _b64(pictures[0]), "image": [0]}]}, "inputs"),
    ]
    for body, word in cases:
        assert_error(call(image_app, "POST", url, json=body), 400, word)
    meta_image = {"instances": [{"image": [[[0.0]] * 28] * 28, "meta": _b64(pictures[0])}]}
    assert_error(
        call(image_app, "POST", "/v1/models/multi:predict", json=meta_image),
        400,
        "does not read images",
    )
    assert_error(call(image_app, "POST", url, files=[], data={"note": "x"}), 400)
    assert_error(
        call(image_app, "POST", url, files=[("f", ("a.png", pictures[0]))], data={"note": "x"}),
        400,
        "note",
    )
    assert_error(
        call(image_app, "POST", url, files=[("f", ("a.txt", b"plain text"))]), 400, "Pillow"
    )
