"""lamina.plot.saliency and grad_cam: the maps equal the same network written in plain torch
(weights copied, gradients by torch.autograd in float64, Grad-CAM's weighting in NumPy); the
score is the logit before the softmax; the model is left as it was; the pictures match their
reference images."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lamina as keras
from lamina import layers
from tests.plot import tiny_cnn
from tests.plot.image_compare import assert_matches_baseline

TOL = {"rtol": 1e-4, "atol": 1e-7}


def _leaf(x: np.ndarray) -> torch.Tensor:
    return tiny_cnn.nchw(x[None]).detach().requires_grad_(True)


def _reference_saliency(reference, model, x: np.ndarray, cls: int) -> np.ndarray:
    """|d logit_cls / d x|, the largest over channels, by autograd through the torch network."""
    leaf = _leaf(x)
    (grad,) = torch.autograd.grad(reference(model, leaf)["logits"][0, cls], leaf)
    return grad[0].abs().amax(dim=0).numpy()


def _reference_cam(reference, model, x: np.ndarray, layer: str, cls: int) -> np.ndarray:
    """Grad-CAM from the torch network: autograd for d logit / d A, the weighting in NumPy."""
    ref = reference(model, _leaf(x))
    (grad,) = torch.autograd.grad(ref["logits"][0, cls], ref[layer])
    a = ref[layer][0].detach().numpy()  # (K, h, w)
    alpha = grad[0].numpy().mean(axis=(1, 2))
    heat = np.maximum(np.einsum("k,khw->hw", alpha, a), 0.0)
    return heat / heat.max()


def test_saliency_is_the_logit_gradient(tmp_path):
    from lamina.plot import saliency

    model = tiny_cnn.sequential_cnn()
    model.train()
    before = tiny_cnn.snapshot(model)
    x = tiny_cnn.image(12, 12, 3)
    logits = tiny_cnn.sequential_reference(model, tiny_cnn.nchw(x[None]))["logits"]
    predicted = int(logits.argmax())
    fig = saliency(model, x)
    data = fig.lamina_data
    assert (data["class_index"], data["predicted"], data["score"]) == (
        predicted,
        predicted,
        "logit",
    )
    want = _reference_saliency(tiny_cnn.sequential_reference, model, x, predicted)
    np.testing.assert_allclose(data["saliency"], want, **TOL)
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(), data["saliency"])
    other = (predicted + 1) % 3
    sal = saliency(model, x[None], class_index=other).lamina_data["saliency"]
    np.testing.assert_allclose(
        sal, _reference_saliency(tiny_cnn.sequential_reference, model, x, other), **TOL
    )
    tiny_cnn.assert_unchanged(model, before)
    assert model.training
    assert_matches_baseline(fig, "saliency", tmp_path)


def test_grad_cam_default_layer_is_the_last_feature_map(tmp_path):
    from lamina.plot import grad_cam

    model = tiny_cnn.sequential_cnn()
    before = tiny_cnn.snapshot(model)
    x = tiny_cnn.image(12, 12, 3)
    fig = grad_cam(model, x)
    data = fig.lamina_data
    # Dropout at inference passes its input on: the map is BatchNormalization's output
    assert data["layer"] == "bn"
    assert data["score"] == "logit"
    want = _reference_cam(tiny_cnn.sequential_reference, model, x, "bn", data["class_index"])
    np.testing.assert_allclose(data["heatmap"], want, **TOL)
    assert data["upsampled"].shape == (12, 12)
    resized = F.interpolate(torch.tensor(want)[None, None], size=(12, 12), mode="bilinear")
    np.testing.assert_allclose(data["upsampled"], resized[0, 0].numpy(), **TOL)
    tiny_cnn.assert_unchanged(model, before)
    assert_matches_baseline(fig, "grad_cam", tmp_path)


def test_functional_graph_any_layer_and_class():
    from lamina.plot import grad_cam, saliency

    model = tiny_cnn.functional_cnn()
    before = tiny_cnn.snapshot(model)
    x = tiny_cnn.image(8, 8, 1, seed=2)
    ref = tiny_cnn.functional_reference
    data = grad_cam(model, x).lamina_data
    assert data["layer"] == "relu"
    want = _reference_cam(ref, model, x, "relu", data["class_index"])
    np.testing.assert_allclose(data["heatmap"], want, **TOL)
    for layer, cls in (("conv_a", 0), ("add", 1)):
        data = grad_cam(model, x[None], layer=layer, class_index=cls).lamina_data
        assert (data["layer"], data["class_index"]) == (layer, cls)
        np.testing.assert_allclose(
            data["heatmap"], _reference_cam(ref, model, x, layer, cls), **TOL
        )
    sal = saliency(model, x, class_index=1)
    np.testing.assert_allclose(
        sal.lamina_data["saliency"], _reference_saliency(ref, model, x, 1), **TOL
    )
    tiny_cnn.assert_unchanged(model, before)


class _Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.conv = layers.Conv2D(2, 3, name="inner_conv")
        self.flat = layers.Flatten()
        self.out = layers.Dense(2, activation="softmax")

    def call(self, x, training=None):
        return self.out(self.flat(self.conv(x)))


def test_subclassed_model_explains_its_output_checked_by_finite_differences():
    from lamina.plot import saliency

    model = _Subclassed()
    x = tiny_cnn.image(5, 5, 1, seed=6).astype(np.float64)
    model(x[None].astype(np.float32))
    data = saliency(model, x, class_index=1).lamina_data
    assert data["score"] == "output"  # the structure is unknown: the probability itself

    def prob(z: np.ndarray) -> float:
        with torch.no_grad():
            return float(model(torch.tensor(z[None], dtype=torch.float32), training=False)[0, 1])

    h, want = 1e-2, np.zeros((5, 5))
    for i in range(5):
        for j in range(5):
            step = np.zeros_like(x)
            step[i, j, 0] = h
            want[i, j] = abs(prob(x + step) - prob(x - step)) / (2 * h)
    np.testing.assert_allclose(data["saliency"], want, rtol=2e-2, atol=1e-5)


def test_errors_name_the_layer_class_and_input():
    from lamina.plot import grad_cam, saliency

    model = tiny_cnn.sequential_cnn()
    x = tiny_cnn.image(12, 12, 3)
    with pytest.raises(ValueError, match=r"Expected a layer with a 4-D output.*'flat'"):
        grad_cam(model, x, layer="flat")
    with pytest.raises(ValueError, match=r"class index in \[0, 3\).*class_index=3"):
        saliency(model, x, class_index=3)
    mlp = keras.Sequential([layers.Dense(3, activation="softmax", input_shape=(6,))])
    with pytest.raises(ValueError, match=r"Expected an image input.*shape=\(6,\)"):
        saliency(mlp, np.zeros(6))
    with pytest.raises(ValueError, match=r"Expected a model with a convolutional feature map"):
        grad_cam(
            keras.Sequential([layers.Flatten(input_shape=(4, 4, 1)), layers.Dense(2)]),
            np.zeros((4, 4, 1)),
        )
