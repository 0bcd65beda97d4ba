"""BatchNormalization folded into convolutions for inference (lamina/models/conv_bn_folding.py).

Folded predictions equal the layers run one by one; the fold is used only when nothing can
tell (autograd off, normalization in inference mode), and it is recomputed when weights
change (fit, set_weights, assign, loading), including weights an optimizer keeps as views
of one flat buffer.
"""

from __future__ import annotations

import weakref

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.models import conv_bn_folding, inference_graph


@pytest.fixture(autouse=True)
def _seeded():
    lamina.utils.set_random_seed(0)


def _random_bn(model, seed=0):
    """Non-trivial BatchNorm statistics, so that the fold changes the weights."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            ws = layer.get_weights()
            n = ws[0].shape
            affine = [rng.uniform(0.5, 1.5, n), rng.normal(0, 0.3, n)][: len(ws) - 2]
            stats = [rng.normal(0, 0.3, n), rng.uniform(0.5, 1.5, n)]
            layer.set_weights([a.astype("float32") for a in affine + stats])


def _functional():
    """Every chain kind: Conv+BN+ReLU6, Conv+BN (into an Add), depthwise after an asymmetric
    ZeroPadding, Add+ReLU, BN without gamma/beta, grouped and 'same' stride-2 convolutions,
    and a convolution whose output has a second consumer (not folded)."""
    inp = lamina.Input((12, 12, 4))
    x = layers.Conv2D(8, 3, padding="same", name="c1")(inp)
    x = layers.BatchNormalization(name="b1")(x)
    x = layers.ReLU(6.0, name="r1")(x)
    s = layers.Conv2D(8, 1, strides=2, name="c_short")(x)
    s = layers.BatchNormalization(epsilon=1.001e-5, name="b_short")(s)
    y = layers.ZeroPadding2D(((0, 1), (0, 1)), name="pad")(x)
    y = layers.DepthwiseConv2D(3, strides=2, use_bias=False, name="dw")(y)
    y = layers.BatchNormalization(name="b_dw")(y)
    y = layers.Add(name="add")([s, y])
    y = layers.Activation("relu", name="out_relu")(y)
    y = layers.Conv2D(8, 3, strides=2, padding="same", groups=2, name="c_grouped")(y)
    y = layers.BatchNormalization(center=False, scale=False, name="b_plain")(y)
    y = layers.Activation("swish", name="swish")(y)
    z = layers.Conv2D(6, 1, name="c_shared")(y)
    z1 = layers.BatchNormalization(name="b_shared")(z)
    z = layers.Concatenate(name="cat")([z, z1])
    out = layers.GlobalAveragePooling2D(name="gap")(z)
    model = lamina.Model(inp, out)
    _random_bn(model)
    return model


def _unfolded(model, x):
    """The layers one by one: with autograd on, nothing folds."""
    with torch.enable_grad():
        return model(torch.as_tensor(x), training=False).detach().numpy()


def _data(n=5, shape=(12, 12, 4), seed=1):
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype("float32")


@pytest.fixture
def runs(monkeypatch):
    """Counts the folded chains that ran."""
    count = {"n": 0}
    original = conv_bn_folding.Chain.run

    def counting(self, x, other):
        count["n"] += 1
        return original(self, x, other)

    monkeypatch.setattr(conv_bn_folding.Chain, "run", counting)
    return count


def test_plan_finds_the_chains():
    model = _functional()
    plan = inference_graph.GraphPlan(model._nodes, model.outputs)
    roles = {n.layer.name: plan.roles[id(n)][1] for n in model._nodes if id(n) in plan.roles}
    assert roles == {
        "c1": "first",
        "b1": "middle",
        "r1": "last",
        "c_short": "first",
        "b_short": "middle",
        "add": "middle",
        "out_relu": "last",
        "pad": "first",
        "dw": "middle",
        "b_dw": "last",
        "c_grouped": "first",
        "b_plain": "middle",
        "swish": "last",
    }  # c_shared's output also feeds the Concatenate: not folded


@pytest.mark.parametrize(
    "pads,kind,kernel,stride,padding,dilation,size,channels,copy",
    [
        (((0, 1), (0, 1)), "dw", 3, 2, "valid", 1, 8, 3, False),  # MobileNet: a 4x4 kernel
        (((0, 1), (0, 1)), "dw", 3, 2, "valid", 1, 7, 3, False),  # odd size
        (((1, 1), (1, 1)), "conv", 3, 1, "valid", 1, 6, 3, False),  # symmetric: conv pads
        (((1, 2), (0, 1)), "conv", 3, 2, "valid", 1, 9, 3, False),
        (((1, 2), (0, 1)), "conv", 3, 2, "valid", 1, 9, 12, True),  # many channels: a copy
        (None, "conv", 5, 2, "same", 1, 8, 3, False),  # TF 'same' (1, 2)
        (None, "conv", 5, 2, "same", 1, 8, 12, True),
        (None, "conv", 3, 2, "same", 1, 8, 3, False),  # TF 'same' (0, 1)
        (None, "dw", 3, 1, "same", 2, 7, 3, False),  # dilated, symmetric
        (((0, 1), (0, 1)), "dw", 3, 1, "valid", 2, 7, 3, True),  # dilated, asymmetric
        (((0, 2), (0, 0)), "conv", 3, 1, "valid", 1, 6, 3, False),  # only rows after
        (((0, 0), (0, 3)), "dw", 3, 2, "valid", 1, 9, 3, False),  # only columns after
        (((0, 1), (0, 1)), "conv", 3, 2, "valid", 1, 2, 3, False),  # one window
    ],
)
def test_padding_geometries(
    pads, kind, kernel, stride, padding, dilation, size, channels, copy, runs, monkeypatch
):
    """Every way zeros reach the convolution: its own symmetric padding, asymmetric zeros
    as extra zero taps of a larger kernel (depthwise or few channels), or a padded copy."""
    copies = []
    original = conv_bn_folding.padded_copy
    monkeypatch.setattr(conv_bn_folding, "padded_copy", lambda *a: copies.append(1) or original(*a))
    inp = lamina.Input((size, size, channels))
    h = inp if pads is None else layers.ZeroPadding2D(pads)(inp)
    if kind == "dw":
        h = layers.DepthwiseConv2D(kernel, stride, padding, dilation_rate=dilation)(h)
    else:
        h = layers.Conv2D(4, kernel, stride, padding, dilation_rate=dilation)(h)
    h = layers.BatchNormalization()(h)
    model = lamina.Model(inp, layers.ReLU(6.0)(h))
    _random_bn(model)
    x = _data(3, (size, size, channels))
    expected = _unfolded(model, x)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5)
    assert runs["n"] == 1
    assert bool(copies) == copy


def test_folded_predict_equals_layer_by_layer(runs):
    model = _functional()
    x = _data()
    expected = _unfolded(model, x)
    got = model.predict(x, batch_size=5, verbose=0)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    assert runs["n"] == 4  # the four chains, each once
    with torch.inference_mode():  # a direct call without autograd folds too
        direct = model(torch.as_tensor(x), training=False).numpy()
    np.testing.assert_allclose(direct, expected, rtol=1e-4, atol=1e-5)
    assert runs["n"] == 8


def test_fallback_without_onednn_equals_layer_by_layer(monkeypatch, runs):
    from lamina.runtime import conv_pointwise

    monkeypatch.setattr(conv_pointwise, "fused_available", lambda x, w: False)
    model = _functional()
    x = _data()
    expected = _unfolded(model, x)
    np.testing.assert_allclose(
        model.predict(x, batch_size=5, verbose=0), expected, rtol=1e-4, atol=1e-5
    )
    assert runs["n"] == 4


def test_evaluate_folds_and_matches():
    model = _functional()
    model.compile("sgd", "mse")
    x = _data(6)
    y = np.zeros((6, 12), "float32")
    expected = float(np.mean(_unfolded(model, x) ** 2))
    assert model.evaluate(x, y, batch_size=3, verbose=0) == pytest.approx(expected, rel=1e-4)


def test_training_and_gradients_never_fold(runs):
    model = _functional()
    x = torch.as_tensor(_data())
    model(x, training=True).sum().backward()  # batch statistics, gradients flow
    assert runs["n"] == 0
    assert model.get_layer("c1").kernel.grad is not None
    with torch.no_grad():  # autograd off but training: the BN uses batch statistics
        before = model.get_layer("b1").moving_mean.clone()
        model(x, training=True)
        assert not torch.equal(before, model.get_layer("b1").moving_mean)
    assert runs["n"] == 0


def test_bn_recorded_in_training_mode_does_not_fold(runs):
    """`BatchNormalization()(h, training=True)` in the graph: when the call gives no
    training flag, the recorded one wins and the layer normalizes with batch statistics."""
    inp = lamina.Input((8, 8, 3))
    h = layers.Conv2D(4, 3, name="c")(inp)
    h = layers.BatchNormalization(name="b")(h, training=True)
    model = lamina.Model(inp, layers.Flatten()(h))
    _random_bn(model)
    x = torch.as_tensor(_data(4, (8, 8, 3)))
    model(x)  # checks the input shape once
    with torch.no_grad():
        before = model.get_layer("b").moving_mean.clone()
        model.call(x, training=None)
        assert not torch.equal(before, model.get_layer("b").moving_mean)
    assert runs["n"] == 0
    model.predict(x.numpy(), verbose=0)  # predict passes training=False, which overrides it
    assert runs["n"] == 1


def test_a_module_left_in_train_mode_does_not_fold(runs):
    model = _functional()
    x = torch.as_tensor(_data())
    model.train()
    with torch.no_grad():
        model(x)
        model(x)  # training=None: each layer's module flag, here training
    assert runs["n"] == 0


def test_set_weights_and_assign_invalidate_the_fold():
    model = _functional()
    x = _data()
    model.predict(x, verbose=0)
    _random_bn(model, seed=5)  # set_weights on every BatchNormalization
    np.testing.assert_allclose(
        model.predict(x, verbose=0), _unfolded(model, x), rtol=1e-4, atol=1e-5
    )
    conv = model.get_layer("c1")
    conv.kernel.assign(conv.kernel * 0.5)
    model.get_layer("b_dw").moving_variance.assign_add(0.5)
    np.testing.assert_allclose(
        model.predict(x, verbose=0), _unfolded(model, x), rtol=1e-4, atol=1e-5
    )


def test_load_weights_invalidates_the_fold(tmp_path):
    model = _functional()
    other = _functional()
    _random_bn(other, seed=9)
    path = str(tmp_path / "other.weights.h5")
    other.save_weights(path)
    x = _data()
    model.predict(x, verbose=0)
    model.load_weights(path)
    np.testing.assert_allclose(
        model.predict(x, verbose=0), other.predict(x, verbose=0), rtol=1e-4, atol=1e-5
    )


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_fit_invalidates_the_fold(optimizer):
    """RMSprop keeps the weights as views of one flat buffer (no version counter of theirs
    moves): the fold is then recomputed on every call instead of cached."""
    model = _functional()
    model.compile(optimizer, "mse", jit_compile=False)
    x = _data(8)
    y = np.ones((8, 12), "float32")
    model.predict(x, verbose=0)
    for _ in range(2):
        model.fit(x, y, batch_size=4, epochs=1, verbose=0)
        np.testing.assert_allclose(
            model.predict(x, verbose=0), _unfolded(model, x), rtol=1e-4, atol=1e-5
        )


def test_sequential_stack_folds(runs):
    model = lamina.Sequential(
        [
            lamina.Input((10, 10, 3)),
            layers.Conv2D(6, 3, padding="same"),
            layers.BatchNormalization(),
            layers.Activation("relu"),
            layers.DepthwiseConv2D(3, depth_multiplier=2),
            layers.BatchNormalization(),
            layers.GlobalAveragePooling2D(),
        ]
    )
    _random_bn(model)
    x = _data(4, (10, 10, 3))
    expected = _unfolded(model, x)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5)
    assert runs["n"] == 2
    model.compile("sgd", "mse")
    model.fit(x, np.zeros((4, 12), "float32"), verbose=0)
    np.testing.assert_allclose(
        model.predict(x, verbose=0), _unfolded(model, x), rtol=1e-4, atol=1e-5
    )


def test_nested_backbone_folds(runs):
    """A transfer-learning model: the backbone is a model inside the model."""
    backbone = _functional()
    inp = lamina.Input((12, 12, 4))
    out = layers.Dense(3)(backbone(inp))
    model = lamina.Model(inp, out)
    x = _data()
    expected = _unfolded(model, x)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5)
    assert runs["n"] == 4


def test_hooked_chains_run_layer_by_layer(runs):
    model = _functional()
    handle = model.get_layer("b1").register_forward_hook(lambda *a: None)
    x = _data()
    expected = _unfolded(model, x)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5)
    assert runs["n"] == 3  # all chains but the hooked one
    handle.remove()


def test_inference_drops_intermediates_after_their_last_use():
    """Without autograd the graph's dict lets go of each value once its last reader ran
    (with autograd on, it keeps them all as before)."""
    seen = {}

    class Keep(layers.Layer):
        def call(self, x):
            y = x * 2.0
            seen["ref"] = weakref.ref(y)
            return y

    class Probe(layers.Layer):
        def call(self, x):
            seen["alive"] = seen["ref"]() is not None
            return x + 1.0

    inp = lamina.Input((3,))
    h = Keep()(inp)
    h = layers.Dense(3)(h)
    model = lamina.Model(inp, Probe()(h))
    x = np.ones((2, 3), "float32")
    model.predict(x, verbose=0)
    assert seen["alive"] is False
    with torch.enable_grad():
        model(torch.as_tensor(x))
    assert seen["alive"] is True


def test_mobilenet_v2_folded_matches_keras(tmp_path, runs):
    """A whole application (padding prefixes, depthwise blocks, residual adds, ReLU6),
    on Keras's weights with random BatchNorm statistics: the folded predict is Keras's."""
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("Keras runs on another backend in this process")
    from lamina.applications import MobileNetV2

    keras.utils.set_random_seed(0)
    theirs = keras.applications.MobileNetV2(alpha=0.35, input_shape=(32, 32, 3), weights=None)
    rng = np.random.default_rng(0)
    for layer in theirs.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.get_weights()[0].shape
            layer.set_weights(
                [rng.uniform(0.8, 1.2, n), rng.normal(0, 0.1, n), rng.normal(0, 0.1, n)]
                + [rng.uniform(0.8, 1.2, n)]
            )
    path = str(tmp_path / "mobilenet_v2.weights.h5")
    theirs.save_weights(path)
    ours = MobileNetV2(alpha=0.35, input_shape=(32, 32, 3), weights=path)
    x = _data(2, (32, 32, 3))
    expected = np.asarray(theirs.predict(x, verbose=0))
    first = ours.predict(x, verbose=0)  # checks the input shape, layer by layer
    assert runs["n"] == 0
    folded = ours.predict(x, verbose=0)
    assert runs["n"] == 52  # every convolution of the network
    np.testing.assert_allclose(first, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(folded, expected, rtol=1e-4, atol=1e-6)
