"""Tiny CNNs with fixed weights for the kernel, feature-map and attribution plot tests, and
the same networks written out in plain torch (NCHW) as the reference.

Weights come from a seeded NumPy generator and are set with `set_weights`, so the pictures
are the same on every run; the references read the very same arrays.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

import lamina as keras
from lamina import layers
from lamina.layers.base import Layer

EPS = 1e-3  # BatchNormalization's default epsilon


def _fill(model, seed: int) -> list[np.ndarray]:
    """Random weights of the model's own shapes (variances positive)."""
    rng = np.random.default_rng(seed)
    arrays = []
    for w in model.get_weights():
        a = rng.normal(0.0, 0.5, w.shape).astype(np.float32)
        arrays.append(a)
    model.set_weights(arrays)
    return arrays


def sequential_cnn(seed: int = 0):
    """conv(4, 3x3, relu) -> maxpool 2 -> conv(6, 3x3, relu) -> BN -> dropout -> dense(3, softmax)
    on 12x12 RGB images."""
    model = keras.Sequential(
        [
            layers.Conv2D(4, 3, activation="relu", input_shape=(12, 12, 3), name="conv1"),
            layers.MaxPooling2D(2, name="pool"),
            layers.Conv2D(6, 3, activation="relu", name="conv2"),
            layers.BatchNormalization(name="bn"),
            layers.Dropout(0.5, name="drop"),
            layers.Flatten(name="flat"),
            layers.Dense(3, activation="softmax", name="head"),
        ]
    )
    _fill(model, seed)
    bn = model.get_layer("bn")
    gamma, beta, mean, var = bn.get_weights()
    bn.set_weights([gamma, beta, mean, np.abs(var) + 0.5])
    return model


def nchw(x: np.ndarray) -> torch.Tensor:
    """An NHWC NumPy batch as the float64 NCHW tensor the references take."""
    return torch.tensor(x, dtype=torch.float64).permute(0, 3, 1, 2)


def sequential_reference(model, t: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every intermediate (NCHW) of `sequential_cnn` on the NCHW batch `t`, in plain torch
    from the model's weights."""
    k1, b1, k2, b2, gamma, beta, mean, var, w, b = (
        torch.tensor(a, dtype=torch.float64) for a in model.get_weights()
    )
    out: dict[str, torch.Tensor] = {}
    out["input"] = t
    t = torch.relu(F.conv2d(t, k1.permute(3, 2, 0, 1), b1))
    out["conv1"] = t
    t = F.max_pool2d(t, 2)
    out["pool"] = t
    t = torch.relu(F.conv2d(t, k2.permute(3, 2, 0, 1), b2))
    out["conv2"] = t
    scale = gamma / torch.sqrt(var + EPS)
    t = (t - mean[:, None, None]) * scale[:, None, None] + beta[:, None, None]
    out["bn"] = t
    flat = t.permute(0, 2, 3, 1).reshape(t.shape[0], -1)  # Keras flattens NHWC
    out["logits"] = flat @ w + b
    return out


def functional_cnn(seed: int = 1):
    """A residual block: conv a (relu, same) -> conv b (same) -> add(a, b) -> relu -> global
    average pool -> dense(2, softmax), on 8x8 grayscale images."""
    inputs = keras.Input(shape=(8, 8, 1), name="image")
    a = layers.Conv2D(3, 3, padding="same", activation="relu", name="conv_a")(inputs)
    b = layers.Conv2D(3, 3, padding="same", name="conv_b")(a)
    s = layers.Add(name="add")([a, b])
    r = layers.Activation("relu", name="relu")(s)
    g = layers.GlobalAveragePooling2D(name="gap")(r)
    outputs = layers.Dense(2, activation="softmax", name="head")(g)
    model = keras.Model(inputs, outputs, name="residual")
    _fill(model, seed)
    return model


def functional_reference(model, t: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every intermediate (NCHW) of `functional_cnn` on the NCHW batch `t`."""
    ka, ba, kb, bb, w, b = (torch.tensor(a, dtype=torch.float64) for a in model.get_weights())
    out: dict[str, torch.Tensor] = {}
    out["input"] = t
    a = torch.relu(F.conv2d(t, ka.permute(3, 2, 0, 1), ba, padding=1))
    out["conv_a"] = a
    out["conv_b"] = F.conv2d(a, kb.permute(3, 2, 0, 1), bb, padding=1)
    out["add"] = a + out["conv_b"]
    out["relu"] = torch.relu(out["add"])
    out["logits"] = out["relu"].mean(dim=(2, 3)) @ w + b
    return out


def image(height: int, width: int, channels: int, seed: int = 0) -> np.ndarray:
    """A smooth picture (a bright blob on a gradient) plus a little noise, in [0, 1]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    blob = np.exp(-((yy - 0.4) ** 2 + (xx - 0.6) ** 2) / 0.05)
    base = np.stack([blob * (0.6 + 0.2 * c) + 0.3 * xx for c in range(channels)], axis=-1)
    picture = base + 0.05 * rng.standard_normal((height, width, channels))
    return np.clip(picture, 0.0, 1.0).astype(np.float32)


def nhwc(t: torch.Tensor) -> np.ndarray:
    """A reference NCHW batch of one as (H, W, C) NumPy."""
    return t[0].permute(1, 2, 0).detach().numpy()


def snapshot(model) -> dict:
    """What a plot must leave unchanged: weights, gradients, the training flag, logits mode."""
    return {
        "weights": [w.copy() for w in model.get_weights()],
        "grads": [p.grad for p in model.parameters()],
        # lamina's layers (a fresh functional model's first call sets its ModuleList's flag)
        "training": [m.training for m in model.modules() if isinstance(m, Layer)],
        "emit_logits": [getattr(m, "_emit_logits", False) for m in model.modules()],
    }


def assert_unchanged(model, before: dict) -> None:
    after = snapshot(model)
    for w0, w1 in zip(before["weights"], after["weights"]):
        np.testing.assert_array_equal(w0, w1)
    assert all(g is None for g in after["grads"])
    assert after["training"] == before["training"]
    assert after["emit_logits"] == before["emit_logits"]
