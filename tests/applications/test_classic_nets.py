"""LeNet-5 and AlexNet: parameter counts worked out by hand, torch.nn references with the
same weights, one training step, and the argument checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import lamina
from lamina import registry
from lamina.applications import alexnet, lenet
from lamina.applications.alexnet import LocalResponseNormalization

CLASSIC_NETS = {"applications.LeNet5": lenet.LeNet5, "applications.AlexNet": alexnet.AlexNet}


def conv_params(filters: int, kernel: int, channels: int) -> int:
    return filters * (kernel * kernel * channels + 1)


def dense_params(units: int, inputs: int) -> int:
    return units * (inputs + 1)


def test_lenet5_has_61706_parameters():
    expected = (
        conv_params(6, 5, 1)  # C1: 156
        + conv_params(16, 5, 6)  # C3: 2,416 (all six S2 maps feed every C3 map)
        + conv_params(120, 5, 16)  # C5: 48,120
        + dense_params(84, 120)  # F6: 10,164
        + dense_params(10, 84)  # output: 850
    )
    assert expected == 156 + 2_416 + 48_120 + 10_164 + 850 == 61_706
    assert lenet.LeNet5().count_params() == expected
    assert lenet.LeNet5(activation="relu", subsampling="max").count_params() == expected


def test_alexnet_has_62378344_parameters():
    side = (227 - 11) // 4 + 1  # conv1: 55
    for _ in range(3):  # pool1, pool2 (conv2..5 keep the size with 'same'), pool5
        side = (side - 3) // 2 + 1
    assert side == 6
    expected = (
        conv_params(96, 11, 3)  # 34,944
        + conv_params(256, 5, 96)  # 614,656
        + conv_params(384, 3, 256)  # 885,120
        + conv_params(384, 3, 384)  # 1,327,488
        + conv_params(256, 3, 384)  # 884,992
        + dense_params(4096, side * side * 256)  # fc6: 37,752,832
        + dense_params(4096, 4096)  # fc7: 16,781,312
        + dense_params(1000, 4096)  # 4,097,000
    )
    assert expected == 62_378_344
    model = alexnet.AlexNet()
    assert model.count_params() == expected
    assert model.output_shape == (None, 1000)
    headless = alexnet.AlexNet(
        include_top=False, input_shape=(227, 227, 3), local_response_normalization=False
    )
    assert headless.count_params() == expected - (37_752_832 + 16_781_312 + 4_097_000)
    assert headless.output_shape == (None, 6, 6, 256)


class FlattenHWC(nn.Module):
    """Flatten NCHW in Keras's channels-last order (height, width, channels)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, 2, 3, 1).flatten(1)


def copy_weights(model, reference: nn.Sequential) -> None:
    """Lamina's weights (Keras layout: HWIO kernels, (in, out) dense) into torch modules."""
    ours = [la for la in model.layers if la.get_weights()]
    theirs = [m for m in reference if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(ours) == len(theirs)
    with torch.no_grad():
        for layer, module in zip(ours, theirs):
            kernel, bias = layer.get_weights()
            kernel = kernel.transpose(3, 2, 0, 1) if kernel.ndim == 4 else kernel.T
            module.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel)))
            module.bias.copy_(torch.from_numpy(bias))


def compare(model, reference: nn.Sequential, x: np.ndarray, rtol: float = 1e-5) -> None:
    copy_weights(model, reference)
    got = np.asarray(model.predict(x, verbose=0))
    with torch.no_grad():
        expected = reference.eval()(torch.from_numpy(x).permute(0, 3, 1, 2)).numpy()
    assert got.shape == expected.shape
    scale = float(np.abs(expected).max())
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize(
    "activation, subsampling", [("tanh", "average"), ("relu", "max")], ids=["default", "relu-max"]
)
def test_lenet5_computes_the_torch_reference(activation, subsampling):
    act = {"tanh": nn.Tanh, "relu": nn.ReLU}[activation]
    pool = {"average": nn.AvgPool2d, "max": nn.MaxPool2d}[subsampling]
    reference = nn.Sequential(
        nn.Conv2d(1, 6, 5), act(), pool(2, 2),  # C1, S2
        nn.Conv2d(6, 16, 5), act(), pool(2, 2),  # C3, S4
        nn.Conv2d(16, 120, 5), act(), nn.Flatten(),  # C5 (1x1x120)
        nn.Linear(120, 84), act(),  # F6
        nn.Linear(84, 10), nn.Softmax(dim=1),
    )  # fmt: skip
    model = lenet.LeNet5(activation=activation, subsampling=subsampling)
    x = np.random.default_rng(0).normal(size=(4, 32, 32, 1)).astype("float32")
    compare(model, reference, x)


def test_alexnet_computes_the_torch_reference():
    lrn = lambda: nn.LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2.0)  # noqa: E731
    reference = nn.Sequential(
        nn.Conv2d(3, 96, 11, stride=4), nn.ReLU(), lrn(), nn.MaxPool2d(3, 2),
        nn.Conv2d(96, 256, 5, padding=2), nn.ReLU(), lrn(), nn.MaxPool2d(3, 2),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
        FlattenHWC(),
        nn.Linear(9216, 4096), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(4096, 1000),
    )  # fmt: skip
    model = alexnet.AlexNet(classifier_activation=None)  # logits: a sharper comparison
    # Pixels in [0, 255] make the LRN denominators differ clearly from k^beta.
    x = np.random.default_rng(0).uniform(0, 255, size=(2, 227, 227, 3)).astype("float32")
    compare(model, reference, x, rtol=1e-4)


def paper_lrn(a: np.ndarray, n: int, k: float, alpha: float, beta: float) -> np.ndarray:
    """Krizhevsky et al.'s formula, channels last, written out with loops."""
    out = np.empty_like(a)
    channels = a.shape[-1]
    for i in range(channels):
        lo, hi = max(0, i - n // 2), min(channels - 1, i + n // 2)
        total = (a[..., lo : hi + 1] ** 2).sum(-1)
        out[..., i] = a[..., i] / (k + alpha * total) ** beta
    return out


def test_local_response_normalization_is_the_papers_formula():
    a = np.random.default_rng(0).uniform(-20, 20, size=(2, 3, 4, 7)).astype("float32")
    expected = paper_lrn(a.astype("float64"), 5, 2.0, 1e-4, 0.75)
    layer = LocalResponseNormalization()
    np.testing.assert_allclose(np.asarray(layer(a)), expected, rtol=1e-5)
    first = LocalResponseNormalization(size=3, alpha=1e-2, beta=0.5, k=1.0, axis=1)
    got = np.asarray(first(np.ascontiguousarray(a.transpose(0, 3, 1, 2))))
    expected = paper_lrn(a.astype("float64"), 3, 1.0, 1e-2, 0.5).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    config = first.get_config()
    assert {k: config[k] for k in ("size", "alpha", "beta", "k", "axis")} == {
        "size": 3, "alpha": 1e-2, "beta": 0.5, "k": 1.0, "axis": 1,
    }  # fmt: skip
    again = registry.get("layer", "LocalResponseNormalization").from_config(config)
    assert again.get_config() == config
    with pytest.raises(ValueError, match="positive int for size"):
        LocalResponseNormalization(size=0)


@pytest.mark.parametrize("key", CLASSIC_NETS)
def test_one_training_step_on_random_data(key):
    lamina.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    if key == "applications.LeNet5":
        model = lenet.LeNet5()
        x, y = rng.normal(size=(8, 32, 32, 1)), rng.integers(0, 10, 8)
        classes = 10
    else:  # the smallest input AlexNet takes, so the step stays cheap
        model = alexnet.AlexNet(input_shape=(67, 67, 3), classes=5)
        x, y = rng.uniform(0, 1, size=(4, 67, 67, 3)), rng.integers(0, 5, 4)
        classes = 5
    before = [w.copy() for w in model.get_weights()]
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    history = model.fit(x.astype("float32"), y, batch_size=len(y), epochs=1, verbose=0)
    loss = history.history["loss"][0]
    assert math.isfinite(loss) and loss > 0
    assert model.predict(x.astype("float32"), verbose=0).shape == (len(y), classes)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_headless_models_and_pooling():
    assert lenet.LeNet5(include_top=False).output_shape == (None, None, None, 120)
    assert lenet.LeNet5(include_top=False, pooling="avg").output_shape == (None, 120)
    assert alexnet.AlexNet(include_top=False, pooling="max").output_shape == (None, 256)
    model = lenet.LeNet5(include_top=False, pooling="max", input_shape=(40, 40, 1))
    assert model.output_shape == (None, 120)
    x = np.random.default_rng(0).normal(size=(2, 40, 40, 1)).astype("float32")
    features = lamina.Model(model.input, model.get_layer("c5").output).predict(x, verbose=0)
    np.testing.assert_allclose(model.predict(x, verbose=0), features.max(axis=(1, 2)), rtol=1e-6)


def test_weights_are_none_or_a_file(tmp_path):
    for build in CLASSIC_NETS.values():
        with pytest.raises(ValueError, match="publish no pretrained"):
            build(weights="imagenet")
    with pytest.raises(ValueError, match="existing weights file"):
        lenet.LeNet5(weights="no/such/file.weights.h5")
    trained = lenet.LeNet5()
    trained.save_weights(tmp_path / "lenet.weights.h5")
    loaded = lenet.LeNet5(weights=str(tmp_path / "lenet.weights.h5"))
    x = np.random.default_rng(0).normal(size=(2, 32, 32, 1)).astype("float32")
    np.testing.assert_array_equal(trained.predict(x, verbose=0), loaded.predict(x, verbose=0))


def test_argument_checks():
    with pytest.raises(ValueError, match="at least 32x32"):
        lenet.LeNet5(input_shape=(28, 28, 1))
    with pytest.raises(ValueError, match="at least 67x67"):
        alexnet.AlexNet(include_top=False, input_shape=(66, 66, 3))
    with pytest.raises(ValueError, match="subsampling"):
        lenet.LeNet5(subsampling="median")
    with pytest.raises(ValueError, match="pooling"):
        alexnet.AlexNet(include_top=False, pooling="median")
